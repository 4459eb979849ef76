-- queue/admission.lua: the one atomic admission of a submission (API.md: idempotency, rate
-- limit, queue append and status record together). Runs after ratelimit/gcra.lua in the same
-- chunk (the embedded script is the two concatenated), which provides `gcra`.
--
-- KEYS (all carry the shard's hash tag, so this runs unchanged on Redis Cluster):
--   1 idempotency record  sluice:{S}:idem:<practice>:<idempotency key>   hash
--   2 rate limit state    sluice:{S}:rl:<practice>                       string: tat in µs
--   3 queue shard         sluice:{S}:q                                   stream
--   4 submission status   sluice:{S}:sub:<submission id>                 hash
--   5 latest (optional)   sluice:{S}:latest:<practice>                   hash: ARGV 15 -> submission id
-- ARGV:
--   1 body_sha256_hex   2 submission_id   3 practice   4 received_at (RFC 3339)
--   5 receipt_json (the 202 body, stored and replayed)   6 queue_payload (the request body)
--   7 rate (per second)   8 burst   9 idem_ttl_seconds
--   10 state: "done", or "pending" when the gateway must still WAIT for replicas
--   11 now_us: "" uses Redis's TIME (production); a number of µs is for tests only
--   12 pending_timeout_ms (optional; absent or "": 10000): how long a "pending" record answers
--      in_use; after it, a crashed gateway's pending record replays like a finished one
--   13 deadline_us (optional; absent or "": none): the Redis-clock time after which the gateway
--      has given up on this call and answered 503; run later (a stalled Redis catching up on
--      its socket), the script must not queue what the client was told was not queued
--   14 idempotency_key (optional; absent or "": not carried): copied into the queue entry as
--      field "idem", so the worker can record it in the system of record (ledger/), which answers
--      "did my request with key K go through?" after this record has expired
--   15 latest_field (optional, with KEYS[5]): "<period>/<scheme>"; the admitted id becomes the
--      practice's latest for it (queue/latest.hpp: a declaration of an older submission is
--      refused while a newer one is still queued)
-- Reply (numbers are integers, µs):
--   {"accepted", stream_entry_id, remaining, reset_after_us}
--   {"replay", status, body, submission_id, remaining, reset_after_us}
--   {"reused", remaining, reset_after_us}
--   {"in_use", remaining, reset_after_us}
--   {"limited", retry_after_us, reset_after_us}
--   {"expired"}: run after deadline_us; nothing read or written
--   an error reply for bad arguments (nothing written)
-- remaining/reset_after_us on replay, reused and in_use describe the limit without charging it.
--
-- Invariants: every check that can refuse runs before the first write, so a refusal (expired,
-- replay, reused, in_use, limited, argument error) writes NOTHING; XADD is the first write, so an OOM
-- refusal also leaves nothing half-done. No MAXLEN on XADD (that would drop unprocessed
-- entries). Exactly one stream entry per (practice, idempotency key) while the record lives.
local idem_key, ratelimit_key, queue_key, submission_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

