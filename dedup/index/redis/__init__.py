"""The shared index in a Redis server, for ``--index redis://host:port/N``: :class:`RedisIndex`
(:mod:`.backend`, whose docstring gives the key layout), its fair batch lock (:mod:`.lock`), its
server-side scripts (``lua/``, loaded by :mod:`.scripts`) and its errors (:mod:`.errors`). The
``redis`` client package is imported only when this backend is used."""

from __future__ import annotations

from dedup.index.redis.backend import DEFAULT_PREFIX, RedisIndex
from dedup.index.redis.errors import LockLost
from dedup.index.redis.lock import DEFAULT_LOCK_TTL, DEFAULT_LOCK_WAIT

__all__ = ["RedisIndex", "LockLost", "DEFAULT_PREFIX", "DEFAULT_LOCK_TTL", "DEFAULT_LOCK_WAIT"]
