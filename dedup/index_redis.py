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
batch is never visible in part (see ``_WRITE``): its chunks are first staged where nobody reads
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
(see :mod:`dedup.index_sqlite`): a duplicate that shares only such a bucket with its match, and
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
import os
import re
import secrets
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from dedup.index import DEFAULT_POSTING_CAP, SCHEMA_VERSION, Fetched, Index, IndexError_, IndexParams, Postings

try:  # redis is needed only for this backend; `open_index` on a path never imports it.
    import redis
    import redis.backoff
    import redis.exceptions
    import redis.retry
except ImportError:  # pragma: no cover - reported when a Redis index is opened
    redis = None  # type: ignore[assignment]

__all__ = ["RedisIndex", "LockLost", "DEFAULT_PREFIX", "DEFAULT_LOCK_TTL"]

DEFAULT_PREFIX = "dedup:"
# Long enough that a busy worker renews it comfortably (every ttl / 3); short enough that the
# others resume soon after a worker dies holding it.
DEFAULT_LOCK_TTL = 10.0
DEFAULT_LOCK_WAIT = 300.0
# Every command dedup sends is bounded (SCRIPT_KEYS, CHUNK_BYTES): a few milliseconds of server
# time, a few tens under load. So a server that says nothing for this long is taken for gone
# rather than waited for, and a timed-out command is not retried (it may still run, and each try
# would wait as long again). Connections refused or reset are retried a few times, which rides
# out a blip: the scripts are idempotent or checked (see _WRITE, _ACQUIRE), and a repeated
# INCRBY only skips pids.
DEFAULT_SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0
# Pids a query takes from one bucket (see the module's doc), as the embedded index does.
DEFAULT_BUCKET_CAP = 64
# A waiter asks for the lock at least every POLL seconds; one silent for STALE_MS has died.
POLL = 0.05
STALE_MS = 3000
# A batch that waits longer than this for the lock says so, and for whom (Index.on_wait).
WAIT_NOTICE = 2.0
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
_LOCK_LOST = "DEDUP_LOCK_LOST"
# A paragraph id as stored: what int() reads back into an int64 pid.
_PID = re.compile(rb"\d{1,18}")
_STAGE_LOST = "DEDUP_STAGE_LOST"


class LockLost(IndexError_):
    """The batch lock expired or was taken while held; the batch was not written."""


# ---------------------------------------------------------------------------------------------
# Server-side scripts. Key names are built inside the scripts from the prefix, which is fine on
# a single server (not on Redis Cluster, which this backend does not support).

# Damage (a key of the wrong type, a value dedup did not write) is reported by the scripts as
# an error 'DEDUP_DAMAGED <key name in hex> <what>', which Python words (see _Damage): band bucket
# names are binary. Commands go through redis.pcall so that a WRONGTYPE names its key; measured,
# an inline pcall and type check cost no more than redis.call.
_CHECKS = """
local pcall, sformat, byte, find = redis.pcall, string.format, string.byte, string.find
local function hex(s)
  return (string.gsub(s, '.', function(c) return sformat('%02x', byte(c)) end))
end
local function damaged(key, what)
  error({err = 'DEDUP_DAMAGED ' .. hex(key) .. ' ' .. what})
end
-- An error reply of a command on ``key``, which should hold a ``kind``.
local function failed(r, key, kind)
  if find(r.err, 'WRONGTYPE', 1, true) then
    damaged(key, 'type ' .. redis.call('TYPE', key).ok .. ' ' .. kind)
  elseif find(r.err, 'not an integer', 1, true) then
    damaged(key, 'value ' .. hex(tostring(redis.call('GET', key))))
  end
  error(r)
end
local function on(kind, command, key, ...)
  local r = pcall(command, key, ...)
  if type(r) == 'table' and r.err then
    failed(r, key, kind)
  end
  return r
end
local function is_pid(s)
  return #s <= 18 and find(s, '^%d+$') ~= nil
end
"""

# Bucket names travel as one blob of fixed-width names (prefix included), paragraph-major: a
# script slices it instead of receiving thousands of arguments. Lua's unpack() stops near 8,000
# values, so variadic calls go in chunks of 2,000.

