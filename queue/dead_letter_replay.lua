-- queue/dead_letter_replay.lua: an operator puts one dead letter back on its queue shard
-- (sluice-admin dlq replay), typically after correcting the catalogue that made it fail. One
-- atomic step: the submission is queued again exactly once, or nothing is written.
--
-- KEYS (one shard's hash tag):
--   1 dead-letter stream sluice:{S}:dlq
--   2 queue shard        sluice:{S}:q
--   3 submission status  sluice:{S}:sub:<submission id>
-- ARGV:
--   1 dead letter id (its id in KEYS[1])   2 submission id (the dead letter's field "id")
--   3 dry run: "1" decides and answers as below but writes nothing; "0" writes
--   4 replayed_at (RFC 3339)
-- Reply {outcome, detail}:
--   {"requeued", new entry id}  (dry run: {"requeued", ""}) the dead letter's own fields (as
--                               admission.lua queued them: id, practice, sha256, received_at,
--                               idem, body) are XADDed to the queue as a new entry; the record
--                               becomes status=queued, attempts=0, entry_id=<new id>, replayed_at,
--                               without error/failed_at/last_error; the dead letter is XDELed
--   {"not_found", ""}           no such dead letter (purged, or replayed already): nothing written
--   {"missing_record", ""}      the status record has expired: nothing written (a record is
--                               never created here: it would never expire, and the receipt's
--                               fields are gone with it)
--   {"already_calculated", ""}  the submission was calculated meanwhile (another delivery won):
--                               nothing written; purge the dead letter
--   {"not_failed", status}      the record is queued or processing: the submission is in the
--                               queue already (an earlier replay): nothing written
--   an error reply for bad arguments, or a dead letter whose id field is not ARGV[2]
--
-- Invariants: exactly-once is kept with the worker's scripts: a replay queues an entry only for a
-- submission whose record says failed, and flips that record to queued in the same step, so a
-- second replay (of this or another dead letter of the same submission) finds it not failed; a
-- record that says calculated is never touched. The record keeps its TTL (HSET/HDEL only).
if #KEYS ~= 3 or #ARGV ~= 4 then
  return redis.error_reply('ERR sluice dead_letter_replay: expected 3 keys and 4 arguments')
end
local dead_letter_key, queue_key, submission_key = KEYS[1], KEYS[2], KEYS[3]
local dead_letter_id, submission_id, dry_run, replayed_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if dry_run ~= '0' and dry_run ~= '1' then
  return redis.error_reply('ERR sluice dead_letter_replay: dry run must be "0" or "1", got "' .. dry_run .. '"')
end

local found = redis.call('XRANGE', dead_letter_key, dead_letter_id, dead_letter_id)
if #found == 0 then
  return {'not_found', ''}
end
-- The fields consumer_fail.lua appended to the entry's own; everything else is the entry's.
local appended = {entry_id = true, reason = true, attempts = true, failed_at = true}
local fields, id = {}, nil
local flat = found[1][2]
for i = 1, #flat, 2 do
  if flat[i] == 'id' then id = flat[i + 1] end
  if not appended[flat[i]] then
    fields[#fields + 1] = flat[i]
    fields[#fields + 1] = flat[i + 1]
  end
end
if id ~= submission_id then
  return redis.error_reply('ERR sluice dead_letter_replay: dead letter ' .. dead_letter_id ..
    ' is not of submission ' .. submission_id)
end

local status = redis.call('HGET', submission_key, 'status')
if not status then
  return {'missing_record', ''}
end
if status == 'calculated' then
  return {'already_calculated', ''}
end
if status ~= 'failed' then
  return {'not_failed', status}
end
if dry_run == '1' then
  return {'requeued', ''}
end

local new_id = redis.call('XADD', queue_key, '*', unpack(fields))
redis.call('HSET', submission_key, 'status', 'queued', 'attempts', '0', 'entry_id', new_id,
  'replayed_at', replayed_at)
redis.call('HDEL', submission_key, 'error', 'failed_at', 'last_error')
redis.call('XDEL', dead_letter_key, dead_letter_id)
return {'requeued', new_id}
