-- queue/admission.lua: the one atomic admission of a submission (API.md: idempotency, rate
-- limit, queue append and status record together). Runs after ratelimit/gcra.lua in the same
-- chunk (the embedded script is the two concatenated), which provides `gcra`.
--
-- One record per submission serves both idempotency and status (queue/keys.hpp): its key is
-- derived from the practice and the Idempotency-Key, so a retry with the key and GET by id read
-- the same hash, and an admission writes one record with one expiry.
--
-- KEYS (all carry the shard's hash tag, so this runs unchanged on Redis Cluster):
--   1 submission record   sluice:{S}:sub:<S>-<24 hex>                    hash
--   2 practice state      sluice:{S}:practice:<practice>                 hash: "tat" (the GCRA's
--                         theoretical arrival time, µs; an old one means a full bucket) and
--                         "<period>/<scheme>" -> the latest submission id (queue/latest.hpp)
--   3 queue shard         sluice:{S}:q                                   stream
--   4 legacy idempotency  sluice:{S}:idem:<practice>:<idempotency key>   hash, read only: the
--                         record of an admission made before records were merged (a retry after
--                         an upgrade replays it instead of queueing the submission twice)
-- ARGV:
--   1 body_sha256_hex   2 submission_id (its record is KEYS[1])   3 practice
--   4 received_at (RFC 3339)   5 queue_payload (the request body)
--   6 rate (per second)   7 burst   8 idem_ttl_seconds
--   9 state: "done", or "pending" when the gateway must still WAIT for replicas
--   10 now_us: "" uses Redis's TIME (production); a number of µs is for tests only
--   11 pending_timeout_ms ("": 10000): how long a "pending" record answers in_use; after it, a
--      crashed gateway's pending record replays like a finished one
--   12 deadline_us ("": none): the Redis-clock time after which the gateway has given up on this
--      call and answered 503; run later (a stalled Redis catching up on its socket), the script
--      must not queue what the client was told was not queued
--   13 idempotency_key: copied into the queue entry as field "idem", so the worker can record it in
--      the system of record (ledger/), which answers "did my request with key K go through?"
--      after this record has expired
--   14 latest_field: "<period>/<scheme>" ("": none, tests of the script alone); the admitted id
--      becomes the practice's latest for it (queue/latest.hpp: a declaration of an older
--      submission is refused while a newer one is still queued)
-- Reply (numbers are integers, µs):
--   {"accepted", stream_entry_id, remaining, reset_after_us}
--   {"replay", status, body, submission_id, remaining, reset_after_us, received_at}: body is ""
--       for a merged record (the gateway rebuilds the receipt from the id and received_at; same
--       key and body, so the same bytes), the stored receipt for a legacy one
--   {"reused", remaining, reset_after_us}
--   {"in_use", remaining, reset_after_us}
--   {"limited", retry_after_us, reset_after_us}
--   {"expired"}: run after deadline_us; nothing read or written
--   an error reply for bad arguments, or a record of another practice (nothing written)
-- remaining/reset_after_us on replay, reused and in_use describe the limit without charging it.
--
-- Invariants: every check that can refuse runs before the first write, so a refusal (expired,
-- replay, reused, in_use, limited, argument error) writes NOTHING; XADD is the first write, so an OOM
-- refusal also leaves nothing half-done. No MAXLEN on XADD (that would drop unprocessed
-- entries). Exactly one stream entry per (practice, idempotency key) while the record lives.
local record_key, practice_key, queue_key, legacy_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

