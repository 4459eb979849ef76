// Redis key layout and sharding (DESIGN.md "Key layout").
//
// A practice belongs to one of `redis.shards` queue shards, chosen by shard_of(). Every key of
// one admission carries that shard's hash tag, so the admission script touches one Redis
// Cluster slot and runs unchanged on a cluster:
//
//     sluice:{7}:sub:7-<24 hex>                  a submission's record (hash): its idempotency
//                                                record and its status in one (queue/status.hpp)
//     sluice:{7}:practice:A81001                 the practice's state (hash): "tat", the rate
//                                                limit's (µs), and its latest admission per period
//                                                and scheme ("2024-25/QOF" -> submission id;
//                                                queue/latest.hpp)
//     sluice:{7}:q                               the shard's queue (stream)
//
// A submission id is "<shard>-<24 hex>-<11 hex>": the first part is the record's name, the first
// 96 bits of SHA-256 over the practice and the Idempotency-Key, so a retry with the key and
// GET /v1/submissions/{id} find the same record without an index and without a second key; the
// second part is the admission's time in ms (hex), so that the key used again after its record
// has expired names a new submission (the system of record keeps every id forever). The id
// encodes its shard, so GET goes straight to the right node. A record whose "id" field is not the
// id asked for is a later admission with the same key: the one asked for has left Redis.
//
// Before records were merged (stop 22), ids were "<shard>-<32 hex>" (random) and each admission
// also wrote sluice:{7}:idem:<practice>:<key> and sluice:{7}:rl:<practice>: such an id still names
// its record (sluice:{7}:sub:<id>), and the admission script still reads a legacy idempotency
// record, so a retry across an upgrade replays rather than queueing twice. Both go with the last
// legacy record (idempotency.ttl_seconds after the upgrade).
//
// Invariants: shard_of() is FNV-1a 64 of the practice code's bytes, modulo the shard count. It
// decides where data lives, so it is FIXED FOREVER (a test pins its values): changing the hash,
// or `redis.shards` for a keyspace that holds data, strands queued entries and records under
// keys nobody looks at. Hash tags cannot be confused by client-chosen parts (an idempotency key
// containing '{'): Redis hashes the first {...} of a key, which is always ours.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sluice::queue {

// FNV-1a, 64 bits (offset basis 14695981039346656037, prime 1099511628211).
std::uint64_t fnv1a_64(std::string_view bytes) noexcept;

// fnv1a_64(practice) % shards; shards 0 is taken as 1 (config guarantees 1..16384).
std::uint32_t shard_of(std::string_view practice, std::uint32_t shards) noexcept;

// "{7}"
std::string hash_tag(std::uint32_t shard);
// sluice:{7}:idem:A81001:<idempotency key>: a legacy idempotency record (read only, see above)
std::string idem_key(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key);
// sluice:{7}:practice:A81001
std::string practice_key(std::uint32_t shard, std::string_view practice);
// sluice:{7}:q
std::string queue_key(std::uint32_t shard);
// The record of a submission: sluice:{7}:sub:7-<24 hex> for an id "7-<24 hex>-<11 hex>",
// sluice:{7}:sub:<id> for a legacy one (and for anything else: callers check ids first).
std::string submission_key(std::uint32_t shard, std::string_view submission_id);

// The record of the submission admitted for `practice` with `idempotency_key` (whatever its
// time): submission_key of any submission_id_for them.
std::string record_key(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key);

// Hex digits of a submission id: the record's name (96 bits) and the admission's time in ms
// (44 bits: until the year 2527).
inline constexpr std::size_t submission_record_hex_digits = 24;
inline constexpr std::size_t submission_time_hex_digits = 11;
// Hex digits of a legacy id (128 random bits).
inline constexpr std::size_t submission_id_hex_digits = 32;

// "<shard>-<24 hex>-<11 hex>" for `practice` and its `idempotency_key`, admitted at
// `received_ms` (ms since the epoch; taken modulo 2^44): the same practice and key give the same
// record name, so every gateway instance admits a key under one record.
std::string submission_id_for(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key,
                              std::int64_t received_ms);

// "<shard>-<32 lowercase hex digits of high then low>": the legacy form, still minted by tests and
// benches that queue entries directly (no idempotency key).
std::string new_submission_id(std::uint32_t shard, std::uint64_t random_high, std::uint64_t random_low);

template <std::uniform_random_bit_generator Generator>
std::string new_submission_id(std::uint32_t shard, Generator& random) {
    std::uniform_int_distribution<std::uint64_t> bits;
    const std::uint64_t high = bits(random);
    const std::uint64_t low = bits(random);
    return new_submission_id(shard, high, low);
}

// The shard of a well-formed id, else nullopt (answer 404). Well-formed, exactly: a decimal
// shard below `shards` without sign or leading zeros, '-', then 24 lowercase hex digits, '-' and
// 11 more, or (legacy) 32 lowercase hex digits; nothing else.
std::optional<std::uint32_t> shard_of_submission_id(std::string_view id, std::uint32_t shards) noexcept;

}  // namespace sluice::queue
