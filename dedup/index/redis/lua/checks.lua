-- Damage (a key of the wrong type, a value dedup did not write) is reported by the scripts as
-- an error 'DEDUP_DAMAGED <key name in hex> <what>', which Python words (see errors.py, Damage): band bucket
-- names are binary. Commands go through redis.pcall so that a WRONGTYPE names its key; measured,
-- an inline pcall and type check cost no more than redis.call.
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
