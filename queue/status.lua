-- GET /v1/submissions/{id}: the submission's status record and the practice's rate-limit state,
-- in one round trip. Reads only. (queue/status.hpp builds the call and parses the reply.)
--   KEYS 1 submission key (sluice:{s}:sub:<id>)   2 rate-limit key (sluice:{s}:rl:<practice>)
--   reply {flat HGETALL array, tat or false}
-- For the practice's own submission both keys carry one shard's hash tag (an id is minted in its
-- practice's shard); an id of another shard names a key of that shard.
return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2])}