# ARGV: bands, blob of n * bands bucket names, n, cap, and for a caller not holding the lock the
# journal's key name (else ''). Returns "q pid q pid ...": every (query, pid) pair sharing a band
# key, unique per query, with q counted from 0 in this call; or nil, looking nothing up, while
# a committed batch is being written out (its journal exists), so that no call ever sees half
# of one. Each bucket's size is read first (SCARD, O(1)); a paragraph none of whose buckets holds
# more than ``cap`` pids gets their union (one SUNION: at most bands * cap members), and a bucket
# of more than ``cap`` gives ``cap`` of its pids (SRANDMEMBER: a set has no order). So one
# paragraph costs at most ``bands`` lookups and ``bands * cap`` members, however crowded its
# buckets. A member that is not a pid is damage, reported with its bucket.
_QUERY = _CHECKS + """
local bands, blob, n, cap = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local call, sub = redis.call, string.sub
if ARGV[5] ~= '' and call('EXISTS', ARGV[5]) == 1 then
  return false
end
local width = #blob / (bands * n)
local out, keys, sizes = {}, {}, {}
local s = 0
for i = 0, n - 1 do
  local total, crowded = 0, false
  for b = 1, bands do
    local key = sub(blob, s + 1, s + width)
    s = s + width
    local size = pcall('SCARD', key)
    if type(size) == 'table' then
      failed(size, key, 'set')
    end
    keys[b], sizes[b] = key, size
    total = total + size
    if size > cap then
      crowded = true
    end
  end
  if total > 0 then
    local found
    if crowded then
      local seen = {}
      found = {}
      for b = 1, bands do
        local members
        if sizes[b] > cap then
          members = call('SRANDMEMBER', keys[b], cap)
        elseif sizes[b] > 0 then
          members = call('SMEMBERS', keys[b])
        else
          members = {}
        end
        for _, pid in ipairs(members) do
          if not seen[pid] then
            seen[pid] = true
            found[#found + 1] = pid
          end
        end
      end
    else
      found = call('SUNION', unpack(keys))
    end
    for _, pid in ipairs(found) do
      if not is_pid(pid) then
        for b = 1, bands do
          if call('SISMEMBER', keys[b], pid) == 1 then
            damaged(keys[b], 'member ' .. hex(pid))
          end
        end
      end
      out[#out + 1] = i
      out[#out + 1] = pid
    end
  end
end
return table.concat(out, ' ')
"""

