"""dedup.shingling: the set elements that MinHash and the Jaccard check work on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalization import normalize
from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec, shingles

ROOT = Path(__file__).resolve().parents[1]

TRICKY = [
    "word", "Other", " ", "’s", "—", "“", "…", "😀",
    "\u00ad", "\u200b", "\u00a0", "\r\n", "\f",
    "e\u0301", "\uac00", "ß", "ﬁ", "Ａ",
]  # fmt: skip
NO_SURROGATE = st.characters(exclude_categories=("Cs",))
SURROGATE_FREE = st.text(NO_SURROGATE) | st.lists(st.sampled_from(TRICKY) | NO_SURROGATE, max_size=24).map("".join)
FULL_RANGE = st.text(st.characters(exclude_categories=()) | st.characters(categories=["Cs"]))
SPECS = st.builds(ShingleSpec, st.sampled_from(["word", "char"]), st.integers(1, 8))


def units_of(normalized: str, kind: str) -> list[str]:
    return normalized.split(" ") if kind == "word" else list(normalized)


def check_shingles(text: str, spec: ShingleSpec, decode: str) -> None:
    result = shingles(text, spec.kind, spec.n)
    normalized = normalize(text)
    if not normalized:
        assert result == []
        return
    decoded = [s.decode("utf-8", decode) for s in result]
    units = units_of(normalized, spec.kind)
    if len(units) <= spec.n:
        # A paragraph shorter than one shingle is one shingle: the whole normalized text.
        assert decoded == [normalized]
        return
    assert len(decoded) == len(units) - spec.n + 1
    for i, shingle in enumerate(decoded):
        assert units_of(shingle, spec.kind) == units[i : i + spec.n]
        assert shingle in normalized


@settings(max_examples=200, deadline=None)
@given(SURROGATE_FREE, SPECS)
def test_shingles_are_utf8_runs_of_n_units(text: str, spec: ShingleSpec) -> None:
    # Strict decoding: every shingle is valid UTF-8.
    check_shingles(text, spec, "strict")


@settings(max_examples=100, deadline=None)
@given(FULL_RANGE, SPECS)
def test_lone_surrogates_are_kept_not_crashed_on(text: str, spec: ShingleSpec) -> None:
    # JSON can carry lone surrogates; they pass through as themselves ("surrogatepass").
    check_shingles(text, spec, "surrogatepass")


@pytest.mark.parametrize(
    ("text", "kind", "n", "expected"),
    [
        pytest.param("Soldiers are on standby", "word", 3, [b"soldiers are on", b"are on standby"], id="word-3"),
        pytest.param("Soldiers are on standby", "word", 4, [b"soldiers are on standby"], id="word-exactly-n"),
        pytest.param("Hi!", "char", 5, [b"hi"], id="shorter-than-one-shingle"),
        pytest.param("a b a b a", "word", 2, [b"a b", b"b a", b"a b", b"b a"], id="repeats-kept-in-order"),
        pytest.param("Abc d", "char", 3, [b"abc", b"bc ", b"c d"], id="char-includes-spaces"),
        pytest.param("Ça été", "char", 2, ["ça", "a ", " é", "ét", "té"], id="char-counts-characters-not-bytes"),
        pytest.param("The force’s car", "word", 1, [b"the", b"forces", b"car"], id="apostrophe-joins"),
        pytest.param("…", "word", 3, [], id="only-punctuation"),
        pytest.param("", "char", 1, [], id="empty"),
    ],
)
def test_shingle_examples(text: str, kind: str, n: int, expected: list) -> None:
    expected = [e.encode("utf-8") if isinstance(e, str) else e for e in expected]
    assert shingles(text, kind, n) == expected  # type: ignore[arg-type]


def test_default_is_word_trigrams() -> None:
    assert DEFAULT_SHINGLE == ShingleSpec("word", 3)
    assert shingles("one two three four") == [b"one two three", b"two three four"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("word:3", ShingleSpec("word", 3), id="word"),
        pytest.param("char:5", ShingleSpec("char", 5), id="char"),
        pytest.param(" char : 64 ", ShingleSpec("char", 64), id="spaces-and-largest"),
        pytest.param("word:1", ShingleSpec("word", 1), id="smallest"),
    ],
)
def test_parse(spec: str, expected: ShingleSpec) -> None:
    parsed = ShingleSpec.parse(spec)
    assert parsed == expected
    assert ShingleSpec.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("word:0", id="zero"),
        pytest.param("char:-1", id="negative"),
        pytest.param("word:65", id="too-large"),
        pytest.param("foo:3", id="unknown-kind"),
        pytest.param("word", id="no-size"),
        pytest.param("word:", id="empty-size"),
        pytest.param("word:3.5", id="fractional"),
        pytest.param("", id="empty"),
        pytest.param("WORD:3", id="upper-case-kind"),
    ],
)
def test_parse_rejects(spec: str) -> None:
    with pytest.raises(ValueError, match="shingle"):
        ShingleSpec.parse(spec)


@pytest.mark.parametrize(
    ("kind", "n"),
    [
        pytest.param("line", 3, id="unknown-kind"),
        pytest.param("word", 0, id="zero"),
        pytest.param("char", 65, id="too-large"),
        pytest.param("word", 3.0, id="float"),
        pytest.param("word", True, id="bool"),
    ],
)
def test_bad_spec_is_rejected_by_constructor_and_shingles(kind: str, n: int) -> None:
    with pytest.raises(ValueError):
        ShingleSpec(kind, n)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        shingles("some text here", kind, n)  # type: ignore[arg-type]


def test_code_is_what_the_kernels_take() -> None:
    assert (ShingleSpec("word", 3).code, ShingleSpec("char", 3).code) == (0, 1)


def test_package_level_shingles_stays_the_function() -> None:
    code = "import dedup; dedup.minhash_signatures(['a b c']); print(dedup.shingles('a b', 'word', 1))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[b'a', b'b']"