if #KEYS ~= 4 or #ARGV ~= 14 then
  return redis.error_reply('ERR sluice admission: expected 4 keys and 14 arguments, got ' .. #KEYS .. ' and ' .. #ARGV)
end

local body_sha256 = ARGV[1]
local submission_id = ARGV[2]
local practice = ARGV[3]
local received_at = ARGV[4]
local rate = tonumber(ARGV[6])
local burst = tonumber(ARGV[7])
local ttl_seconds = tonumber(ARGV[8])
local state = ARGV[9]
local pending_timeout_ms = 10000
if ARGV[11] ~= '' then pending_timeout_ms = tonumber(ARGV[11]) end
local deadline = nil
if ARGV[12] ~= '' then deadline = tonumber(ARGV[12]) end

local function bad_argument(name, value)
  return redis.error_reply('ERR sluice admission: bad ' .. name .. ' "' .. tostring(value) .. '"')
end

local function is_whole(n, least)
  return n ~= nil and n == math.floor(n) and n >= least and n < 9007199254740992
end

if body_sha256 == '' then return bad_argument('body_sha256_hex', body_sha256) end
if submission_id == '' then return bad_argument('submission_id', submission_id) end
if rate == nil or not (rate > 0) then return bad_argument('rate', ARGV[6]) end
if not is_whole(burst, 0) then return bad_argument('burst', ARGV[7]) end
if not is_whole(ttl_seconds, 1) then return bad_argument('idem_ttl_seconds', ARGV[8]) end
if state ~= 'done' and state ~= 'pending' then return bad_argument('state', state) end
if not is_whole(pending_timeout_ms, 0) then return bad_argument('pending_timeout_ms', ARGV[11]) end
if deadline ~= nil and not is_whole(deadline, 0) then return bad_argument('deadline_us', ARGV[12]) end

local now
if ARGV[10] == '' then
  now = gcra.now_us()
else
  now = tonumber(ARGV[10])
  if not is_whole(now, 0) then return bad_argument('now_us', ARGV[10]) end
end

-- Too late: the gateway has already answered 503 for this call.
if deadline ~= nil and now > deadline then
  return {'expired'}
end

-- The limit as it stands, uncharged (for the RateLimit header of answers that are not charged).
local function uncharged()
  local _, _, remaining, _, reset_after = gcra.peek(rate, burst, gcra.decode(redis.call('HGET', practice_key, 'tat')), now)
  return remaining, reset_after
end

-- What a known key is answered: reused for another body, in_use while the first is pending,
-- else a replay. Charges nothing.
local function known(sha256, record_state, pending_until, status, body, id, first_received_at)
  local remaining, reset_after = uncharged()
  if sha256 ~= body_sha256 then
    return {'reused', remaining, reset_after}
  end
  if record_state == 'pending' and now < (tonumber(pending_until) or 0) then
    return {'in_use', remaining, reset_after}
  end
  return {'replay', status, body, id, remaining, reset_after, first_received_at}
end

-- (a) Idempotency: a known key is answered from its record.
local record = redis.call('HMGET', record_key, 'practice', 'content_sha256', 'state', 'pending_until', 'id',
  'received_at')
if record[1] then
  -- The key is derived from practice and key; another practice's record here is a hash collision
  -- (96 bits) or a bug: refuse rather than answer with another practice's submission.
  if record[1] ~= practice then
    return redis.error_reply('ERR sluice admission: record ' .. record_key .. ' belongs to another practice')
  end
  return known(record[2], record[3], record[4], 202, '', record[5] or '', record[6] or '')
end
local legacy = redis.call('HMGET', legacy_key, 'sha256', 'state', 'pending_until', 'status', 'body', 'id')
if legacy[1] then
  return known(legacy[1], legacy[2], legacy[3], tonumber(legacy[4]) or 0, legacy[5] or '', legacy[6] or '', '')
end

-- (b) Rate limit. Denied: nothing is written (not even the tat).
local allowed, tat, remaining, retry_after, reset_after =
  gcra.check(rate, burst, gcra.decode(redis.call('HGET', practice_key, 'tat')), now)
if not allowed then
  return {'limited', retry_after, reset_after}
end

-- (c) The queue entry. Never MAXLEN: only acknowledged entries may be trimmed.
local entry_id = redis.call('XADD', queue_key, '*',
  'id', submission_id, 'practice', practice, 'sha256', body_sha256,
  'received_at', received_at, 'idem', ARGV[13], 'body', ARGV[5])

-- (d) The record: what GET /v1/submissions/{id} reads and the worker updates, and what a retry
-- with the same key is answered with (the receipt is rebuilt from id and received_at).
if state == 'pending' then
  redis.call('HSET', record_key,
    'id', submission_id, 'practice', practice, 'status', 'queued', 'attempts', '0',
    'received_at', received_at, 'content_sha256', body_sha256, 'state', state,
    'pending_until', gcra.encode(now + pending_timeout_ms * 1000))
else
  redis.call('HSET', record_key,
    'id', submission_id, 'practice', practice, 'status', 'queued', 'attempts', '0',
    'received_at', received_at, 'content_sha256', body_sha256, 'state', state)
end
redis.call('EXPIRE', record_key, ttl_seconds)

-- (e) The practice's state: the new tat, and its latest admission for this period and scheme
-- (queue/latest.hpp: until the worker has recorded it, only Redis knows that an older calculated
-- submission is superseded). It lives as long as the records it names; a tat older than now
-- means the same as none (a full bucket).
if ARGV[14] ~= '' then
  redis.call('HSET', practice_key, 'tat', gcra.encode(tat), ARGV[14], submission_id)
else
  redis.call('HSET', practice_key, 'tat', gcra.encode(tat))
end
redis.call('EXPIRE', practice_key, ttl_seconds)

return {'accepted', entry_id, remaining, reset_after}
