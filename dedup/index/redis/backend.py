"""The shared index in a Redis server, for ``--index redis://host:port/N``.

Several ``dedup filter`` processes, on one machine or many, use one index at once. Each holds
the index for one query-decide-insert step with :meth:`RedisIndex.batch`, a lock in Redis, so
"first seen" is decided the same way by every worker and no insert is lost.

Key layout, under a prefix (``dedup:`` unless the URL says ``?prefix=...``)::

    {prefix}params          hash    the IndexParams, one field each
    {prefix}next            string  the last pid handed out (INCRBY n reserves n pids)
    {prefix}p:{pid}         string  one paragraph, packed little-endian (see below)
    {prefix}k{band}{key}    set     pids whose band ``band`` (2 bytes, big-endian) has band key
                                    ``key`` (8 bytes, little-endian): a binary key name
    {prefix}d:{doc}         set     the pids of document ``doc`` (UTF-8), for ``remove``
    {prefix}exact           hash    exact key (8 bytes, little-endian) -> the earliest live pid
                                    added with it, for ``query_exact``
    {prefix}x{key}          zset    the other live pids added with exact key ``key`` (8 bytes),
                                    scored by pid: the next earliest takes over when one goes
    {prefix}g{bucket}       hash    n-gram postings: field an n-gram hash (8 bytes, little-endian)
                                    whose top 20 bits are ``bucket`` (3 bytes, big-endian), value
                                    its postings end to end, 12 bytes each (pid <q, word <I), or
                                    ``S`` once it has had more than the cap (a stock phrase)
    {prefix}postings        string  postings stored, for ``stats``
    {prefix}postings_from   string  the first pid stored with postings (an index made before
                                    postings existed holds paragraphs without them)
    {prefix}docs            set     every document id, for ``stats``
    {prefix}time            zset    pids scored by ingest time, for ``prune`` and ``export``
    {prefix}lock            string  the batch lock's token while a worker holds it
    {prefix}lockq           zset    workers waiting for the lock, by ticket (first come, first served)
    {prefix}lockseen        zset    when each waiter last asked (ms), to drop dead waiters
    {prefix}lockticket      string  the last ticket handed out (deleted when nobody waits)
    {prefix}wake:{token}    list    a waiter's wake-up call from the releaser
    {prefix}stage           hash    the batch being committed, chunk by chunk, before its commit
                                    point (nobody reads it)
    {prefix}journal         hash    the committed batch being written out, chunk by chunk

A paragraph ``{prefix}p:{pid}`` is ``<q paragraph, <d ingested_at, <I doc length in bytes,
<I number of shingle hashes``, then its band keys (``bands`` little-endian uint64), its document
id (UTF-8), its shingle set (sorted unique little-endian uint64) and, when it was added with
one, its exact key (little-endian uint64; a record without it is found through its band keys
only). Nothing is pickled.

The hot paths are server-side Lua scripts. (30 SADDs per paragraph sent from Python cannot reach
10,000 paragraphs a second; a script can.) Redis serves nobody else while a script runs, and
the lock is renewed only between scripts, so no call does more than a bounded amount of work
(:data:`SCRIPT_KEYS` bucket lookups or writes, at most ``bucket_cap`` pids from each bucket):
a query of any size goes in chunks, each one script call. A commit goes in chunks too, yet a
batch is never visible in part (see ``write.lua``): its chunks are first staged where nobody reads
(each stage call checks the lock is still this worker's), a single small call then renames the
complete stage to the journal, which is the commit point, and the journal's chunks are then
written into the index one call each. A worker that dies before the commit point leaves only
a stage, which the next lock holder drops; one that dies after it leaves a journal, which the
next lock holder writes out before anything else. A lookup made without the lock that meets
a journal takes the lock and so waits for it to be finished: no lookup sees half a batch.
(``stats`` and ``export`` read without the lock and may count a batch being written out in
part.)

The lock: ``SET {prefix}lock token NX PX ttl`` inside a script that lets only the head of the
waiting queue take it, so one busy worker cannot starve the others; renewed by a background
thread every ``ttl / 3`` with a compare-and-expire script; released with a compare-and-delete
script that wakes the next waiter. A worker that dies holding it blocks the others for at most
``ttl``. ``remove`` and ``prune`` take it too (per chunk), so a batch never sees paragraphs
vanish between its query and its fetch.

Crowded buckets: a query takes at most ``bucket_cap`` pids (default 64) from a bucket, as the
embedded index does, so a band key shared by very many paragraphs (boilerplate that differs a
little every time is kept, yet shares bands) does not bring them all back to be fetched and
verified. Redis sets have no order, so the pids taken from a crowded bucket are a random
sample of it (``SRANDMEMBER``), not the earliest ones; the trade-off is the embedded index's
(see :mod:`dedup.index.sqlite`): a duplicate that shares only such a bucket with its match, and
is not in the sample, is missed through that band. A crowded bucket is noticed from its size
(``SCARD``), so it is never read whole. The paragraphs of the batch in progress (not yet in
Redis) are not capped. Exact copies do not depend on the sample: :meth:`RedisIndex.query_exact`
finds the earliest live paragraph with a text through ``{prefix}exact``.

Damage (a key of the wrong type, a bucket member or a counter that is not a number, a record or
a journal chunk that cannot be read: anything dedup did not write) is an :class:`IndexError_`
saying the index is damaged and naming the key, never an internal error; the scripts check a
record or chunk whole before writing anything of it.

Memory: about 4.2 KB of Redis memory per stored paragraph at 31 bands and 40 shingles (one small
set per band per paragraph is most of it).

N-gram postings (:meth:`RedisIndex.query_postings`) are packed into about a million hashes by
the top bits of the n-gram's hash, rather than a key per n-gram (a key costs some 50 bytes of
its own, more than the posting): a posting is 12 bytes of a small hash's value. They are
staged, committed and written out with the batch, as chunks of their own in the same journal,
at most SCRIPT_KEYS postings a call. An n-gram's value stops growing at ``posting_cap``
postings: one more, and it becomes ``S``, a stock phrase, for which a lookup returns nothing and
to which nothing more is added. ``remove`` and ``prune`` leave postings in place (the hash of an
n-gram does not say which paragraphs hold it without reading it); a lookup drops those whose
paragraph is gone, and they count against the cap. Postings of the batch in progress are not
looked up (a batch's own paragraphs are no source of reuse for it).
"""

