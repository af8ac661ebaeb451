"""Errors of the Redis index, in words a person can act on: a lost connection, a command refused,
damage (a key of the wrong type, a value dedup did not write: which key, and what is wrong with
it), a lost lock; and a URL's password kept out of every message."""

from __future__ import annotations

import re
import struct
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dedup.index.interface import IndexError_

try:  # redis is needed only for this backend; `open_index` on a path never imports it.
    import redis
    import redis.backoff
    import redis.exceptions
    import redis.retry
except ImportError:  # pragma: no cover - reported when a Redis index is opened
    redis = None  # type: ignore[assignment]

__all__ = ["LockLost", "Damage", "translated", "redacted", "scrubbed", "shown", "LOCK_LOST", "STAGE_LOST"]

# What a script's error reply starts with when the lock or the stage was lost before a commit.
LOCK_LOST = "DEDUP_LOCK_LOST"
STAGE_LOST = "DEDUP_STAGE_LOST"


class LockLost(IndexError_):
    """The batch lock expired or was taken while held; the batch was not written."""


def redacted(spec: str) -> tuple[str, list[str]]:
    """``spec`` with its password shown as ``***``, for messages, and the strings to hide in
    any other text about it. Made for URLs too malformed to parse: everything before the last
    ``@`` of the part before the query (or of the whole, when only the query has one) is the
    user and password, and a lone word there is taken for a password; query values named like
    a password are hidden too.

    >>> redacted("redis://:secret@host:6379/0")[0]
    'redis://:***@host:6379/0'
    >>> redacted("redis://user:pass/word@host/0?password=secret&db=1")[0]
    'redis://user:***@host/0?password=***&db=1'
    >>> redacted("redis://secret@host/0")
    ('redis://***@host/0', ['secret'])
    """
    scheme, sep, rest = spec.partition("://")
    hidden: list[str] = []
    if sep:
        head = rest.split("?", 1)[0]
        at = head.rfind("@") if "@" in head else rest.rfind("@")
        if at >= 0:
            user, colon, password = rest[:at].partition(":")
            secret = password if colon else user
            hidden.append(secret)
            rest = (f"{user}:***" if colon else "***") + rest[at:]
    base, q, query = rest.partition("?")
    if q:
        fields = query.split("&")
        for k, field in enumerate(fields):
            name, eq, value = field.partition("=")
            if eq and "password" in urllib.parse.unquote(name).lower():
                hidden.append(value)
                fields[k] = f"{name}=***"
        query = "&".join(fields)
    # Their decoded forms, and the pieces a parser may quote alone (a port that is not a number).
    for secret in list(hidden):
        hidden.append(urllib.parse.unquote(secret))
        hidden += [piece for piece in re.split(r"[/?#@:\[\]]", secret) if len(piece) >= 3]
    hidden = sorted({h for h in hidden if h}, key=len, reverse=True)
    return scheme + sep + base + q + query, hidden


def scrubbed(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "***")
    return text


_NAMED = {
    b"params": "its parameters record",
    b"next": "its pid counter",
    b"docs": "its document list",
    b"time": "its ingest-time index",
    b"exact": "its exact-text index",
    b"stage": "its batch being staged",
    b"journal": "its batch being written out",
    b"lock": "its lock",
    b"lockq": "its lock's queue",
    b"lockseen": "its lock's queue",
    b"lockticket": "its lock's ticket counter",
}
_DAMAGED = re.compile(r"DEDUP_DAMAGED ([0-9a-f]*) (\w+)((?: \w*)*)")


def shown(value: bytes) -> str:
    return repr(value[:40]) + ("..." if len(value) > 40 else "")


