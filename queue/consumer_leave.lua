-- queue/consumer_leave.lua: a worker that stops cleanly removes its consumer from a shard's group,
-- but only if it holds no pending entry (XGROUP DELCONSUMER would drop those: nobody could
-- reclaim them, and they would be lost). A consumer that still holds entries (failed attempts
-- waiting for their retry) stays, and its entries are reclaimed by the other workers.
--
-- KEYS: 1 queue shard sluice:{S}:q
-- ARGV: 1 group   2 consumer name
-- Reply: 1 it holds nothing (removed, if it existed); 0 left in place (it holds pending entries,
-- or the group does not exist)
if #KEYS ~= 1 or #ARGV ~= 2 then
  return redis.error_reply('ERR sluice consumer_leave: expected 1 key and 2 arguments')
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if not ok or #pending > 0 then
  return 0
end
local ok_delete = pcall(redis.call, 'XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
if not ok_delete then
  return 0
end
return 1
