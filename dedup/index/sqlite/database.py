"""The embedded index's SQLite database: its schema and layout versions, and checking, opening,
creating and migrating it. A file that is not one of our databases is refused before SQLite
touches it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from urllib.request import pathname2url

import numpy as np

from dedup.index.interface import IndexError_, IndexParams
from dedup.index.sqlite.segments import fsync_directory

DB_NAME = "index.db"
SEGMENTS_DIR = "segments"
FORMAT = "dedup-index"
# PRAGMA application_id: "ddup". It tells our database from any other SQLite file.
APPLICATION_ID = 0x64647570
PAGE_SIZE = 16_384  # measured: ~1.4x faster inserts than 4096 with ~650-byte rows

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('paragraphs', 0);
INSERT INTO counters (name, value) VALUES ('postings', 0);
CREATE TABLE paragraphs (
    pid INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    paragraph INTEGER NOT NULL,
    ingested_at REAL NOT NULL,
    band_keys BLOB NOT NULL,
    hashes BLOB NOT NULL,
    exact_key INTEGER,
    postings INTEGER
);
CREATE TABLE documents (
    doc_id TEXT NOT NULL,
    first_pid INTEGER NOT NULL,
    last_pid INTEGER NOT NULL,
    PRIMARY KEY (doc_id, first_pid)
) WITHOUT ROWID;
CREATE TABLE ingests (first_pid INTEGER PRIMARY KEY, last_pid INTEGER NOT NULL, ingested_at REAL NOT NULL);
CREATE INDEX ingests_time ON ingests (ingested_at);
CREATE TABLE segments (
    name TEXT PRIMARY KEY,
    first_pid INTEGER NOT NULL,
    last_pid INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    rows INTEGER NOT NULL
);
CREATE TABLE removed (pid INTEGER PRIMARY KEY);
CREATE TABLE postings (pid INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""
# The layout of the database (PRAGMA user_version). Version 1 had no exact keys: it is brought
# to version 2 when first opened for writing, its paragraphs then found through their band keys
# only, as they always were. Version 2 had no n-gram postings: version 3 adds the table of the
# tail's postings and notes (meta "postings_from") the first pid stored with postings.
LAYOUT_VERSION = 3
MIGRATIONS = {
    1: ("ALTER TABLE paragraphs ADD COLUMN exact_key INTEGER",),
    2: (
        "CREATE TABLE postings (pid INTEGER PRIMARY KEY, data BLOB NOT NULL)",
        "ALTER TABLE paragraphs ADD COLUMN postings INTEGER",
        "INSERT INTO counters (name, value) VALUES ('postings', 0)",
        "INSERT INTO meta (key, value) SELECT 'postings_from', CAST(coalesce(max(seq), 0) + 1 AS TEXT) FROM sqlite_sequence WHERE name = 'paragraphs'",
    ),
}
# A posting in table postings (one blob of them per paragraph): its n-gram hash and word number.
POSTING_ROW = np.dtype([("hash", "<u8"), ("word", "<u4")])


# Opening and creating.


# Sizes in SQLite's write-ahead log file format (sqlite.org/fileformat2.html#walformat).
WAL_HEADER = 32
WAL_FRAME_HEADER = 24


def check_header(db: Path, where: str) -> None:
    """Refuse, before SQLite touches it, a file that is not one of our databases or is shorter
    than its own header says."""
    try:
        with open(db, "rb") as f:
            head = f.read(100)
            size = os.fstat(f.fileno()).st_size
    except OSError as err:
        raise IndexError_(f"{where}: cannot read {db.name} ({err.strerror or err})") from None
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        raise IndexError_(f"{where}: not a dedup index ({db.name} is not a SQLite database)")
    if int.from_bytes(head[68:72], "big") != APPLICATION_ID:
        raise IndexError_(f"{where}: not a dedup index ({db.name} is a SQLite database of another application)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65_536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # A process killed in the middle of a checkpoint leaves the database shorter than its header
    # says while the write-ahead log still holds every page: SQLite finishes the job on open.
    # Only without such a log is a short file damage.
    try:
        logged = os.stat(db.with_name(db.name + "-wal")).st_size >= WAL_HEADER + WAL_FRAME_HEADER + page_size
    except OSError:
        logged = False
    # The page count is valid when the "version-valid-for" number equals the change counter.
    if not logged and head[92:96] == head[24:28] and size < page_size * pages:
        raise IndexError_(f"{where}: index database is truncated ({size:,} bytes, its header says {page_size * pages:,}); restore it from a copy or start a new index")


def has_log(db: Path) -> bool:
    """Whether a write-ahead log with content lies beside ``db``."""
    try:
        return os.stat(db.with_name(db.name + "-wal")).st_size > 0
    except OSError:
        return False


def connect(db: Path, timeout: float, read_only: bool = False) -> sqlite3.Connection:
    uri = f"file:{pathname2url(str(db.absolute()))}?mode={'ro' if read_only else 'rw'}"
    if read_only and not os.access(db.parent, os.W_OK) and not has_log(db):
        # SQLite reads a database in WAL mode through a -shm file it creates beside it, which a
        # read-only directory does not allow. With no log to read, the file alone is the whole
        # index, and nobody can change it there: it may be read as immutable.
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout, check_same_thread=True)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: durable at checkpoints, never corrupt
        conn.execute("PRAGMA cache_size = -65536")
    except BaseException:
        conn.close()
        raise
    return conn


def create_index(path: Path, params: IndexParams, segment_rows: int, merge_fanout: int) -> None:
    """Build a new index beside ``path`` and rename it into place, so a half-made index never
    appears under its name. Losing a race with another process creating it is fine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        (tmp / SEGMENTS_DIR).mkdir()
        conn = sqlite3.connect(tmp / DB_NAME, isolation_level=None)
        try:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            meta = {
                "format": FORMAT,
                "params": json.dumps(params.as_dict(), sort_keys=True),
                "segment_rows": str(segment_rows),
                "merge_fanout": str(merge_fanout),
                "created_at": repr(time.time()),
                "postings_from": "1",
            }
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        finally:
            conn.close()
        try:
            os.rename(tmp, path)  # replaces an empty directory; fails on anything else
        except OSError:
            if not (path / DB_NAME).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process made it first
        fsync_directory(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database's layout to :data:`LAYOUT_VERSION`, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        (layout,) = conn.execute("PRAGMA user_version").fetchone()  # another process may have done it
        for version in range(layout, LAYOUT_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise
