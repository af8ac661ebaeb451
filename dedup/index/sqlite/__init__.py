"""The embedded index: one directory, with SQLite as the store of record (:mod:`.database`) and
memory-mapped segment files for the lookups (:mod:`.segments`), kept merged by a background
thread (:mod:`.maintainer`). :class:`SQLiteIndex` (:mod:`.backend`) puts them together; its
docstring tells how."""

from __future__ import annotations

from dedup.index.sqlite.backend import DEFAULT_BUCKET_CAP, DEFAULT_MERGE_FANOUT, DEFAULT_SEGMENT_ROWS, SQLiteIndex
from dedup.index.sqlite.database import DB_NAME, SEGMENTS_DIR

__all__ = ["SQLiteIndex", "DB_NAME", "SEGMENTS_DIR", "DEFAULT_SEGMENT_ROWS", "DEFAULT_MERGE_FANOUT", "DEFAULT_BUCKET_CAP"]