# A batch is committed in three steps, each a call of this script, so that no call writes
# more than one chunk (at most SCRIPT_KEYS bucket names and about CHUNK_BYTES of records):
#
#   'stage' i chunk   (lock checked) put chunk i in the hash {prefix}stage, owned by this token;
#                     chunk 0 first clears what a worker that lost the lock left there. Nobody
#                     reads the stage, so nothing of the batch is visible yet.
#   'commit' count    (lock checked) the commit point: one RENAME of the complete stage to
#                     {prefix}journal. The batch is now committed; idempotent for a client retry.
#   'apply'           write the journal's next chunk into the index and drop it from the
#                     journal, in one call; the journal key goes with its last chunk. Returns the
#                     chunks left. Not tied to the lock: the batch is committed, and whoever holds
#                     the lock next finishes a journal a dead worker left (see _ACQUIRE) before
#                     it reads anything, so no lock holder ever sees half a batch.
#
# A chunk is a run of segments, one per part of an add(): ``<q first pid, <I n, <I length of the
# ingest time, <I 1 when records end with an exact key (else 0)``, the ingest time (text), n *
# bands bucket names, and n records end to end (each record's header gives its length and
# document id). Applying is idempotent (SET, SADD, ZADD, HSETNX). An exact key maps to its
# earliest pid; later ones wait in x{key}. A chunk that cannot be read is damage; it is checked
# before anything of it is written.
_WRITE = _CHECKS + """
local prefix, token, bands, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local call, sub, format, read = redis.call, string.sub, string.format, struct.unpack
local lock, stage, journal = prefix .. 'lock', prefix .. 'stage', prefix .. 'journal'
local GRAMS = '\\255GRAMS\\255\\255'

-- The segments of a chunk: {first, n, at, where its names start, extra, where its records
-- start, where each record starts}; damage if they do not fit the chunk exactly.
local function segments(chunk)
  local width, fixed = #prefix + 11, 24 + 8 * bands
  local size, pos, out = #chunk, 1, {}
  while pos <= size do
    if pos + 19 > size then
      damaged(journal, 'chunk')
    end
    local first, n, at_len, extra
    first, n, at_len, extra, pos = read('<i8I4I4I4', chunk, pos)
    local seg = {first = first, n = n, at = sub(chunk, pos, pos + at_len - 1), name = pos + at_len, extra = 8 * extra}
    pos = seg.name + n * bands * width
    seg.starts = {}
    for i = 0, n - 1 do
      if pos + fixed - 1 > size then
        damaged(journal, 'chunk')
      end
      seg.starts[i + 1] = pos
      local doc_len, count = read('<I4I4', chunk, pos + 16)
      pos = pos + fixed + doc_len + 8 * count + seg.extra
    end
    seg.starts[n + 1] = pos
    if pos - 1 > size or (extra ~= 0 and extra ~= 1) then
      damaged(journal, 'chunk')
    end
    out[#out + 1] = seg
  end
  return out
end

local function apply(chunk)
  local width, fixed = #prefix + 11, 24 + 8 * bands
  local tkey, docs, exact = prefix .. 'time', prefix .. 'docs', prefix .. 'exact'
  local kv, zs, doc, doc_pids = {}, {}, nil, {}
  local function flush_doc()
    if doc then
      on('set', 'SADD', prefix .. 'd:' .. doc, unpack(doc_pids))
      on('set', 'SADD', docs, doc)
    end
    doc_pids = {}
  end
  local function flush_kv()
    if #kv > 0 then
      call('MSET', unpack(kv))
      on('zset', 'ZADD', tkey, unpack(zs))
      kv, zs = {}, {}
    end
  end
  for _, seg in ipairs(segments(chunk)) do
    local name = seg.name
    for i = 0, seg.n - 1 do
      local pos, stop = seg.starts[i + 1], seg.starts[i + 2]
      local pid = format('%d', seg.first + i)
      for b = 1, bands do
        local key = sub(chunk, name, name + width - 1)
        local r = pcall('SADD', key, pid)
        if type(r) == 'table' then
          failed(r, key, 'set')
        end
        name = name + width
      end
      if seg.extra > 0 then
        local key = sub(chunk, stop - 8, stop - 1)
        if on('hash', 'HSETNX', exact, key, pid) == 0 then
          local held = call('HGET', exact, key)
          if held ~= pid then
            if not is_pid(held) then
              damaged(exact, 'field ' .. hex(key) .. ' ' .. hex(held))
            end
            if tonumber(held) > seg.first + i then
              call('HSET', exact, key, pid)
              on('zset', 'ZADD', prefix .. 'x' .. key, held, held)
            else
              on('zset', 'ZADD', prefix .. 'x' .. key, pid, pid)
            end
          end
        end
      end
      kv[#kv + 1] = prefix .. 'p:' .. pid
      kv[#kv + 1] = sub(chunk, pos, stop - 1)
      zs[#zs + 1] = seg.at
      zs[#zs + 1] = pid
      local doc_len = read('<I4', chunk, pos + 16)
      local this = sub(chunk, pos + fixed, pos + fixed + doc_len - 1)
      if this ~= doc or #doc_pids >= 2000 then
        flush_doc()
        doc = this
      end
      doc_pids[#doc_pids + 1] = pid
      if #kv >= 2000 then
        flush_kv()
      end
    end
  end
  flush_kv()
  flush_doc()
end

-- A chunk of n-gram postings: the marker, the cap (<I4), then entries of 23 bytes: bucket (3),
-- n-gram hash (8), pid and word (12, the posting as stored).
local function apply_grams(chunk)
  if #chunk < 12 or (#chunk - 12) % 23 ~= 0 then
    damaged(journal, 'chunk')
  end
  local cap = read('<I4', chunk, 9)
  local gkey = prefix .. 'g'
  local added = 0
  for pos = 13, #chunk, 23 do
    local key, field, posting = gkey .. sub(chunk, pos, pos + 2), sub(chunk, pos + 3, pos + 10), sub(chunk, pos + 11, pos + 22)
    local held = on('hash', 'HGET', key, field)
    if not held then
      call('HSET', key, field, posting)
      added = added + 1
    elseif held ~= 'S' then
      if #held % 12 ~= 0 then
        damaged(key, 'field ' .. hex(field) .. ' ' .. hex(held))
      end
      if #held >= 12 * cap then
        call('HSET', key, field, 'S')
        added = added - #held / 12
      else
        call('HSET', key, field, held .. posting)
        added = added + 1
      end
    end
  end
  on('string', 'INCRBY', prefix .. 'postings', added)
end

if mode == 'apply' then
  local state = on('hash', 'HMGET', journal, 'next', 'count')
  if not state[1] and not state[2] then
    return 0
  end
  local i, n = tonumber(state[1]), tonumber(state[2])
  local field = i and format('%d', i)
  local chunk = field and call('HGET', journal, field)
  if not (n and chunk) then
    damaged(journal, 'chunk')
  end
  if sub(chunk, 1, 8) == GRAMS then
    apply_grams(chunk)
  else
    apply(chunk)
  end
  if i + 1 >= n then
    call('DEL', journal)
    return 0
  end
  call('HDEL', journal, field)
  call('HSET', journal, 'next', i + 1)
  return n - i - 1
end

if mode == 'commit' and on('hash', 'HGET', journal, 'owner') == token then
  return 1  -- a retry after a lost reply: committed already
end
if on('string', 'GET', lock) ~= token then
  return redis.error_reply('DEDUP_LOCK_LOST the index lock is no longer held by this worker')
end
if mode == 'stage' then
  if ARGV[5] == '0' then
    call('UNLINK', stage)
    call('HSET', stage, 'owner', token)
  elseif on('hash', 'HGET', stage, 'owner') ~= token then
    return redis.error_reply('DEDUP_STAGE_LOST the staged part of this batch is gone')
  end
  call('HSET', stage, ARGV[5], ARGV[6])
  call('PEXPIRE', stage, ARGV[7])
  return 1
end
-- mode 'commit'
local count = tonumber(ARGV[5])
if on('hash', 'HGET', stage, 'owner') ~= token or call('HLEN', stage) ~= count + 1 then
  return redis.error_reply('DEDUP_STAGE_LOST the staged part of this batch is gone')
end
if call('EXISTS', journal) == 1 then
  -- Never overwrite a committed batch (every holder finishes one before it goes on).
  return redis.error_reply('DEDUP_JOURNAL another batch is still being written')
end
call('HSET', stage, 'next', 0, 'count', count)
call('PERSIST', stage)
call('RENAME', stage, journal)
return 1
"""

