-- queue/consumer_trim.lua: keeps a shard's stream bounded by removing entries that every consumer
-- group has acknowledged, and nothing else (never MAXLEN: that drops entries nobody processed).
--
-- For each group of the stream, the first entry it still needs is the smaller of
--   its oldest pending (delivered, unacknowledged) entry        XPENDING summary
--   the first entry after its last-delivered-id (not delivered)  XRANGE (last +
-- and the stream is trimmed with XTRIM MINID to the smallest of those over all groups: every
-- entry below it was delivered to every group and acknowledged. One script, so no delivery or
-- acknowledgement can slip in between the reading and the trimming.
--
-- It also forgets consumers that hold nothing (pending 0) and have been idle longer than
-- ARGV[1] ms: a worker that died leaves its name behind; its entries were reclaimed already.
-- Forgetting an empty consumer loses nothing (XREADGROUP re-creates a consumer that comes back).
--
-- KEYS: 1 queue shard sluice:{S}:q
-- ARGV: 1 forget_idle_ms (0: forget no consumer)
-- Reply {removed entries, the MINID used ("" if nothing was trimmed), forgotten consumers}.
-- A stream without any group is never trimmed (nobody has acknowledged anything).
if #KEYS ~= 1 or #ARGV ~= 1 then
  return redis.error_reply('ERR sluice consumer_trim: expected 1 key and 1 argument')
end
local queue_key = KEYS[1]
local forget_idle_ms = tonumber(ARGV[1])
if forget_idle_ms == nil or forget_idle_ms < 0 then
  return redis.error_reply('ERR sluice consumer_trim: bad forget_idle_ms "' .. ARGV[1] .. '"')
end
if redis.call('EXISTS', queue_key) == 0 then
  return {0, '', 0}
end

-- Stream ids "ms-seq" compared exactly: both parts are decimal without leading zeros and may
-- exceed 2^53, so compare by length, then as strings.
local function split(id)
  local dash = string.find(id, '-', 1, true)
  return string.sub(id, 1, dash - 1), string.sub(id, dash + 1)
end
local function less_number(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function less(a, b)
  local a_ms, a_seq = split(a)
  local b_ms, b_seq = split(b)
  if a_ms ~= b_ms then return less_number(a_ms, b_ms) end
  return less_number(a_seq, b_seq)
end
-- The id right after `id`, or `id` itself when its sequence number is too large for Lua's
-- doubles (then at most that one acknowledged entry is kept).
local function successor(id)
  local ms, seq = split(id)
  if #seq > 15 then return id end
  return ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
end
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end

local groups = redis.call('XINFO', 'GROUPS', queue_key)
if #groups == 0 then
  return {0, '', 0}
end
local min_id = nil
local forgotten = 0
for _, group in ipairs(groups) do
  local name = field(group, 'name')
  local last_delivered = field(group, 'last-delivered-id')
  local needed
  local after = redis.call('XRANGE', queue_key, '(' .. last_delivered, '+', 'COUNT', 1)
  if #after == 1 then
    needed = after[1][1]
  else
    needed = successor(last_delivered)
  end
  local summary = redis.call('XPENDING', queue_key, name)
  local oldest_pending = summary[2]
  if oldest_pending and less(oldest_pending, needed) then
    needed = oldest_pending
  end
  if min_id == nil or less(needed, min_id) then
    min_id = needed
  end
  if forget_idle_ms > 0 then
    for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', queue_key, name)) do
      if field(consumer, 'pending') == 0 and field(consumer, 'idle') > forget_idle_ms then
        redis.call('XGROUP', 'DELCONSUMER', queue_key, name, field(consumer, 'name'))
        forgotten = forgotten + 1
      end
    end
  end
end
local removed = redis.call('XTRIM', queue_key, 'MINID', min_id)
return {removed, min_id, forgotten}
