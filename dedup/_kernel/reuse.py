"""Word n-grams of normalized paragraphs, for reuse matching."""

from __future__ import annotations

import numpy as np

from dedup._kernel._lib import check_indices, check_offsets, chunks, i64, lib, on_all_cores, ptr, u8, whole

__all__ = ["word_counts", "word_ngrams", "MAX_NGRAM"]

MAX_NGRAM: int = lib.MAX_NGRAM


def word_counts(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The number of words of each paragraph ``rows[k]`` of normalized ``data``."""
    data, offsets, rows = u8(data), i64(offsets), i64(rows)
    check_offsets(offsets, len(data))
    check_indices(rows, len(offsets) - 1, "rows")
    out = np.empty(len(rows), dtype=np.int64)
    on_all_cores(lib.dedup_word_counts, ptr(data), ptr(offsets), ptr(rows), len(rows), ptr(out), chunks=chunks(len(rows)))
    return out


def word_ngrams(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, n: int, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The word n-grams of paragraphs ``rows`` (which have ``words`` words each, from
    :func:`word_counts`): ``(first, hashes, starts)``, the n-grams of ``rows[k]`` being
    ``first[k]:first[k + 1]``, each with its hash and its first word in the paragraph.

    >>> from dedup.normalization import normalize_batch
    >>> b = normalize_batch(["one two three four", "one two three", "x"])
    >>> rows = np.arange(3)
    >>> first, hashes, starts = word_ngrams(b.data, b.offsets, rows, 3, word_counts(b.data, b.offsets, rows))
    >>> first.tolist(), starts.tolist(), bool(hashes[0] == hashes[2])
    ([0, 2, 3, 3], [0, 1, 0], True)
    """
    data, offsets, rows, words = u8(data), i64(offsets), i64(rows), i64(words)
    n = whole(n, "n", 1, MAX_NGRAM)
    check_offsets(offsets, len(data))
    check_indices(rows, len(offsets) - 1, "rows")
    if len(words) != len(rows) or (len(words) and words.min() < 0):
        raise ValueError("words must hold one count per row")
    if len(words) and words.max() >= 2**31:
        raise ValueError("a paragraph of 2**31 words or more")
    first = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(np.maximum(words - n + 1, 0), out=first[1:])
    hashes = np.empty(int(first[-1]), dtype=np.uint64)
    starts = np.empty(int(first[-1]), dtype=np.int32)
    on_all_cores(lib.dedup_word_ngrams, ptr(data), ptr(offsets), ptr(rows), len(rows), n, ptr(first), ptr(hashes), ptr(starts), chunks=chunks(len(rows)))
    return first, hashes, starts
