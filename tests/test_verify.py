"""dedup.verify: exact Jaccard and containment of shingle sets, and the threshold check."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import _kernel
from dedup.normalization import normalize_batch
from dedup.shingling import ShingleSpec, shingles
from dedup.verify import ShingleSets, Similarity, similarity, verify

SPECS = [ShingleSpec("word", 1), ShingleSpec("word", 2), ShingleSpec("word", 3), ShingleSpec("char", 3)]
# A small vocabulary, in several spellings that normalize alike, so that shingles overlap often.
WORDS = ["the", "cat", "sat", "on", "mat", "dog", "a", "The", "CAT!", "cat’s", "cats", "—", "…", "é"]
SMALL_TEXT = st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join)


def set_similarity(a: str, b: str, spec: ShingleSpec) -> tuple[float, float]:
    sa = set(shingles(a, spec.kind, spec.n))
    sb = set(shingles(b, spec.kind, spec.n))
    if not sa or not sb:
        return 0.0, 0.0
    inter = len(sa & sb)
    return inter / len(sa | sb), inter / min(len(sa), len(sb))


@settings(max_examples=200, deadline=None)
@given(SMALL_TEXT | st.text(), SMALL_TEXT | st.text(), st.sampled_from(SPECS))
def test_similarity_is_bounded_ordered_and_symmetric(a: str, b: str, spec: ShingleSpec) -> None:
    ab = similarity(a, b, spec)
    assert 0.0 <= ab.jaccard <= ab.containment <= 1.0
    assert similarity(b, a, spec) == ab
    assert (ab.jaccard, ab.containment) == set_similarity(a, b, spec)


@pytest.mark.parametrize(
    ("a", "b", "spec", "expected"),
    [
        pytest.param(
            "Soldiers are on standby for armed police",
            "Soldiers are also on standby for armed police",
            ShingleSpec(),
            Similarity(0.375, 0.6),
            id="doc-example",
        ),
        pytest.param("The force’s car!", "the FORCE'S car", ShingleSpec(), Similarity(1.0, 1.0), id="same-normalized-text"),
        pytest.param("a b c d e f", "a b c d", ShingleSpec("word", 3), Similarity(0.5, 1.0), id="prefix-is-contained"),
        pytest.param("a b c", "x y z", ShingleSpec("word", 1), Similarity(0.0, 0.0), id="disjoint"),
        pytest.param("…", "…", ShingleSpec(), Similarity(0.0, 0.0), id="both-empty"),
        pytest.param("", "some text", ShingleSpec(), Similarity(0.0, 0.0), id="one-empty"),
        pytest.param("a a a b", "a b", ShingleSpec("word", 1), Similarity(1.0, 1.0), id="sets-not-multisets"),
    ],
)
def test_similarity_examples(a: str, b: str, spec: ShingleSpec, expected: Similarity) -> None:
    assert similarity(a, b, spec) == expected


@pytest.mark.parametrize(
    ("jaccard", "containment"),
    [
        pytest.param(0.5, 0.4, id="jaccard-above-containment"),
        pytest.param(-0.1, 0.5, id="negative"),
        pytest.param(0.5, 1.1, id="above-one"),
    ],
)
def test_similarity_rejects_impossible_values(jaccard: float, containment: float) -> None:
    with pytest.raises(ValueError):
        Similarity(jaccard, containment)


def all_pairs(n: int) -> np.ndarray:
    return np.array(list(combinations(range(n), 2)), dtype=np.int64).reshape(-1, 2)


@settings(max_examples=80, deadline=None)
@given(st.lists(SMALL_TEXT, min_size=2, max_size=8), st.sampled_from(SPECS), st.sampled_from([0.0, 0.2, 1 / 3, 0.5, 1.0]))
def test_verify_equals_python_sets(texts: list[str], spec: ShingleSpec, threshold: float) -> None:
    pairs = all_pairs(len(texts))
    result = verify(normalize_batch(texts), spec, pairs, threshold)
    expected = {(i, j): set_similarity(texts[i], texts[j], spec) for i, j in pairs.tolist()}
    kept = {(i, j) for (i, j), (jac, _) in expected.items() if jac >= threshold}
    assert result.checked == len(pairs)
    assert len(result) == len(kept)
    assert set(zip(result.left.tolist(), result.right.tolist())) == kept
    for i, j, jac, cont in zip(result.left.tolist(), result.right.tolist(), result.jaccard.tolist(), result.containment.tolist()):
        assert (jac, cont) == expected[(i, j)]


@pytest.mark.parametrize(
    ("a", "b", "jaccard"),
    [
        pytest.param("a b c", "a b c d e f", 0.5, id="half"),
        pytest.param("a b", "a c", 1 / 3, id="one-third"),
        pytest.param("x y z", "X, Y, Z!", 1.0, id="identical-sets"),
    ],
)
def test_pair_at_the_threshold_is_kept_and_below_it_dropped(a: str, b: str, jaccard: float) -> None:
    batch = normalize_batch([a, b])
    spec = ShingleSpec("word", 1)
    pairs = np.array([[0, 1]], dtype=np.int64)
    at = verify(batch, spec, pairs, jaccard)
    assert at.left.tolist() == [0] and at.right.tolist() == [1]
    assert at.jaccard.tolist() == [jaccard]
    above = verify(batch, spec, pairs, np.nextafter(jaccard, 2.0))
    assert len(above) == 0
    assert above.checked == 1


def test_verify_keeps_input_order_and_indexes_the_batch() -> None:
    texts = ["unrelated words here", "the cat sat on the mat", "something else again", "the cat sat on a mat", "the cat sat on the mat"]
    pairs = np.array([[3, 4], [1, 3], [0, 2], [1, 4]], dtype=np.int64)
    result = verify(normalize_batch(texts), ShingleSpec("word", 1), pairs, 0.5)
    assert list(zip(result.left.tolist(), result.right.tolist())) == [(3, 4), (1, 3), (1, 4)]
    assert result.jaccard.tolist() == [5 / 6, 5 / 6, 1.0]
    assert result.checked == 4


def test_empty_paragraphs_never_pass() -> None:
    # Two paragraphs with no shingles are not duplicates of each other, whatever the threshold.
    result = verify(normalize_batch(["…", "—", "text"]), ShingleSpec(), np.array([[0, 1], [0, 2]]), 0.0)
    assert result.jaccard.tolist() == [0.0, 0.0]
    assert len(verify(normalize_batch(["…", "—"]), ShingleSpec(), np.array([[0, 1]]), 0.01)) == 0


def test_no_candidates() -> None:
    result = verify(normalize_batch(["a", "b"]), ShingleSpec(), np.empty((0, 2), dtype=np.int64), 0.4)
    assert (len(result), result.checked) == (0, 0)
    assert result.left.dtype == np.int64 and result.jaccard.dtype == np.float64


@settings(max_examples=60, deadline=None)
@given(st.lists(SMALL_TEXT, min_size=2, max_size=8), st.sampled_from(SPECS), st.data())
def test_sets_made_only_where_needed_verify_alike(texts: list[str], spec: ShingleSpec, data: st.DataObject) -> None:
    batch = normalize_batch(texts)
    pairs = all_pairs(len(texts))
    chosen = pairs[data.draw(st.lists(st.integers(0, len(pairs) - 1), unique=True))] if len(pairs) else pairs
    chosen = chosen.reshape(-1, 2)
    rows = np.arange(len(texts))
    needed = np.zeros(len(texts), dtype=bool)
    needed[chosen.ravel()] = True
    every = ShingleSets.of(batch, spec, rows)
    some = ShingleSets.of(batch, spec, rows, needed=needed)
    assert len(some) == len(every) == len(texts)
    for k in range(len(texts)):
        got = some.hashes[some.offsets[k] : some.offsets[k + 1]]
        if needed[k]:
            assert got.tolist() == every.hashes[every.offsets[k] : every.offsets[k + 1]].tolist()
        else:
            assert len(got) == 0, "a set no pair needs is not made"
    by_sets = some.verify(chosen[:, 0], chosen[:, 1], 0.3)
    by_batch = verify(batch, spec, chosen, 0.3)
    assert by_sets.checked == by_batch.checked == len(chosen)
    for field in ("left", "right", "jaccard", "containment"):
        assert getattr(by_sets, field).tolist() == getattr(by_batch, field).tolist()


def test_sets_need_a_mask_over_their_rows() -> None:
    with pytest.raises(ValueError):
        ShingleSets.of(normalize_batch(["a b", "c d"]), ShingleSpec(), np.arange(2), needed=np.ones(3, dtype=bool))


# ---------------------------------------------------------------------------------------------
# The set hash: XXH64 of each shingle's bytes, a true 64-bit hash, with the xxhash package as
# the oracle.


def xxh64_of(data: bytes, seed: int, pad: int = 0) -> int:
    """The kernel's XXH64 of ``data``, placed inside a larger buffer to check that it reads
    only its own span."""
    buffer = np.frombuffer(b"\xaa" * pad + data + b"\x55" * pad, dtype=np.uint8)
    return _kernel.xxh64(buffer, pad, pad + len(data), seed)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s:#x}") for s in (0, 1, 2**32 - 1, 2**64 - 1)])
def test_xxh64_every_length_to_200(seed: int) -> None:
    # Lengths 0..200 cover the four-lane loop of 32-byte stripes, the 8-byte, 4-byte and 1-byte
    # tails in every mix.
    data = bytes(range(256)) * 2
    for length in range(201):
        chunk = data[length : 2 * length]
        assert xxh64_of(chunk, seed) == xxhash.xxh64_intdigest(chunk, seed), length
        assert xxh64_of(chunk, seed, pad=5) == xxhash.xxh64_intdigest(chunk, seed), length


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 2**64 - 1), st.integers(0, 9))
def test_xxh64_equals_xxhash(data: bytes, seed: int, pad: int) -> None:
    assert xxh64_of(data, seed, pad) == xxhash.xxh64_intdigest(data, seed)


@settings(max_examples=150, deadline=None)
@given(st.lists(SMALL_TEXT | st.text(max_size=120), min_size=1, max_size=6), st.sampled_from(SPECS))
def test_shingle_sets_hold_the_xxh64_of_each_distinct_shingle(texts: list[str], spec: ShingleSpec) -> None:
    sets = ShingleSets.of(normalize_batch(texts), spec, np.arange(len(texts)))
    for k, text in enumerate(texts):
        expected = sorted({xxhash.xxh64_intdigest(s) for s in shingles(text, spec.kind, spec.n)})
        assert sets.hashes[sets.offsets[k] : sets.offsets[k + 1]].tolist() == expected


def test_whole_text_hashes_are_xxh64() -> None:
    batch = normalize_batch(["Soldiers are on standby", "", "ﬃ café"])
    expected = [xxhash.xxh64_intdigest(bytes(batch.data[batch.offsets[i] : batch.offsets[i + 1]])) for i in range(3)]
    assert _kernel.text_hashes(batch.data, batch.offsets).tolist() == expected
