"""Segments of the embedded index: immutable files of sorted (key, value) entries, memory-mapped,
with their key filters; the sorted runs of entries held in memory for the tail; and the merges
that keep a lookup to a handful of arrays. The database that registers them is
:mod:`dedup.index.sqlite.database`; :mod:`dedup.index.sqlite.backend` puts both together.

An entry's key is a band key, an exact key or an n-gram hash; its value a pid, or for a posting
the pid and word number packed under :data:`POSTING_FLAG`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dedup._kernel import fill_filter, hash_sort, merge_runs, probe_filter, search_at, sorted_ranges
from dedup.index.interface import IndexError_

# Segments of at least this many entries get a key filter of this many bits per entry.
FILTER_MIN_ENTRIES = 1 << 20
FILTER_BITS_PER_KEY = 12
# Entries (16 bytes each) merged per step: bounds a merge's memory whatever the segments' size.
MERGE_CHUNK = 1_000_000
# A posting's entry: the top bit set, then the pid (40 bits) and the word number (23 bits).
POSTING_FLAG = np.uint64(1 << 63)
WORD_BITS = 23
PID_BITS = 40


def pids_of(values: np.ndarray) -> np.ndarray:
    """The pids of segment or run entries: a posting's packed pid, or the value itself.

    >>> v = posting_values(np.array([5], dtype=np.int64), np.array([7], dtype=np.int64))
    >>> pids_of(np.array([3, v[0]], dtype=np.uint64)).tolist()
    [3, 5]
    """
    values = np.asarray(values, dtype=np.uint64)
    packed = (values >> np.uint64(WORD_BITS)) & np.uint64((1 << PID_BITS) - 1)
    return np.where(values >= POSTING_FLAG, packed, values)


def posting_values(pids: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Postings' entries: pid and word number packed under :data:`POSTING_FLAG`."""
    return POSTING_FLAG | (np.asarray(pids, dtype=np.uint64) << np.uint64(WORD_BITS)) | np.asarray(words, dtype=np.uint64)


# ---------------------------------------------------------------------------------------------
# Key filters: the sizes. The compiled lookup (sorting, searching, filters) is in dedup._kernel.


