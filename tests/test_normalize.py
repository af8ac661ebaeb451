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

# Surrogate-free text, the full range including lone surrogates
# (JSON can carry them), and text glued together from the tricky characters.
SURROGATE_FREE = st.text(st.characters(exclude_categories=("Cs",)))
FULL_RANGE = st.text(st.characters(exclude_categories=()) | st.characters(categories=["Cs"]))
TRICKY_TEXT = st.lists(st.sampled_from(TRICKY) | st.characters(), max_size=16).map("".join)
ANY_TEXT = SURROGATE_FREE | FULL_RANGE | TRICKY_TEXT


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


# Idempotence holds for text without combining marks and without the Hangul vowel and final
# jamo: those can compose with a neighbour that only becomes adjacent after normalization (see
# test_normalize_twice_changes_text_that_composes_later below).
def composes_with_a_neighbour(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M") or 0x1160 <= ord(ch) <= 0x11FF


NON_COMBINING = st.characters(exclude_categories=("Cs", "Mn", "Mc", "Me")).filter(lambda c: not composes_with_a_neighbour(c))
NON_COMBINING_TRICKY = [t for t in TRICKY if not any(composes_with_a_neighbour(c) for c in t)]


@settings(max_examples=200, deadline=None)
@given(st.text(NON_COMBINING) | st.lists(st.sampled_from(NON_COMBINING_TRICKY) | NON_COMBINING, max_size=16).map("".join))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


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
