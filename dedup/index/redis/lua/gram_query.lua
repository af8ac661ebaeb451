--! include checks.lua
-- ARGV: prefix, blob of 11-byte lookups (bucket, n-gram hash), and for a caller not holding
-- the lock the journal's key name (else ''). Returns each n-gram's stored value (false for none),
-- or nil while a committed batch is being written out, as query.lua does.
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
