-- GET /v1/submissions/{id}: the submission's status record and the practice's rate-limit state,
-- in one round trip. Reads only.
--   KEYS 1 submission key (sluice:{s}:sub:<id>)   2 rate-limit key (sluice:{s}:rl:<practice>)
--   reply {flat HGETALL array, tat or false}
return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2])}
