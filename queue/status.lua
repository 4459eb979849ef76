-- GET /v1/submissions/{id}: the submission's record and the practice's rate-limit state, in one
-- round trip. Reads only. (queue/status.hpp builds the call and parses the reply.)
--   KEYS 1 the submission's record (sluice:{s}:sub:...)   2 the practice's hash (sluice:{s}:practice:<practice>)
--   reply {flat HGETALL array, tat or false}
-- For the practice's own submission both keys carry one shard's hash tag (an id is minted in its
-- practice's shard); an id of another shard names a key of that shard.
return {redis.call('HGETALL', KEYS[1]), redis.call('HGET', KEYS[2], 'tat')}
