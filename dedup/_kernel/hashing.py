"""Whole-text hashes: grouping exact copies, and character to byte offsets."""

from __future__ import annotations

import numpy as np

from dedup._kernel._lib import check_indices, check_offsets, chunks, i64, lib, on_all_cores, ptr, u64, u8

__all__ = ["xxh32", "xxh64", "text_hashes", "group_texts", "char_to_byte_offsets"]


def xxh32(data: np.ndarray, start: int, end: int, seed: int) -> int:
    """xxHash32 of ``data[start:end]``, equal to ``xxhash.xxh32_intdigest(bytes, seed)``."""
    data = u8(data)
    if not 0 <= start <= end <= len(data):
        raise IndexError("start and end must lie within data")
    return int(lib.dedup_xxh32(ptr(data), start, end, seed & 0xFFFFFFFF))


def xxh64(data: np.ndarray, start: int, end: int, seed: int) -> int:
    """XXH64 of ``data[start:end]``, equal to ``xxhash.xxh64_intdigest(bytes, seed)``: the hash
    of shingle sets, whole texts and words (``hash64`` in common.h, seed 0)."""
    data = u8(data)
    if not 0 <= start <= end <= len(data):
        raise IndexError("start and end must lie within data")
    return int(lib.dedup_xxh64(ptr(data), start, end, seed & 0xFFFFFFFFFFFFFFFF))


def text_hashes(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The XXH64 of each paragraph's whole normalized text (for grouping exact copies)."""
    data, offsets = u8(data), i64(offsets)
    check_offsets(offsets, len(data))
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    on_all_cores(lib.dedup_text_hashes, ptr(data), ptr(offsets), n, ptr(out), chunks=chunks(n))
    return out


def group_texts(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group paragraphs ``rows`` (in input order) by identical normalized bytes.

    Returns ``(canonical, firsts)``: ``firsts`` are the rows that are first occurrences, in input
    order, and ``canonical[k]`` is the index into ``firsts`` of ``rows[k]``'s first occurrence.
    ``hashes[row]`` (from :func:`text_hashes`) places texts in an open-addressing table; equal
    hashes are confirmed byte for byte, so a collision only costs a comparison."""
    data, offsets, rows = u8(data), i64(offsets), i64(rows)
    hashes = u64(hashes)
    check_offsets(offsets, len(data))
    check_indices(rows, len(offsets) - 1, "rows")
    if len(hashes) < len(offsets) - 1:
        raise ValueError("hashes must hold one hash per paragraph")
    m = len(rows)
    canonical = np.empty(m, dtype=np.int64)
    firsts = np.empty(m, dtype=np.int64)
    groups = lib.dedup_group_texts(ptr(data), ptr(offsets), ptr(rows), m, ptr(hashes), ptr(canonical), ptr(firsts))
    if groups < 0:
        raise MemoryError("no memory for the table of texts")
    return canonical, firsts[:groups]


def char_to_byte_offsets(data: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Byte offsets in UTF-8 ``data`` of the character offsets ``points`` (ascending)."""
    data, points = u8(data), i64(points)
    out = np.empty(len(points), dtype=np.int64)
    lib.dedup_char_to_byte_offsets(ptr(data), len(data), ptr(points), len(points), ptr(out))
    return out
