"""The persistent index behind ``dedup filter``: what has been ingested already.

One interface, :class:`Index` (:mod:`dedup.index.interface`), with two backends chosen by
:func:`open_index`:

- a path: the embedded index (:mod:`dedup.index.sqlite`), a directory holding a SQLite database
  and memory-mapped segment files;
- ``redis://host:port/N``: a shared index in a Redis server (:mod:`dedup.index.redis`), for
  several filter processes at once.

The index stores, for each kept paragraph, its document id, paragraph number, ingest time, LSH
band keys and exact shingle set (sorted unique 64-bit shingle hashes), so that a candidate from
the index is verified exactly like a candidate within a report; and, where the backend keeps
them, its word n-gram *postings* (:class:`Postings`: 64-bit n-gram hash -> pid and word number
in its document), which ``dedup filter --containment`` looks up to find reuse across paragraph
boundaries (:mod:`dedup.reuse`). An n-gram with more than ``posting_cap`` postings is a stock
phrase: a lookup returns nothing for it. It also stores its :class:`IndexParams`; reopening it
with other parameters is refused, because band keys and shingle hashes computed under other
settings would silently never match.

Nothing is pickled: every stored value is an integer, a string or a little-endian array.

The backends import :mod:`dedup.index.interface`, never this module, and this module imports a
backend only when :func:`open_index` needs it: there is no import cycle, and a path never
imports the Redis client.
"""

from __future__ import annotations

from dedup.index import interface
from dedup.index.interface import *  # noqa: F403 - the package's names are the interface's
from dedup.index.interface import Index, IndexError_, IndexParams

__all__ = [*interface.__all__, "open_index"]


def open_index(spec: str, params: IndexParams | None = None, *, create: bool = True, read_only: bool = False) -> Index:
    """Open the index at ``spec``: a ``redis://`` URL or a filesystem path.

    With ``params`` the index is created if missing (when ``create``) and checked against
    them; without, an existing index is opened with the parameters it stores (for maintenance).
    ``read_only``: for inspection only; an embedded index on a read-only directory or mount
    can then be read.
    """
    scheme, sep, rest = spec.partition("://")
    if sep and scheme.lower() in ("redis", "rediss", "unix"):
        from dedup.index.redis import RedisIndex

        spec = f"{scheme.lower()}://{rest}"  # schemes are case-insensitive

        return RedisIndex.open(spec, params, create=create and not read_only)
    if spec.lower().startswith(("redis:", "rediss:", "unix:")):
        # A mistyped URL would otherwise become a directory named "redis:".
        # Not echoed: a mistyped URL may still hold a password.
        raise IndexError_(f"{spec.split(':', 1)[0]}:...: not a Redis URL; write redis://host:port/db (or a path without the scheme)")
    from dedup.index.sqlite import SQLiteIndex

    return SQLiteIndex.open(spec, params, create=create and not read_only, read_only=read_only)
