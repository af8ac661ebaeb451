"""Reuse matching: word n-grams of normalized paragraphs, the n-grams found in earlier documents,
the sources that cover each paragraph, and word numbers back to characters."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dedup._kernel._lib import check_indices, check_offsets, chunks, i64, lib, on_all_cores, ptr, u8, u64, whole

__all__ = ["word_counts", "word_ngrams", "ngram_hits", "Cover", "cover_rows", "token_spans", "word_spans", "MAX_NGRAM"]

MAX_NGRAM: int = lib.MAX_NGRAM
BUCKET_CHUNK: int = lib.BUCKET_CHUNK

# n-grams per chunk of the bucket passes, at least, and at most 64 chunks: each chunk counts
# into a row of buckets of its own, so that chunks count and scatter side by side.
_GRAMS_PER_CHUNK = 1 << 16
_MOST_CHUNKS = 64
# n-grams per bucket, about: its hash table (twice as many slots, 16 bytes each) stays in the
# L2 cache, and the scatter writes to few enough buckets at once. Of 2**6 to 2**13, 2**11 to
# 2**13 were fastest on 1.6 million n-grams. At most 2**16 buckets, so that the counts of 64
# chunks take 32 MiB at most.
_BUCKET = 1 << 11
_MOST_BUCKET_BITS = 16


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


def ngram_hits(
    hashes: np.ndarray,
    starts: np.ndarray,
    first: np.ndarray,
    rows: np.ndarray,
    row_doc: np.ndarray,
    row_before: np.ndarray,
    max_repeats: int,
    max_doc_freq: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every n-gram found in an earlier document, from the n-grams of :func:`word_ngrams`
    (``hashes``, ``starts``, ``first`` for the paragraphs ``rows``; paragraph ``rows[k]`` is in
    document ``row_doc[k]``, after ``row_before[k]`` words of it, documents in input order):
    ``(row, pos, source, source_word)``, the n-gram at word ``pos`` of paragraph ``row`` being at
    word ``source_word`` of the earlier document ``source``. An n-gram counts in the first
    ``max_repeats`` places of each document it is in, and only when it is in 2 to
    ``max_doc_freq`` documents. Each occurrence pairs with every occurrence (that counts) of
    the documents before its own. In no particular order, the same for any number of threads.

    >>> hashes = np.array([7, 5, 7, 7, 5], dtype=np.uint64)  # documents 0, 0, 1, 2, 2
    >>> row, pos, source, word = ngram_hits(hashes, np.zeros(5, np.int32), np.arange(6), np.arange(5),
    ...                                     np.array([0, 0, 1, 2, 2]), np.array([0, 1, 0, 0, 1]), 4, 100)
    >>> sorted(zip(row.tolist(), source.tolist(), word.tolist()))
    [(2, 0, 0), (3, 0, 0), (3, 1, 0), (4, 0, 1)]
    """
    hashes, first, rows, row_doc, row_before = u64(hashes), i64(first), i64(rows), i64(row_doc), i64(row_before)
    starts = np.require(starts, dtype=np.int32, requirements=["C", "A"])
    n, m = len(hashes), len(rows)
    max_repeats, max_doc_freq = whole(max_repeats, "max_repeats", 1), whole(max_doc_freq, "max_doc_freq", 1)
    if len(starts) != n or len(first) != m + 1 or len(row_doc) != m or len(row_before) != m:
        raise ValueError("starts must hold one word per n-gram, first one more entry than rows, row_doc and row_before one per row")
    check_offsets(first, n, "first")
    if first[0] != 0 or first[-1] != n:
        raise ValueError("first must run from 0 to the number of n-grams")
    if m >= 2**31 or n >= 2**31:
        raise ValueError("2**31 paragraphs or n-grams or more at once")
    if n and starts.min() < 0:
        raise ValueError("starts must not be negative")
    empty = np.empty(0, dtype=np.int64)
    if n < 2:
        return empty, empty, empty, empty
    bits = max(1, min(_MOST_BUCKET_BITS, (n // _BUCKET).bit_length()))
    buckets, shift = 1 << bits, 64 - bits
    per = max(_GRAMS_PER_CHUNK, -(-n // _MOST_CHUNKS))
    count = chunks(n, per)
    counts = np.zeros((count, buckets), dtype=np.int64)
    on_all_cores(lib.dedup_bucket_counts, ptr(hashes), n, shift, per, buckets, ptr(counts), chunks=count)
    # Where each chunk's n-grams of each bucket go: bucket by bucket, chunk after chunk.
    sizes = counts.sum(axis=0)
    bounds = np.zeros(buckets + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    at = bounds[:-1] + np.cumsum(counts, axis=0) - counts
    entries = np.empty((n, 2), dtype=np.uint64)  # (key, value) each
    on_all_cores(lib.dedup_bucket_scatter, ptr(hashes), ptr(starts), ptr(first), m, n, shift, per, buckets, ptr(at), ptr(entries), chunks=count)
    kept = np.zeros(buckets, dtype=np.int64)
    made = np.zeros(buckets, dtype=np.int64)
    failed = np.zeros(1, dtype=np.int64)
    per_bucket = chunks(buckets, BUCKET_CHUNK)
    on_all_cores(
        lib.dedup_bucket_groups, ptr(entries), ptr(bounds), buckets, ptr(row_doc), max_repeats, max_doc_freq,
        int(sizes.max()), ptr(kept), ptr(made), ptr(failed), chunks=per_bucket,
    )
    if failed[0]:
        raise MemoryError("no memory for finding repeated n-grams")
    out_at = np.zeros(buckets + 1, dtype=np.int64)
    np.cumsum(made, out=out_at[1:])
    total = int(out_at[-1])
    row, pos, source, source_word = (np.empty(total, dtype=np.int64) for _ in range(4))
    if total:
        on_all_cores(
            lib.dedup_bucket_hits, ptr(entries), ptr(bounds), ptr(kept), ptr(out_at), buckets, ptr(rows), ptr(row_before),
            ptr(row), ptr(pos), ptr(source), ptr(source_word), chunks=per_bucket,
        )
    return row, pos, source, source_word


class Cover(NamedTuple):
    """What :func:`cover_rows` found, as columns: row ``rows[k]`` is covered, ``covered[k]`` of
    its words, by the sources ``source_start[k]:source_start[k + 1]``, in the order chosen (the
    source's document, the words it covers on its own and beyond the sources before it); source
    ``j``'s runs are ``run_start[j]:run_start[j + 1]`` (words ``first:stop`` of the row,
    ``source_first:source_stop`` of the source), sorted by first word."""

    rows: np.ndarray
    covered: np.ndarray
    source_start: np.ndarray
    source: np.ndarray
    source_covered: np.ndarray
    source_added: np.ndarray
    run_start: np.ndarray
    first: np.ndarray
    stop: np.ndarray
    source_first: np.ndarray
    source_stop: np.ndarray


def cover_rows(
    row: np.ndarray,
    pos: np.ndarray,
    source: np.ndarray,
    source_word: np.ndarray,
    words: np.ndarray,
    n: int,
    max_gap: int,
    max_drift: int,
    min_run_words: int,
    max_sources: int,
    min_words: int,
    min_coverage: float,
    min_source_coverage: float,
) -> Cover:
    """The rows (paragraphs) covered by their sources, from their hits (hit ``i``: the n-gram of
    ``n`` words at word ``pos[i]`` of row ``row[i]`` is at word ``source_word[i]`` of document
    ``source[i]``; row ``r`` has ``words[r]`` words), by the rules of :mod:`dedup.reuse`, which
    names the settings. Rows in order; the order of the hits does not matter.

    >>> hit = np.arange(12)  # words 0-15 of row 1 are words 100-115 of document 7
    >>> c = cover_rows(np.ones(12), hit, np.full(12, 7), 100 + hit, np.array([0, 20]), 5, 8, 3, 8, 3, 8, 0.5, 0.1)
    >>> c.rows.tolist(), c.covered.tolist(), c.source.tolist(), c.first.tolist(), c.stop.tolist(), c.source_first.tolist()
    ([1], [16], [7], [0], [16], [100])
    """
    row, pos, source, source_word, words = i64(row), i64(pos), i64(source), i64(source_word), i64(words)
    nhits, nrows = len(row), len(words)
    if not len(pos) == len(source) == len(source_word) == nhits:
        raise ValueError("row, pos, source and source_word must have the same length")
    check_indices(row, nrows, "row")
    n = whole(n, "n", 1, MAX_NGRAM)
    settings = [whole(value, name) for value, name in ((max_gap, "max_gap"), (max_drift, "max_drift"), (min_run_words, "min_run_words"))]
    max_sources, min_words = whole(max_sources, "max_sources", 1), whole(min_words, "min_words")
    row_start = np.zeros(nrows + 1, dtype=np.int64)
    order = np.empty(nhits, dtype=np.int64)
    lib.dedup_hits_by_row(ptr(row), nhits, nrows, ptr(row_start), ptr(order))
    largest = int(np.diff(row_start).max()) if nrows else 0
    # Row r's sources, and their runs after them, go from row_start[r] on in their arrays.
    found, covered = np.empty(nrows, dtype=np.int64), np.empty(nrows, dtype=np.int64)
    columns = [np.empty(nhits, dtype=np.int64) for _ in range(8)]
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(
        lib.dedup_cover_rows, ptr(pos), ptr(source), ptr(source_word), ptr(order), ptr(row_start), nrows, ptr(words), n,
        *settings, max_sources, min_words, float(min_coverage), float(min_source_coverage), largest,
        ptr(found), ptr(covered), *(ptr(column) for column in columns), ptr(failed), chunks=chunks(nrows),
    )
    if failed[0]:
        raise MemoryError("no memory for chaining the hits into runs")
    source_id, source_covered, source_added, source_runs, *runs = columns
    rows = np.flatnonzero(found)
    source_start = _starts(found[rows])
    at = _ranges(row_start[rows], source_start)
    run_start = _starts(source_runs[at])
    run_at = _ranges(row_start[rows], run_start[source_start])
    return Cover(rows, covered[rows], source_start, source_id[at], source_covered[at], source_added[at], run_start, *(r[run_at] for r in runs))


def _starts(sizes: np.ndarray) -> np.ndarray:
    """Where each of consecutive groups of ``sizes`` starts, and their end."""
    starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    return starts


def _ranges(firsts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The indices ``firsts[k]``, ``firsts[k] + 1``, ..., as many as group ``k`` of ``starts``
    (:func:`_starts`) holds, for every group in turn."""
    return np.repeat(firsts - starts[:-1], np.diff(starts)) + np.arange(starts[-1])


def token_spans(src: np.ndarray, byte_start: np.ndarray, byte_end: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tokens (runs of bytes between ASCII whitespace) of the paragraphs
    ``src[byte_start[r]:byte_end[r]]`` for ``r`` in ``rows`` that are not plain (ASCII letters
    and digits only: one word each, as normalized): ``(first, start, end)``, those of ``rows[k]``
    being ``first[k]:first[k + 1]``, each the bytes ``src[start[j]:end[j]]``.

    >>> src = np.frombuffer(b"One  two,\\nthree four's", dtype=np.uint8)
    >>> first, start, end = token_spans(src, np.array([0, 10]), np.array([9, 22]), np.array([0, 1]))
    >>> first.tolist(), start.tolist(), end.tolist()
    ([0, 1, 2], [5, 16], [9, 22])
    """
    src, byte_start, byte_end, rows = u8(src), i64(byte_start), i64(byte_end), i64(rows)
    _check_spans(src, byte_start, byte_end, rows)
    m = len(rows)
    counts = np.empty(m, dtype=np.int64)
    on_all_cores(lib.dedup_token_counts, ptr(src), ptr(byte_start), ptr(byte_end), ptr(rows), m, ptr(counts), chunks=chunks(m))
    first = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    start, end = np.empty(int(first[-1]), dtype=np.int64), np.empty(int(first[-1]), dtype=np.int64)
    on_all_cores(lib.dedup_token_spans, ptr(src), ptr(byte_start), ptr(byte_end), ptr(rows), m, ptr(first), ptr(start), ptr(end), chunks=chunks(m))
    return first, start, end


def word_spans(
    src: np.ndarray,
    byte_start: np.ndarray,
    byte_end: np.ndarray,
    char_start: np.ndarray,
    char_end: np.ndarray,
    rows: np.ndarray,
    words: np.ndarray,
    token_first: np.ndarray,
    norm: np.ndarray,
    norm_offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The character span of each word of the paragraphs ``rows`` (``words[k]`` words for
    ``rows[k]``, whose bytes ``src[byte_start[r]:byte_end[r]]`` are characters
    ``char_start[r]:char_end[r]``): ``(first, start, end)``, the words of ``rows[k]`` being
    ``first[k]:first[k + 1]``, each the characters ``start[w]:end[w]``. Each token gives its
    words its span: a plain one is a word, and the others (``token_first`` from
    :func:`token_spans`) have as many words as their normalized text (token ``j``'s is
    ``norm[norm_offsets[j]:norm_offsets[j + 1]]``). A paragraph whose tokens do not give its
    number of words has them spread evenly over its characters.

    >>> src = np.frombuffer("Déjà-vu  again".encode(), dtype=np.uint8)
    >>> norm, offsets = np.frombuffer(b"deja vu", dtype=np.uint8), np.array([0, 7])
    >>> first, start, end = word_spans(src, np.array([0]), np.array([len(src)]), np.array([0]), np.array([14]),
    ...                                np.array([0]), np.array([3]), np.array([0, 1]), norm, offsets)
    >>> first.tolist(), start.tolist(), end.tolist()
    ([0, 3], [0, 0, 9], [7, 7, 14])
    """
    src, byte_start, byte_end, char_start, char_end = u8(src), i64(byte_start), i64(byte_end), i64(char_start), i64(char_end)
    rows, words, token_first, norm, norm_offsets = i64(rows), i64(words), i64(token_first), u8(norm), i64(norm_offsets)
    _check_spans(src, byte_start, byte_end, rows)
    m = len(rows)
    if len(char_start) != len(byte_start) or len(char_end) != len(byte_start) or len(words) != m or (m and words.min() < 0):
        raise ValueError("char_start and char_end must hold one entry per paragraph, words one count per row")
    if len(token_first) != m + 1:
        raise ValueError("token_first must hold one more entry than rows")
    check_offsets(norm_offsets, len(norm), "norm_offsets")
    check_offsets(token_first, len(norm_offsets) - 1, "token_first")
    first = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(words, out=first[1:])
    start, end = np.empty(int(first[-1]), dtype=np.int64), np.empty(int(first[-1]), dtype=np.int64)
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(
        lib.dedup_word_spans, ptr(src), ptr(byte_start), ptr(byte_end), ptr(char_start), ptr(char_end), ptr(rows), m, ptr(words),
        ptr(token_first), ptr(norm), ptr(norm_offsets), ptr(first), ptr(start), ptr(end), ptr(failed), chunks=chunks(m),
    )
    if failed[0]:
        raise ValueError("token_first must count the tokens of token_spans for rows")
    return first, start, end


def _check_spans(src: np.ndarray, byte_start: np.ndarray, byte_end: np.ndarray, rows: np.ndarray) -> None:
    if len(byte_start) != len(byte_end):
        raise ValueError("byte_start and byte_end must have the same length")
    check_indices(rows, len(byte_start), "rows")
    lo, hi = byte_start[rows], byte_end[rows]
    if len(rows) and (lo.min() < 0 or hi.max() > len(src) or np.any(hi < lo)):
        raise ValueError("the paragraphs' bytes must lie within src")
