"""Paragraph boundaries in UTF-8 text, many documents at once."""

from __future__ import annotations

import numpy as np

from dedup._kernel._lib import check_offsets, chunks, ffi, i64, lib, on_all_cores, ptr, u8

__all__ = ["paragraph_spans", "paragraphs_of"]

DOC_CHUNK: int = lib.DOC_CHUNK  # documents per chunk


def paragraph_spans(src: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, ...]:
    """The paragraphs of documents ``src[bounds[d]:bounds[d + 1]]`` (UTF-8), by the rules of
    :mod:`dedup.paragraphs`, in order.

    Returns ``(counts, char_start, char_end, byte_start, byte_end, line)``: ``counts[d]``
    paragraphs for document ``d``, then per paragraph its span in characters and its first line
    within its document, and its span in bytes within ``src``.

    >>> src = np.frombuffer("é\\n\\nx y\\r\\nz".encode(), dtype=np.uint8)
    >>> [a.tolist() for a in paragraph_spans(src, np.array([0, len(src)]))]
    [[2], [0, 3], [1, 9], [0, 4], [2, 10], [1, 3]]
    """
    src, bounds = u8(src), i64(bounds)
    check_offsets(bounds, len(src), "bounds")
    docs = len(bounds) - 1
    counts = np.empty(docs, dtype=np.int64)
    on_all_cores(lib.dedup_paragraph_counts, ptr(src), ptr(bounds), docs, ptr(counts), chunks=chunks(docs, DOC_CHUNK))
    firsts = np.zeros(docs + 1, dtype=np.int64)
    np.cumsum(counts, out=firsts[1:])
    columns = [np.empty(firsts[-1], dtype=np.int64) for _ in range(5)]
    on_all_cores(
        lib.dedup_paragraph_spans, ptr(src), ptr(bounds), docs, ptr(firsts), *map(ptr, columns), chunks=chunks(docs, DOC_CHUNK)
    )
    return (counts, *columns)


def paragraphs_of(src: bytes) -> np.ndarray:
    """The paragraphs of one document's UTF-8 ``src``, as :func:`paragraph_spans` finds them,
    with the least overhead per call: shape ``(5, count)``, the rows ``char_start``,
    ``char_end``, ``byte_start``, ``byte_end`` and ``line``.

    >>> paragraphs_of("é\\n\\nx y".encode()).tolist()
    [[0, 3], [1, 6], [0, 4], [2, 7], [1, 3]]
    """
    if not isinstance(src, bytes):
        raise TypeError("src must be bytes")
    room = src.count(b"\n") + src.count(b"\r") + src.count(b"\f") + 1
    columns = np.empty((5, room), dtype=np.int64)
    count = lib.dedup_paragraphs_of(ffi.from_buffer("uint8_t[]", src), len(src), room, ptr(columns))
    return columns[:, :count]