# ARGV: prefix, lock token, bands, mode ('docs' or 'before'), a limit, then the doc ids or the
# time bound (exclusive). Forgets at most about ``limit`` paragraphs, so no call blocks the
# server for long. Returns {paragraphs forgotten, documents finished} (for 'before', the
# second is 0). A record that cannot be read is damage, found before anything of it is undone.
_FORGET = _CHECKS + """
local prefix, token, bands, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if on('string', 'GET', prefix .. 'lock') ~= token then
  return redis.error_reply('DEDUP_LOCK_LOST the index lock is no longer held by this worker')
end
local tkey, docs, exact = prefix .. 'time', prefix .. 'docs', prefix .. 'exact'
local fixed = 24 + 8 * bands
local function forget(pid, fix_doc)
  local pkey = prefix .. 'p:' .. pid
  local v = on('string', 'GET', pkey)
  if v then
    if #v < fixed then
      damaged(pkey, 'record')
    end
    local length, count = struct.unpack('<I4I4', v, 17)
    local size = fixed + length + 8 * count
    if #v ~= size and #v ~= size + 8 then
      damaged(pkey, 'record')
    end
    for b = 0, bands - 1 do
      local s = 25 + 8 * b
      on('set', 'SREM', prefix .. 'k' .. struct.pack('>H', b) .. string.sub(v, s, s + 7), pid)
    end
    if #v == size + 8 then
      -- Its exact key: the next earliest paragraph with that key, if any, takes its place.
      local key = string.sub(v, -8)
      local others = prefix .. 'x' .. key
      if on('hash', 'HGET', exact, key) == pid then
        local next_pid = on('zset', 'ZPOPMIN', others)[1]
        if next_pid then
          redis.call('HSET', exact, key, next_pid)
        else
          redis.call('HDEL', exact, key)
        end
      else
        on('zset', 'ZREM', others, pid)
      end
    end
    if fix_doc then
      local doc = string.sub(v, fixed + 1, fixed + length)
      local dkey = prefix .. 'd:' .. doc
      on('set', 'SREM', dkey, pid)
      if redis.call('EXISTS', dkey) == 0 then
        on('set', 'SREM', docs, doc)
      end
    end
    redis.call('DEL', pkey)
  end
  on('zset', 'ZREM', tkey, pid)
end
local limit, count, finished = tonumber(ARGV[5]), 0, 0
if mode == 'docs' then
  for j = 6, #ARGV do
    local dkey = prefix .. 'd:' .. ARGV[j]
    for _, pid in ipairs(on('set', 'SRANDMEMBER', dkey, limit - count)) do
      forget(pid, false)
      redis.call('SREM', dkey, pid)
      count = count + 1
    end
    if redis.call('EXISTS', dkey) == 1 then
      break
    end
    on('set', 'SREM', docs, ARGV[j])
    finished = finished + 1
    if count >= limit then
      break
    end
  end
else
  for _, pid in ipairs(on('zset', 'ZRANGEBYSCORE', tkey, '-inf', '(' .. ARGV[6], 'LIMIT', 0, limit)) do
    forget(pid, true)
    count = count + 1
  end
end
return {count, finished}
"""

