"""dedup._kernel.reuse: the compiled stages of reuse matching, each against a plain Python
statement of its rule, the same on one thread and on several, and refusing arguments that would
make the C read or write out of bounds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup._kernel import _lib
from dedup._kernel.reuse import ngram_hits, word_counts, word_ngrams
from dedup.normalization import normalize_batch


@contextmanager
def threads(count: int) -> Iterator[None]:
    before = _lib.set_threads(count)
    try:
        yield
    finally:
        _lib.set_threads(before)


# -- hits ----------------------------------------------------------------------------------------


def hits_by_rule(hashes: list[int], row_doc: list[int], row_before: list[int], max_repeats: int, max_doc_freq: int) -> list[tuple[int, int, int, int]]:
    """The rule of ngram_hits, for one n-gram per row (pos 0): an n-gram counts in the first
    max_repeats places of each document, in 2 to max_doc_freq documents, and each place pairs
    with the places of the documents before its own."""
    places: dict[int, list[int]] = defaultdict(list)
    for k, h in enumerate(hashes):
        places[h].append(k)
    out = []
    for ks in places.values():
        kept: list[int] = []
        for k in ks:
            if sum(row_doc[j] == row_doc[k] for j in kept) < max_repeats:
                kept.append(k)
        docs = {row_doc[k] for k in kept}
        if not 2 <= len(docs) <= max_doc_freq:
            continue
        for t in kept:
            out += [(t, 0, row_doc[s], row_before[s]) for s in kept if row_doc[s] < row_doc[t]]
    return sorted(out)


@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=0, max_size=300),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(0, 64),
)
@settings(max_examples=200, deadline=None)
def test_hits_follow_the_rule(grams: list[tuple[int, bool]], max_repeats: int, max_doc_freq: int, spread: int) -> None:
    # A few hashes, many repeats; a new document where the flag says so. The hashes' top bits
    # are spread out too, so that they fall into different buckets.
    hashes = [(h * 0x9E3779B97F4A7C15 + spread) % 2**64 for h, _ in grams]
    row_doc = np.cumsum([new for _, new in grams]).tolist()
    row_before = [7 * k for k in range(len(grams))]
    expected = hits_by_rule(hashes, row_doc, row_before, max_repeats, max_doc_freq)
    m = len(grams)
    for count in (1, 2):
        with threads(count):
            row, pos, source, word = ngram_hits(
                np.array(hashes, dtype=np.uint64), np.zeros(m, np.int32), np.arange(m + 1), np.arange(m), np.array(row_doc), np.array(row_before),
                max_repeats, max_doc_freq,
            )
        assert sorted(zip(row.tolist(), pos.tolist(), source.tolist(), word.tolist())) == expected


def test_hits_of_many_rows_in_many_buckets_are_the_same_on_one_thread_and_several() -> None:
    rng = np.random.default_rng(0)
    b = normalize_batch([" ".join(rng.choice(["a", "b", "c", "d", "e", "f"], size=rng.integers(0, 30))) for _ in range(4000)])
    rows = np.arange(4000)
    words = word_counts(b.data, b.offsets, rows)
    first, hashes, starts = word_ngrams(b.data, b.offsets, rows, 3, words)
    results = []
    for count in (1, 2):
        with threads(count):
            found = ngram_hits(hashes, starts, first, rows, rows // 10, np.zeros(4000, np.int64), 2, 1000)
        results.append(sorted(zip(*(a.tolist() for a in found))))
    assert results[0] == results[1] and len(results[0]) > 10_000


# -- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 1, 4]), np.arange(2), np.zeros(2), np.zeros(2), 1, 1), id="first-past-the-n-grams"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 2, 1, 3]), np.arange(3), np.zeros(3), np.zeros(3), 1, 1), id="first-descending"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(2, np.int32), np.array([0, 3]), np.arange(1), np.zeros(1), np.zeros(1), 1, 1), id="fewer-starts-than-hashes"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 3]), np.arange(1), np.zeros(2), np.zeros(1), 1, 1), id="row-doc-of-other-rows"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 3]), np.arange(1), np.zeros(1), np.zeros(1), 0, 1), id="max-repeats-0"),
    ],
)
def test_arguments_that_would_reach_past_an_array_are_refused(call) -> None:
    with pytest.raises((ValueError, IndexError)):
        call()
