--! include checks.lua
-- A batch is committed in three steps, each a call of this script, so that no call writes
-- more than one chunk (at most SCRIPT_KEYS bucket names and about CHUNK_BYTES of records, backend.py):
--
--   'stage' i chunk   (lock checked) put chunk i in the hash {prefix}stage, owned by this token;
--                     chunk 0 first clears what a worker that lost the lock left there. Nobody
--                     reads the stage, so nothing of the batch is visible yet.
--   'commit' count    (lock checked) the commit point: one RENAME of the complete stage to
--                     {prefix}journal. The batch is now committed; idempotent for a client retry.
--   'apply'           write the journal's next chunk into the index and drop it from the
--                     journal, in one call; the journal key goes with its last chunk. Returns the
--                     chunks left. Not tied to the lock: the batch is committed, and whoever holds
--                     the lock next finishes a journal a dead worker left (see acquire.lua) before
--                     it reads anything, so no lock holder ever sees half a batch.
--
-- A chunk is a run of segments, one per part of an add(): ``<q first pid, <I n, <I length of the
-- ingest time, <I 1 when records end with an exact key (else 0)``, the ingest time (text), n *
-- bands bucket names, and n records end to end (each record's header gives its length and
-- document id). Applying is idempotent (SET, SADD, ZADD, HSETNX). An exact key maps to its
-- earliest pid; later ones wait in x{key}. A chunk that cannot be read is damage; it is checked
-- before anything of it is written.
local prefix, token, bands, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local call, sub, format, read = redis.call, string.sub, string.format, struct.unpack
local lock, stage, journal = prefix .. 'lock', prefix .. 'stage', prefix .. 'journal'
local GRAMS = '\255GRAMS\255\255'

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
