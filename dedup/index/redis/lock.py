"""The Redis index's batch lock: one holder at a time, first come first served, with a lifetime.

``SET {prefix}lock token NX PX ttl`` inside a script (``acquire.lua``) that lets only the head of
the waiting queue take it, so one busy worker releasing and at once asking again cannot starve
the others: waiters queue by ticket (``{prefix}lockq``), the releaser (``release.lua``) wakes the
head through its wake list, and a waiter that has not asked for :data:`STALE_MS` has died and
leaves the queue. While held, a background thread renews it every ``ttl / 3`` with a
compare-and-expire script (``renew.lua``), so a worker that dies holding it blocks the others
for at most ``ttl``.

Keys, under the index's prefix: ``lock`` (the holder's token), ``lockq`` (zset token -> ticket),
``lockseen`` (zset token -> when it last asked, ms), ``lockticket`` (the last ticket handed out),
``wake:{token}`` (a waiter's wake-up list).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from dedup.index.interface import IndexError_
from dedup.index.redis.errors import LockLost, redis
from dedup.index.redis.scripts import source

__all__ = ["QueuedLock", "holder", "DEFAULT_LOCK_TTL", "DEFAULT_LOCK_WAIT", "STALE_MS"]

# Long enough that a busy worker renews it comfortably (every ttl / 3); short enough that the
# others resume soon after a worker dies holding it.
DEFAULT_LOCK_TTL = 10.0
DEFAULT_LOCK_WAIT = 300.0
# A waiter asks for the lock at least every POLL seconds; one silent for STALE_MS has died.
POLL = 0.05
STALE_MS = 3000
# A worker that waits longer than this for the lock says so, and for whom.
WAIT_NOTICE = 2.0


def holder(token: bytes | None) -> str:
    """Who holds the lock, from its token (``host:pid:random``).

    >>> holder(b"build-3:4121:9f2c01d4e5a6b7c8"), holder(None)
    ('process 4121 on build-3', 'nobody now')
    """
    if not token:
        return "nobody now"
    parts = token.decode("utf-8", "replace").rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return f"process {parts[1]} on {parts[0]}"
    return repr(token.decode("utf-8", "replace"))


def _busy_is_no(call: Callable[[], Any]) -> Any:
    """``call()``, or False while a long script runs (another program's: dedup's are short)."""
    try:
        return call()
    except redis.exceptions.ResponseError as err:
        if str(err).startswith("BUSY"):
            return False
        raise


class QueuedLock:
    """The lock of the index under ``prefix`` on ``client``, for one thread at a time.

    ``talking()`` is the index's context that turns redis-py's errors into :class:`IndexError_`
    (naming a damaged key of those it is given); ``where`` names the server in messages.
    """

    def __init__(
        self,
        client: Any,
        prefix: bytes,
        where: str,
        talking: Callable[..., AbstractContextManager[None]],
        *,
        ttl: float = DEFAULT_LOCK_TTL,
        wait: float = DEFAULT_LOCK_WAIT,
    ) -> None:
        if ttl <= 0 or wait < 0:
            raise ValueError("lock_ttl must be positive and lock_wait at least 0")
        self.ttl = ttl
        self.wait = wait
        self.key = prefix + b"lock"
        self._r = client
        self._p = prefix
        self._where = where
        self._talking = talking
        self._acquire = client.register_script(source("acquire.lua"))
        self._leave = client.register_script(source("leave.lua"))
        self._renew = client.register_script(source("renew.lua"))
        self._release = client.register_script(source("release.lua"))
        self.token: str | None = None
        self._lost = threading.Event()
        self._stop_renewing = threading.Event()
        self._renewer: threading.Thread | None = None

    def holder(self) -> str:
        """Who holds the lock now, in words."""
        return holder(self._r.get(self.key))

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> bool:
        """Wait for the lock, at most ``wait`` seconds (:class:`IndexError_` after that, saying
        who holds it), then hold it, renewed, until :meth:`release`. ``on_wait`` is told once
        when the wait grows long, and again when it ends. Returns whether a committed batch is
        left to finish (its journal): the holder must write it out before anything else."""
        token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        ttl_ms = max(1, int(self.ttl * 1000))
        deadline = time.monotonic() + self.wait
        p = self._p
        wake = p + b"wake:" + token.encode()
        keys = [self.key, p + b"lockq", p + b"lockseen", p + b"lockticket", wake, p + b"stage", p + b"journal"]
        taken = False
        notice, said = time.monotonic() + WAIT_NOTICE, False
        try:
            with self._talking((self.key, "string"), (wake, "list")):
                while not (taken := _busy_is_no(lambda: self._acquire(keys=keys, args=[token, ttl_ms, STALE_MS]))):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise IndexError_(
                            f"waited {self.wait:g} s for the index lock at {self._where} (held by {self.holder()}); "
                            f"a holder that died releases it within {self.ttl:g} s"
                        )
                    if not said and on_wait is not None and time.monotonic() >= notice:
                        on_wait(f"{self._where}: waiting for the index lock, held by {self.holder()}")
                        said = True
                    # Woken by the releaser when our turn comes; ask again at least every POLL s.
                    if _busy_is_no(lambda: self._r.blpop([wake], timeout=min(POLL, max(left, 0.001)))) is False:
                        time.sleep(POLL)
        finally:
            if not taken:
                try:
                    with self._talking():
                        self._leave(keys=keys[1:5], args=[token])
                except IndexError_:
                    pass  # it leaves the queue on its own once stale
        self.token = token
        self._lost.clear()
        self._stop_renewing.clear()
        self._renewer = threading.Thread(target=self._keep_renewing, args=(token, ttl_ms), name="dedup-redis-lock", daemon=True)
        self._renewer.start()
        if said and on_wait is not None:
            on_wait(f"{self._where}: got the index lock; going on")
        return taken == 2

    def _keep_renewing(self, token: str, ttl_ms: int) -> None:
        interval = self.ttl / 3
        while not self._stop_renewing.wait(interval):
            try:
                if not self._renew(keys=[self.key], args=[token, ttl_ms]):
                    self._lost.set()
                    return
            except Exception:  # noqa: BLE001 - the commit's own check reports it; keep trying
                continue

    def check(self) -> None:
        """:class:`LockLost` if the renewer found the lock expired or taken while held."""
        if self.token is not None and self._lost.is_set():
            raise LockLost(
                f"lost the index lock at {self._where}: it expired or was taken while this worker "
                f"held it (no renewal for {self.ttl:g} s); nothing of this batch is written"
            )

    def release(self) -> None:
        """Stop renewing and release the lock (compare-and-delete), waking the next waiter. A
        failure to reach the server is not raised: the lock then expires on its own after
        ``ttl``, and an error already on its way matters more."""
        token = self.token
        self._stop_renewing.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        self.token = None
        self._lost.clear()
        if token is None:
            return
        try:
            with self._talking():
                self._release(keys=[self.key, self._p + b"lockq"], args=[token, self._p])
        except IndexError_:
            pass