from __future__ import annotations

import bisect
import re
import struct
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from dedup.index.interface import DEFAULT_POSTING_CAP, SCHEMA_VERSION, Fetched, Index, IndexError_, IndexParams, Records
from dedup.index.redis.errors import LOCK_LOST, STAGE_LOST, Damage, LockLost, redacted, redis, scrubbed, shown, translated
from dedup.index.redis.lock import DEFAULT_LOCK_TTL, DEFAULT_LOCK_WAIT, QueuedLock
from dedup.index.redis.scripts import source

__all__ = ["RedisIndex", "DEFAULT_PREFIX"]

DEFAULT_PREFIX = "dedup:"
# Every command dedup sends is bounded (SCRIPT_KEYS, CHUNK_BYTES): a few milliseconds of server
# time, a few tens under load. So a server that says nothing for this long is taken for gone
# rather than waited for, and a timed-out command is not retried (it may still run, and each try
# would wait as long again). Connections refused or reset are retried a few times, which rides
# out a blip: the scripts are idempotent or checked (see write.lua, acquire.lua), and a repeated
# INCRBY only skips pids.
DEFAULT_SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0
# Pids a query takes from one bucket (see the module's doc), as the embedded index does.
DEFAULT_BUCKET_CAP = 64
# Chunks for remove, prune, export and fetch: each chunk is one command, and a script blocks
# the server while it runs, so keep each to a few milliseconds.
CHUNK = 1000
# Bucket names one query or write script call handles: 264 paragraphs at 31 bands, a mean of
# 6.5 ms and at most 80 ms of server time per call on the 2-core test machine under a load of 4
# (SLOWLOG, a batch of 200,000 queries and 50,000 adds), whatever the size of the batch. Redis
# serves nobody else while a script runs: with one script per batch, a document of 500,000
# paragraphs blocked the server for 14 s, longer than the lock's lifetime, and could never be
# ingested.
SCRIPT_KEYS = 8192
# Records a write call carries, at most (a single larger paragraph goes alone).
CHUNK_BYTES = 2 << 20
# A staged, uncommitted batch is dropped by the next lock holder, or after this long (ms).
STAGE_TTL_MS = 600_000
# Exact keys looked up by one HMGET.
EXACT_CHUNK = 10_000
# N-gram postings: hashes of postings by the top bits of the n-gram hash, and the chunks that
# carry them in a batch's journal (a first field no paragraph chunk has: a negative first pid).
POSTING_BUCKET_BITS = 20
_GRAMS = b"\xffGRAMS\xff\xff"
_GRAM_ENTRY = np.dtype([("bucket", "S3"), ("hash", "<u8"), ("pid", "<i8"), ("word", "<u4")])

_HEADER = struct.Struct("<qdII")
_HEADER_ROW = np.dtype([("paragraph", "<i8"), ("ingested_at", "<f8"), ("doc_len", "<u4"), ("count", "<u4")])
# A bucket's key name after the prefix: b"k", the band (big-endian, so names sort by band),
# the band key (little-endian, as stored in the paragraph record). numpy packs it unaligned.
_BUCKET_TAIL = [("tag", "S1"), ("band", ">u2"), ("key", "<u8")]
# A paragraph id as stored: what int() reads back into an int64 pid.
_PID = re.compile(rb"\d{1,18}")


def _gram_buckets(hashes: np.ndarray) -> np.ndarray:
    """The posting hash of each n-gram hash: its top :data:`POSTING_BUCKET_BITS` bits, as the 3
    big-endian bytes of the key name."""
    top = (np.asarray(hashes, dtype=np.uint64) >> np.uint64(64 - POSTING_BUCKET_BITS)).astype(">u4")
    return np.ascontiguousarray(top.view(np.uint8).reshape(-1, 4)[:, 1:]).view("S3").reshape(-1)


def _encode_doc(doc: str) -> bytes:
    # surrogatepass: document ids made from undecodable file names round-trip too.
    return doc.encode("utf-8", "surrogatepass")


