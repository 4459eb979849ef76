-- queue/consumer_fail.lua: a delivery of a stream entry failed (a body that does not parse, an
-- unknown period, a missing status record, or earlier deliveries that never finished). Either
-- the entry stays pending for another attempt, or, once it has been delivered max_attempts
-- times, it moves to the shard's dead-letter stream, all in one atomic step.
--
-- KEYS (one shard's hash tag):
--   1 queue shard        sluice:{S}:q
--   2 submission status  sluice:{S}:sub:<submission id> (may not exist)
--   3 dead-letter stream sluice:{S}:dlq
-- ARGV:
--   1 group   2 entry id   3 reason   4 max_attempts   5 failed_at (RFC 3339)
--   (a failure no delivery can mend, such as a body that is not JSON, is sent with max_attempts
--   1: a pending entry has been delivered at least once, so it is dead-lettered at once)
-- Reply {outcome, deliveries} (deliveries: XPENDING's times-delivered):
--   {"retry", n}          n < max_attempts: NOT acked; it is redelivered by XAUTOCLAIM once idle
--                         longer than worker.claim_idle_ms. A queued/processing record becomes
--                         status=queued, attempts=n, last_error=reason.
--   {"dead_lettered", n}  n >= max_attempts: XADD to the dead-letter stream of the entry's own
--                         fields plus entry_id, reason, attempts (n), failed_at; XACK; the record
--                         (if any, and not calculated) becomes status=failed, error=reason.
--   {"not_pending", 0}    acknowledged meanwhile: nothing written (so never dead-lettered twice)
--   an error reply for bad arguments (nothing written)
--
-- Invariants: the dead-letter stream has exactly one entry per dead-lettered queue entry; it is
-- never trimmed by sluice (operators drain it). A missing record is never created; an existing
-- one keeps its TTL.
if #KEYS ~= 3 or #ARGV ~= 5 then
  return redis.error_reply('ERR sluice consumer_fail: expected 3 keys and 5 arguments')
end
local queue_key, submission_key, dead_letter_key = KEYS[1], KEYS[2], KEYS[3]
local group, entry_id, reason, failed_at = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local max_attempts = tonumber(ARGV[4])
if max_attempts == nil or max_attempts < 1 then
  return redis.error_reply('ERR sluice consumer_fail: bad max_attempts "' .. ARGV[4] .. '"')
end

local pending = redis.call('XPENDING', queue_key, group, entry_id, entry_id, 1)
if #pending == 0 then
  return {'not_pending', 0}
end
local deliveries = pending[1][4]
local status = redis.call('HGET', submission_key, 'status')

if deliveries < max_attempts then
  if status == 'queued' or status == 'processing' then
    redis.call('HSET', submission_key, 'status', 'queued', 'attempts', deliveries, 'last_error', reason)
  end
  return {'retry', deliveries}
end

local dead_letter = {}
local entry = redis.call('XRANGE', queue_key, entry_id, entry_id)
if #entry == 1 then
  for _, value in ipairs(entry[1][2]) do
    dead_letter[#dead_letter + 1] = value
  end
end
for _, value in ipairs({'entry_id', entry_id, 'reason', reason, 'attempts', tostring(deliveries),
                        'failed_at', failed_at}) do
  dead_letter[#dead_letter + 1] = value
end
redis.call('XADD', dead_letter_key, '*', unpack(dead_letter))
redis.call('XACK', queue_key, group, entry_id)
if status and status ~= 'calculated' then
  redis.call('HSET', submission_key, 'status', 'failed', 'error', reason, 'attempts', deliveries,
    'failed_at', failed_at)
end
return {'dead_lettered', deliveries}
