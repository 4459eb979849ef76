-- The status page's figures for one queue shard, sampled once a second by one thread of every
-- gateway (gateway/server.cpp). Reads the stream's and its consumer group's counters, and counts
-- the day's submissions: entries added since the last count are credited to today's counter.
-- Atomic, so gateways sampling the same shard at once credit each entry exactly once.
--   KEYS 1 the queue stream (sluice:{s}:q)   2 entries already counted (sluice:{s}:stats:counted)
--        3 today's counter (sluice:{s}:stats:day:YYYY-MM-DD)
--   ARGV 1 the consumer group ("workers")   2 seconds to keep a day's counter
--   reply {length, waiting (-1: unknown), drained, today}
--     length   XLEN: the stream's entries, processed ones included until trimmed (sluice_queue_length)
--     waiting  not yet calculated: undelivered (the group's lag) plus delivered, not acknowledged;
--              with no group yet, every entry
--     drained  entries the group acknowledged since the stream began (entries-read minus pending)
local length, added = 0, 0
local waiting, drained = 0, 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'length' then length = info[i + 1] end
    if info[i] == 'entries-added' then added = info[i + 1] end
  end
  waiting = length
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local g = {}
    for i = 1, #group, 2 do g[group[i]] = group[i + 1] end
    if g['name'] == ARGV[1] then
      if type(g['lag']) == 'number' then waiting = g['lag'] + g['pending'] else waiting = -1 end
      if type(g['entries-read']) == 'number' then drained = g['entries-read'] - g['pending'] end
    end
  end
end
-- No count yet (the first sample of this keyspace) credits every entry the stream ever had to
-- today; a count above entries-added means the stream was deleted and made again.
local counted = tonumber(redis.call('GET', KEYS[2]) or '0')
if counted > added then counted = 0 end
if added > counted then
  redis.call('INCRBY', KEYS[3], added - counted)
  redis.call('SET', KEYS[2], added)
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[2]))
local today = tonumber(redis.call('GET', KEYS[3]) or '0')
return {length, waiting, drained, today}