if not ((#KEYS == 4 and #ARGV >= 11 and #ARGV <= 14) or (#KEYS == 5 and #ARGV == 15)) then
  return redis.error_reply('ERR sluice admission: expected 4 keys and 11 to 14 arguments, or 5 and 15, got ' ..
    #KEYS .. ' and ' .. #ARGV)
end

local body_sha256 = ARGV[1]
local submission_id = ARGV[2]
local practice = ARGV[3]
local received_at = ARGV[4]
local receipt = ARGV[5]
local payload = ARGV[6]
local rate = tonumber(ARGV[7])
local burst = tonumber(ARGV[8])
local ttl_seconds = tonumber(ARGV[9])
local state = ARGV[10]
local now_arg = ARGV[11]
local pending_timeout_ms = 10000
if ARGV[12] ~= nil and ARGV[12] ~= '' then
  pending_timeout_ms = tonumber(ARGV[12])
end
local deadline = nil
if ARGV[13] ~= nil and ARGV[13] ~= '' then
  deadline = tonumber(ARGV[13])
end

local function bad_argument(name, value)
  return redis.error_reply('ERR sluice admission: bad ' .. name .. ' "' .. tostring(value) .. '"')
end

local function is_whole(n, least)
  return n ~= nil and n == math.floor(n) and n >= least and n < 9007199254740992
end

if body_sha256 == '' then return bad_argument('body_sha256_hex', body_sha256) end
if submission_id == '' then return bad_argument('submission_id', submission_id) end
if rate == nil or not (rate > 0) then return bad_argument('rate', ARGV[7]) end
if not is_whole(burst, 0) then return bad_argument('burst', ARGV[8]) end
if not is_whole(ttl_seconds, 1) then return bad_argument('idem_ttl_seconds', ARGV[9]) end
if state ~= 'done' and state ~= 'pending' then return bad_argument('state', state) end
if not is_whole(pending_timeout_ms, 0) then return bad_argument('pending_timeout_ms', ARGV[12]) end
if deadline ~= nil and not is_whole(deadline, 0) then return bad_argument('deadline_us', ARGV[13]) end

local now
if now_arg == '' then
  now = gcra.now_us()
else
  now = tonumber(now_arg)
  if not is_whole(now, 0) then return bad_argument('now_us', now_arg) end
end

-- Too late: the gateway has already answered 503 for this call.
if deadline ~= nil and now > deadline then
  return {'expired'}
end

-- The limit as it stands, uncharged (for the RateLimit header of answers that are not charged).
local function uncharged()
  local _, _, remaining, _, reset_after = gcra.peek(rate, burst, gcra.decode(redis.call('GET', ratelimit_key)), now)
  return remaining, reset_after
end

-- (a) Idempotency: a known key is answered from its record and charges nothing.
local record = redis.call('HMGET', idem_key, 'sha256', 'state', 'status', 'body', 'id', 'pending_until')
if record[1] then
  local remaining, reset_after = uncharged()
  if record[1] ~= body_sha256 then
    return {'reused', remaining, reset_after}
  end
  if record[2] == 'pending' and now < (tonumber(record[6]) or 0) then
    return {'in_use', remaining, reset_after}
  end
  return {'replay', tonumber(record[3]) or 0, record[4] or '', record[5] or '', remaining, reset_after}
end

-- A fresh id never exists (128 random bits); refuse rather than overwrite another submission.
if redis.call('EXISTS', submission_key) == 1 then
  return redis.error_reply('ERR sluice admission: submission id ' .. submission_id .. ' already exists')
end

-- (b) Rate limit. Denied: nothing is written (not even the tat).
local allowed, tat, remaining, retry_after, reset_after =
  gcra.check(rate, burst, gcra.decode(redis.call('GET', ratelimit_key)), now)
if not allowed then
  return {'limited', retry_after, reset_after}
end

-- (c) The queue entry. Never MAXLEN: only acknowledged entries may be trimmed.
local entry_id
if ARGV[14] ~= nil and ARGV[14] ~= '' then
  entry_id = redis.call('XADD', queue_key, '*',
    'id', submission_id, 'practice', practice, 'sha256', body_sha256,
    'received_at', received_at, 'idem', ARGV[14], 'body', payload)
else
  entry_id = redis.call('XADD', queue_key, '*',
    'id', submission_id, 'practice', practice, 'sha256', body_sha256,
    'received_at', received_at, 'body', payload)
end

-- (d) The status record GET /v1/submissions/{id} reads; the worker updates it. Only what the
-- status answer needs: the receipt is rebuilt from these fields and lives once, in the
-- idempotency record (one admission writes its body to the AOF once, not twice).
redis.call('HSET', submission_key,
  'id', submission_id, 'practice', practice, 'status', 'queued', 'attempts', '0',
  'received_at', received_at, 'content_sha256', body_sha256)
redis.call('EXPIRE', submission_key, ttl_seconds)

-- (e) The idempotency record: what a retry with the same key is answered with.
if state == 'pending' then
  redis.call('HSET', idem_key, 'sha256', body_sha256, 'state', state, 'status', '202',
    'body', receipt, 'id', submission_id,
    'pending_until', gcra.encode(now + pending_timeout_ms * 1000))
else
  redis.call('HSET', idem_key, 'sha256', body_sha256, 'state', state, 'status', '202',
    'body', receipt, 'id', submission_id)
end
redis.call('EXPIRE', idem_key, ttl_seconds)

-- (f) The new tat, kept only until the bucket is full again (then "no key" means the same).
redis.call('SET', ratelimit_key, gcra.encode(tat), 'PX', math.max(1, gcra.ceil_div(reset_after, 1000)))

-- (g) The practice's latest admission for this period and scheme (queue/latest.hpp): until the
-- worker has recorded it, only Redis knows that an older calculated submission is superseded.
if #KEYS == 5 and ARGV[15] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[15], submission_id)
  redis.call('EXPIRE', KEYS[5], ttl_seconds)
end

return {'accepted', entry_id, remaining, reset_after}
