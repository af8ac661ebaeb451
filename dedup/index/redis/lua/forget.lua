--! include checks.lua
-- ARGV: prefix, lock token, bands, mode ('docs' or 'before'), a limit, then the doc ids or the
-- time bound (exclusive). Forgets at most about ``limit`` paragraphs, so no call blocks the
-- server for long. Returns {paragraphs forgotten, documents finished} (for 'before', the
-- second is 0). A record that cannot be read is damage, found before anything of it is undone.
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