# The lock is fair: waiters queue by ticket, and only the head of the queue may take a free
# lock, so a worker releasing and at once re-taking it cannot starve the others. The releaser
# wakes the head through its wake list; a waiter that stops asking for STALE_MS leaves the queue.

# KEYS: lock, queue (zset token -> ticket), seen (zset token -> last ask, ms), tickets, own
# wake list, stage, journal. ARGV: token, ttl in ms, stale after ms. Returns 0 while waiting;
# once the lock is taken, 1, or 2 when a committed batch is left to finish (its journal). What a
# worker that lost the lock was staging is dropped. Idempotent, like every script here: asked
# again by the worker that holds the lock, it says so.
_ACQUIRE = _CHECKS + """
local lock, queue, seen, tickets, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local token = ARGV[1]
if on('string', 'GET', lock) == token then
  -- Taken already: this is a client's retry after the reply was lost. Without this, the worker
  -- would queue behind its own lock and wait out its lifetime, and every other worker with it.
  redis.call('PEXPIRE', lock, ARGV[2])
  redis.call('ZREM', queue, token)
  redis.call('ZREM', seen, token)
  return 1 + redis.call('EXISTS', KEYS[7])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = on('zset', 'ZRANGEBYSCORE', seen, '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 100)
for _, gone in ipairs(stale) do
  on('zset', 'ZREM', queue, gone)
  redis.call('ZREM', seen, gone)
end
local head = on('zset', 'ZRANGE', queue, 0, 0)[1]
if (head == nil or head == token) and redis.call('SET', lock, token, 'NX', 'PX', ARGV[2]) then
  redis.call('ZREM', queue, token)
  redis.call('ZREM', seen, token)
  redis.call('DEL', wake)
  if redis.call('EXISTS', queue) == 0 then
    redis.call('DEL', tickets)
  end
  redis.call('UNLINK', KEYS[6])
  return 1 + redis.call('EXISTS', KEYS[7])
end
if not redis.call('ZSCORE', queue, token) then
  redis.call('ZADD', queue, on('string', 'INCR', tickets), token)
end
redis.call('ZADD', seen, now, token)
return 0
"""

# KEYS: queue, seen, tickets, own wake list. ARGV: token. A waiter giving up leaves the queue.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3])
end
return 0
"""

# KEYS: the lock. ARGV: token, ttl in ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: the lock, queue. ARGV: token, prefix. Compare-and-delete, then wake the next waiter.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head then
  local wake = ARGV[2] .. 'wake:' .. head
  redis.call('RPUSH', wake, 1)
  redis.call('PEXPIRE', wake, 10000)
end
return 1
"""

# KEYS: params. ARGV: field, value, ... Creates the record unless one exists; returns the
# stored one (empty when just created), so two workers creating at once agree.
# ARGV: prefix, blob of 11-byte lookups (bucket, n-gram hash), and for a caller not holding
# the lock the journal's key name (else ''). Returns each n-gram's stored value (false for none),
# or nil while a committed batch is being written out, as _QUERY does.
_GRAM_QUERY = _CHECKS + """
local prefix, blob = ARGV[1], ARGV[2]
local sub = string.sub
if ARGV[3] ~= '' and redis.call('EXISTS', ARGV[3]) == 1 then
  return false
end
local out = {}
for pos = 1, #blob, 11 do
  local key = prefix .. 'g' .. sub(blob, pos, pos + 2)
  local held = on('hash', 'HGET', key, sub(blob, pos + 3, pos + 10))
  out[#out + 1] = held or ''
end
return out
"""

