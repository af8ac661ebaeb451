"""dedup.lsh: banding parameters as datasketch chooses them, and candidate pairs by banding."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import datasketch
import numpy as np
import pytest
import xxhash
from datasketch.lsh import _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dedup.lsh import DEFAULT_WINDOW, BandedLSH, lsh_params
from dedup.shingling import shingles
from dedup.signatures import minhash_signatures


@pytest.mark.parametrize("threshold", [pytest.param(t, id=f"t{t}") for t in (0.1, 0.4, 0.5, 0.8, 0.95, 1.0)])
@pytest.mark.parametrize("num_perm", [pytest.param(p, id=f"p{p}") for p in (16, 128)])
def test_lsh_params_equal_datasketch_optimiser(threshold: float, num_perm: int) -> None:
    assert lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.2, 0.8)


@pytest.mark.parametrize(
    ("threshold", "num_perm"),
    [pytest.param(0.4, 128, id="defaults"), pytest.param(0.7, 64, id="t0.7-p64")],
)
def test_lsh_params_equal_what_minhashlsh_chooses(threshold: float, num_perm: int) -> None:
    index = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
    assert lsh_params(threshold, num_perm) == (index.b, index.r)
    assert BandedLSH.for_threshold(threshold, num_perm) == BandedLSH(index.b, index.r, DEFAULT_WINDOW)


def test_lsh_params_with_equal_weights_follow_datasketch_default() -> None:
    assert lsh_params(0.5, 128, 0.5, 0.5) == _optimal_param(0.5, 128, 0.5, 0.5)


@pytest.mark.parametrize("stored", [b"not json", b'{"0.45 64 0.2 0.8": [0, -1]}', b"[1, 2]"])
def test_lsh_params_cache_on_disk_is_checked_and_repaired(stored: bytes, tmp_path, monkeypatch) -> None:
    from dedup import lsh

    monkeypatch.setenv("DEDUP_CACHE_DIR", str(tmp_path))
    lsh.lsh_params.cache_clear()
    lsh._known_params.cache_clear()
    try:
        path = lsh._params_file()
        assert path is not None and path.parent == tmp_path
        path.write_bytes(stored)
        assert lsh_params(0.45, 64) == _optimal_param(0.45, 64, 0.2, 0.8)
        assert json.loads(path.read_text()) == {"0.45 64 0.2 0.8": list(_optimal_param(0.45, 64, 0.2, 0.8))}
        lsh.lsh_params.cache_clear()
        lsh._known_params.cache_clear()
        assert lsh_params(0.45, 64) == _optimal_param(0.45, 64, 0.2, 0.8)  # read back from disk
    finally:
        lsh.lsh_params.cache_clear()
        lsh._known_params.cache_clear()


@pytest.mark.parametrize(
    ("threshold", "num_perm"),
    [
        pytest.param(0.0, 128, id="threshold-0"),
        pytest.param(-0.1, 128, id="threshold-negative"),
        pytest.param(1.5, 128, id="threshold-above-1"),
        pytest.param(0.5, 1, id="one-permutation"),
    ],
)
def test_lsh_params_reject(threshold: float, num_perm: int) -> None:
    with pytest.raises(ValueError):
        lsh_params(threshold, num_perm)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"bands": 0, "rows": 4}, id="no-bands"),
        pytest.param({"bands": 4, "rows": 0}, id="no-rows"),
        pytest.param({"bands": 4, "rows": 4, "window": 0}, id="no-window"),
    ],
)
def test_banded_lsh_rejects_bad_shape(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        BandedLSH(**kwargs)


@pytest.mark.parametrize(
    "signatures",
    [
        pytest.param(np.zeros((3, 7), dtype=np.uint32), id="too-few-columns"),
        pytest.param(np.zeros(8, dtype=np.uint32), id="one-dimensional"),
    ],
)
def test_candidate_pairs_rejects_signatures_of_the_wrong_shape(signatures: np.ndarray) -> None:
    with pytest.raises(ValueError):
        BandedLSH(bands=2, rows=4).candidate_pairs(signatures)


def reference_pairs(signatures: np.ndarray, bands: int, rows: int, window: int) -> set[tuple[int, int]]:
    """Pairs by the documented rule: rows that agree on a whole band share its bucket; within a
    bucket (members in input order) each of the first ``window`` members pairs with every later
    one."""
    pairs = set()
    for band in range(bands):
        buckets: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(signatures):
            buckets[tuple(row[band * rows : (band + 1) * rows].tolist())].append(i)
        for members in buckets.values():
            for x in range(min(window, len(members) - 1)):
                for y in range(x + 1, len(members)):
                    pairs.add((members[x], members[y]))
    return pairs


def check_pair_array(pairs: np.ndarray, n: int) -> None:
    assert pairs.ndim == 2 and pairs.shape[1] == 2
    assert pairs.dtype == np.int64
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert (pairs >= 0).all() and (pairs < n).all()
    as_list = [tuple(p) for p in pairs.tolist()]
    assert as_list == sorted(set(as_list)), "pairs must be sorted and unique"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda rows: st.tuples(
            st.just(rows),
            st.integers(1, 4),
            st.integers(1, 5),
            hnp.arrays(np.uint32, st.tuples(st.integers(0, 30), st.integers(rows * 4, rows * 4 + 2)), elements=st.integers(0, 2)),
        )
    )
)
def test_candidate_pairs_follow_the_banding_rule(case: tuple[int, int, int, np.ndarray]) -> None:
    rows, bands, window, signatures = case
    n = len(signatures)
    lsh = BandedLSH(bands=bands, rows=rows, window=window)
    pairs = lsh.candidate_pairs(signatures)
    check_pair_array(pairs, n)
    assert {tuple(p) for p in pairs.tolist()} == reference_pairs(signatures, bands, rows, window)
    # With a window at least as large as every bucket, it is every pair that shares a band.
    everything = BandedLSH(bands=bands, rows=rows, window=max(n, 1)).candidate_pairs(signatures)
    assert {tuple(p) for p in everything.tolist()} == reference_pairs(signatures, bands, rows, n)


def test_fewer_than_two_rows_have_no_pairs() -> None:
    lsh = BandedLSH(bands=2, rows=2)
    for n in (0, 1):
        pairs = lsh.candidate_pairs(np.zeros((n, 4), dtype=np.uint32))
        assert pairs.shape == (0, 2)


def test_identical_signatures_are_always_candidates() -> None:
    rng = np.random.default_rng(5)
    signatures = rng.integers(0, 2**32, size=(50, 128), dtype=np.uint32)
    signatures[17] = signatures[3]
    signatures[49] = signatures[3]
    pairs = {tuple(p) for p in BandedLSH.for_threshold(0.9, 128).candidate_pairs(signatures).tolist()}
    assert {(3, 17), (3, 49), (17, 49)} <= pairs


def test_only_the_banded_columns_matter() -> None:
    # 2 bands of 3 rows use columns 0..5; agreement beyond them is no reason for a pair.
    signatures = np.array([[1, 2, 3, 4, 5, 6, 9, 9], [7, 2, 3, 4, 5, 8, 9, 9], [1, 2, 3, 0, 0, 0, 1, 1]], dtype=np.uint32)
    assert BandedLSH(bands=2, rows=3).candidate_pairs(signatures).tolist() == [[0, 2]]


def test_huge_bucket_yields_window_pairs_per_member() -> None:
    n, window = 20_000, DEFAULT_WINDOW
    signatures = np.tile(np.arange(128, dtype=np.uint32), (n, 1))
    pairs = BandedLSH(bands=4, rows=32, window=window).candidate_pairs(signatures)
    # Each of the bucket's first `window` members pairs with every later member: about
    # window * n pairs, not n**2 / 2 (2e8).
    assert len(pairs) == sum(n - 1 - x for x in range(window))
    assert len(pairs) <= window * n
    assert pairs[:, 0].max() == window - 1
    # Every member is paired with the bucket's first member, so first-seen clustering still
    # puts the whole bucket together.
    assert np.array_equal(pairs[: n - 1, 1], np.arange(1, n))
    assert (pairs[: n - 1, 0] == 0).all()


def test_a_pair_sharing_every_band_is_emitted_once() -> None:
    from dedup import _kernel

    n, window, bands = 500, 8, 30
    keys = np.zeros((bands, n), dtype=np.uint32)  # one bucket in every band
    left, right = _kernel.lsh_pairs(keys, window)
    # Once per pair, not once per band: the band count does not multiply the work.
    assert len(left) == sum(n - 1 - x for x in range(window))
    assert len(np.unique(left * n + right)) == len(left)


def test_pairs_sharing_some_bands_come_out_once_each() -> None:
    from dedup import _kernel

    rng = np.random.default_rng(7)
    keys = rng.integers(0, 4, size=(6, 300), dtype=np.uint32)  # many shared buckets
    left, right = _kernel.lsh_pairs(keys, 1000)
    codes = left * 300 + right
    assert len(np.unique(codes)) == len(codes)
    expected = {(i, j) for i in range(300) for j in range(i + 1, 300) if (keys[:, i] == keys[:, j]).any()}
    assert set(zip(left.tolist(), right.tolist())) == expected


def corpus(seed: int, size: int) -> list[str]:
    """Paragraphs with many near-duplicates: variants of a few base texts with words changed,
    dropped or added."""
    rng = random.Random(seed)
    vocabulary = [f"w{k}" for k in range(60)]
    bases = [[rng.choice(vocabulary) for _ in range(rng.randint(8, 30))] for _ in range(12)]
    texts = []
    for _ in range(size):
        words = list(rng.choice(bases))
        for _ in range(rng.randint(0, 6)):
            action = rng.random()
            k = rng.randrange(len(words))
            if action < 0.4:
                words[k] = rng.choice(vocabulary)
            elif action < 0.7 and len(words) > 3:
                del words[k]
            else:
                words.insert(k, rng.choice(vocabulary))
        texts.append(" ".join(words))
    return texts


@pytest.mark.parametrize(
    ("threshold", "num_perm", "seed"),
    [
        pytest.param(0.5, 128, 1, id="t0.5-p128"),
        pytest.param(0.3, 64, 2, id="t0.3-p64"),
        pytest.param(0.8, 128, 3, id="t0.8-p128"),
    ],
)
def test_candidates_include_every_pair_datasketch_finds(threshold: float, num_perm: int, seed: int) -> None:
    texts = corpus(seed, 150)
    index = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
    sketches = []
    for i, text in enumerate(texts):
        m = datasketch.MinHash(num_perm=num_perm, seed=1, hashfunc=xxhash.xxh32_intdigest)
        for s in shingles(text):
            m.update(s)
        index.insert(i, m)
        sketches.append(m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(sketches) for j in index.query(m) if j != i}
    assert theirs, "the corpus must produce candidates for the comparison to mean anything"

    signatures = minhash_signatures(texts, num_perm, 1)
    ours = BandedLSH.for_threshold(threshold, num_perm, window=len(texts)).candidate_pairs(signatures)
    check_pair_array(ours, len(texts))
    ours_set = {tuple(p) for p in ours.tolist()}
    assert theirs <= ours_set
    # Nothing beyond what shares a band (a band-key collision could add one, with negligible
    # probability at this size).
    assert ours_set == theirs


# ---------------------------------------------------------------------------------------------
# Candidate pairs a block at a time: together, exactly the pairs of pairs_from_keys.


@settings(max_examples=80, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(0, 40)).flatmap(
        lambda shape: hnp.arrays(np.uint32, shape, elements=st.integers(0, 3))
    ),
    st.integers(1, 6),
    st.integers(1, 25),
)
def test_blocks_together_hold_exactly_the_pairs_of_pairs_from_keys(keys: np.ndarray, window: int, max_pairs: int) -> None:
    bands, n = keys.shape
    lsh = BandedLSH(bands=bands, rows=1, window=window)
    expected = lsh.pairs_from_keys(keys)
    candidates = lsh.candidates(keys)
    assert candidates.total == len(expected)
    seen: list[tuple[int, int]] = []
    previous_hi = 0
    for lo, hi in candidates.blocks(max_pairs):
        assert previous_hi <= lo < hi <= n, "blocks come in order, without overlap"
        previous_hi = hi
        left, right = candidates.pairs(lo, hi)
        assert left.dtype == right.dtype == np.int64
        assert 0 < len(left) <= max_pairs or hi == lo + 1, "within the budget, unless one paragraph alone exceeds it"
        assert ((lo <= right) & (right < hi)).all() and (left < right).all()
        assert (np.diff(right) >= 0).all(), "grouped by the later paragraph, ascending"
        seen += zip(left.tolist(), right.tolist())
    assert sorted(seen) == [tuple(p) for p in expected.tolist()], "every pair once, none added"
    in_pairs = np.zeros(n, dtype=bool)
    in_pairs[expected.ravel()] = True
    assert candidates.paired.tolist() == in_pairs.tolist()


def test_a_huge_bucket_comes_in_blocks_of_the_budget() -> None:
    n, window = 5_000, DEFAULT_WINDOW
    keys = np.zeros((3, n), dtype=np.uint32)  # one bucket in every band
    lsh = BandedLSH(bands=3, rows=1, window=window)
    candidates = lsh.candidates(keys)
    assert candidates.total == sum(n - 1 - x for x in range(window))
    blocks = list(candidates.blocks(10_000))
    sizes = [len(candidates.pairs(lo, hi)[0]) for lo, hi in blocks]
    assert sum(sizes) == candidates.total
    assert max(sizes) <= 10_000
    # Filled: a block stops short of the budget by less than one paragraph's pairs.
    assert min(sizes[:-1]) > 10_000 - window
    # Each later paragraph pairs with the bucket's first `window` members.
    left, right = candidates.pairs(*blocks[-1])
    assert left[right == n - 1].tolist() == list(range(window))


def test_no_pairs_no_blocks() -> None:
    keys = np.arange(20, dtype=np.uint32).reshape(2, 10)  # every key different
    candidates = BandedLSH(bands=2, rows=1).candidates(keys)
    assert (candidates.total, list(candidates.blocks(5))) == (0, [])
    assert not candidates.paired.any()


def test_blocks_need_room_for_a_pair() -> None:
    candidates = BandedLSH(bands=1, rows=1).candidates(np.zeros((1, 3), dtype=np.uint32))
    with pytest.raises(ValueError):
        list(candidates.blocks(0))


def test_candidate_tables_are_read_only() -> None:
    candidates = BandedLSH(bands=1, rows=1).candidates(np.zeros((1, 3), dtype=np.uint32))
    with pytest.raises(ValueError):
        candidates.paired[0] = False
