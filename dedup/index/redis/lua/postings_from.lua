-- KEYS: {prefix}postings_from, {prefix}next. ARGV: a pid or ''. Notes, once, the first pid that
-- will be stored with postings (one past those issued before, for an index made before them);
-- with a pid, moves it past that pid (paragraphs added without postings). Returns it.
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