def _decode_doc(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _split_url(spec: str) -> tuple[str, str]:
    """The URL for redis-py and the key prefix (from ``?prefix=``). The rest of the URL is
    passed on as written: rebuilt by urllib, ``unix:///path`` lost its ``//``.

    >>> _split_url("redis://127.0.0.1:6379/2?prefix=news:&socket_keepalive=yes")
    ('redis://127.0.0.1:6379/2?socket_keepalive=yes', 'news:')
    >>> _split_url("redis://127.0.0.1:6379/0")
    ('redis://127.0.0.1:6379/0', 'dedup:')
    >>> _split_url("unix:///run/redis.sock?prefix=a%3A")
    ('unix:///run/redis.sock', 'a:')
    """
    base, q, query = spec.partition("?")
    prefix = DEFAULT_PREFIX
    rest = []
    for field in query.split("&") if q else []:
        pairs = urllib.parse.parse_qsl(field, keep_blank_values=True)
        if pairs and pairs[0][0] == "prefix":
            prefix = pairs[0][1]
        else:
            rest.append(field)
    if not prefix:
        raise IndexError_(f"{redacted(spec)[0]}: the key prefix cannot be empty")
    return base + ("?" + "&".join(rest) if rest else ""), prefix


class RedisIndex(Index):
    """An :class:`~dedup.index.Index` in a Redis server. Open it with :meth:`open`.

    One instance is for one thread. Several processes may share the index: :meth:`batch`
    serialises their query-decide-insert steps.
    """

    def __init__(
        self,
        client: Any,
        params: IndexParams,
        where: str,
        prefix: str,
        *,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        bucket_cap: int = DEFAULT_BUCKET_CAP,
        posting_cap: int = DEFAULT_POSTING_CAP,
    ) -> None:
        if bucket_cap < 1 or posting_cap < 1:
            raise ValueError("bucket_cap and posting_cap must be at least 1")
        self.bucket_cap = bucket_cap
        self.posting_cap = posting_cap
        self.keeps_postings = True
        self._r = client
        self.params = params
        self.where = where
        self.prefix = prefix
        self._p = prefix.encode("utf-8")
        self._damage = Damage(where, self._p)
        self._lock = QueuedLock(client, self._p, where, self._talking, ttl=lock_ttl, wait=lock_wait)
        self._lock_key = self._lock.key
        self._query = client.register_script(source("query.lua"))
        self._write = client.register_script(source("write.lua"))
        self._forget = client.register_script(source("forget.lua"))
        self._gram_query = client.register_script(source("gram_query.lua"))
        self._postings_from = client.register_script(source("postings_from.lua"))
        self._bands = np.arange(params.bands, dtype=np.uint16)
        self._bucket = np.dtype([("prefix", f"S{len(self._p)}"), *_BUCKET_TAIL])
        # The batch in progress: the paragraphs added but not committed (visible to this worker's
        # own queries and fetches), while the lock is held.
        # Per add() of the open batch: (first pid, records end to end, where each record starts,
        # ingest time, whether the records end with an exact key, bucket names).
        self._pending_runs: list[tuple[int, bytes, list[int], str, bool, bytes]] = []
        self._pending_pids: list[np.ndarray] = []
        self._pending_keys: list[np.ndarray] = []
        # Per add() with exact keys: (its exact keys, its pids), for query_exact.
        self._pending_exact: list[tuple[np.ndarray, np.ndarray]] = []
        # Per add() with postings: its entries for write.lua, sorted by bucket.
        self._pending_grams: list[np.ndarray] = []
        self._closed = False

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        spec: str,
        params: IndexParams | None = None,
        *,
        create: bool = True,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        bucket_cap: int = DEFAULT_BUCKET_CAP,
        posting_cap: int = DEFAULT_POSTING_CAP,
    ) -> RedisIndex:
        """Open the index at ``spec`` (``redis://[:password@]host:port/N[?prefix=P]``, also
        ``rediss://`` and ``unix://path?db=N``). With ``params``, create it if missing (when
        ``create``) and check it was built with them; without, use the parameters it stores."""
        if redis is None:
            raise IndexError_("a Redis index needs the redis package: pip install 'dedup[redis]'")
        url, prefix = _split_url(spec)
        try:
            # A server that refuses fails in about half a second, one that never answers in
            # socket_timeout (see DEFAULT_SOCKET_TIMEOUT).
            retry = redis.retry.Retry(redis.backoff.ExponentialBackoff(cap=0.25, base=0.025), 3, supported_errors=(redis.exceptions.ConnectionError,))
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=min(CONNECT_TIMEOUT, socket_timeout),
                socket_timeout=socket_timeout,
                retry=retry,
            )
        except ValueError as err:
            shown, hidden = redacted(spec)
            raise IndexError_(f"not a usable Redis URL {shown!r}: {scrubbed(str(err), hidden)}") from None
        where = _describe(client)
        try:
            stored = _read_or_create_params(client, where, prefix, params, create)
            if params is not None:
                params.check_same(stored, f"the index at {where} (prefix {prefix!r})")
            elif stored.schema_version > SCHEMA_VERSION:  # maintenance works on an older index, not a newer one
                IndexParams.check_schema(stored.schema_version, f"the index at {where} (prefix {prefix!r})")
            index = cls(client, stored, where, prefix, lock_ttl=lock_ttl, lock_wait=lock_wait, bucket_cap=bucket_cap, posting_cap=posting_cap)
            if create:  # a writer: from here on, paragraphs are stored with their postings
                index._note_postings_from(None)
            return index
        except BaseException:
            client.close()
            raise

    # -- errors -------------------------------------------------------------------------------

    @contextmanager
    def _talking(self, *expect: tuple[bytes, str]) -> Iterator[None]:
        """Turn redis-py's exceptions into :class:`IndexError_` with a message a person can act
        on. ``expect``: the keys the commands inside use, each with its type, to name the one
        that is damaged when a command meets a key of the wrong type."""
        if self._closed:
            raise IndexError_(f"the index at {self.where} is closed")
        with translated(self.where, self._r, self._damage, expect):
            yield

    # -- the lock -----------------------------------------------------------------------------

    @property
    def lock_ttl(self) -> float:
        return self._lock.ttl

    @property
    def lock_wait(self) -> float:
        return self._lock.wait

    @property
    def _token(self) -> str | None:
        """The lock's token while this worker holds it (a batch is open), else ``None``."""
        return self._lock.token

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the index: take the lock, and on a clean exit commit every paragraph added
        inside, all or nothing (staged, then committed in one step after checking the lock is
        still held, else :class:`LockLost`; see write.lua). On an exception nothing added inside
        is written. Nested calls join the outer batch."""
        if self._token is not None:
            yield
            return
        token = self._acquire()
        try:
            yield
            if self._token != token:
                raise IndexError_(f"the index at {self.where} was closed inside a batch; nothing of it was written")
            self._commit(token)
        finally:
            self._end()

    def _acquire(self) -> str:
        """Take the lock; first finish a batch that a worker which died left committed."""
        if self._lock.acquire(self.on_wait):
            try:
                self._finish_journal()
            except BaseException:
                self._end()
                raise
        assert self._lock.token is not None
        return self._lock.token

    def _end(self) -> None:
        """Drop what was not committed, release the lock."""
        self._lock.release()
        self._clear_pending()

    def _check_lock(self) -> None:
        self._lock.check()

    @contextmanager
    def _locked(self) -> Iterator[str]:
        """The lock's token: the batch's if one is open, else a short hold of its own."""
        if self._token is not None:
            self._check_lock()
            yield self._token
            return
        token = self._acquire()
        try:
            yield token
        finally:
            self._end()

    def _raise_lock_lost(self, err: Exception) -> None:
        if LOCK_LOST in str(err) or STAGE_LOST in str(err):
            raise LockLost(
                f"lost the index lock at {self.where} before committing: it expired or was taken "
                f"while this worker held it (lock ttl {self.lock_ttl:g} s); nothing of this batch was written"
            ) from None

    # -- queries ------------------------------------------------------------------------------

    def _bucket_names(self, band_keys: np.ndarray) -> bytes:
        names = np.empty((band_keys.shape[1], band_keys.shape[0]), dtype=self._bucket)
        names["prefix"] = self._p
        names["tag"] = b"k"
        names["band"] = self._bands[None, :]
        names["key"] = band_keys.T
        return names.tobytes()

    def query(self, band_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidates (see :meth:`Index.query`), looked up SCRIPT_KEYS buckets per script call.
        Outside :meth:`batch`, a call that meets a batch being written out waits for it, holding
        the lock (see write.lua), so that no query sees half a batch."""
        keys = self._band_keys(band_keys)
        n = keys.shape[1]
        if n == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        step = max(1, SCRIPT_KEYS // self.params.bands)
        journal = b"" if self._token is not None else self._p + b"journal"
        qs, ps = [], []
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            self._check_lock()
            with self._talking():
                reply = self._query(args=[self.params.bands, self._bucket_names(keys[:, lo:hi]), hi - lo, self.bucket_cap, journal])
            if reply is None:
                with self.batch():
                    return self.query(keys)
            flat = np.array(reply.split(), dtype=np.int64)
            qs.append(flat[0::2] + lo)
            ps.append(flat[1::2])
        qi, pids = np.concatenate(qs), np.concatenate(ps)
        if self._pending_pids:
            lq, lp = self._query_pending(keys)
            qi, pids = np.concatenate([qi, lq]), np.concatenate([pids, lp])
        if len(qi) == 0:
            return qi, pids
        pairs = np.unique(np.stack([qi, pids], axis=1), axis=0)
        return np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])

    def _query_pending(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidates among this batch's own uncommitted paragraphs."""
        stored = np.concatenate(self._pending_keys, axis=1)
        stored_pids = np.concatenate(self._pending_pids)
        n = keys.shape[1]
        qs, ps = [], []
        for band in range(self.params.bands):
            order = np.argsort(stored[band], kind="stable")
            column = stored[band][order]
            lo = np.searchsorted(column, keys[band], "left")
            hi = np.searchsorted(column, keys[band], "right")
            counts = hi - lo
            total = int(counts.sum())
            if total == 0:
                continue
            first = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(total)
            qs.append(np.repeat(np.arange(n, dtype=np.int64), counts))
            ps.append(stored_pids[order[first]])
        if not qs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(qs), np.concatenate(ps)

    def query_exact(self, exact_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = self._query_keys(exact_keys)
        n = len(keys)
        found = np.zeros(n, dtype=np.int64)  # 0: none (pids start at 1)
        if n == 0:
            return found[:0], found[:0]
        self._check_lock()
        fields = keys.astype("<u8", copy=False).tobytes()
        name = self._p + b"exact"
        with self._talking((name, "hash")):
            for lo in range(0, n, EXACT_CHUNK):
                hi = min(n, lo + EXACT_CHUNK)
                pipe = self._r.pipeline(transaction=True)
                if self._token is None:  # as query: never half a batch being written out
                    pipe.exists(self._p + b"journal")
                pipe.hmget(name, [fields[8 * k : 8 * k + 8] for k in range(lo, hi)])
                *busy, values = pipe.execute()
                if any(busy):
                    with self.batch():
                        return self.query_exact(keys)
                for k, value in enumerate(values, start=lo):
                    if value is not None:
                        if not _PID.fullmatch(value):
                            raise self._damage(name, f"maps exact key {int(keys[k]):#x} to {shown(value)}, which is not a paragraph id")
                        found[k] = int(value)
        if self._pending_exact:
            # Paragraphs of this batch come after every stored one: only where nothing is stored.
            stored = np.concatenate([k for k, _ in self._pending_exact])
            stored_pids = np.concatenate([p for _, p in self._pending_exact])
            unique, first = np.unique(stored, return_index=True)  # the first of each key: its earliest
            at = np.minimum(np.searchsorted(unique, keys), len(unique) - 1)
            hit = (found == 0) & (unique[at] == keys)
            found[hit] = stored_pids[first[at[hit]]]
        query_index = np.flatnonzero(found).astype(np.int64)
        return query_index, found[query_index]

    def fetch(self, pids: np.ndarray) -> Fetched:
        wanted = np.asarray(pids, dtype=np.int64).ravel()
        self._check_lock()
        records: list[bytes | None] = [self._pending_record(int(p)) for p in wanted] if self._pending_runs else [None] * len(wanted)
        missing = [k for k, rec in enumerate(records) if rec is None]
        with self._talking():
            for lo in range(0, len(missing), CHUNK):
                part = missing[lo : lo + CHUNK]
                values = self._r.mget([self._p + b"p:%d" % wanted[k] for k in part])
                for k, value in zip(part, values):
                    records[k] = value
        absent = [int(wanted[k]) for k, rec in enumerate(records) if rec is None]
        if absent:
            with self._talking():  # MGET gives nothing for a key of another type: damage
                kinds = [(self._r.type(self._p + b"p:%d" % pid), pid) for pid in absent[:CHUNK]]
            for kind, pid in kinds:
                if kind != b"none":
                    raise self._damage(self._p + b"p:%d" % pid, f"is a {kind.decode('ascii', 'replace')}, not a string")
            raise IndexError_(
                f"paragraph{'s' if len(absent) > 1 else ''} {', '.join(map(str, absent[:5]))}"
                f"{' ...' if len(absent) > 5 else ''} not in the index at {self.where} (removed meanwhile?)"
            )
        return self._unpack(wanted, records)  # type: ignore[arg-type]

    def _pending_record(self, pid: int) -> bytes | None:
        for first, blob, starts, *_ in self._pending_runs:
            if first <= pid < first + len(starts) - 1:
                k = pid - first
                return blob[starts[k] : starts[k + 1]]
        return None

    def _unpack(self, pids: np.ndarray, records: list[bytes]) -> Fetched:
        n = len(records)
        bands8 = 8 * self.params.bands
        doc_ids: list[str] = []
        paragraphs = np.empty(n, dtype=np.int64)
        ingested = np.empty(n, dtype=np.float64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        parts = []
        k = 0
        try:
            for k, rec in enumerate(records):
                paragraph, at, doc_len, count = _HEADER.unpack_from(rec)
                start = _HEADER.size + bands8
                if len(rec) < start + doc_len:
                    raise ValueError("shorter than its header says")
                doc_ids.append(_decode_doc(rec[start : start + doc_len]))
                paragraphs[k] = paragraph
                ingested[k] = at
                body = rec[start + doc_len :]
                if len(body) not in (8 * count, 8 * count + 8):  # + 8: its exact key
                    raise ValueError("its length does not match its header")
                parts.append(np.frombuffer(body, dtype="<u8", count=count))
                offsets[k + 1] = offsets[k] + count
        except (struct.error, ValueError, UnicodeDecodeError) as err:
            raise self._damage(self._p + b"p:%d" % pids[k], f"cannot be read as a paragraph record ({err})") from None
        hashes = np.concatenate(parts).astype(np.uint64) if parts else np.empty(0, dtype=np.uint64)
        return Fetched(pids=pids, doc_ids=doc_ids, paragraphs=paragraphs, ingested_at=ingested, hashes=hashes, offsets=offsets)

    # -- writes -------------------------------------------------------------------------------

    def add(self, records: Records, *, queried: np.ndarray | None = None) -> np.ndarray:
        """Reserve pids and stage the paragraphs; they are written when the batch exits cleanly.
        Outside :meth:`batch`, the call is a batch of its own. ``queried`` is not needed here.
        Postings are staged with them (see the module's doc)."""
        if self._token is None:
            with self.batch():
                return self.add(records)
        records = self._records(records)
        keys, paragraphs, hashes, offsets, at = records.band_keys, records.paragraphs, records.hashes, records.offsets, records.ingested_at
        exact, grams = records.exact_keys, records.postings
        n = len(records)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        self._check_lock()
        with self._talking((self._p + b"next", "string")):
            last = int(self._r.incrby(self._p + b"next", n))
        pids = np.arange(last - n + 1, last + 1, dtype=np.int64)
        if grams is None:
            self._note_postings_from(last)
        else:
            keep = grams.words <= 0xFFFFFFFF
            entries = np.empty(int(keep.sum()), dtype=_GRAM_ENTRY)
            hashes_ = grams.hashes[keep]
            entries["bucket"] = _gram_buckets(hashes_)
            entries["hash"] = hashes_
            entries["pid"] = pids[grams.owners()[keep]]
            entries["word"] = grams.words[keep]
            self._pending_grams.append(entries[np.argsort(entries["bucket"], kind="stable")])
        # Records end to end: header, band keys, document id, shingle set (see the module's doc).
        docs = [_encode_doc(d) for d in records.doc_ids]
        header = np.empty(n, dtype=_HEADER_ROW)
        header["paragraph"] = paragraphs
        header["ingested_at"] = at
        header["doc_len"] = [len(d) for d in docs]
        header["count"] = np.diff(offsets)
        head, width = header.tobytes(), 8 * keys.shape[0]
        band_bytes = np.ascontiguousarray(keys.T).astype("<u8", copy=False).tobytes()
        body = hashes.tobytes()
        bounds = (offsets * 8).tolist()
        tails = exact.astype("<u8", copy=False).tobytes() if exact is not None else b""
        tail = 8 if exact is not None else 0
        parts: list[bytes] = []
        for k in range(n):
            parts += (head[24 * k : 24 * k + 24], band_bytes[width * k : width * k + width], docs[k], body[bounds[k] : bounds[k + 1]], tails[tail * k : tail * k + tail])
        lengths = 24 + width + header["doc_len"].astype(np.int64) + 8 * header["count"].astype(np.int64) + tail
        starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        self._pending_runs.append((int(pids[0]), b"".join(parts), starts, repr(at), exact is not None, self._bucket_names(keys)))
        self._pending_pids.append(pids)
        self._pending_keys.append(np.array(keys, dtype=np.uint64))
        if exact is not None:
            self._pending_exact.append((exact.copy(), pids))
        return pids

    def _commit(self, token: str) -> None:
        """Stage the batch chunk by chunk, commit it with one small step, then write it out (see
        write.lua). A lost lock before the commit point writes nothing."""
        if not self._pending_runs:
            return
        bands = self.params.bands
        count = 0
        try:
            for chunk in self._chunks():
                self._check_lock()
                with self._talking():
                    self._write(args=[self._p, token, bands, "stage", count, chunk, STAGE_TTL_MS])
                count += 1
            self._check_lock()
            with self._talking():
                self._write(args=[self._p, token, bands, "commit", count])
        except IndexError_ as err:
            self._raise_lock_lost(err)
            raise
        self._finish_journal()

    def _finish_journal(self) -> None:
        """Write out the committed batch in {prefix}journal, one chunk per call."""
        with self._talking():
            while self._write(args=[self._p, "", self.params.bands, "apply"]):
                pass

    def _chunks(self) -> Iterator[bytes]:
        """The batch's paragraphs as chunks for write.lua: at most SCRIPT_KEYS bucket names and
        about CHUNK_BYTES of records each."""
        bands = self.params.bands
        per_chunk = max(1, SCRIPT_KEYS // bands)
        name_width = bands * self._bucket.itemsize
        parts: list[bytes] = []
        count = size = 0
        for first, records, starts, at, with_exact, names in self._pending_runs:
            n = len(starts) - 1
            lo = 0
            while lo < n:
                hi = min(n, lo + per_chunk - count)
                # Fewer when their records would pass CHUNK_BYTES; one at least, in a chunk alone.
                hi = bisect.bisect_right(starts, starts[lo] + CHUNK_BYTES - size, lo + 1, hi + 1) - 1
                if hi == lo:
                    if count:
                        yield b"".join(parts)
                        parts, count, size = [], 0, 0
                        continue
                    hi = lo + 1
                time_text = at.encode()
                parts += (
                    struct.pack("<qIII", first + lo, hi - lo, len(time_text), int(with_exact)),
                    time_text,
                    names[lo * name_width : hi * name_width],
                    records[starts[lo] : starts[hi]],
                )
                count += hi - lo
                size += starts[hi] - starts[lo]
                lo = hi
                if count >= per_chunk or size >= CHUNK_BYTES:
                    yield b"".join(parts)
                    parts, count, size = [], 0, 0
        if parts:
            yield b"".join(parts)
        # Then the postings, at most SCRIPT_KEYS a chunk, with the cap they are stored under.
        if self._pending_grams:
            entries = np.concatenate(self._pending_grams)
            head = _GRAMS + struct.pack("<I", self.posting_cap)
            for lo in range(0, len(entries), SCRIPT_KEYS):
                yield head + entries[lo : lo + SCRIPT_KEYS].tobytes()

    def _note_postings_from(self, last: int | None) -> int:
        """See postings_from.lua: note where postings start, or that they start after ``last``."""
        with self._talking((self._p + b"postings_from", "string"), (self._p + b"next", "string")):
            return int(self._postings_from(keys=[self._p + b"postings_from", self._p + b"next"], args=["" if last is None else last]))

    def query_postings(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See :meth:`Index.query_postings`: SCRIPT_KEYS n-grams per script call; the postings of
        paragraphs that are gone are dropped here (see the module's doc)."""
        keys = self._query_keys(hashes)
        empty = np.empty(0, dtype=np.int64)
        if not len(keys):
            return empty, empty, empty
        lookups = np.empty(len(keys), dtype=[("bucket", "S3"), ("hash", "<u8")])
        lookups["bucket"] = _gram_buckets(keys)
        lookups["hash"] = keys
        journal = b"" if self._token is not None else self._p + b"journal"
        values: list[bytes] = []
        for lo in range(0, len(keys), SCRIPT_KEYS):
            self._check_lock()
            with self._talking():
                reply = self._gram_query(args=[self._p, lookups[lo : lo + SCRIPT_KEYS].tobytes(), journal])
            if reply is None:
                with self.batch():
                    return self.query_postings(keys)
            values += reply
        sizes = np.fromiter((len(v) // 12 if v != b"S" else 0 for v in values), dtype=np.int64, count=len(values))
        if not sizes.sum():
            return empty, empty, empty
        packed = np.frombuffer(b"".join(v for v in values if v != b"S"), dtype=[("pid", "<i8"), ("word", "<u4")])
        q = np.repeat(np.arange(len(keys), dtype=np.int64), sizes)
        pids, words = packed["pid"].astype(np.int64), packed["word"].astype(np.int64)
        # Postings of removed paragraphs stay: keep those whose paragraph is stored.
        unique = np.unique(pids)
        live = np.zeros(len(unique), dtype=bool)
        with self._talking():
            for lo in range(0, len(unique), CHUNK):
                pipe = self._r.pipeline(transaction=False)
                for pid in unique[lo : lo + CHUNK].tolist():
                    pipe.exists(self._p + b"p:%d" % pid)
                live[lo : lo + CHUNK] = np.array(pipe.execute(), dtype=bool)
        ok = live[np.searchsorted(unique, pids)]
        return q[ok], pids[ok], words[ok]

    def postings_status(self) -> str | None:
        """See :meth:`Index.postings_status`: the paragraphs stored before this index kept
        postings (made by an earlier dedup), or added without them, as long as one remains."""
        with self._talking((self._p + b"postings_from", "string")):
            raw = self._r.get(self._p + b"postings_from")
        if raw is None:
            return f"the index at {self.where} (prefix {self.prefix!r}) was made by an earlier dedup and keeps no n-gram postings; filter into it once without --containment to start keeping them"
        if not _PID.fullmatch(raw):
            raise self._damage(self._p + b"postings_from", f"holds {shown(raw)}, not a number")
        since = int(raw)
        with self._talking():
            for lo in range(1, since, CHUNK):
                pipe = self._r.pipeline(transaction=False)
                for pid in range(lo, min(since, lo + CHUNK)):
                    pipe.exists(self._p + b"p:%d" % pid)
                if any(pipe.execute()):
                    return (
                        f"the index at {self.where} (prefix {self.prefix!r}) holds paragraphs stored without n-gram postings "
                        f"(before paragraph {since}: by an earlier dedup, or added without them), and they cannot be made without the text, "
                        "which the index does not keep; use --containment with a new index, or prune or remove those paragraphs, or filter without --containment"
                    )
        return None

    def _clear_pending(self) -> None:
        self._pending_grams = []
        self._pending_runs = []
        self._pending_pids = []
        self._pending_keys = []
        self._pending_exact = []

    def remove(self, doc_ids: list[str]) -> int:
        docs = [_encode_doc(d) for d in dict.fromkeys(doc_ids)]
        total = done = 0
        while done < len(docs):
            with self._locked() as token:
                count, finished = self._run_forget(token, "docs", docs[done : done + CHUNK])
            total += count
            done += finished
        return total

    def prune(self, before: float) -> int:
        bound = float(before)
        if np.isnan(bound):
            raise ValueError("before must be a number of seconds")
        total = 0
        while True:
            with self._locked() as token:
                count, _ = self._run_forget(token, "before", [repr(bound)])
            total += count
            if count < CHUNK:
                return total

    def _run_forget(self, token: str, mode: str, args: list[Any]) -> tuple[int, int]:
        try:
            with self._talking():
                count, finished = self._forget(args=[self._p, token, self.params.bands, mode, CHUNK, *args])
            return int(count), int(finished)
        except IndexError_ as err:
            self._raise_lock_lost(err)
            raise

    # -- maintenance --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        p = self._p
        with self._talking((p + b"time", "zset"), (p + b"docs", "set"), (p + b"next", "string"), (self._lock_key, "string")):
            pipe = self._r.pipeline(transaction=True)
            pipe.zcard(self._p + b"time")
            pipe.scard(self._p + b"docs")
            pipe.get(self._p + b"next")
            pipe.zrange(self._p + b"time", 0, 0, withscores=True)
            pipe.zrange(self._p + b"time", -1, -1, withscores=True)
            pipe.get(self._lock_key)
            pipe.get(self._p + b"postings")
            paragraphs, documents, last, oldest, newest, holder, postings = pipe.execute()
        if last is not None and not _PID.fullmatch(last):
            raise self._damage(p + b"next", f"holds {shown(last)}, not a number")
        return {
            "backend": "redis",
            "location": self.where,
            "prefix": self.prefix,
            "paragraphs": int(paragraphs),
            "documents": int(documents),
            "pids_issued": int(last or 0),
            "oldest": oldest[0][1] if oldest else None,
            "newest": newest[0][1] if newest else None,
            "locked_by": holder.decode("utf-8", "replace") if holder else None,
            "postings": int(postings) if postings is not None and _PID.fullmatch(postings) else 0,
            "params": self.params.as_dict(),
        }

    def export(self) -> Iterator[dict[str, Any]]:
        """Rows ``{pid, doc, paragraph, ingested_at, shingles}`` (shingles: the set's size), by
        ingest time. Paragraphs added or removed while it runs may or may not appear."""
        tkey = self._p + b"time"
        low, skip = "-inf", 0
        while True:
            with self._talking((tkey, "zset")):
                chunk = self._r.zrangebyscore(tkey, low, "+inf", start=skip, num=CHUNK, withscores=True)
                if not chunk:
                    return
                values = self._r.mget([self._p + b"p:" + member for member, _ in chunk])
            present = [(member, value) for (member, _), value in zip(chunk, values) if value is not None]
            for member, _ in present:
                if not _PID.fullmatch(member):
                    raise self._damage(tkey, f"holds {shown(member)}, which is not a paragraph id")
            if present:
                got = self._unpack(np.array([int(p) for p, _ in present], dtype=np.int64), [v for _, v in present])
                for k, pid in enumerate(got.pids.tolist()):
                    yield {
                        "pid": pid,
                        "doc": got.doc_ids[k],
                        "paragraph": int(got.paragraphs[k]),
                        "ingested_at": float(got.ingested_at[k]),
                        "shingles": int(got.offsets[k + 1] - got.offsets[k]),
                    }
            if len(chunk) < CHUNK:
                return
            # Resume after the last score seen, skipping the members already read at that score.
            top = chunk[-1][1]
            at_top = sum(1 for _, score in chunk if score == top)
            if repr(top) == low:
                skip += at_top
            else:
                low, skip = repr(top), at_top

    def close(self) -> None:
        if self._closed:
            return
        if self._token is not None:
            self._end()
        self._closed = True
        self._r.close()


# ---------------------------------------------------------------------------------------------


def _describe(client: Any) -> str:
    """``host:port`` or the socket path, never the password."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _check_eviction(client: Any, where: str) -> None:
    """Refuse a server that evicts keys at will: the index would silently forget paragraphs."""
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.exceptions.ResponseError:
        return  # CONFIG is disabled or not allowed for this user: nothing to check with
    if isinstance(policy, bytes):
        policy = policy.decode("utf-8", "replace")
    if policy and policy.startswith("allkeys-"):
        raise IndexError_(
            f"Redis at {where} evicts keys when full (maxmemory-policy {policy}), so the index would "
            "silently forget paragraphs; use a server or database with maxmemory-policy noeviction"
        )


def _read_or_create_params(client: Any, where: str, prefix: str, params: IndexParams | None, create: bool) -> IndexParams:
    key = prefix.encode("utf-8") + b"params"
    location = f"the index at {where} (prefix {prefix!r})"
    unreadable = f"{location} is damaged: its parameters record ({prefix}params) is unreadable"
    try:
        with translated(where, client):
            client.ping()
    except IndexError_ as err:
        raise IndexError_(str(err).replace("lost connection to", "cannot connect to", 1)) from None
    with translated(where, client):
        _check_eviction(client, where)
        kind = client.type(key)
        if kind == b"none":
            others = client.exists(*(prefix.encode("utf-8") + name for name in (b"next", b"time", b"docs")))
            if others:
                raise IndexError_(f"{location} is damaged, or not a dedup index: it has data but no parameters record ({prefix}params)")
            if params is None or not create:
                raise IndexError_(f"no dedup index at {where} (prefix {prefix!r})")
            fields: list[Any] = []
            for name, value in params.as_dict().items():
                fields.extend((name, repr(value) if isinstance(value, float) else str(value)))
            raw = client.eval(source("create.lua"), 1, key, *fields)
            if not raw:
                return params
        elif kind == b"hash":
            raw = client.hgetall(key)
            raw = [x for pair in raw.items() for x in pair]
        else:
            raise IndexError_(f"{unreadable}: it is a {kind.decode('ascii', 'replace')}, not a hash")
    try:
        record = {raw[i].decode("utf-8"): raw[i + 1].decode("utf-8") for i in range(0, len(raw) - 1, 2)}
        return IndexParams.from_dict(record)
    except UnicodeDecodeError as err:
        raise IndexError_(f"{unreadable} ({err})") from None
    except IndexError_ as err:  # from_dict turns every bad value into this
        raise IndexError_(f"{unreadable}: {err}") from None
