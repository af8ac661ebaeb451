--! include checks.lua
-- The lock is fair: waiters queue by ticket, and only the head of the queue may take a free
-- lock, so a worker releasing and at once re-taking it cannot starve the others. The releaser
-- wakes the head through its wake list; a waiter that stops asking for STALE_MS (lock.py) leaves the queue.

-- KEYS: lock, queue (zset token -> ticket), seen (zset token -> last ask, ms), tickets, own
-- wake list, stage, journal. ARGV: token, ttl in ms, stale after ms. Returns 0 while waiting;
-- once the lock is taken, 1, or 2 when a committed batch is left to finish (its journal). What a
-- worker that lost the lock was staging is dropped. Idempotent, like every script here: asked
-- again by the worker that holds the lock, it says so.
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
