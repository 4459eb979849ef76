// Redis key layout and sharding (DESIGN.md "Key layout").
//
// A practice belongs to one of `redis.shards` queue shards, chosen by shard_of(). Every key of
// one admission carries that shard's hash tag, so the admission script touches one Redis
// Cluster slot and runs unchanged on a cluster:
//
//     sluice:{7}:idem:A81001:<idempotency key>   idempotency record (hash)
//     sluice:{7}:rl:A81001                       rate-limit state (tat, µs)
//     sluice:{7}:q                               the shard's queue (stream)
//     sluice:{7}:sub:<submission id>             submission status (hash)
//     sluice:{7}:latest:A81001                   the latest admission per period and scheme (hash:
//                                                "2024-25/QOF" -> submission id; queue/latest.hpp)
//
// Submission ids encode their shard ("7-" + 32 lowercase hex digits), so GET /v1/submissions/{id}
// goes straight to the right key (and node) without an index.
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
// sluice:{7}:idem:A81001:<idempotency key>
std::string idem_key(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key);
// sluice:{7}:rl:A81001
std::string ratelimit_key(std::uint32_t shard, std::string_view practice);
// sluice:{7}:q
std::string queue_key(std::uint32_t shard);
// sluice:{7}:sub:<submission id>
std::string submission_key(std::uint32_t shard, std::string_view submission_id);

// sluice:{7}:latest:A81001
std::string latest_key(std::uint32_t shard, std::string_view practice);

// Random hex digits in a submission id (128 bits).
inline constexpr std::size_t submission_id_hex_digits = 32;

// "<shard>-<32 lowercase hex digits of high then low>", e.g. "7-0123...". The random bits should
// come from a well-seeded generator (ids are not secrets: GET checks the practice, but
// unguessable ids leak nothing even if that check were wrong).
std::string new_submission_id(std::uint32_t shard, std::uint64_t random_high, std::uint64_t random_low);

template <std::uniform_random_bit_generator Generator>
std::string new_submission_id(std::uint32_t shard, Generator& random) {
    std::uniform_int_distribution<std::uint64_t> bits;
    const std::uint64_t high = bits(random);
    const std::uint64_t low = bits(random);
    return new_submission_id(shard, high, low);
}

// The shard of a well-formed id, else nullopt (answer 404). Well-formed, exactly: a decimal
// shard below `shards` without sign or leading zeros, '-', 32 lowercase hex digits, nothing else.
std::optional<std::uint32_t> shard_of_submission_id(std::string_view id, std::uint32_t shards) noexcept;

}  // namespace sluice::queue
