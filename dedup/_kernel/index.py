"""The embedded index: sorted runs of band keys, their key filters and their searches."""

from __future__ import annotations

import numpy as np

from dedup._kernel._lib import i64, lib, on_all_cores, ptr, u64, whole

__all__ = ["hash_sort", "sorted_ranges", "fill_filter", "probe_filter", "search_at", "select_sorted", "merge_runs"]


def _chunks(m: int, per: int) -> int:
    return max(1, min(64, m // per))


def hash_sort(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sorted keys, order)`` for uniformly spread 64-bit keys (hashes), in O(n): a counting
    sort on the top bits, then an insertion sort within each bucket (a few keys each). Stable.
    About 5x faster than ``np.argsort`` on 300,000 keys; a bucket that is crowded all the same
    (many equal keys, as from copies of one paragraph) falls back to a merge sort.

    >>> import numpy as np
    >>> keys, order = hash_sort(np.array([2**63, 5, 2**64 - 1, 5, 0], dtype=np.uint64))
    >>> keys.tolist(), order.tolist()
    ([0, 5, 5, 9223372036854775808, 18446744073709551615], [4, 1, 3, 0, 2])
    """
    keys = u64(keys)
    n = len(keys)
    out = np.empty(n, dtype=np.uint64)
    order = np.empty(n, dtype=np.int64)
    if lib.dedup_hash_sort(ptr(keys), n, ptr(out), ptr(order)) < 0:
        raise MemoryError("no memory for sorting the keys")
    return out, order


def sorted_ranges(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of the ascending ``queries``, the range ``[lo, hi)`` of equal values in the
    ascending ``keys``. A galloping search from the previous answer: a batch of queries costs
    about ``q * log(n / q)`` steps rather than ``q * log(n)``, and reads ``keys`` in order. The
    queries are cut into chunks searched in parallel.

    >>> import numpy as np
    >>> lo, hi = sorted_ranges(np.array([1, 3, 3, 8], dtype=np.uint64), np.array([0, 3, 3, 9], dtype=np.uint64))
    >>> lo.tolist(), hi.tolist()
    ([0, 1, 1, 4], [0, 3, 3, 4])
    """
    keys, queries = u64(keys), u64(queries)
    m = len(queries)
    lo = np.empty(m, dtype=np.int64)
    hi = np.empty(m, dtype=np.int64)
    chunks = _chunks(m, 8192)
    on_all_cores(lib.dedup_sorted_ranges, ptr(keys), len(keys), ptr(queries), m, chunks, ptr(lo), ptr(hi), chunks=chunks)
    return lo, hi


def fill_filter(bloom: np.ndarray, keys: np.ndarray) -> None:
    """Add the ascending ``keys`` to the key filter ``bloom``: a Bloom filter with each key's
    four bits in one 64-bit word, so that a test reads one word. At 12 bits per key about 0.7%
    of absent keys pass. Filled in parallel over ranges of words, each from its own keys.

    >>> import numpy as np
    >>> keys = np.sort(np.array([5, 2**40, 2**63 + 7], dtype=np.uint64))
    >>> bloom = np.zeros(4, dtype=np.uint64)
    >>> fill_filter(bloom, keys)
    >>> probe_filter(bloom, np.array([5, 6, 2**40, 2**63 + 7], dtype=np.uint64)).tolist()
    [True, False, True, True]
    """
    # Filled in place: a converted copy would be filled and thrown away.
    if not (isinstance(bloom, np.ndarray) and bloom.ndim == 1 and bloom.dtype == np.uint64 and bloom.flags.c_contiguous and bloom.flags.writeable):
        raise ValueError("bloom must be a writable, C-contiguous 1-d uint64 array")
    if not bloom.flags.aligned:
        raise ValueError("bloom must be aligned")
    keys = u64(keys)
    n = len(keys)
    # Threads fill disjoint ranges of words found from the keys' order: unsorted keys would
    # have two threads write one word.
    if n > 1 and np.any(keys[1:] < keys[:-1]):
        raise ValueError("keys must be ascending")
    chunks = _chunks(n, 65536)
    on_all_cores(lib.dedup_fill_filter, ptr(bloom), len(bloom), ptr(keys), n, chunks, chunks=chunks)


def probe_filter(bloom: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Which ``queries`` may be in the key filter ``bloom`` (every key in it passes)."""
    bloom, queries = u64(bloom), u64(queries)
    m = len(queries)
    if m and not len(bloom):
        raise ValueError("an empty key filter has no word to probe")
    out = np.empty(m, dtype=np.bool_)
    chunks = _chunks(m, 8192)
    on_all_cores(lib.dedup_probe_filter, ptr(bloom), len(bloom), ptr(queries), m, chunks, ptr(out.view(np.uint8)), chunks=chunks)
    return out


def search_at(keys: np.ndarray, queries: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sorted_ranges` for the few queries ``queries[at]``. Band keys are hashes, spread
    evenly over 64 bits, so each search starts where its key should be (``q / 2**64`` of the
    way) and gallops from there: a few steps, on a page or two."""
    keys, queries, at = u64(keys), u64(queries), i64(at)
    m = len(at)
    if m and (at.min() < -len(queries) or at.max() >= len(queries)):
        raise IndexError("at must index queries")
    lo = np.empty(m, dtype=np.int64)
    hi = np.empty(m, dtype=np.int64)
    chunks = _chunks(m, 256)
    on_all_cores(lib.dedup_search_at, ptr(keys), len(keys), ptr(queries), len(queries), ptr(at), m, chunks, ptr(lo), ptr(hi), chunks=chunks)
    return lo, hi


def select_sorted(queries: np.ndarray, order: np.ndarray, n: int, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From the sorted band keys of a query (``queries``, ``order``: positions in the raveled
    ``(bands, n)`` keys), those of the paragraphs with ``slot[column] >= 0``, in the same
    order, with that slot: a stable sort of the subset, without sorting again."""
    queries, order, slot = u64(queries), i64(order), i64(slot)
    m = len(queries)
    if len(order) < m:
        raise IndexError("order is shorter than queries")
    n = whole(n, "n", 1)
    keys = np.empty(m, dtype=np.uint64)
    slots = np.empty(m, dtype=np.int64)
    count = lib.dedup_select_sorted(ptr(queries), ptr(order), m, n, ptr(slot), len(slot), ptr(keys), ptr(slots))
    if count < 0:
        raise IndexError("a paragraph of order lies outside slot")
    return keys[:count], slots[:count]


def merge_runs(keys: np.ndarray, pids: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge the sorted runs ``keys[bounds[r]:bounds[r + 1]]`` (with ``pids`` beside them) into
    one sorted run; equal keys keep the order of their runs. Adjacent runs are merged two at a
    time, level by level: ``n log2(runs)`` steps of a two-way merge, not ``n * runs``.

    >>> import numpy as np
    >>> k, p = merge_runs(np.array([1, 4, 2, 4], dtype=np.uint64), np.array([10, 11, 20, 21], dtype=np.uint64), np.array([0, 2, 4]))
    >>> k.tolist(), p.tolist()
    ([1, 2, 4, 4], [10, 20, 11, 21])
    """
    keys, pids = u64(keys), u64(pids)
    edges = np.array(bounds, dtype=np.int64)  # a copy: the C side overwrites it
    if edges.ndim != 1 or not len(edges):
        raise ValueError("bounds must be a 1-d array of at least one position")
    runs = len(edges) - 1
    base = int(edges[0])
    edges -= base
    n = int(edges[-1])
    if base < 0 or (np.diff(edges) < 0).any() or base + n > min(len(keys), len(pids)):
        raise ValueError("bounds must ascend within keys and pids")
    out_keys = np.empty(n, dtype=np.uint64)
    out_pids = np.empty(n, dtype=np.uint64)
    # With more than two runs the levels alternate between the output and a second buffer.
    tmp_keys = np.empty(n if runs > 2 else 0, dtype=np.uint64)
    tmp_pids = np.empty(n if runs > 2 else 0, dtype=np.uint64)
    lib.dedup_merge_runs(ptr(keys[base:]), ptr(pids[base:]), ptr(edges), runs, ptr(out_keys), ptr(out_pids), ptr(tmp_keys), ptr(tmp_pids))
    return out_keys, out_pids
