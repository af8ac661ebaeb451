"""Signatures and exact sets: MinHash rows, LSH band keys, and sorted unique shingle hashes."""

from __future__ import annotations

from typing import Any

import numpy as np

from dedup._kernel._lib import check_indices, check_offsets, chunks, i64, lib, on_all_cores, ptr, u32, u64, u8, whole

__all__ = ["minhash", "minhash_band_keys", "band_keys", "shingle_sets", "hash_rows", "set_similarities"]

PAIR_CHUNK: int = lib.PAIR_CHUNK  # set pairs per chunk


def _check_text(data: np.ndarray, offsets: np.ndarray, kind: int, n: int) -> tuple[int, int]:
    """Check what the C code trusts; return ``(kind, n)`` as ints."""
    check_offsets(offsets, len(data))
    return whole(kind, "shingle kind", 0, 1), whole(n, "shingle size", 1, 2**31)


def _check_perms(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError("a and b must be 1-d and of one length")


def _check_bands(perms: int, bands: int, rows: int) -> tuple[int, int]:
    bands, rows = whole(bands, "bands"), whole(rows, "rows")
    if bands * rows > perms:
        raise ValueError(f"{bands} bands of {rows} rows need that many signature columns, not {perms}")
    return bands, rows


def _hashing_args(
    data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, kind: int, n: int, a: np.ndarray, b: np.ndarray, bands: int, rows_per_band: int
) -> tuple[Any, ...]:
    """The checked and converted arguments of a kernel that hashes paragraphs ``rows`` into
    band keys."""
    data, offsets, rows, a, b = u8(data), i64(offsets), i64(rows), u32(a), u32(b)
    kind, n = _check_text(data, offsets, kind, n)
    check_indices(rows, len(offsets) - 1, "rows")
    _check_perms(a, b)
    bands, rows_per_band = _check_bands(len(a), bands, rows_per_band)
    return data, offsets, rows, kind, n, a, b, bands, rows_per_band


def _done(failed: np.ndarray) -> None:
    if failed[0]:
        raise MemoryError("no memory for a chunk's scratch buffers")


def minhash(data: np.ndarray, offsets: np.ndarray, kind: int, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures (uint32, one row per paragraph) under datasketch's affine32 scheme
    with ``hashfunc=xxh32``. A paragraph without shingles keeps the all-ones row, as an empty
    ``datasketch.MinHash`` does."""
    data, offsets, a, b = u8(data), i64(offsets), u32(a), u32(b)
    kind, n = _check_text(data, offsets, kind, n)
    _check_perms(a, b)
    npara, perms = len(offsets) - 1, len(a)
    sig = np.empty((npara, perms), dtype=np.uint32)
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(
        lib.dedup_minhash, ptr(data), ptr(offsets), npara, kind, n, ptr(a), ptr(b), perms, ptr(sig), ptr(failed),
        chunks=chunks(npara),
    )
    _done(failed)
    return sig


def minhash_band_keys(
    data: np.ndarray, offsets: np.ndarray, rows_of: np.ndarray, kind: int, n: int, a: np.ndarray, b: np.ndarray, bands: int, rows: int
) -> np.ndarray:
    """32-bit LSH band keys, shape ``(bands, len(rows_of))``, of paragraphs ``rows_of``,
    straight from their text: each signature lives only in a per-thread scratch row, so a
    million paragraphs never hold a million signatures in memory.

    32 bits suffice within one run: a million paragraphs make about a hundred chance key
    collisions per band, and each only adds a candidate pair that verification removes."""
    data, offsets, rows_of, kind, n, a, b, bands, rows = _hashing_args(data, offsets, rows_of, kind, n, a, b, bands, rows)
    m = len(rows_of)
    keys = np.empty((bands, m), dtype=np.uint32)
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(
        lib.dedup_minhash_band_keys, ptr(data), ptr(offsets), ptr(rows_of), m, kind, n, ptr(a), ptr(b), len(a),
        bands, rows, ptr(keys), ptr(failed),
        chunks=chunks(m),
    )
    _done(failed)
    return keys


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band per signature: a hash of the band's ``rows`` values. Equal bands
    give equal keys; a rare key collision only adds a candidate, which verification removes."""
    sig = u32(sig)
    if sig.ndim != 2:
        raise ValueError("signatures must be 2-d")
    nsig, perms = sig.shape
    bands, rows = _check_bands(perms, bands, rows)
    keys = np.empty((bands, nsig), dtype=np.uint64)
    on_all_cores(lib.dedup_band_keys, ptr(sig), nsig, perms, bands, rows, ptr(keys), chunks=chunks(nsig))
    return keys


def _set_room(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, kind: int, n: int) -> np.ndarray:
    """Where each paragraph's shingle hashes go in a scratch buffer: room for all its shingles,
    counted first."""
    m = len(rows)
    upper = np.zeros(m + 1, dtype=np.int64)
    on_all_cores(lib.dedup_shingle_counts, ptr(data), ptr(offsets), ptr(rows), m, kind, n, ptr(upper), chunks=chunks(m))
    np.cumsum(upper, out=upper)
    return upper


def _pack_sets(scratch: np.ndarray, upper: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pack set ``k`` (the first ``sizes[k]`` values from ``scratch[upper[k]:]``) end to end:
    ``(hashes, set_offsets)``."""
    m = len(sizes)
    set_offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(sizes, out=set_offsets[1:])
    hashes = np.empty(set_offsets[m], dtype=np.uint64)
    on_all_cores(lib.dedup_pack_sets, ptr(scratch), ptr(upper), ptr(set_offsets), m, ptr(hashes), chunks=chunks(m))
    return hashes, set_offsets


def shingle_sets(data: np.ndarray, offsets: np.ndarray, kind: int, n: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shingle sets of paragraphs ``rows``, as sorted unique 64-bit hashes (XXH64 of each
    shingle's bytes, seed 0), concatenated.

    Returns ``(hashes, set_offsets)``: set ``k`` (of paragraph ``rows[k]``) is
    ``hashes[set_offsets[k]:set_offsets[k+1]]``."""
    data, offsets, rows = u8(data), i64(offsets), i64(rows)
    kind, n = _check_text(data, offsets, kind, n)
    check_indices(rows, len(offsets) - 1, "rows")
    m = len(rows)
    upper = _set_room(data, offsets, rows, kind, n)
    scratch = np.empty(upper[m], dtype=np.uint64)
    sizes = np.zeros(m, dtype=np.int64)
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(
        lib.dedup_shingle_sets, ptr(data), ptr(offsets), ptr(rows), m, kind, n, ptr(upper), ptr(scratch), ptr(sizes),
        ptr(failed),
        chunks=chunks(m),
    )
    _done(failed)
    return _pack_sets(scratch, upper, sizes)


def hash_rows(
    data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, kind: int, n: int, a: np.ndarray, b: np.ndarray, bands: int, rows_per_band: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band keys and exact shingle sets of paragraphs ``rows`` of a normalized batch, in one pass.

    The same values as :func:`dedup.minhash` then :func:`dedup.band_keys`
    (``(bands, len(rows))`` uint64) and :func:`dedup.shingle_sets` (sorted unique 64-bit
    hashes, concatenated, with their offsets), from the same primitives: each shingle's bounds are
    found once, for its xxHash32 (the signature) and its XXH64 (the set), and the signature lives
    only in a per-thread scratch row."""
    data, offsets, rows, kind, n, a, b, bands, rows_per_band = _hashing_args(data, offsets, rows, kind, n, a, b, bands, rows_per_band)
    m = len(rows)
    keys = np.empty((bands, m), dtype=np.uint64)
    upper = _set_room(data, offsets, rows, kind, n)
    scratch = np.empty(upper[m], dtype=np.uint64)
    sizes = np.zeros(m, dtype=np.int64)
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(
        lib.dedup_hash_rows, ptr(data), ptr(offsets), ptr(rows), m, kind, n, ptr(a), ptr(b), len(a), bands,
        rows_per_band, ptr(keys), ptr(upper), ptr(scratch), ptr(sizes), ptr(failed),
        chunks=chunks(m),
    )
    _done(failed)
    hashes, set_offsets = _pack_sets(scratch, upper, sizes)
    return keys, hashes, set_offsets


def set_similarities(hashes: np.ndarray, set_offsets: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact Jaccard and containment of set pairs ``(left[p], right[p])``.

    Returns ``(jaccard, containment)``; two empty sets have similarity 0."""
    hashes = u64(hashes)
    set_offsets, left, right = i64(set_offsets), i64(left), i64(right)
    if left.shape != right.shape:
        raise ValueError("left and right must be of one length")
    m = len(left)
    check_offsets(set_offsets, len(hashes), "set_offsets")
    check_indices(left, len(set_offsets) - 1, "left")
    check_indices(right, len(set_offsets) - 1, "right")
    jaccard = np.empty(m, dtype=np.float64)
    containment = np.empty(m, dtype=np.float64)
    on_all_cores(
        lib.dedup_set_similarities, ptr(hashes), ptr(set_offsets), ptr(left), ptr(right), m, ptr(jaccard),
        ptr(containment),
        chunks=chunks(m, PAIR_CHUNK),
    )
    return jaccard, containment
