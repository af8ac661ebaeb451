--! include checks.lua
-- ARGV: bands, blob of n * bands bucket names, n, cap, and for a caller not holding the lock the
-- journal's key name (else ''). Returns "q pid q pid ...": every (query, pid) pair sharing a band
-- key, unique per query, with q counted from 0 in this call; or nil, looking nothing up, while
-- a committed batch is being written out (its journal exists), so that no call ever sees half
-- of one. Each bucket's size is read first (SCARD, O(1)); a paragraph none of whose buckets holds
-- more than ``cap`` pids gets their union (one SUNION: at most bands * cap members), and a bucket
-- of more than ``cap`` gives ``cap`` of its pids (SRANDMEMBER: a set has no order). So one
-- paragraph costs at most ``bands`` lookups and ``bands * cap`` members, however crowded its
-- buckets. A member that is not a pid is damage, reported with its bucket.
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
