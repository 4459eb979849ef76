-- queue/consumer_finish.lua: a worker finishes a stream entry with its calculated result, in one
-- atomic step: the result goes into the status record and the entry is acknowledged.
--
-- KEYS (one shard's hash tag):
--   1 queue shard        sluice:{S}:q
--   2 submission status  sluice:{S}:sub:<submission id>
-- ARGV:
--   1 group   2 entry id   3 result (JSON text)   4 calculated_at (RFC 3339)
-- Reply (a status string):
--   "calculated"      the first result: status=calculated, result, calculated_at written; acked
--   "duplicate"       it was calculated already (another delivery of the same entry won):
--                     nothing written, acked. Calculation is pure, so the result would be the same.
--   "already_failed"  it was dead-lettered already: nothing written, acked
--   "missing"         no status record (it expired): nothing written, NOT acked, so the entry
--                     fails its attempt like any poison entry and ends in the dead-letter stream
--   an error reply for bad arguments (nothing written)
--
-- Invariants: exactly one call per submission answers "calculated" (metrics count it once);
-- HSET on the existing record keeps its TTL, and a missing record is never created.
if #KEYS ~= 2 or #ARGV ~= 4 then
  return redis.error_reply('ERR sluice consumer_finish: expected 2 keys and 4 arguments')
end
local queue_key, submission_key = KEYS[1], KEYS[2]
local group, entry_id, result, calculated_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local status = redis.call('HGET', submission_key, 'status')
if not status then
  return 'missing'
end
if status == 'calculated' then
  redis.call('XACK', queue_key, group, entry_id)
  return 'duplicate'
end
if status == 'failed' then
  redis.call('XACK', queue_key, group, entry_id)
  return 'already_failed'
end
redis.call('HSET', submission_key, 'status', 'calculated', 'result', result, 'calculated_at', calculated_at)
redis.call('XACK', queue_key, group, entry_id)
return 'calculated'