class Damage:
    """Words for damage found in the index at ``where`` under ``prefix``: which key, and what
    is wrong with it, on one line."""

    def __init__(self, where: str, prefix: bytes) -> None:
        self.where = where
        self.prefix = prefix

    def __call__(self, key: bytes, detail: str) -> IndexError_:
        prefix = self.prefix.decode("utf-8", "replace")
        return IndexError_(f"the index at {self.where} (prefix {prefix!r}) is damaged: {self.name(key)} {detail}")

    def name(self, key: bytes) -> str:
        if not key.startswith(self.prefix):
            return shown(key)
        tail = key[len(self.prefix) :]
        full = (self.prefix + tail).decode("utf-8", "replace")
        if tail in _NAMED:
            return f"{_NAMED[tail]} ({full})"
        if tail[:1] == b"k" and len(tail) == 11:
            (band,) = struct.unpack(">H", tail[1:3])
            (value,) = struct.unpack("<Q", tail[3:])
            return f"the band bucket of band {band} and band key {value:#x}"
        if tail.startswith(b"p:"):
            return f"the record of paragraph {tail[2:].decode('ascii', 'replace')} ({full})"
        if tail.startswith(b"d:"):
            return f"the paragraph list of document {tail[2:].decode('utf-8', 'surrogateescape')!r}"
        if tail[:1] == b"x" and len(tail) == 9:
            return f"the paragraph list of exact key {struct.unpack('<Q', tail[1:])[0]:#x}"
        if tail.startswith(b"wake:"):
            return "a lock waiter's wake-up list"
        return shown(key)

    def from_reply(self, text: str) -> IndexError_ | None:
        """The damage a script reported (see checks.lua), if it did."""
        found = _DAMAGED.search(text.split(" script: ")[0])
        if found is None:
            return None
        key, what, words = bytes.fromhex(found[1]), found[2], found[3].split()
        if what == "type" and len(words) == 2:
            return self(key, f"is a {words[0]}, not a {words[1]}")
        try:
            args = [bytes.fromhex(word) for word in words]
        except ValueError:
            args = []
        if what == "member" and args:
            return self(key, f"holds {shown(args[0])}, which is not a paragraph id")
        if what == "field" and len(args) == 2:
            return self(key, f"maps exact key {int.from_bytes(args[0], 'little'):#x} to {shown(args[1])}, which is not a paragraph id")
        if what == "value" and args:
            return self(key, f"holds {shown(args[0])}, not a number")
        if what == "record":
            return self(key, "cannot be read as a paragraph record")
        return self(key, "cannot be read")

    def diagnose(self, client: Any, expect: tuple[tuple[bytes, str], ...], text: str) -> IndexError_:
        """Which of the keys a failed command used holds what it should not (a WRONGTYPE or a
        counter that is not a number)."""
        try:
            for key, kind in expect:
                actual = client.type(key).decode("ascii", "replace")
                if actual not in ("none", kind):
                    return self(key, f"is a {actual}, not a {kind}")
                if kind == "string" and actual == "string" and "not an integer" in text:
                    value = client.get(key)
                    if not re.fullmatch(rb"-?\d+", value or b""):
                        return self(key, f"holds {shown(value or b'')}, not a number")
        except redis.exceptions.RedisError:
            pass
        prefix = self.prefix.decode("utf-8", "replace")
        return IndexError_(f"the index at {self.where} (prefix {prefix!r}) is damaged: a key holds the wrong kind of value ({_printable(text)})")


def _printable(text: str) -> str:
    """An error text from Redis, for one line: without the script's digest, and without the
    binary key names a pipeline's error quotes."""
    text = re.sub(r" script: [0-9a-f]+, on @user_script:\d+\.?", "", text)
    return "".join(c if c.isprintable() else "?" for c in text)


@contextmanager
def translated(where: str, client: Any, damage: Damage | None = None, expect: tuple[tuple[bytes, str], ...] = ()) -> Iterator[None]:
    """Turn redis-py's exceptions into :class:`IndexError_`: a lost connection, damage (reported
    by a script, or diagnosed from the keys in ``expect``, pairs of a key and its type), or a
    command refused."""
    try:
        yield
    except redis.exceptions.TimeoutError as err:
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
        within = f" within {timeout:g} s" if isinstance(timeout, (int, float)) else ""
        raise IndexError_(f"lost connection to Redis at {where}: no reply{within} ({err})") from None
    except redis.exceptions.ConnectionError as err:
        raise IndexError_(f"lost connection to Redis at {where}: {err}") from None
    except redis.exceptions.InvalidResponse as err:
        raise IndexError_(f"lost connection to Redis at {where}: the reply is not Redis's protocol; is it a Redis server? ({err})") from None
    except redis.exceptions.ResponseError as err:
        text = str(err)
        if damage is not None:
            found = damage.from_reply(text)
            if found is None and ("WRONGTYPE" in text or "not an integer" in text):
                found = damage.diagnose(client, expect, text)
            if found is not None:
                raise found from None
        raise IndexError_(f"Redis at {where} refused a command: {_printable(text)}") from None
    except redis.exceptions.RedisError as err:
        raise IndexError_(f"Redis at {where} refused a command: {_printable(str(err))}") from None
