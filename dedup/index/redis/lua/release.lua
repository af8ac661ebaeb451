-- KEYS: the lock, queue. ARGV: token, prefix. Compare-and-delete, then wake the next waiter.
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
