-- KEYS: queue, seen, tickets, own wake list. ARGV: token. A waiter giving up leaves the queue.
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3])
end
return 0
