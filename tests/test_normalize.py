"""dedup.normalization: the reference normalization and the compiled batch path that must equal it."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalization import APOSTROPHES, NormalizedBatch, normalize, normalize_batch, normalize_spans

ROOT = Path(__file__).resolve().parents[1]

# Characters whose normalization is easy to get wrong, each on its own or next to another.
TRICKY = [
    "e",
    "E",
    "x",
    "word",
    " ",
    "'",
    "\u0301",  # combining acute accent
    "\u0308",  # combining diaeresis
    "\u1100",  # Hangul leading consonant (choseong kiyeok)
    "\u1112",
    "\u1161",  # Hangul vowel (jungseong a)
    "\u1175",
    "\u11a8",  # Hangul final consonant (jongseong kiyeok)
    "\u11ff",
    "\uac00",  # Hangul syllable GA
    "\ud7a3",  # last Hangul syllable
    "ß",
    "ẞ",
    "ﬁ",
    "ﬃ",
    "Ａ",
    "ｚ",
    "１",
    "’",
    "‘",
    "“",
    "”",
    "–",
    "—",
    "\u00ad",  # soft hyphen
    "\u200b",  # zero-width space
    "\ufeff",  # zero-width no-break space / BOM
    "\u00a0",  # no-break space
    "\u3000",  # ideographic space
    "\r\n",
    "\r",
    "\n",
    "\t",
    "\f",
    "\v",
    "İ",
    "Σ",
    "ς",
    "ŉ",
    "\u0390",
    "…",
]

# Non-starters, the characters that canonical ordering sorts: marks of several combining
# classes, characters that decompose to two of them (U+0344, U+0F73, U+0F75, U+0F81) or, by
# compatibility, to one (U+FF9E), the one that casefolds to a letter (U+0345), and astral ones.
MARKS = [
    "\u0301",  # acute, class 230
    "\u0316",  # grave below, 220
    "\u0308",  # diaeresis, 230
    "\u031b",  # horn, 216
    "\u0323",  # dot below, 220
    "\u0344",  # = U+0308 U+0301
    "\u0345",  # ypogegrammeni, 240; casefolds to iota
    "\u05b0",  # Hebrew sheva, 10
    "\u0e38",  # Thai sara u, 103
    "\u0f71",  # Tibetan, 129
    "\u0f72",  # Tibetan, 130
    "\u0f73",  # = U+0F71 U+0F72, itself of class 0
    "\u0f75",
    "\u0f81",
    "\u3099",  # kana voiced sound mark, 8
    "\uff9e",  # half-width voiced sound mark, NFKC U+3099
    "\U0001d165",  # musical stem, 216
    "\U0001d16d",  # musical augmentation dot, 226
    "\U0001e000",  # Glagolitic, 230
]
# What a run can follow or be cut by: letters that compose with marks, Hangul, astral
# letters, and characters that are deleted, so that marks meet a letter only on a second pass.
RUN_NEIGHBOURS = ["a", "e", "u", "ǘ", "α", "ι", "\u0f40", "\u1100", "\uac00", "\u30ab", "\uff76", "ß", "ǰ", "'", "\u200b", " ", "\U0001d15e", "\U0001f600", "\ud800"]
# A letter and then a run of marks about as long as the longest Stream-Safe Text allows (30),
# or several times longer.
COMBINING_RUN = st.builds(
    lambda base, marks: base + "".join(marks), st.sampled_from(RUN_NEIGHBOURS), st.lists(st.sampled_from(MARKS), min_size=20, max_size=150)
)
COMBINING_TEXT = st.lists(COMBINING_RUN | st.sampled_from(MARKS + RUN_NEIGHBOURS) | st.characters(), max_size=8).map("".join)

# Surrogate-free text, the full range including lone surrogates
# (JSON can carry them), text glued together from the tricky characters, and long runs of
# combining marks.
SURROGATE_FREE = st.text(st.characters(exclude_categories=("Cs",)))
FULL_RANGE = st.text(st.characters(exclude_categories=()) | st.characters(categories=["Cs"]))
TRICKY_TEXT = st.lists(st.sampled_from(TRICKY) | st.characters(), max_size=16).map("".join)
ANY_TEXT = SURROGATE_FREE | FULL_RANGE | TRICKY_TEXT | COMBINING_TEXT


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def batch_bytes(batch: NormalizedBatch) -> list[bytes]:
    return [bytes(batch.data[batch.offsets[i] : batch.offsets[i + 1]]) for i in range(len(batch))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("  Hello,\tWORLD…  ", "hello world", id="case-punctuation-ends"),
        pytest.param("The force’s “commissioner” -- Sir Mark Rowley!", "the forces commissioner sir mark rowley", id="doc-example"),
        pytest.param("ＦＵＬＬ\u00adwidth", "fullwidth", id="full-width-and-soft-hyphen"),
        pytest.param("ＡＢＣ１２３", "abc123", id="full-width-digits"),
        pytest.param("Straße", "strasse", id="sharp-s-casefolds"),
        pytest.param("ﬁnal ﬃx", "final ffix", id="ligatures"),
        pytest.param("“quoted” – dash — dash", "quoted dash dash", id="curly-quotes-and-dashes"),
        pytest.param("a\u00a0b\u3000c", "a b c", id="unicode-spaces"),
        pytest.param("zero\u200bwidth", "zerowidth", id="zero-width-space-deleted"),
        pytest.param("line\r\nbreak\rcr\fpage\vtab", "line break cr page tab", id="line-breaks"),
        pytest.param("e\u0301", "é", id="combining-accent-composes"),
        pytest.param("\u1100\u1161\u11a8", "\uac01", id="hangul-jamo-compose"),
        pytest.param("don't ʼ ＇ ′", "dont", id="apostrophe-forms-deleted"),
        pytest.param("...!?—", "", id="only-punctuation"),
        pytest.param(" \t\r\n\f ", "", id="only-whitespace"),
    ],
)
def test_normalize_examples(text: str, expected: str) -> None:
    assert normalize(text) == expected
    assert batch_bytes(normalize_batch([text])) == [utf8(expected)]


@pytest.mark.parametrize("apostrophe", [pytest.param(a, id=f"U+{ord(a):04X}") for a in APOSTROPHES])
def test_every_apostrophe_form_joins_the_word(apostrophe: str) -> None:
    assert normalize(f"The force{apostrophe}s car") == normalize("The force's car") == "the forces car"
    assert batch_bytes(normalize_batch([f"force{apostrophe}s"])) == [b"forces"]


def test_curly_and_straight_apostrophes_give_the_same_text() -> None:
    assert normalize("force’s") == normalize("force's") == normalize("FORCE‘S")


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_output_is_clean(text: str) -> None:
    result = normalize(text)
    assert result == result.strip(" ")
    assert "  " not in result
    # The only whitespace left is the single space between words; no punctuation, apostrophe or
    # format character survives.
    for ch in result:
        assert ch == " " or not ch.isspace(), repr(ch)
        assert ch not in APOSTROPHES, repr(ch)
        assert unicodedata.category(ch)[0] != "P" and unicodedata.category(ch) != "Cf", repr(ch)


# Text without combining marks and without the Hangul vowel and final jamo: nothing in it can
# compose with a neighbour that only becomes adjacent after a deletion. (Text with them is
# covered below: after a deletion, normalize folds again until nothing changes.)
def composes_with_a_neighbour(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M") or 0x1160 <= ord(ch) <= 0x11FF


NON_COMBINING = st.characters(exclude_categories=("Cs", "Mn", "Mc", "Me")).filter(lambda c: not composes_with_a_neighbour(c))
NON_COMBINING_TRICKY = [t for t in TRICKY if not any(composes_with_a_neighbour(c) for c in t)]


@settings(max_examples=200, deadline=None)
@given(st.text(NON_COMBINING) | st.lists(st.sampled_from(NON_COMBINING_TRICKY) | NON_COMBINING, max_size=16).map("".join))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(COMBINING_TEXT)
def test_normalize_is_idempotent_on_runs_of_combining_marks(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def plain_rule(text: str) -> str:
    """The rule of the module docstring, transcribed with nothing but ``unicodedata`` and
    ``str`` methods, however slow."""
    out = text
    for _ in range(8):
        folded = unicodedata.normalize("NFKC", out).casefold()
        kept = []
        for ch in folded:
            if ch in APOSTROPHES or unicodedata.category(ch) == "Cf":
                continue
            kept.append(" " if unicodedata.category(ch)[0] == "P" or ch.isspace() else ch)
        again = " ".join("".join(kept).split())
        if again == out:
            break
        out = again
    return out


@settings(max_examples=300, deadline=None)
@given(COMBINING_TEXT)
def test_runs_of_combining_marks_follow_the_rule(text: str) -> None:
    # A long run of marks is put in order before NFKC; the result must be NFKC's, exactly.
    assert normalize(text) == plain_rule(text)


# Each text, normalized in a subprocess that must finish within HANG_LIMIT seconds, and what
# it must give. (NFKC in CPython sorts a run of combining marks by insertion sort: the first
# three took about 30, 20 and 15 s before normalization put long runs in order itself; the
# others are other long runs that NFKC and casefolding treat specially.)
HANG_LIMIT = 10
LONG_RUNS = [
    pytest.param("a" + "\u0301\u0316" * 100_000, "\u00e1" + "\u0316" * 100_000 + "\u0301" * 99_999, id="alternating-marks"),
    pytest.param("\u0f40" + "\u0f73" * 80_000, "\u0f40" + "\u0f71" * 80_000 + "\u0f72" * 80_000, id="marks-that-decompose-to-two"),
    pytest.param(
        "a" + "\U0001d165\u0301\U0001d16d\u0316" * 40_000,
        "\u00e1" + "\U0001d165" * 40_000 + "\u0316" * 40_000 + "\U0001d16d" * 40_000 + "\u0301" * 39_999,
        id="astral-marks",
    ),
    pytest.param("a" + "\u0301" * 999_999, "\u00e1" + "\u0301" * 999_998, id="one-mark-repeated"),
    pytest.param("\u03b1" + "\u0345" * 999_999, "\u03b1" + "\u03b9" * 999_999, id="ypogegrammeni-casefolds-to-iota"),
    pytest.param("\u1100" + "\u1161" * 999_999, "\uac00" + "\u1161" * 999_998, id="hangul-vowel-jamo"),
    pytest.param("\ufb01" * 1_000_000, "fi" * 1_000_000, id="ligatures-all-through-the-reference"),
]
NORMALIZE_STDIN = """
import sys
from dedup.normalization import normalize, normalize_batch
text = sys.stdin.buffer.read().decode()
sys.stdout.buffer.write(normalize(text).encode() + b"\\n" + normalize_batch([text]).text(0).encode())
"""


@pytest.mark.parametrize(("text", "expected"), LONG_RUNS)
def test_long_runs_normalize_without_hanging(text: str, expected: str) -> None:
    normalize_batch(["\u00e9"])  # the table in the session's cache, so the subprocess only reads it
    try:
        run = subprocess.run(
            [sys.executable, "-c", NORMALIZE_STDIN], input=text.encode(), capture_output=True, cwd=ROOT, timeout=HANG_LIMIT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"normalizing {len(text):,} characters took more than {HANG_LIMIT} s")
    assert run.returncode == 0, run.stderr.decode()
    once, batch = run.stdout.decode().split("\n")
    assert once == batch == expected
    assert normalize(expected) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("cafe'\u0301", id="apostrophe-before-combining-accent"),
        pytest.param("cafe\u200b\u0301", id="zero-width-space-before-combining-accent"),
        pytest.param("cafe\u00ad\u0301", id="soft-hyphen-before-combining-accent"),
        pytest.param("\u1100\u200b\u1161", id="zero-width-space-between-hangul-jamo"),
        pytest.param("ß\u0301", id="casefold-output-composes"),
    ],
)
def test_normalize_is_idempotent_when_a_deletion_lets_letters_compose(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(ANY_TEXT, max_size=8))
def test_batch_equals_reference(texts: list[str]) -> None:
    batch = normalize_batch(texts)
    assert len(batch) == len(texts)
    assert batch_bytes(batch) == [utf8(normalize(t)) for t in texts]
    assert batch.lengths().tolist() == [len(utf8(normalize(t))) for t in texts]


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param([], id="no-paragraphs"),
        pytest.param(["", "", ""], id="all-empty"),
        pytest.param(["plain text", "e\u0301 needs the reference", "", "Kaba’s car"], id="fallback-in-the-middle"),
        pytest.param(["e\u0301", "plain", "\u1100\u1161"], id="fallback-at-both-ends"),
        pytest.param(["lone \ud800 surrogate", "ok", "\udfff"], id="lone-surrogates"),
        pytest.param(["ǅ ﬀ ΐ İ ŉ"] * 3, id="multi-character-casefolds"),
        # NFKC-stable characters whose casefold is longer than themselves (ΐ: 2 bytes in, 6 out).
        pytest.param(["ΐ"], id="casefold-outgrows-input-alone"),
        pytest.param(["ΐ", "plain", "xΐÙ", "ΰΐ"], id="casefold-outgrows-input-in-a-batch"),
    ],
)
def test_batch_equals_reference_on_mixed_paths(texts: list[str]) -> None:
    assert batch_bytes(normalize_batch(texts)) == [utf8(normalize(t)) for t in texts]


def test_batch_text_decodes_each_paragraph() -> None:
    batch = normalize_batch(["Soldiers are ALSO on standby.", "", "Kaba’s car"])
    assert [batch.text(i) for i in range(len(batch))] == ["soldiers are also on standby", "", "kabas car"]


@st.composite
def spans_of(draw: st.DrawFn) -> tuple[str, list[int], list[int]]:
    """A text and ordered, non-overlapping character spans of it (gaps and empty spans allowed)."""
    text = draw(ANY_TEXT)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=10)))
    if len(cuts) % 2:
        cuts.append(len(text))
    return text, cuts[0::2], cuts[1::2]


@settings(max_examples=150, deadline=None)
@given(spans_of())
def test_spans_equal_reference(case: tuple[str, list[int], list[int]]) -> None:
    text, starts, ends = case
    batch = normalize_spans(text, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))
    assert batch_bytes(batch) == [utf8(normalize(text[s:e])) for s, e in zip(starts, ends)]


@pytest.mark.parametrize(
    ("data", "offsets"),
    [
        pytest.param(np.zeros(3, dtype=np.int64), np.array([0, 3]), id="data-not-uint8"),
        pytest.param(np.zeros(3, dtype=np.uint8), np.array([0, 3], dtype=np.int32), id="offsets-not-int64"),
        pytest.param(np.zeros(3, dtype=np.uint8), np.array([0, 2], dtype=np.int64), id="offsets-short-of-data"),
        pytest.param(np.zeros(3, dtype=np.uint8), np.array([1, 3], dtype=np.int64), id="offsets-not-from-zero"),
        pytest.param(np.zeros(0, dtype=np.uint8), np.array([], dtype=np.int64), id="no-offsets"),
    ],
)
def test_normalized_batch_rejects_inconsistent_buffers(data: np.ndarray, offsets: np.ndarray) -> None:
    with pytest.raises(ValueError):
        NormalizedBatch(data, offsets)


def test_package_level_normalize_stays_the_function() -> None:
    code = "import dedup, dedup.signatures; print(dedup.normalize('Force’s'))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "forces"
