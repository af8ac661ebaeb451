"""Normalization: UTF-8 paragraphs mapped one code point at a time through a table."""

from __future__ import annotations

import numpy as np

from dedup._kernel._lib import chunks, ffi, i64, lib, on_all_cores, ptr, u8

__all__ = ["normalize_utf8"]

# What the C side reports about each paragraph.
OK: int = lib.NORMALIZE_OK
NEEDS_REFERENCE: int = lib.NORMALIZE_NEEDS_REFERENCE
OVERFLOW: int = lib.NORMALIZE_OVERFLOW


def normalize_utf8(
    src: np.ndarray, starts: np.ndarray, ends: np.ndarray, table: np.ndarray, expansions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalize each paragraph ``src[starts[i]:ends[i]]`` (UTF-8 bytes).

    Returns ``(data, offsets, needs_reference)``: the normalized UTF-8 of every paragraph,
    their offsets, and which paragraphs the table could not map (their bytes are empty here).

    Each paragraph is first written into its own region of a scratch buffer, as long as its
    input plus one byte; the rare paragraph whose output outgrows that (a few characters
    casefold to longer ones) is redone in a buffer of its own. Then everything is packed.
    """
    src = u8(src)
    starts = i64(starts)
    ends = i64(ends)
    table = np.ascontiguousarray(table, dtype=np.int32)
    expansions = np.ascontiguousarray(expansions, dtype=np.int32)
    n = len(starts)
    if len(ends) != n:
        raise ValueError("starts and ends must have the same length")
    if expansions.ndim != 2 or expansions.shape[1] > 3:
        raise ValueError("expansions must be two-dimensional, of three code points at most (the room left for them)")
    if len(table) < 0x80:
        raise ValueError("table must cover ASCII at least")
    if np.any((starts < ends) & ((starts < 0) | (ends > len(src)))):
        raise IndexError("spans must lie within src")
    # Each paragraph is written into the scratch region of its own span: overlapping spans
    # would write over each other.
    filled = starts < ends
    if np.any(starts[filled][1:] < ends[filled][:-1]):
        raise ValueError("spans must be in order and must not overlap")
    rows, cols = expansions.shape
    mapping = (ptr(table), len(table), ptr(expansions), rows, cols)

    scratch = np.empty(len(src) + n + 1, dtype=np.uint8)
    lengths = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int8)
    spans = (ptr(src), len(src), ptr(starts), ptr(ends))
    on_all_cores(lib.dedup_normalize_regions, *spans, n, *mapping, ptr(scratch), ptr(lengths), ptr(status), chunks=chunks(n))
    # Paragraphs that overflowed: normalized again, one at a time, with room for the longest
    # expansion; the C side keeps their outputs in a buffer of its own until they are packed.
    redone = status == OVERFLOW
    big = np.flatnonzero(redone).astype(np.int64, copy=False)
    spill = ffi.new("uint8_t **")  # where the C side leaves its buffer
    if len(big) and lib.dedup_normalize_redo(*spans, ptr(big), len(big), *mapping, ptr(lengths), ptr(status), spill) < 0:
        raise MemoryError("no memory to normalize the paragraphs that outgrew their room")
    try:
        needs_reference = status == NEEDS_REFERENCE
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.where(needs_reference, 0, lengths), out=offsets[1:])
        data = np.empty(offsets[n], dtype=np.uint8)
        on_all_cores(lib.dedup_normalize_pack, ptr(scratch), ptr(starts), ptr(status), ptr(redone.view(np.uint8)), ptr(offsets), n, ptr(data), chunks=chunks(n))
        if len(big):
            lib.dedup_normalize_unspill(spill[0], ptr(big), len(big), ptr(status), ptr(offsets), ptr(data))
    finally:
        lib.dedup_normalize_free(spill[0])
    return data, offsets, needs_reference