# KEYS: {prefix}postings_from, {prefix}next. ARGV: a pid or ''. Notes, once, the first pid that
# will be stored with postings (one past those issued before, for an index made before them);
# with a pid, moves it past that pid (paragraphs added without postings). Returns it.
_POSTINGS_FROM = """
local from = redis.call('GET', KEYS[1])
if not from then
  from = (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) + 1
  redis.call('SET', KEYS[1], from)
end
if ARGV[1] ~= '' and tonumber(from) <= tonumber(ARGV[1]) then
  from = tonumber(ARGV[1]) + 1
  redis.call('SET', KEYS[1], from)
end
return tonumber(from)
"""

_CREATE = """
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then
  return existing
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {}
"""


# ---------------------------------------------------------------------------------------------


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


def _redacted(spec: str) -> tuple[str, list[str]]:
    """``spec`` with its password shown as ``***``, for messages, and the strings to hide in
    any other text about it. Made for URLs too malformed to parse: everything before the last
    ``@`` of the part before the query (or of the whole, when only the query has one) is the
    user and password, and a lone word there is taken for a password; query values named like
    a password are hidden too.

    >>> _redacted("redis://:secret@host:6379/0")[0]
    'redis://:***@host:6379/0'
    >>> _redacted("redis://user:pass/word@host/0?password=secret&db=1")[0]
    'redis://user:***@host/0?password=***&db=1'
    >>> _redacted("redis://secret@host/0")
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


def _scrubbed(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "***")
    return text


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
        raise IndexError_(f"{_redacted(spec)[0]}: the key prefix cannot be empty")
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
        if lock_ttl <= 0 or lock_wait < 0:
            raise ValueError("lock_ttl must be positive and lock_wait at least 0")
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
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self._lock_key = self._p + b"lock"
        self._damage = _Damage(where, self._p)
        self._query = client.register_script(_QUERY)
        self._write = client.register_script(_WRITE)
        self._forget = client.register_script(_FORGET)
        self._renew = client.register_script(_RENEW)
        self._acquire_script = client.register_script(_ACQUIRE)
        self._leave = client.register_script(_LEAVE)
        self._release = client.register_script(_RELEASE)
        self._gram_query = client.register_script(_GRAM_QUERY)
        self._postings_from = client.register_script(_POSTINGS_FROM)
        self._bands = np.arange(params.bands, dtype=np.uint16)
        self._bucket = np.dtype([("prefix", f"S{len(self._p)}"), *_BUCKET_TAIL])
        # The batch in progress: the lock's token, its renewer, and the paragraphs added but
        # not committed (visible to this worker's own queries and fetches).
        self._token: str | None = None
        self._lost = threading.Event()
        self._stop_renewing = threading.Event()
        self._renewer: threading.Thread | None = None
        # Per add() of the open batch: (first pid, records end to end, where each record starts,
        # ingest time, whether the records end with an exact key, bucket names).
        self._pending_runs: list[tuple[int, bytes, list[int], str, bool, bytes]] = []
        self._pending_pids: list[np.ndarray] = []
        self._pending_keys: list[np.ndarray] = []
        # Per add() with exact keys: (its exact keys, its pids), for query_exact.
        self._pending_exact: list[tuple[np.ndarray, np.ndarray]] = []
        # Per add() with postings: its entries for _WRITE, sorted by bucket.
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
            shown, hidden = _redacted(spec)
            raise IndexError_(f"not a usable Redis URL {shown!r}: {_scrubbed(str(err), hidden)}") from None
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
        with _translated(self.where, self._r, self._damage, expect):
            yield

    # -- the lock -----------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the index: take the lock, and on a clean exit commit every paragraph added
        inside, all or nothing (staged, then committed in one step after checking the lock is
        still held, else :class:`LockLost`; see _WRITE). On an exception nothing added inside
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
            self._end(token)

    def _acquire(self) -> str:
        token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        ttl_ms = max(1, int(self.lock_ttl * 1000))
        deadline = time.monotonic() + self.lock_wait
        p = self._p
        wake = p + b"wake:" + token.encode()
        keys = [self._lock_key, p + b"lockq", p + b"lockseen", p + b"lockticket", wake, p + b"stage", p + b"journal"]
        taken = False
        notice, said = time.monotonic() + WAIT_NOTICE, False
        try:
            with self._talking((self._lock_key, "string"), (wake, "list")):
                while not (taken := self._busy_is_no(lambda: self._acquire_script(keys=keys, args=[token, ttl_ms, STALE_MS]))):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise IndexError_(
                            f"waited {self.lock_wait:g} s for the index lock at {self.where} "
                            f"(held by {_holder(self._r.get(self._lock_key))}); "
                            f"a holder that died releases it within {self.lock_ttl:g} s"
                        )
                    if not said and self.on_wait is not None and time.monotonic() >= notice:
                        self.on_wait(f"{self.where}: waiting for the index lock, held by {_holder(self._r.get(self._lock_key))}")
                        said = True
                    # Woken by the releaser when our turn comes; ask again at least every POLL s.
                    if self._busy_is_no(lambda: self._r.blpop([wake], timeout=min(POLL, max(left, 0.001)))) is False:
                        time.sleep(POLL)
        finally:
            if not taken:
                try:
                    with self._talking():
                        self._leave(keys=keys[1:5], args=[token])
                except IndexError_:
                    pass  # it leaves the queue on its own once stale
        self._token = token
        self._lost.clear()
        self._stop_renewing.clear()
        self._renewer = threading.Thread(target=self._keep_renewing, args=(token, ttl_ms), name="dedup-redis-lock", daemon=True)
        self._renewer.start()
        if said and self.on_wait is not None:
            self.on_wait(f"{self.where}: got the index lock; going on")
        if taken == 2:  # a batch committed by a worker that died before writing it all out
            try:
                self._finish_journal()
            except BaseException:
                self._end(token)
                raise
        return token

    @staticmethod
    def _busy_is_no(call: Any) -> Any:
        """``call()``, or False while a long script runs (another program's: dedup's are short)."""
        try:
            return call()
        except redis.exceptions.ResponseError as err:
            if str(err).startswith("BUSY"):
                return False
            raise

    def _keep_renewing(self, token: str, ttl_ms: int) -> None:
        interval = self.lock_ttl / 3
        while not self._stop_renewing.wait(interval):
            try:
                if not self._renew(keys=[self._lock_key], args=[token, ttl_ms]):
                    self._lost.set()
                    return
            except Exception:  # noqa: BLE001 - the commit's own check reports it; keep trying
                continue

    def _end(self, token: str) -> None:
        """Stop renewing, drop what was not committed, release the lock."""
        self._stop_renewing.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        self._token = None
        self._clear_pending()
        self._lost.clear()
        try:
            with self._talking():
                self._release(keys=[self._lock_key, self._p + b"lockq"], args=[token, self._p])
        except IndexError_:
            # What was committed stays committed, and an error already on its way matters more;
            # a lock left behind expires on its own after lock_ttl.
            pass

    def _check_lock(self) -> None:
        if self._token is not None and self._lost.is_set():
            raise LockLost(
                f"lost the index lock at {self.where}: it expired or was taken while this worker "
                f"held it (no renewal for {self.lock_ttl:g} s); nothing of this batch is written"
            )

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
            self._end(token)

    def _raise_lock_lost(self, err: Exception) -> None:
        if _LOCK_LOST in str(err) or _STAGE_LOST in str(err):
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
        the lock (see _WRITE), so that no query sees half a batch."""
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
                            raise self._damage(name, f"maps exact key {int(keys[k]):#x} to {_shown(value)}, which is not a paragraph id")
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

    def add(
        self,
        doc_ids: list[str],
        paragraphs: np.ndarray,
        band_keys: np.ndarray,
        hashes: np.ndarray,
        offsets: np.ndarray,
        ingested_at: float,
        *,
        exact_keys: np.ndarray | None = None,
        queried: np.ndarray | None = None,
        postings: Postings | None = None,
    ) -> np.ndarray:
        """Reserve pids and stage the paragraphs; they are written when the batch exits cleanly.
        Outside :meth:`batch`, the call is a batch of its own. ``queried`` is not needed here.
        ``postings`` are staged with them (see the module's doc)."""
        if self._token is None:
            with self.batch():
                return self.add(doc_ids, paragraphs, band_keys, hashes, offsets, ingested_at, exact_keys=exact_keys, postings=postings)
        keys, paragraphs, hashes, offsets, at = self._added(doc_ids, paragraphs, band_keys, hashes, offsets, ingested_at)
        n = keys.shape[1]
        exact = self._exact_keys(exact_keys, n)
        grams = self._postings(postings, n)
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
        docs = [_encode_doc(d) for d in doc_ids]
        header = np.empty(n, dtype=_HEADER_ROW)
        header["paragraph"] = paragraphs
        header["ingested_at"] = at
        header["doc_len"] = [len(d) for d in docs]
        header["count"] = np.diff(offsets)
        head, width = header.tobytes(), 8 * keys.shape[0]
        band_bytes = np.ascontiguousarray(keys.T).astype("<u8", copy=False).tobytes()
        base = int(offsets[0])
        body = hashes[base : int(offsets[-1])].tobytes()
        bounds = ((offsets - base) * 8).tolist()
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
        _WRITE). A lost lock before the commit point writes nothing."""
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
        """The batch's paragraphs as chunks for _WRITE: at most SCRIPT_KEYS bucket names and
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
        """See _POSTINGS_FROM: note where postings start, or that they start after ``last``."""
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
            raise self._damage(self._p + b"postings_from", f"holds {_shown(raw)}, not a number")
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
            raise self._damage(p + b"next", f"holds {_shown(last)}, not a number")
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
                    raise self._damage(tkey, f"holds {_shown(member)}, which is not a paragraph id")
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
            self._end(self._token)
        self._closed = True
        self._r.close()


