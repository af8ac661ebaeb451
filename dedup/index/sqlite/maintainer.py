"""The embedded index's background work: WAL checkpoints and merges of segments, on a thread
and a connection of its own."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from pathlib import Path


from dedup.index.sqlite.database import connect
from dedup.index.sqlite.segments import Stopped, merge_segments, plan_merge, read_manifest

# How long a background merge waits to swap its result in; after that it tries again later.
BACKGROUND_BUSY_TIMEOUT = 30.0


class Maintainer(threading.Thread):
    """The index's background work, on a connection of its own: WAL checkpoints after commits
    (so that a batch's commit does not pay for copying the log into the database) and merges
    of segments (so that a batch does not wait seconds for one). Both run without the GIL for
    most of their time (SQLite, file I/O, sorting)."""

    def __init__(self, db: Path, directory: Path, bands: int, segment_rows: int, fanout: int) -> None:
        super().__init__(name=f"dedup-index-maintainer:{directory.parent}", daemon=True)
        self.db = db
        self.directory = directory
        self.bands = bands
        self.segment_rows = segment_rows
        self.fanout = fanout
        self.error: BaseException | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.join()

    def run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(self.db, BACKGROUND_BUSY_TIMEOUT)
            while not self._stopping.is_set():
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                self._checkpoint(conn)
                self._merge(conn)
        except BaseException as err:  # kept for the owner to raise: a thread cannot
            self.error = err
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.OperationalError):  # busy: next time
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _merge(self, conn: sqlite3.Connection) -> None:
        failures = 0
        while not self._stopping.is_set() and failures < 3:
            plan = plan_merge(read_manifest(conn, self.directory.parent), self.segment_rows, self.fanout)
            if plan is None:
                return
            # One merging process at a time: two would do the same work for one result.
            lock = os.open(self.directory / ".merging", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return
                try:
                    result = merge_segments(conn, self.directory, self.bands, plan, locked=False, stop=self._stopping.is_set)
                except Stopped:
                    return
                except sqlite3.OperationalError as err:
                    if "locked" in str(err) or "busy" in str(err):
                        return  # the index is busy: merge at a later wake
                    raise
            finally:
                os.close(lock)
            failures += not result.swapped
            self._checkpoint(conn)
