"""The embedded index: one directory, with SQLite as the store of record and sorted segment files
for the band lookup.

Layout::

    PATH/index.db          SQLite in WAL mode: parameters, one row per paragraph, the manifest
    PATH/segments/*.npy    immutable arrays of (band key, pid) pairs sorted by key, memory-mapped

Why not a table of ``(band, key, pid)``: with a million paragraphs indexed, a B-tree probe per
band key (31 per paragraph at the default settings, each at a random page) manages about 3,000
paragraphs/s. Here a paragraph's row holds its band keys and its shingle set as two blobs, and
the lookup is a log-structured merge of sorted arrays:

- rows not yet in a segment (the *tail*) are held in memory as sorted runs, loaded from SQLite
  at the first batch and refreshed at each one (so another process's inserts are seen);
- once the tail reaches ``segment_rows`` paragraphs it is written out as a segment: sorted,
  fsynced under a temporary name, renamed, and registered in the ``segments`` table in the
  same transaction that records which pids it covers;
- segments of similar size are merged ``merge_fanout`` at a time (size-tiered, as in LSM
  trees) by a background thread, which swaps its result in under the write lock; so a lookup
  searches a handful of arrays whatever the index's size, and a batch never waits for a merge;
- a query sorts its keys once; a segment of a million entries or more has a *key filter*, a
  Bloom filter with each key's bits in one 64-bit word (12 bits per key, built in memory at its
  first search, about 0.7% of absent keys pass), and only the keys that pass it are searched;
  smaller segments are walked with a galloping search (a batch of queries costs about one pass
  over the pages it touches); the tail's runs share one key filter. Nearly every band key of a
  new paragraph is in no bucket, so a query costs about one word read per segment per key. The
  filters are memory, not files: 1.5 bytes per entry, about 45 MB at a million paragraphs of
  30 bands; a new segment's filter is built by the first query that meets it.
- the sort of a batch's query keys is reused for its insert (the kept paragraphs' keys are a
  subset of what was queried), so a batch sorts its keys once.

N-gram postings (:meth:`SQLiteIndex.query_postings`) are more entries of the same sorted runs
and segments, as the exact keys are: one per word n-gram of a paragraph, keyed by the n-gram's
hash, its value the pid and the word number packed into one 64-bit word with the top bit set
(:data:`POSTING_FLAG`: 40 bits of pid, 23 of word), which tells a posting from a band or exact
key entry, whose value is a bare pid. So they are flushed, merged, compacted after removals and
crash-safe exactly as band keys are; a tail's postings wait in table ``postings`` until their
segment is written. An n-gram with more than ``posting_cap`` entries (default 100, live or
removed but not yet merged away) is a stock phrase: a lookup returns nothing for it, and a batch
that met it stores no more of its postings. An index made before postings existed (layout 2)
is given the table when opened for writing and notes from which pid on postings are kept;
:meth:`SQLiteIndex.postings_status` names the paragraphs stored without them, which cannot be
given postings afterwards: the index does not keep their text.

Crowded buckets: a query takes at most ``bucket_cap`` pids (default 64) from each bucket, the
earliest (lowest pids: sources are searched in pid order and equal keys are stored in pid
order). A bucket can hold very many paragraphs that share one band, such as boilerplate that
differs a little every time (kept, since it is below the threshold, yet sharing a band), and
without a cap every new paragraph in it would fetch and verify all of them. The trade-off: a
paragraph whose only shared band with its duplicate is such a bucket, with the duplicate beyond
the first 64, is not found through that band; it is still found through any other band it
shares, and first-seen matches, the earliest, are the ones kept. The report's LSH makes the
same trade with its window of 64 neighbours per bucket. Removed paragraphs that a merge has not
yet dropped from a segment count against the cap.

Documents and ingest times are stored beside each row, and also as pid ranges (tables
``documents`` and ``ingests``), which is what ``remove`` and ``prune`` use: an index on a
column of ``paragraphs`` would cost a random B-tree insert per paragraph, which made inserts
three times slower at a million paragraphs. Removed paragraphs leave their pids in segments
until a merge rewrites them (table ``removed`` lists them); queries drop them by checking each
candidate against ``paragraphs``, which they read anyway to verify it.

Crash safety: SQLite's commits are the only commit points. A segment file that a crash left
unregistered is deleted the next time a process holds the write lock (a temporary file is
spared while its writer holds its ``flock``). A registered file is only replaced by a merge
that registers its successor in the same transaction. Nothing is pickled: segment files are
``.npy`` arrays of ``uint64`` loaded with ``allow_pickle=False``, and SQLite holds integers,
floats, strings and little-endian blobs.

Several processes may share an index: :meth:`SQLiteIndex.batch` holds SQLite's write lock
(``BEGIN IMMEDIATE``) from its query to its commit, so "first seen" is decided one batch at a
time.

>>> import tempfile, numpy as np
>>> from dedup.index import IndexParams, Records
>>> params = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=31, rows=3)
>>> with tempfile.TemporaryDirectory() as tmp, SQLiteIndex.open(tmp + "/idx", params) as index:
...     keys = np.arange(31, dtype=np.uint64).reshape(31, 1)
...     with index.batch():
...         pids = index.add(Records(["doc"], [1], keys, np.array([7, 9], dtype=np.uint64), [0, 2], 0.0))
...     query_index, found = index.query(keys + np.uint64(30))  # shares band key 30 only
...     (query_index.tolist(), found.tolist() == pids.tolist(), index.fetch(found).doc_ids)
([0], True, ['doc'])
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dedup._kernel import fill_filter, hash_sort, probe_filter, select_sorted
from dedup.index.interface import (
    DEFAULT_POSTING_CAP,
    MAX_POSTING_WORD,
    SCHEMA_VERSION,
    Fetched,
    Index,
    IndexError_,
    IndexMismatch,
    IndexParams,
    Postings,
    Records,
    loaded_doc_id,
    stored_doc_id,
)
from dedup.index.sqlite.database import DB_NAME, FORMAT, LAYOUT_VERSION, POSTING_ROW, SEGMENTS_DIR, check_header, connect, create_index, has_log, migrate
from dedup.index.sqlite.maintainer import Maintainer
from dedup.index.sqlite.segments import (
    FILTER_BITS_PER_KEY,
    PID_BITS,
    POSTING_FLAG,
    PendingSegment,
    Run,
    Segment,
    SegmentInfo,
    filter_words,
    found_in,
    merge_segments,
    pids_of,
    plan_merge,
    posting_run,
    posting_values,
    read_manifest,
    remove_orphans,
)

__all__ = ["SQLiteIndex", "DEFAULT_SEGMENT_ROWS", "DEFAULT_MERGE_FANOUT", "DEFAULT_BUCKET_CAP"]

# A flush every 64k paragraphs keeps the tail (reloaded from SQLite on open, about 0.1 s per
# 64k rows) cheap, and its segments large enough that merges are rare.
DEFAULT_SEGMENT_ROWS = 65_536
DEFAULT_MERGE_FANOUT = 4
# Tail runs kept apart before they are merged into one.
MAX_RUNS = 16
# Pids a query takes from one bucket (a band key shared by many paragraphs), the earliest ones:
# the report's LSH pairs each paragraph with at most 64 neighbours per bucket too.
DEFAULT_BUCKET_CAP = 64
# How long a batch waits for another process's batch before giving up.
DEFAULT_BUSY_TIMEOUT = 600.0
# Seconds a batch waits for the write lock before it says whom it waits for.
WAIT_NOTICE = 2.0
# The holder of the write lock notes its pid here (JSON), for the processes that wait.
HOLDER_FILE = "holder.json"
# Rows per statement when a list of values is passed as one JSON array.
CHUNK = 50_000


class SQLiteIndex(Index):
    """The embedded index in directory ``path``. Use :meth:`open`."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        params: IndexParams,
        segment_rows: int,
        merge_fanout: int,
        background: bool,
        bucket_cap: int = DEFAULT_BUCKET_CAP,
        posting_cap: int = DEFAULT_POSTING_CAP,
    ) -> None:
        self.path = path
        self.bucket_cap = bucket_cap
        self.posting_cap = posting_cap
        self.params = params
        self.segment_rows = segment_rows
        self.merge_fanout = merge_fanout
        self.background = background
        self._conn: sqlite3.Connection | None = conn
        self._db = path / DB_NAME
        self._segments_dir = path / SEGMENTS_DIR
        self._segments: dict[str, Segment] = {}
        self._covered = 0  # highest pid held by a segment
        self._runs: list[Run] = []  # tail entries, pids above _covered
        self._tail_bloom: np.ndarray | None = None  # key filter of the runs in _tail_filter_runs
        self._tail_filter_runs: list[Run] = []
        self._last_seen: int | None = None  # highest pid loaded into the tail; None: not loaded
        self._in_batch = False
        # In a batch: the band keys of its last query, sorted, and their order (see add).
        self._last_query: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._rows_cache: dict[int, tuple[str | bytes, int, float, bytes]] = {}
        # In a batch: n-grams its posting lookups found to be stock phrases (not stored again),
        # and the removed pids still in segments or runs (read once).
        self._stock = np.empty(0, dtype=np.uint64)
        self._removed: np.ndarray | None = None
        self._doomed: list[Path] = []  # segment files to delete once their removal is committed
        self._maintainer: Maintainer | None = None
        self.read_only = False
        self.busy_timeout = DEFAULT_BUSY_TIMEOUT
        # Called with a message when a batch waits long for another process's.
        self.on_wait: Callable[[str], None] | None = None

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        spec: str | os.PathLike[str],
        params: IndexParams | None = None,
        *,
        create: bool = True,
        segment_rows: int = DEFAULT_SEGMENT_ROWS,
        merge_fanout: int = DEFAULT_MERGE_FANOUT,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        background: bool = True,
        bucket_cap: int = DEFAULT_BUCKET_CAP,
        read_only: bool = False,
        posting_cap: int = DEFAULT_POSTING_CAP,
    ) -> SQLiteIndex:
        """Open the index in directory ``spec``, creating it (with ``params``) if it does not
        exist and ``create`` is true; without ``params``, use those it stores.

        ``segment_rows`` and ``merge_fanout`` apply to a new index only; an existing one keeps
        those it was created with. ``busy_timeout``: seconds a batch waits for another
        process's. ``background``: checkpoint and merge in a thread (else at batch starts).
        ``bucket_cap``: pids a query takes per bucket, the earliest (see the module's doc).
        ``posting_cap``: postings beyond which an n-gram is a stock phrase.
        ``read_only``: only read (stats, export, queries), which works on a read-only
        directory or mount too; an index left with an uncheckpointed log by a process that
        died cannot be read there until it is opened once where it can be written."""
        if segment_rows < 1 or merge_fanout < 2:
            raise ValueError("segment_rows must be at least 1 and merge_fanout at least 2")
        if bucket_cap < 1 or posting_cap < 1:
            raise ValueError("bucket_cap and posting_cap must be at least 1")
        path = Path(spec)
        where = str(spec)
        db = path / DB_NAME
        if not path.exists() or (path.is_dir() and not db.exists() and not any(path.iterdir())):
            if params is None or not create:
                raise IndexError_(f"{where}: no index here")
            create_index(path, params, segment_rows, merge_fanout)
        elif not path.is_dir():
            raise IndexError_(f"{where}: not a dedup index (it is a file; an index is a directory that dedup filter creates)")
        elif not db.exists():
            raise IndexError_(f"{where}: not a dedup index (a directory without {DB_NAME}); use a new path")
        check_header(db, where)
        if not read_only and not os.access(path, os.W_OK):
            raise IndexError_(f"{where}: the index is read-only here (no write permission, or a read-only mount); only dedup index stats and export can read it")
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(db, busy_timeout, read_only)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as err:
            if conn is not None:
                conn.close()
            if read_only:
                hint = "; its write-ahead log (-wal) cannot be read in a read-only directory: open the index once where it can be written" if has_log(db) else ""
                raise IndexError_(f"{where}: cannot read the index database ({err}){hint}") from None
            raise IndexError_(f"{where}: cannot open the index database: it is damaged or unreadable ({err})") from None
        try:
            if meta.get("format") != FORMAT:
                raise IndexError_(f"{where}: not a dedup index (unknown format {meta.get('format')!r})")
            stored = IndexParams.from_dict(json.loads(meta["params"]))
            if params is not None or stored.schema_version > SCHEMA_VERSION:  # maintenance works on an older index
                IndexParams.check_schema(stored.schema_version, where)
            if params is not None:
                params.check_same(stored, where)
            (layout,) = conn.execute("PRAGMA user_version").fetchone()
            if layout > LAYOUT_VERSION:
                raise IndexMismatch(f"{where}: the index was written by a newer dedup (layout {layout}; this one reads up to {LAYOUT_VERSION})")
            if layout < LAYOUT_VERSION and not read_only:
                migrate(conn)
            index = cls(path, conn, stored, int(meta["segment_rows"]), int(meta["merge_fanout"]), background and not read_only, bucket_cap, posting_cap)
            index.read_only = read_only
            index.busy_timeout = busy_timeout
            index.keeps_postings = index._has_postings_table(conn)
            if background:
                # Checkpoints are the maintainer's; this only bounds the log if it falls behind.
                conn.execute("PRAGMA wal_autocheckpoint = 16384")
            index._refresh(locked=False, tail=False)
            return index
        except (sqlite3.Error, KeyError, ValueError) as err:
            conn.close()
            raise IndexError_(f"{where}: index database is damaged or not an index ({type(err).__name__}: {err})") from None
        except BaseException:
            conn.close()
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise IndexError_(f"{self.path}: the index is closed")
        return self._conn

    @contextlib.contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        """SQLite's errors, as :class:`IndexError_` that say what to do."""
        try:
            yield self.conn
        except sqlite3.OperationalError as err:
            text = str(err)
            if "locked" in text or "busy" in text:
                raise IndexError_(f"{self.path}: the index is busy: another process has held it for too long ({text})") from None
            raise IndexError_(f"{self.path}: {text}") from None
        except sqlite3.DatabaseError as err:
            raise IndexError_(f"{self.path}: index database is damaged ({err}); restore it from a copy or start a new index") from None

    # -- segments and tail ---------------------------------------------------------------

    def _refresh(self, locked: bool, tail: bool = True) -> None:
        """Catch up with the database: the manifest and, with ``tail``, the rows added since
        last seen. Without the write lock, a merge may delete a file between our reading the
        manifest and opening the file: then read the manifest again."""
        self._rows_cache.clear()
        self._removed = None
        for attempt in range(5):
            try:
                if locked:
                    self._catch_up(tail)
                    return
                with self._sql() as conn:
                    conn.execute("BEGIN")  # one snapshot for the manifest and the rows
                    try:
                        self._catch_up(tail)
                    finally:
                        conn.execute("COMMIT")
                return
            except FileNotFoundError as err:
                if locked or attempt == 4:
                    raise IndexError_(f"{self.path}: segment file {Path(err.filename).name} is missing; the index is damaged") from None
                time.sleep(0.05 * (attempt + 1))

    def _catch_up(self, tail: bool) -> None:
        with self._sql() as conn:
            manifest = read_manifest(conn, self.path)
        segments = {}
        for info in manifest:
            loaded = self._segments.get(info.name)
            segments[info.name] = loaded if loaded is not None else Segment.load(self._segments_dir, info)
        self._segments = segments
        covered = max((info.last_pid for info in manifest), default=0)
        if covered > self._covered:
            self._runs = [Run(r.keys[keep], r.pids[keep]) for r in self._runs if (keep := pids_of(r.pids) > covered).any()]
        elif covered < self._covered:  # a flush was rolled back: reload the tail
            self._reset()
        self._covered = covered
        if not tail:
            return
        start = max(self._covered, self._last_seen or 0)
        with self._sql() as conn:
            rows = conn.execute("SELECT pid, band_keys, exact_key FROM paragraphs WHERE pid > ? ORDER BY pid", (start,)).fetchall()
        if self._last_seen is None:
            self._last_seen = self._covered
        if rows:
            if not all(isinstance(r[1], bytes) for r in rows):
                raise IndexError_(f"{self.path}: index database is damaged (band keys that are not a blob)")
            pids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            keys = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u8")
            if len(keys) != len(rows) * self.params.bands:
                raise IndexError_(f"{self.path}: index database is damaged (band keys of the wrong length)")
            self._runs.append(Run.of(keys.reshape(len(rows), self.params.bands).T, pids))
            exact = [(r[0], r[2]) for r in rows if r[2] is not None]
            if exact:
                if not all(type(key) is int for _, key in exact):
                    raise IndexError_(f"{self.path}: index database is damaged (an exact key that is not an integer)")
                self._runs.append(Run.of(np.array([[key for _, key in exact]], dtype=np.int64).view(np.uint64), np.array([pid for pid, _ in exact], dtype=np.int64)))
            self._load_postings(start)
            self._last_seen = int(pids[-1])
        self._settle_runs()

    def _load_postings(self, start: int) -> None:
        """The tail's postings, pids above ``start``, from table ``postings`` into a run."""
        with self._sql() as conn:
            if not self._has_postings_table(conn):
                return
            rows = conn.execute("SELECT pid, data FROM postings WHERE pid > ? ORDER BY pid", (start,)).fetchall()
        if not rows:
            return
        if not all(isinstance(data, bytes) and len(data) % POSTING_ROW.itemsize == 0 for _, data in rows):
            raise IndexError_(f"{self.path}: index database is damaged (postings that are not a blob of n-grams and word numbers)")
        counts = np.fromiter((len(data) // POSTING_ROW.itemsize for _, data in rows), dtype=np.int64, count=len(rows))
        grams = np.frombuffer(b"".join(data for _, data in rows), dtype=POSTING_ROW)
        pids = np.repeat(np.fromiter((pid for pid, _ in rows), dtype=np.int64, count=len(rows)), counts)
        self._runs.append(posting_run(grams["hash"].astype(np.uint64), posting_values(pids, grams["word"])))

    def _has_postings_table(self, conn: sqlite3.Connection) -> bool:
        """Whether the database has the table of postings (not one of layout 2 opened read-only)."""
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'postings'").fetchone() is not None

    def _settle_runs(self) -> None:
        """Runs are searched behind one key filter of the whole tail, so only the few keys that
        pass it cost a search in each run; merge them only beyond :data:`MAX_RUNS`."""
        if len(self._runs) > MAX_RUNS:
            self._runs = [Run.merged(self._runs)]

    def _reset(self) -> None:
        """Forget the tail (after a rollback): it is reloaded from the database at next use."""
        self._runs = []
        self._last_seen = None
        self._rows_cache.clear()

    def _tail_filter(self) -> np.ndarray:
        """The key filter of the tail's runs, brought up to date: runs appended since are added
        to it; after any other change it is rebuilt."""
        have = self._tail_filter_runs
        runs = self._runs
        if self._tail_bloom is None or len(have) > len(runs) or any(a is not b for a, b in zip(have, runs)):
            held = sum(len(r.keys) for r in runs)
            # Room for a whole segment's rows at the entries per row seen so far (band keys, and
            # postings, which make most of them), so that the tail's growth rebuilds it rarely.
            per_row = max(self.params.bands, held // max(self._tail_rows(), 1))
            entries = max(self.segment_rows * per_row, held)
            self._tail_bloom = np.zeros(filter_words(2 * entries), dtype=np.uint64)
            have = []
        elif sum(len(r.keys) for r in runs) > len(self._tail_bloom) * 64 // FILTER_BITS_PER_KEY:
            self._tail_bloom = None
            return self._tail_filter()
        for run in runs[len(have) :]:
            fill_filter(self._tail_bloom, run.keys)
        self._tail_filter_runs = list(runs)
        return self._tail_bloom

    def _tail_rows(self) -> int:
        """Paragraphs added since the last segment (pids are issued in order)."""
        return 0 if self._last_seen is None else self._last_seen - self._covered

    # -- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, holding SQLite's write lock: commit on success, roll back and
        forget the in-memory tail on any failure."""
        self._begin_write()
        try:
            yield
            with self._sql() as conn:
                conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error, IndexError_):
                if self.conn.in_transaction:
                    self.conn.rollback()
            self._reset()
            self._doomed.clear()
            raise
        for path in self._doomed:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._doomed.clear()
        if self._maintainer is not None:
            self._maintainer.wake()

    def _begin_write(self) -> None:
        """``BEGIN IMMEDIATE``, waiting up to ``busy_timeout`` for the write lock. A wait of more
        than :data:`WAIT_NOTICE` seconds is reported through :attr:`on_wait`, naming the process
        that holds the lock (each holder notes itself in :data:`HOLDER_FILE`), since a batch may
        hold it for as long as its output takes to be written: a stalled reader of another
        filter's output stalls every writer of the index."""
        deadline = time.monotonic() + self.busy_timeout
        waited_notice = False
        with self._sql() as conn:
            conn.execute(f"PRAGMA busy_timeout = {int(1000 * min(WAIT_NOTICE, self.busy_timeout))}")
            try:
                while True:
                    try:
                        conn.execute("BEGIN IMMEDIATE")
                        break
                    except sqlite3.OperationalError as err:
                        text = str(err)
                        if not ("locked" in text or "busy" in text) or time.monotonic() >= deadline:
                            raise
                    if not waited_notice and self.on_wait is not None:
                        self.on_wait(f"{self.path}: waiting for the index, held by {self._holder()}")
                        waited_notice = True
                    left = max(0.0, deadline - time.monotonic())
                    conn.execute(f"PRAGMA busy_timeout = {int(1000 * left)}")
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(1000 * self.busy_timeout)}")
        if waited_notice and self.on_wait is not None:
            self.on_wait(f"{self.path}: got the index; going on")
        with contextlib.suppress(OSError):  # a note for those who wait: never worth failing for
            note = self.path / f".{HOLDER_FILE}.{os.getpid()}"
            note.write_text(json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv[:2]), "since": time.time()}))
            os.replace(note, self.path / HOLDER_FILE)

    def _holder(self) -> str:
        """Who holds the index's write lock, as the holder noted it."""
        try:
            note = json.loads((self.path / HOLDER_FILE).read_text())
            since = time.strftime("%H:%M:%S", time.localtime(float(note["since"])))
            return f"process {int(note['pid'])} ({note['command']}, holding it since {since})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if self._in_batch:
            raise RuntimeError("index batches do not nest")
        if self._maintainer is not None and self._maintainer.error is not None:
            err = self._maintainer.error
            raise IndexError_(f"{self.path}: background maintenance failed: {type(err).__name__}: {err}")
        # Maintenance first, in a transaction of its own: once the batch commits, nothing
        # after it can fail.
        self._maintain()
        self._in_batch = True
        try:
            with self._write():
                self._refresh(locked=True)
                yield
        finally:
            self._in_batch = False
            self._last_query = None
            self._stock = np.empty(0, dtype=np.uint64)
            self._rows_cache.clear()

    def _maintain(self) -> None:
        """Write the tail out as a segment once it is large; merge (unless in background)."""
        if self.background and self._maintainer is None:
            self._maintainer = Maintainer(self._db, self._segments_dir, self.params.bands, self.segment_rows, self.merge_fanout)
            self._maintainer.start()
            self._maintainer.wake()
        flush = self._last_seen is not None and self._tail_rows() >= self.segment_rows
        merge = not self.background and plan_merge([s.info for s in self._segments.values()], self.segment_rows, self.merge_fanout) is not None
        if not (flush or merge):
            return
        with self._write():
            self._refresh(locked=True)
            remove_orphans(self._segments_dir, set(self._segments))
            if self._tail_rows() >= self.segment_rows:
                self._flush()
            if not self.background:
                with self._sql() as conn:
                    while (plan := plan_merge(read_manifest(conn, self.path), self.segment_rows, self.merge_fanout)) is not None:
                        self._doomed += merge_segments(conn, self._segments_dir, self.params.bands, plan, locked=True).doomed

    def _flush(self) -> None:
        """Write the whole tail as one segment (with the write lock held)."""
        if not self._runs or self._last_seen is None:
            return
        run = Run.merged(self._runs)
        pending = PendingSegment(self._segments_dir, len(run.keys), [(run.keys, run.pids)])
        try:
            pending.publish()
            info = SegmentInfo(pending.name, self._covered + 1, self._last_seen, len(run.keys), self._tail_rows())
            with self._sql() as conn:
                conn.execute(
                    "INSERT INTO segments (name, first_pid, last_pid, entries, rows) VALUES (?, ?, ?, ?, ?)",
                    (info.name, info.first_pid, info.last_pid, info.entries, info.rows),
                )
                # The segment holds them now.
                if self._has_postings_table(conn):
                    conn.execute("DELETE FROM postings WHERE pid <= ?", (info.last_pid,))
        finally:
            pending.close()
        self._segments[info.name] = Segment.load(self._segments_dir, info)
        self._covered = self._last_seen
        self._runs = []

    def _compact(self) -> None:
        """Rewrite segments of which half the rows or more were removed (after remove/prune),
        with the write lock held."""
        with self._sql() as conn:
            for info in read_manifest(conn, self.path):
                (dead,) = conn.execute("SELECT count(*) FROM removed WHERE pid BETWEEN ? AND ?", (info.first_pid, info.last_pid)).fetchone()
                if dead and 2 * dead >= info.rows:
                    self._doomed += merge_segments(conn, self._segments_dir, self.params.bands, [info], locked=True).doomed

    # -- the interface ---------------------------------------------------------------------

    def query(self, band_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = self._band_keys(band_keys)
        if not self._in_batch:
            self._refresh(locked=False)
        if keys.shape[1] == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        queries, order = hash_sort(keys.ravel())
        if self._in_batch:
            self._last_query = (keys, queries, order)
        return self._lookup(queries, order, keys.shape[1])

    def query_exact(self, exact_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Index.query_exact`. Exact keys are kept beside the band keys, in the same
        sorted runs and segments (each paragraph adds one entry more), and looked up the same
        way: every paragraph in a key's bucket has the same normalized text (but for a 64-bit
        hash collision), and a copy of it is dropped rather than stored, so such a bucket holds
        one live paragraph, and the cap never comes into play."""
        keys = self._query_keys(exact_keys)
        if not self._in_batch:
            self._refresh(locked=False)
        if len(keys) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        queries, order = hash_sort(keys)
        return self._lookup(queries, order, len(keys))

    def _lookup(self, queries: np.ndarray, order: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(query_index, pid)`` of the live paragraphs under sorted keys ``queries``, key
        ``k`` belonging to query ``order[k] % n``: at most ``bucket_cap`` per key, the earliest."""
        empty = np.empty(0, dtype=np.int64)
        found_q, found_p = [], []
        # Sources in pid order (segments by first pid, then the tail), so that a bucket's
        # budget goes to its earliest pids.
        found = [(*segment.hits(queries), segment.pids) for segment in self._segments.values()]
        if self._runs:
            maybe = np.flatnonzero(probe_filter(self._tail_filter(), queries))
            found += [(*found_in(run.keys, queries, maybe), run.pids) for run in self._runs]
        budget = np.full(len(queries), self.bucket_cap, dtype=np.int64)
        for at, lo, hi, spids in found:
            if not len(at):
                continue
            # The first pids of each bucket, up to what is left of its budget.
            take = np.minimum(hi - lo, budget[at])
            budget[at] -= take
            nonzero = take > 0
            at, lo, take = at[nonzero], lo[nonzero], take[nonzero]
            if not len(at):
                continue
            ends = np.cumsum(take)
            entries = np.repeat(lo - (ends - take), take) + np.arange(ends[-1], dtype=np.int64)
            found_q.append(np.repeat(order[at] % n, take))
            found_p.append(spids[entries])
        if not found_q:
            return empty, empty
        q = np.concatenate(found_q)
        p = np.concatenate(found_p)
        # A posting under a band or exact key (its n-gram hash equal to the key) is no candidate.
        bare = p < POSTING_FLAG
        q, p = q[bare], p[bare].astype(np.int64)
        if not len(p):
            return empty, empty
        top = int(p.max()) + 1
        if n * top < 2**62:
            codes = np.unique(q * top + p)
            q, p = codes // top, codes % top
        else:  # beyond 2**62 / n pids
            pairs = np.unique(np.stack([q, p], axis=1), axis=0)
            q, p = pairs[:, 0], pairs[:, 1]
        # Removed paragraphs stay in segments until a merge: keep only pids still stored.
        live = self._load_rows(np.unique(p))
        keep = np.isin(p, live)
        return q[keep], p[keep]

    def query_postings(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See :meth:`Index.query_postings`: the same search as :meth:`query`'s, over the same
        runs and segments, for entries flagged as postings."""
        keys = self._query_keys(hashes)
        if not self._in_batch:
            self._refresh(locked=False)
        empty = np.empty(0, dtype=np.int64)
        if len(keys) == 0:
            return empty, empty, empty
        queries, order = hash_sort(keys)
        # One lookup per distinct n-gram, however often the batch holds it.
        first = np.ones(len(queries), dtype=bool)
        first[1:] = queries[1:] != queries[:-1]
        distinct = queries[first]
        group = np.cumsum(first) - 1
        found = [(*segment.hits(distinct), segment.pids) for segment in self._segments.values()]
        if self._runs:
            maybe = np.flatnonzero(probe_filter(self._tail_filter(), distinct))
            found += [(*found_in(run.keys, distinct, maybe), run.pids) for run in self._runs]
        found = [f for f in found if len(f[0])]
        if not found:
            return empty, empty, empty
        # Entries per n-gram over every source, counted before any is read: more than the cap,
        # and it is a stock phrase, whose entries are never gathered (a line repeated through
        # a changelog can have hundreds of thousands).
        held = np.zeros(len(distinct), dtype=np.int64)
        for at, lo, hi, _ in found:
            held[at] += hi - lo
        stock = held > self.posting_cap
        if self._in_batch and stock.any():
            self._stock = np.union1d(self._stock, distinct[stock])
        u_parts, v_parts = [], []
        for at, lo, hi, values in found:
            ok = ~stock[at]
            at, lo, hi = at[ok], lo[ok], hi[ok]
            take = hi - lo
            if not len(take) or not take.sum():
                continue
            ends = np.cumsum(take)
            entries = np.repeat(lo - (ends - take), take) + np.arange(ends[-1], dtype=np.int64)
            u_parts.append(np.repeat(at, take))
            v_parts.append(values[entries])
        if not u_parts:
            return empty, empty, empty
        u = np.concatenate(u_parts)
        v = np.concatenate(v_parts)
        flagged = v >= POSTING_FLAG
        u, v = u[flagged], v[flagged]
        # Each n-gram's postings, for every place the batch holds it.
        occurrences = np.bincount(group, minlength=len(distinct))
        starts = np.cumsum(occurrences) - occurrences
        times = occurrences[u]
        within = np.arange(int(times.sum()), dtype=np.int64) - np.repeat(np.cumsum(times) - times, times)
        q = order[np.repeat(starts[u], times) + within]
        v = np.repeat(v, times)
        pids = pids_of(v).astype(np.int64)
        words = (v & np.uint64(MAX_POSTING_WORD)).astype(np.int64)
        # Removed paragraphs stay in segments and runs until a merge drops them.
        removed = self._removed_pids()
        if len(removed):
            live = ~np.isin(pids, removed)
            q, pids, words = q[live], pids[live], words[live]
        return q, pids, words

    def _removed_pids(self) -> np.ndarray:
        """Pids removed but still in segments or runs (read once a batch)."""
        if self._removed is None or not self._in_batch:
            with self._sql() as conn:
                self._removed = np.fromiter((r[0] for r in conn.execute("SELECT pid FROM removed")), dtype=np.int64)
        return self._removed

    def postings_status(self) -> str | None:
        """See :meth:`Index.postings_status`: paragraphs stored before this index kept postings
        (an index made by an earlier dedup), or added without them, cannot be found by
        :meth:`query_postings`; once they are removed or pruned, the index can be."""
        with self._sql() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'postings_from'").fetchone()
            if row is None:
                return f"{self.path}: the index was made by an earlier dedup and keeps no n-gram postings; open it once for writing (dedup filter without --containment) to start keeping them"
            try:
                since = int(row[0])
            except (TypeError, ValueError):
                raise IndexError_(f"{self.path}: index database is damaged (postings_from {row[0]!r} is not a pid)") from None
            (bare,) = conn.execute("SELECT count(*) FROM paragraphs WHERE pid < ?", (since,)).fetchone()
        if bare:
            return (
                f"{self.path}: {bare:,} stored paragraph{'s have' if bare != 1 else ' has'} no n-gram postings (stored by an earlier dedup, or added without them), "
                "and they cannot be made without the text, which the index does not keep; "
                "use --containment with a new index, or prune or remove those paragraphs, or filter without --containment"
            )
        return None

    def _load_rows(self, pids: np.ndarray) -> np.ndarray:
        """Read the rows of ``pids`` into the cache; return those that exist."""
        wanted = [x for x in pids.tolist() if x not in self._rows_cache]
        with self._sql() as conn:
            for start in range(0, len(wanted), CHUNK):
                part = json.dumps(wanted[start : start + CHUNK])
                for pid, doc, number, at, hashes in conn.execute(
                    "SELECT pid, doc_id, paragraph, ingested_at, hashes FROM paragraphs WHERE pid IN (SELECT value FROM json_each(?))",
                    (part,),
                ):
                    # SQLite keeps whatever type a value was written with: a row edited by hand
                    # or damaged is refused here, not met later as a wrong type deep in numpy.
                    if not (
                        isinstance(doc, (str, bytes))
                        and type(number) is int
                        and type(at) in (int, float)
                        and isinstance(hashes, bytes)
                        and len(hashes) % 8 == 0
                    ):
                        raise IndexError_(f"{self.path}: index database is damaged: the row of paragraph {pid} holds values of the wrong type or size")
                    self._rows_cache[pid] = (doc, number, float(at), hashes)
        return np.array([x for x in pids.tolist() if x in self._rows_cache], dtype=np.int64)

    def fetch(self, pids: np.ndarray) -> Fetched:
        pids = np.asarray(pids, dtype=np.int64)
        if not self._in_batch:
            self._rows_cache.clear()
        self._load_rows(np.unique(pids))
        missing = [str(x) for x in pids.tolist() if x not in self._rows_cache]
        if missing:
            raise IndexError_(f"{', '.join(missing)} not in the index")
        rows = [self._rows_cache[x] for x in pids.tolist()]
        if not self._in_batch:
            self._rows_cache.clear()
        sizes = np.fromiter((len(r[3]) // 8 for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return Fetched(
            pids=pids,
            doc_ids=[loaded_doc_id(r[0]) for r in rows],
            paragraphs=np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            ingested_at=np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows)),
            hashes=np.frombuffer(b"".join(r[3] for r in rows), dtype="<u8").astype(np.uint64),
            offsets=offsets,
        )

    def add(self, records: Records, *, queried: np.ndarray | None = None) -> np.ndarray:
        """See :meth:`Index.add`. With ``queried``, the sort of the band keys done for this
        batch's last :meth:`query` is reused (checked: keys that differ are sorted afresh)."""
        if not self._in_batch:
            with self.batch():
                return self.add(records)
        records = self._records(records)
        keys, hashes, offsets, at, exact = records.band_keys, records.hashes, records.offsets, records.ingested_at, records.exact_keys
        n = len(records)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        names = [stored_doc_id(str(d)) for d in records.doc_ids]
        # One bytes object each, sliced: much cheaper than a numpy tobytes() per row.
        key_bytes = np.ascontiguousarray(keys.T, dtype="<u8").tobytes()
        width = 8 * self.params.bands
        set_bytes = np.ascontiguousarray(hashes, dtype="<u8").tobytes()
        bounds = (8 * offsets).tolist()
        grams = self._kept_postings(records.postings)
        posting_counts: list[int | None] = [None] * n if grams is None else np.diff(grams.offsets).tolist()
        with self._sql() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'paragraphs'").fetchone()
            first = (row[0] if row else 0) + 1
            pids = np.arange(first, first + n, dtype=np.int64)
            conn.executemany(
                "INSERT INTO paragraphs (pid, doc_id, paragraph, ingested_at, band_keys, hashes, exact_key, postings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                zip(
                    pids.tolist(),
                    names,
                    records.paragraphs.tolist(),
                    [at] * n,
                    [key_bytes[i * width : (i + 1) * width] for i in range(n)],
                    [set_bytes[bounds[i] : bounds[i + 1]] for i in range(n)],
                    [None] * n if exact is None else exact.view(np.int64).tolist(),
                    posting_counts,
                ),
            )
            # Documents and ingest times are kept as pid ranges rather than indexed per
            # paragraph: an index entry per paragraph, at a random place in a B-tree, made
            # inserts three times slower with a million paragraphs indexed.
            firsts = [0] + [i for i in range(1, n) if names[i] != names[i - 1]]
            conn.executemany(
                "INSERT INTO documents (doc_id, first_pid, last_pid) VALUES (?, ?, ?)",
                [(names[a], first + a, first + b - 1) for a, b in zip(firsts, firsts[1:] + [n])],
            )
            conn.execute("INSERT INTO ingests (first_pid, last_pid, ingested_at) VALUES (?, ?, ?)", (first, first + n - 1, at))
            conn.execute("UPDATE counters SET value = value + ? WHERE name = 'paragraphs'", (n,))
            posting_run = self._store_postings(conn, grams, pids)
        # One run per batch, whatever it holds, so that the tail's runs (searched one by one,
        # merged past MAX_RUNS) do not multiply with the kinds of entry.
        runs = [self._run_of(keys, pids, queried)]
        if exact is not None:
            runs.append(Run.of(exact[None, :], pids))
        if posting_run is not None:
            runs.append(posting_run)
        self._runs.append(Run.merged(runs) if len(runs) > 1 else runs[0])
        self._settle_runs()
        self._last_seen = int(pids[-1])
        return pids

    def _store_postings(self, conn: sqlite3.Connection, grams: Postings | None, pids: np.ndarray) -> Run | None:
        """Write the postings of the new paragraphs ``pids`` into table ``postings`` (in the
        batch's transaction) and return their run; without postings, note that the paragraphs
        up to these lack them (:meth:`postings_status`)."""
        if grams is None:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'postings_from' AND CAST(value AS INTEGER) <= ?", (str(int(pids[-1]) + 1), int(pids[-1])))
            return None
        if int(pids[-1]) >= 1 << PID_BITS:
            raise IndexError_(f"{self.path}: pid {int(pids[-1]):,} is past what a posting can hold (2**{PID_BITS}); start a new index")
        owner = grams.owners()
        rows = np.empty(len(grams.hashes), dtype=POSTING_ROW)
        rows["hash"], rows["word"] = grams.hashes, grams.words
        conn.execute("UPDATE counters SET value = value + ? WHERE name = 'postings'", (len(rows),))
        data, width = rows.tobytes(), POSTING_ROW.itemsize
        bounds = grams.offsets.tolist()
        conn.executemany(
            "INSERT INTO postings (pid, data) VALUES (?, ?)",
            [(pid, data[width * a : width * b]) for pid, a, b in zip(pids.tolist(), bounds[:-1], bounds[1:]) if b > a],
        )
        return posting_run(grams.hashes, posting_values(pids[owner], grams.words)) if len(rows) else None

    def _kept_postings(self, grams: Postings | None) -> Postings | None:
        """The postings to store: not beyond :data:`MAX_POSTING_WORD`, nor of n-grams this
        batch found to be stock phrases, nor more than ``posting_cap + 1`` of one n-gram."""
        if grams is None:
            return None
        keep = grams.words <= MAX_POSTING_WORD
        if len(self._stock):
            keep &= ~np.isin(grams.hashes, self._stock)
        # One more than the cap marks a stock phrase for good: no need to store the rest.
        at = np.flatnonzero(keep)
        by_hash = at[np.argsort(grams.hashes[at], kind="stable")]
        sorted_hashes = grams.hashes[by_hash]
        new_group = np.ones(len(by_hash), dtype=bool)
        new_group[1:] = sorted_hashes[1:] != sorted_hashes[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(by_hash)), 0))
        keep[by_hash[np.arange(len(by_hash)) - group_start > self.posting_cap]] = False
        if keep.all():
            return grams
        counts = np.bincount(grams.owners()[keep], minlength=len(grams))
        return Postings(np.concatenate([[0], np.cumsum(counts)]), grams.hashes[keep], grams.words[keep])

    def _run_of(self, keys: np.ndarray, pids: np.ndarray, queried: np.ndarray | None) -> Run:
        """The sorted run of new paragraphs: from the last query's sort when they are among its
        paragraphs (``queried``: their positions in it), else sorted afresh."""
        last = self._last_query
        if queried is not None and last is not None:
            band_keys, queries, order = last
            queried = np.asarray(queried, dtype=np.int64)
            n = band_keys.shape[1]
            if len(queried) == keys.shape[1] and (len(queried) == 0 or (queried.min() >= 0 and queried.max() < n)) and np.array_equal(band_keys[:, queried], keys):
                slot = np.full(n, -1, dtype=np.int64)
                slot[queried] = np.arange(len(queried))
                sorted_keys, slots = select_sorted(queries, order, n, slot)
                return Run(sorted_keys, pids.astype(np.uint64)[slots])
        return Run.of(keys, pids)

    def _delete_ranges(self, ranges: list[tuple[int, int]], doc_id: str | bytes | None = None) -> int:
        """Delete the paragraphs with pids in ``ranges`` (of document ``doc_id`` only, if given);
        list their pids as removed, for merges to drop from the segments."""
        where = "pid BETWEEN ? AND ?" + ("" if doc_id is None else " AND doc_id = ?")
        count = 0
        with self._sql() as conn:
            for a, b in ranges:
                arg = (a, b) if doc_id is None else (a, b, doc_id)
                conn.execute(f"INSERT OR IGNORE INTO removed (pid) SELECT pid FROM paragraphs WHERE {where}", arg)
                if self._has_postings_table(conn):
                    conn.execute(f"DELETE FROM postings WHERE pid IN (SELECT pid FROM paragraphs WHERE {where})", arg)
                    (gone,) = conn.execute(f"SELECT coalesce(sum(postings), 0) FROM paragraphs WHERE {where}", arg).fetchone()
                    conn.execute("UPDATE counters SET value = value - ? WHERE name = 'postings'", (gone,))
                count += conn.execute(f"DELETE FROM paragraphs WHERE {where}", arg).rowcount
            conn.execute("UPDATE counters SET value = value - ? WHERE name = 'paragraphs'", (count,))
        return count

    @contextlib.contextmanager
    def _removing(self) -> Iterator[None]:
        if self._in_batch:
            yield
            return
        with self._write():
            self._refresh(locked=True)
            yield

    def remove(self, doc_ids: list[str]) -> int:
        count = 0
        with self._removing(), self._sql() as conn:
            for doc in map(stored_doc_id, sorted({str(d) for d in doc_ids})):
                ranges = conn.execute("SELECT first_pid, last_pid FROM documents WHERE doc_id = ?", (doc,)).fetchall()
                count += self._delete_ranges(ranges, doc)
                conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc,))
            self._compact()
        return count

    def prune(self, before: float) -> int:
        with self._removing(), self._sql() as conn:
            ranges = conn.execute("SELECT first_pid, last_pid FROM ingests WHERE ingested_at < ?", (float(before),)).fetchall()
            count = self._delete_ranges(ranges)
            for a, b in ranges:
                conn.execute("DELETE FROM documents WHERE first_pid BETWEEN ? AND ?", (a, b))
            conn.execute("DELETE FROM ingests WHERE ingested_at < ?", (float(before),))
            self._compact()
        return count

    def stats(self) -> dict[str, Any]:
        self._refresh(locked=self._in_batch, tail=False)
        with self._sql() as conn:
            own = not conn.in_transaction
            if own:
                conn.execute("BEGIN")
            try:
                (paragraphs,) = conn.execute("SELECT value FROM counters WHERE name = 'paragraphs'").fetchone()
                posting_row = conn.execute("SELECT value FROM counters WHERE name = 'postings'").fetchone()
                (documents,) = conn.execute("SELECT count(DISTINCT doc_id) FROM documents").fetchone()
                (oldest, newest) = conn.execute("SELECT min(ingested_at), max(ingested_at) FROM ingests").fetchone()
                row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'paragraphs'").fetchone()
                (tail,) = conn.execute("SELECT count(*) FROM paragraphs WHERE pid > ?", (self._covered,)).fetchone()
                (removed,) = conn.execute("SELECT count(*) FROM removed").fetchone()
            finally:
                if own:
                    conn.execute("COMMIT")
        size = 0
        for f in self.path.rglob("*"):
            with contextlib.suppress(FileNotFoundError):  # a merge may remove a segment meanwhile
                size += f.stat().st_size if f.is_file() else 0
        return {
            "backend": "sqlite",
            "location": str(self.path),
            "paragraphs": int(paragraphs),
            "documents": int(documents),
            "pids_issued": int(row[0]) if row else 0,
            "oldest": oldest,
            "newest": newest,
            "segments": len(self._segments),
            "segment_entries": sum(s.info.entries for s in self._segments.values()),
            "tail_paragraphs": int(tail),
            "removed_not_yet_merged": int(removed),
            "postings": None if posting_row is None else int(posting_row[0]),
            "bytes": size,
            "params": self.params.as_dict(),
        }

    def export(self) -> Iterator[dict[str, Any]]:
        """Rows ``{pid, doc, paragraph, ingested_at, shingles}`` (shingles: the set's size), in
        pid order (the order of ingestion), read in one snapshot."""
        # A connection of its own, so that a long read does not hold up this one's batches.
        with self._sql():
            conn = connect(self._db, DEFAULT_BUSY_TIMEOUT, self.read_only)
            try:
                cursor = conn.execute("SELECT pid, doc_id, paragraph, ingested_at, length(hashes) / 8 FROM paragraphs ORDER BY pid")
                while rows := cursor.fetchmany(10_000):
                    for pid, doc, number, at, shingles in rows:
                        yield {"pid": pid, "doc": loaded_doc_id(doc), "paragraph": number, "ingested_at": at, "shingles": shingles}
            finally:
                conn.close()

    def close(self) -> None:
        if self._maintainer is not None:
            self._maintainer.stop()
            self._maintainer = None
        if self._conn is None:
            return
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.rollback()
        self._conn.close()
        self._conn = None
        self._segments = {}
        self._runs = []
