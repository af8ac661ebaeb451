-- KEYS: params. ARGV: field, value, ... Creates the record unless one exists; returns the
-- stored one (empty when just created), so two workers creating at once agree.
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then
  return existing
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {}