# ---------------------------------------------------------------------------------------------


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


def _shown(value: bytes) -> str:
    return repr(value[:40]) + ("..." if len(value) > 40 else "")


class _Damage:
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
            return _shown(key)
        tail = key[len(self.prefix) :]
        shown = (self.prefix + tail).decode("utf-8", "replace")
        if tail in _NAMED:
            return f"{_NAMED[tail]} ({shown})"
        if tail[:1] == b"k" and len(tail) == 11:
            (band,) = struct.unpack(">H", tail[1:3])
            (value,) = struct.unpack("<Q", tail[3:])
            return f"the band bucket of band {band} and band key {value:#x}"
        if tail.startswith(b"p:"):
            return f"the record of paragraph {tail[2:].decode('ascii', 'replace')} ({shown})"
        if tail.startswith(b"d:"):
            return f"the paragraph list of document {tail[2:].decode('utf-8', 'surrogateescape')!r}"
        if tail[:1] == b"x" and len(tail) == 9:
            return f"the paragraph list of exact key {struct.unpack('<Q', tail[1:])[0]:#x}"
        if tail.startswith(b"wake:"):
            return "a lock waiter's wake-up list"
        return _shown(key)

    def from_reply(self, text: str) -> IndexError_ | None:
        """The damage a script reported (see _CHECKS), if it did."""
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
            return self(key, f"holds {_shown(args[0])}, which is not a paragraph id")
        if what == "field" and len(args) == 2:
            return self(key, f"maps exact key {int.from_bytes(args[0], 'little'):#x} to {_shown(args[1])}, which is not a paragraph id")
        if what == "value" and args:
            return self(key, f"holds {_shown(args[0])}, not a number")
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
                        return self(key, f"holds {_shown(value or b'')}, not a number")
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
def _translated(where: str, client: Any, damage: _Damage | None = None, expect: tuple[tuple[bytes, str], ...] = ()) -> Iterator[None]:
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


def _holder(token: bytes | None) -> str:
    """Who holds the lock, from its token (``host:pid:random``).

    >>> _holder(b"build-3:4121:9f2c01d4e5a6b7c8"), _holder(None)
    ('process 4121 on build-3', 'nobody now')
    """
    if not token:
        return "nobody now"
    parts = token.decode("utf-8", "replace").rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return f"process {parts[1]} on {parts[0]}"
    return repr(token.decode("utf-8", "replace"))


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
        with _translated(where, client):
            client.ping()
    except IndexError_ as err:
        raise IndexError_(str(err).replace("lost connection to", "cannot connect to", 1)) from None
    with _translated(where, client):
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
            raw = client.eval(_CREATE, 1, key, *fields)
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
