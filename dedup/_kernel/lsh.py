"""LSH buckets: candidate pairs from band keys, a range of rows at a time; and first-seen
clusters from verified pairs, a block at a time."""

from __future__ import annotations

from typing import Any

import numpy as np

from dedup._kernel._lib import NULL, chunks, i64, lib, on_all_cores, ptr, u32, whole

__all__ = ["Buckets", "lsh_pairs", "assign_representatives", "first_seen_block"]

NO_BUCKET: int = lib.NO_BUCKET  # the bucket position of a row alone in its bucket


class Buckets:
    """The buckets of every band of band keys ``(bands, n)`` (uint32), and the candidate pairs
    they make: every pair of rows that share a bucket in some band, subject to the window rule
    (in a bucket, rows ascending, each of the first ``window`` members pairs with every later
    one), each pair once. A bucket of ``k`` gives at most ``window * k`` pairs per band rather
    than ``k**2 / 2``.

    The pairs are counted when the buckets are made, and written out only for the rows asked
    for (:meth:`pairs`), so a caller holds as many at once as it chooses.

    Its arrays are made here and never handed out writable: the C code trusts them.
    """

    def __init__(self, keys: np.ndarray, window: int) -> None:
        keys = u32(keys)
        if keys.ndim != 2:
            raise ValueError("keys must have shape (bands, n)")
        bands, n = keys.shape
        if n >= 2**31:
            raise ValueError("at most 2**31 - 1 paragraphs per run")
        self.bands, self.n = int(bands), int(n)
        # Any window past the largest bucket acts alike.
        self.window = min(whole(window, "window"), max(self.n, 1))
        self._orders = np.empty((bands, n), dtype=np.uint32)
        self._where = np.full((n, bands), NO_BUCKET, dtype=np.uint32)
        self._heads = np.zeros((n, bands), dtype=np.uint8)
        kept = np.zeros(bands, dtype=np.int64)
        failed = np.zeros(1, dtype=np.int64)
        on_all_cores(
            lib.dedup_lsh_buckets, ptr(keys), bands, n, self.window, ptr(self._orders), ptr(kept), ptr(self._where),
            ptr(self._heads), ptr(failed),
            chunks=bands,
        )
        if failed[0]:
            raise MemoryError("no memory to sort the band keys")
        counts = np.zeros(n + 1, dtype=np.int64)
        paired = np.zeros(n, dtype=np.uint8)
        on_all_cores(
            lib.dedup_lsh_pair_counts, *self._tables(), ptr(counts[1:]), ptr(paired), ptr(failed),
            chunks=chunks(n),
        )
        if failed[0]:
            raise MemoryError("no memory to count the pairs")
        np.cumsum(counts, out=counts)
        self._offsets = counts
        self._offsets.flags.writeable = False
        self._paired = paired.view(bool)
        self._paired.flags.writeable = False

    def _tables(self) -> tuple[Any, ...]:
        return ptr(self._orders), ptr(self._where), ptr(self._heads), self.bands, self.n, self.window

    @property
    def offsets(self) -> np.ndarray:
        """``offsets[j + 1] - offsets[j]`` is the number of pairs ``(i, j)`` of row ``j`` (as
        the later row); ``offsets[n]`` is the number of pairs in all. Read-only."""
        return self._offsets

    @property
    def paired(self) -> np.ndarray:
        """``paired[j]``: row ``j`` is in at least one pair, on either side. Read-only."""
        return self._paired

    def pairs(self, lo: int = 0, hi: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The pairs ``(left, right)`` whose later row ``right`` lies in ``range(lo, hi)``, with
        ``left < right``: grouped by ``right``, ascending; within a group, band by band."""
        hi = self.n if hi is None else whole(hi, "hi", 0, self.n)
        lo = whole(lo, "lo", 0, hi)
        m = int(self._offsets[hi] - self._offsets[lo])
        left = np.empty(m, dtype=np.int64)
        right = np.empty(m, dtype=np.int64)
        if m:
            failed = np.zeros(1, dtype=np.int64)
            on_all_cores(
                lib.dedup_lsh_pairs, *self._tables(), lo, hi, ptr(self._offsets), ptr(left), ptr(right), ptr(failed),
                chunks=chunks(hi - lo),
            )
            if failed[0]:
                raise MemoryError("no memory to pair the buckets")
        return left, right


def lsh_pairs(keys: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate pair of band keys ``(bands, n)`` (uint32), as :class:`Buckets` makes
    them: ``(left, right)`` with ``left < right``, each pair once, grouped by ``right``."""
    return Buckets(keys, max(int(window), 0)).pairs()


def first_seen_block(left: np.ndarray, right: np.ndarray, jaccard: np.ndarray | None, threshold: float, rep: np.ndarray, via: np.ndarray) -> None:
    """Continue a first-seen clustering over more pairs, in place.

    ``rep`` and ``via`` (int64, length ``n``) hold the decisions so far: ``rep[i]`` is ``i``'s
    representative (``i`` itself for a representative, and for a row not yet decided) and
    ``via[i]`` the index of the pair that joined them (-1 for none). The pairs have ``left <
    right`` and come grouped by ``right``, the groups ascending. Each ``right`` joins the
    earliest of its ``left`` that is a representative, taking only pairs whose ``jaccard`` is at
    or above ``threshold`` when ``jaccard`` is given. ``via`` of the rows decided here indexes
    these pairs."""
    left, right = i64(left), i64(right)
    m = len(left)
    if len(right) != m or (jaccard is not None and len(jaccard) != m):
        raise ValueError("left, right and jaccard differ in length")
    if rep.dtype != np.int64 or via.dtype != np.int64 or rep.shape != via.shape or rep.ndim != 1:
        raise ValueError("rep and via must be int64 arrays of one length")
    if not (rep.flags.c_contiguous and via.flags.c_contiguous and rep.flags.writeable and via.flags.writeable):
        raise ValueError("rep and via must be contiguous and writable")
    n = len(rep)
    if jaccard is not None:
        jaccard = np.require(jaccard, dtype=np.float64, requirements=["C", "A"])
    status = lib.dedup_first_seen(n, ptr(left), ptr(right), m, NULL if jaccard is None else ptr(jaccard), float(threshold), ptr(rep), ptr(via))
    if status == -1:
        raise IndexError("pairs must lie within range(n)")
    if status == -2:
        raise ValueError("pairs must have left < right and come grouped by right, ascending")


def assign_representatives(n: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-seen clustering. Pairs ``(left, right)`` have ``left < right`` in input order and
    are sorted by ``right``, then ``left``. Each paragraph joins the earliest earlier paragraph
    it matches that is itself a representative; with none, it is a representative.

    Returns ``(rep, via)``: ``rep[i]`` is the representative of ``i`` (``i`` itself for a
    representative) and ``via[i]`` the index of the pair that joined them (-1 for none)."""
    n = whole(n, "n")
    rep = np.arange(n, dtype=np.int64)
    via = np.full(n, -1, dtype=np.int64)
    first_seen_block(left, right, None, 0.0, rep, via)
    return rep, via
