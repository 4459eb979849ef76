-- queue/consumer_start.lua: a worker starts one delivery of a stream entry (queue/consumer.hpp).
-- It reads the entry's delivery count from the consumer group's pending entries list (XPENDING:
-- XREADGROUP delivered it once, every XAUTOCLAIM once more), so attempts are counted by Redis,
-- not by a worker that may die, and shows it on the status record.
--
-- KEYS (one shard's hash tag):
--   1 queue shard        sluice:{S}:q
--   2 submission status  sluice:{S}:sub:<submission id>
-- ARGV:
--   1 group   2 entry id   3 consumer name   4 max_attempts
-- Reply {outcome, deliveries}:
--   {"started", n}             status was queued or processing: now status=processing, attempts=n;
--                              calculate, then finish (consumer_finish.lua) or fail (consumer_fail.lua)
--   {"exhausted", n}           n > max_attempts: earlier deliveries ended without a verdict (their
--                              workers died or timed out); nothing written: dead-letter it (fail)
--   {"missing", n}             no status record (expired, or never written): nothing written
--   {"already_calculated", n}  another delivery finished it: acknowledged here, nothing else
--   {"already_failed", n}      it was dead-lettered already: acknowledged here, nothing else
--   {"not_pending", 0}         acknowledged meanwhile (by another worker): nothing to do
--   {"not_owner", n}           another consumer claimed it meanwhile: leave it to that one
--   an error reply for bad arguments (nothing written)
--
-- Invariants: HSET on the existing record keeps its TTL; a missing record is never created
-- (it would live forever); the entry is acknowledged only when its submission is already done.
if #KEYS ~= 2 or #ARGV ~= 4 then
  return redis.error_reply('ERR sluice consumer_start: expected 2 keys and 4 arguments')
end
local queue_key, submission_key = KEYS[1], KEYS[2]
local group, entry_id, consumer = ARGV[1], ARGV[2], ARGV[3]
local max_attempts = tonumber(ARGV[4])
if max_attempts == nil or max_attempts < 1 then
  return redis.error_reply('ERR sluice consumer_start: bad max_attempts "' .. ARGV[4] .. '"')
end

local pending = redis.call('XPENDING', queue_key, group, entry_id, entry_id, 1)
if #pending == 0 then
  return {'not_pending', 0}
end
local owner, deliveries = pending[1][2], pending[1][4]
if owner ~= consumer then
  return {'not_owner', deliveries}
end

local status = redis.call('HGET', submission_key, 'status')
if not status then
  return {'missing', deliveries}
end
if status == 'calculated' then
  redis.call('XACK', queue_key, group, entry_id)
  return {'already_calculated', deliveries}
end
if status == 'failed' then
  redis.call('XACK', queue_key, group, entry_id)
  return {'already_failed', deliveries}
end
if deliveries > max_attempts then
  return {'exhausted', deliveries}
end
redis.call('HSET', submission_key, 'status', 'processing', 'attempts', deliveries)
return {'started', deliveries}
