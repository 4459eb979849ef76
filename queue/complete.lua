-- queue/complete.lua: marks an admission's record finished ("pending" -> "done")
-- once the gateway's WAIT for replicas has returned (durability.replicas > 0). Until then a
-- retry with the same key is answered in_use (409); afterwards it is a replay.
--
-- KEYS: 1 the submission's record (admission.lua's KEYS[1]: idempotency and status in one).
-- ARGV: 1 the submission id the admission stored (a record of another submission is left alone).
-- Reply: 1 if the record went from pending to done; 0 if there was nothing to do (no record,
-- expired, another submission's, or already done). The record's TTL is unchanged.
if #KEYS ~= 1 or #ARGV ~= 1 then
  return redis.error_reply('ERR sluice complete: expected 1 key and 1 argument')
end
local record = redis.call('HMGET', KEYS[1], 'id', 'state')
if record[1] ~= ARGV[1] or record[2] ~= 'pending' then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'done')
redis.call('HDEL', KEYS[1], 'pending_until')
return 1
