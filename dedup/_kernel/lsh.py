"""LSH buckets: candidate pairs from band keys; and first-seen clusters from verified pairs."""

from __future__ import annotations

import numpy as np

from dedup._kernel._lib import I64, PTR, chunks, i64, load, on_all_cores, ptr, u32, whole

__all__ = ["lsh_pairs", "assign_representatives"]

_c = load(
    "_lsh",
    {
        "dedup_lsh_transpose": (None, [PTR, I64, I64, PTR, PTR]),
        "dedup_lsh_sort": (None, [PTR, I64, I64, I64, PTR, PTR, PTR, PTR, PTR]),
        "dedup_lsh_band_pairs": (None, [PTR, PTR, PTR, PTR, I64, I64, I64, PTR, PTR, PTR, I64, PTR, PTR]),
        "dedup_assign_representatives": (I64, [I64, PTR, PTR, I64, PTR, PTR]),
    },
)



def lsh_pairs(keys: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs from band keys ``(bands, n)`` (uint32): every pair of members that share
    a bucket in some band, subject to the window rule. A bucket of ``k`` gives at most
    ``window * k`` pairs per band rather than ``k**2 / 2``.

    Returns ``(left, right)`` with ``left < right``, each pair once."""
    keys = u32(keys)
    if keys.ndim != 2:
        raise ValueError("keys must have shape (bands, n)")
    bands, n = keys.shape
    if n >= 2**31:
        raise ValueError("at most 2**31 - 1 paragraphs per run")
    window = min(max(int(window), 0), n)  # any window past the largest bucket acts alike
    by_row = np.empty((n, bands), dtype=np.uint32)  # keys.T, for the earlier-band check
    on_all_cores(_c.dedup_lsh_transpose, ptr(keys), bands, n, ptr(by_row), chunks=chunks(n))
    heads = np.zeros((n, bands), dtype=np.uint8)
    orders = np.empty((bands, n), dtype=np.uint32)  # per band: the rows of buckets of 2 or more
    kept = np.zeros(bands, dtype=np.int64)
    failed = np.zeros(1, dtype=np.int64)
    on_all_cores(_c.dedup_lsh_sort, ptr(keys), bands, n, window, ptr(orders), ptr(kept), ptr(heads), ptr(failed), chunks=bands)
    if failed[0]:
        raise MemoryError("no memory to sort the band keys")
    counts = np.zeros(bands + 1, dtype=np.int64)
    args = (ptr(orders), ptr(kept), ptr(by_row), ptr(heads), bands, n, window, ptr(counts))
    on_all_cores(_c.dedup_lsh_band_pairs, *args, 0, 0, 0, ptr(failed), chunks=bands)
    if failed[0]:
        raise MemoryError("no memory to pair the buckets")
    np.cumsum(counts, out=counts)
    left = np.empty(counts[bands], dtype=np.int64)
    right = np.empty(counts[bands], dtype=np.int64)
    on_all_cores(_c.dedup_lsh_band_pairs, *args, ptr(left), ptr(right), 1, ptr(failed), chunks=bands)
    if failed[0]:
        raise MemoryError("no memory to pair the buckets")
    return left, right


def assign_representatives(n: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-seen clustering. Pairs ``(left, right)`` have ``left < right`` in input order and
    are sorted by ``right``, then ``left``. Each paragraph joins the earliest earlier paragraph
    it matches that is itself a representative; with none, it is a representative.

    Returns ``(rep, via)``: ``rep[i]`` is the representative of ``i`` (``i`` itself for a
    representative) and ``via[i]`` the index of the pair that joined them (-1 for none)."""
    left, right = i64(left), i64(right)
    n, m = whole(n, "n"), len(left)
    if len(right) != m:
        raise ValueError("left and right differ in length")
    rep = np.empty(n, dtype=np.int64)
    via = np.empty(n, dtype=np.int64)
    if _c.dedup_assign_representatives(n, ptr(left), ptr(right), m, ptr(rep), ptr(via)) < 0:
        raise IndexError("pairs must lie within range(n)")
    return rep, via