def filter_words(entries: int) -> int:
    """Words of a key filter for ``entries`` keys: :data:`FILTER_BITS_PER_KEY` bits per key."""
    return max(1, -(-entries * FILTER_BITS_PER_KEY // 64))


# ---------------------------------------------------------------------------------------------
# Segments.


@dataclass(frozen=True)
class SegmentInfo:
    """A row of the manifest (table ``segments``): the file, the pids it covers, its size."""

    name: str
    first_pid: int
    last_pid: int
    entries: int
    rows: int


MANIFEST = "SELECT name, first_pid, last_pid, entries, rows FROM segments ORDER BY first_pid"
# The only names segment files are given (PendingSegment): a name read from the database is
# checked against it before it is joined to a path, so a crafted manifest cannot make dedup
# open or delete a file outside the index's segments directory.
SEGMENT_NAME = re.compile(r"seg-[0-9a-f]{32}\.npy")


def read_manifest(conn: sqlite3.Connection, where: object) -> list[SegmentInfo]:
    """The manifest, checked: names of segment files, and integer counts that fit together."""
    infos = []
    for row in conn.execute(MANIFEST).fetchall():
        name, first, last, entries, rows = row
        if not isinstance(name, str) or not SEGMENT_NAME.fullmatch(name):
            raise IndexError_(f"{where}: index database is damaged: {name!r} is not the name of a segment file")
        if not all(type(v) is int for v in (first, last, entries, rows)) or not (0 < first <= last and 0 <= rows <= entries):
            raise IndexError_(f"{where}: index database is damaged: the manifest row of {name} is not a valid pid range and size")
        infos.append(SegmentInfo(name, first, last, entries, rows))
    return infos


@dataclass
class Segment:
    """One registered segment file, memory-mapped: ``keys`` sorted, ``pids`` beside them."""

    info: SegmentInfo
    path: Path
    keys: np.ndarray = field(repr=False)
    pids: np.ndarray = field(repr=False)
    data_offset: int = field(repr=False)
    bloom: np.ndarray | None = field(default=None, repr=False)

    def hits(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ascending ``queries`` found here: ``(their positions, lo, hi)`` with entries
        ``[lo, hi)`` holding each. A large segment gets a key filter (1.5 bytes per entry, built
        at its first search), so that a key it does not hold, nearly every one, costs one word
        read instead of a search."""
        if self.info.entries < FILTER_MIN_ENTRIES:
            lo, hi = sorted_ranges(self.keys, queries)
            at = np.flatnonzero(hi > lo)
            return at, lo[at], hi[at]
        if self.bloom is None:
            self.bloom = np.zeros(filter_words(self.info.entries), dtype=np.uint64)
            fill_filter(self.bloom, self.keys)
        return found_in(self.keys, queries, np.flatnonzero(probe_filter(self.bloom, queries)))

    @classmethod
    def load(cls, directory: Path, info: SegmentInfo) -> Segment:
        """Map the file. :class:`FileNotFoundError` passes through (a concurrent merge may have
        replaced it); anything else wrong is :class:`IndexError_`."""
        path = directory / info.name
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise
        except Exception as err:  # numpy's header parser raises many kinds for garbage
            raise IndexError_(f"{path}: segment file is damaged ({type(err).__name__}: {err})") from None
        if not isinstance(array, np.memmap) or array.dtype != np.dtype("<u8") or array.shape != (2, info.entries):
            raise IndexError_(f"{path}: segment file is damaged (shape {array.shape} of {array.dtype}, expected (2, {info.entries}) of uint64)")
        base = np.asarray(array)
        return cls(info, path, base[0], base[1], int(array.offset))

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Entries ``[start, stop)`` read from the file rather than through the mapping, so that
        a merge does not grow the resident memory by the size of what it merges."""
        count = stop - start
        with open(self.path, "rb") as f:
            keys = np.frombuffer(os.pread(f.fileno(), 8 * count, self.data_offset + 8 * start), dtype="<u8")
            pids = np.frombuffer(os.pread(f.fileno(), 8 * count, self.data_offset + 8 * (self.info.entries + start)), dtype="<u8")
        if len(keys) != count or len(pids) != count:
            raise IndexError_(f"{self.path}: segment file is truncated")
        return keys, pids


def _merged(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    pieces = [p for p in pieces if len(p[0])]
    if len(pieces) == 1:
        return pieces[0]
    if not pieces:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64)
    bounds = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(k) for k, _ in pieces], out=bounds[1:])
    return merge_runs(np.concatenate([k for k, _ in pieces]), np.concatenate([p for _, p in pieces]), bounds)


def found_in(keys: np.ndarray, queries: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = search_at(keys, queries, at)
    keep = hi > lo
    return at[keep], lo[keep], hi[keep]


@dataclass
class Run:
    """Tail entries in memory: ``keys`` sorted, ``pids`` beside them."""

    keys: np.ndarray
    pids: np.ndarray

    @classmethod
    def of(cls, band_keys: np.ndarray, pids: np.ndarray) -> Run:
        keys, order = hash_sort(np.ascontiguousarray(band_keys, dtype=np.uint64).ravel())
        return cls(keys, pids.astype(np.uint64)[order % band_keys.shape[1]])

    @classmethod
    def merged(cls, runs: list[Run]) -> Run:
        return cls(*_merged([(r.keys, r.pids) for r in runs]))


def posting_run(keys: np.ndarray, values: np.ndarray) -> Run:
    """The sorted run of postings: n-gram hashes, with their packed entries beside them."""
    sorted_keys, order = hash_sort(np.ascontiguousarray(keys, dtype=np.uint64))
    return Run(sorted_keys, np.asarray(values, dtype=np.uint64)[order])


def fsync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pwrite_all(fd: int, array: np.ndarray, offset: int) -> None:
    view = array.data.cast("B")
    while len(view):
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class Stopped(Exception):
    """A background merge was asked to stop."""


class PendingSegment:
    """A segment file written and fsynced under a temporary name, and locked (``flock``) until
    it is published or discarded, so that a cleanup by another process can tell it from the
    leftover of a crash."""

    def __init__(self, directory: Path, total: int, chunks: Iterable[tuple[np.ndarray, np.ndarray]], stop: Callable[[], bool] | None = None) -> None:
        self.directory = directory
        self.entries = total
        self.published = False
        self.fd = -1
        # Between creating the file and locking it, another process's cleanup may find it
        # unlocked and delete it (it unlinks only while holding the lock): a file that has lost
        # its name once we hold the lock is given up for a new one.
        for _ in range(100):
            self.name = f"seg-{uuid.uuid4().hex}.npy"
            self.tmp = directory / (self.name + ".tmp")
            self.fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            if os.fstat(self.fd).st_nlink > 0:
                break
            os.close(self.fd)
            self.fd = -1
        else:
            raise IndexError_(f"{directory}: cannot create a segment file: each was deleted as it was made")
        try:
            with open(self.fd, "wb", closefd=False) as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<u8", "fortran_order": False, "shape": (2, total)})
                data = f.tell()
            written = 0
            for keys, pids in chunks:
                if stop is not None and stop():
                    raise Stopped
                _pwrite_all(self.fd, np.ascontiguousarray(keys, dtype="<u8"), data + 8 * written)
                _pwrite_all(self.fd, np.ascontiguousarray(pids, dtype="<u8"), data + 8 * (total + written))
                written += len(keys)
            if written != total:
                raise RuntimeError(f"segment writer got {written} entries, expected {total}")
            os.ftruncate(self.fd, data + 16 * total)
            os.fsync(self.fd)
        except BaseException:
            self.close()
            raise

    def publish(self) -> None:
        """Give the file its name (call with the write lock held, before registering it)."""
        os.replace(self.tmp, self.directory / self.name)
        self.published = True
        fsync_directory(self.directory)

    def close(self) -> None:
        if self.fd < 0:
            return
        if not self.published:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
        os.close(self.fd)  # releases the lock
        self.fd = -1


def segment_tier(rows: int, segment_rows: int, fanout: int) -> int:
    """Size tier: 0 up to ``segment_rows`` rows, then one more per factor ``fanout``."""
    ratio = max(rows, 1) / segment_rows
    return max(0, int(math.floor(math.log(ratio, fanout) + 1e-9))) if ratio > 1 else 0


def plan_merge(manifest: list[SegmentInfo], segment_rows: int, fanout: int) -> list[SegmentInfo] | None:
    """The first ``fanout`` adjacent segments (in pid order) of one size tier, if any.

    >>> infos = [SegmentInfo(str(k), k * 10, k * 10 + 9, 10, 10) for k in range(3)]
    >>> [i.name for i in plan_merge(infos, 10, 2)]
    ['0', '1']
    >>> plan_merge(infos[:1], 10, 2) is None
    True
    """
    tiers = [segment_tier(info.rows, segment_rows, fanout) for info in manifest]
    start = 0
    for k in range(1, len(manifest) + 1):
        if k == len(manifest) or tiers[k] != tiers[start]:
            if k - start >= fanout:
                return manifest[start : start + fanout]
            start = k
    return None


@dataclass
class MergeResult:
    swapped: bool
    doomed: list[Path]  # replaced files, to delete once the swap is committed


def merge_segments(
    conn: sqlite3.Connection,
    directory: Path,
    bands: int,
    infos: list[SegmentInfo],
    *,
    locked: bool,
    stop: Callable[[], bool] | None = None,
) -> MergeResult:
    """Replace the adjacent segments ``infos`` by one, without their removed pids.

    With ``locked`` the caller holds the write lock and commits. Without, the new file is
    written first, unlocked, and swapped in under a short ``BEGIN IMMEDIATE`` of our own; if a
    concurrent merge replaced a source meanwhile, the work is dropped."""
    try:
        sources = [Segment.load(directory, info) for info in infos]
    except FileNotFoundError:
        return MergeResult(False, [])
    first, last = infos[0].first_pid, infos[-1].last_pid
    dead = np.sort(
        np.fromiter(
            (r[0] for r in conn.execute("SELECT pid FROM removed WHERE pid BETWEEN ? AND ?", (first, last))),
            dtype=np.int64,
        ).astype(np.uint64)
    )
    total = sum(s.info.entries for s in sources)
    parts = max(1, -(-total // MERGE_CHUNK))
    # Band keys are hashes, spread evenly over 64 bits: equal slices of the key space make
    # chunks of about equal size.
    bounds = np.array([(k << 64) // parts for k in range(1, parts)], dtype=np.uint64)
    cuts = [np.concatenate([[0], np.searchsorted(s.keys, bounds, "left"), [s.info.entries]]) for s in sources]
    kept = total
    if len(dead):  # counted chunk by chunk too, so that no step reads a whole segment at once
        for s, c in zip(sources, cuts):
            for part in range(parts):
                kept -= int(np.isin(pids_of(s.read(int(c[part]), int(c[part + 1]))[1]), dead).sum())

    def chunks(segments: list[Segment]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for part in range(parts):
            pieces = [s.read(int(c[part]), int(c[part + 1])) for s, c in zip(segments, cuts)]
            if len(dead):
                pieces = [(k[live], p[live]) for k, p in pieces if (live := ~np.isin(pids_of(p), dead)).any()]
            yield _merged(pieces)

    # The generator is consumed here and then dropped, so that deleting the list unmaps them.
    pending = PendingSegment(directory, kept, chunks(sources), stop) if kept else None
    del sources
    try:
        if not locked:
            conn.execute("BEGIN IMMEDIATE")
        try:
            registered = {row[0] for row in conn.execute("SELECT name FROM segments")}
            if not all(info.name in registered for info in infos):
                if not locked:
                    conn.execute("ROLLBACK")
                return MergeResult(False, [])
            conn.executemany("DELETE FROM segments WHERE name = ?", [(info.name,) for info in infos])
            if pending is not None:
                pending.publish()
                conn.execute(
                    "INSERT INTO segments (name, first_pid, last_pid, entries, rows) VALUES (?, ?, ?, ?, ?)",
                    (pending.name, first, last, kept, max(0, sum(info.rows for info in infos) - len(dead))),
                )
            conn.execute("DELETE FROM removed WHERE pid IN (SELECT value FROM json_each(?))", (json.dumps(dead.tolist()),))
            if not locked:
                conn.execute("COMMIT")
        except BaseException:
            if not locked and conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
    finally:
        if pending is not None:
            pending.close()
    doomed = [directory / info.name for info in infos]
    if not locked:
        for path in doomed:
            with contextlib.suppress(OSError):
                os.unlink(path)
        doomed = []
    return MergeResult(True, doomed)


def remove_orphans(directory: Path, registered: set[str]) -> None:
    """Delete segment files that no committed manifest names: left by a crash, or replaced by
    a merge whose process died before deleting them. Call with the write lock held. A
    temporary file still locked by its writer (a merge in progress) is left alone."""
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            if not entry.name.startswith("seg-") or entry.name in registered:
                continue
            if entry.name.endswith(".tmp"):
                try:
                    fd = os.open(entry.path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    # Unlinked while locked: a writer that locks it after us sees it has no
                    # name left (see PendingSegment) and starts another.
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                except OSError:
                    pass  # its writer is alive
                finally:
                    os.close(fd)
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
