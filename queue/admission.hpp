// The admission of one submission: the arguments of the atomic Redis script (queue/admission.lua
// run after ratelimit/gcra.lua) and the meaning of its reply. Pure: no I/O; the gateway sends the
// call with its Redis client (EVALSHA, falling back to EVAL/SCRIPT LOAD on NOSCRIPT).
//
// One call does, atomically (API.md "Idempotency", "Rate limiting", "Durability"):
//   known idempotency key -> replay (same body), reused (other body) or in_use (still pending);
//                            nothing written, nothing charged
//   over the rate limit   -> limited; nothing written at all
//   otherwise             -> rate limit charged, one stream entry (XADD, never MAXLEN), the status
//                            record and the idempotency record (both with idempotency.ttl_seconds)
//
// Script contract (admission.lua's header says the same):
//   KEYS  1 idem_key  2 ratelimit_key  3 queue_key  4 submission_key   (one shard's hash tag)
//   ARGV  1 body_sha256_hex  2 submission_id  3 practice  4 received_at  5 receipt_json
//         6 queue_payload  7 rate  8 burst  9 idem_ttl_seconds  10 state ("done" | "pending")
//         11 now_us ("" = Redis TIME)  12 pending_timeout_ms (optional)
//         13 deadline_us (optional; "" = none)  14 idempotency_key (optional: queued as "idem")
//   reply {"accepted", entry_id, remaining, reset_after_us}
//         {"replay", status, body, submission_id, remaining, reset_after_us}
//         {"reused", remaining, reset_after_us}
//         {"in_use", remaining, reset_after_us}
//         {"limited", retry_after_us, reset_after_us}
//         {"expired"}  (run after deadline_us; nothing written)
//
// With durability.replicas > 0 the record is stored "pending": the gateway sends WAIT, then the
// completion script (build_completion_call) whatever WAIT answered, then answers. A retry in
// between gets in_use (409). If the gateway dies before completing, the record answers in_use
// for pending_timeout_ms and then replays like a finished one (the entry is queued either way),
// instead of blocking that key with 409s for the whole TTL.
#pragma once

#include "config/config.hpp"
#include "redis/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::queue {

// The embedded scripts (gcra.lua + admission.lua, and complete.lua), for SCRIPT LOAD / EVAL.
std::string_view admission_script_source() noexcept;
std::string_view complete_script_source() noexcept;

struct admission_request {
    std::string practice;         // the authenticated practice (== the body's)
    std::string idempotency_key;  // validated: 1 to 255 printable ASCII characters
    // new_submission_id(shard_of(practice, settings.redis.shards), ...): it must encode the
    // practice's shard, or GET /v1/submissions/{id} looks in the wrong place.
    std::string submission_id;
    std::string body_sha256_hex;  // SHA-256 of the body as received, lowercase hex
    std::string received_at;      // RFC 3339 UTC, as in the receipt
    std::string receipt_json;     // the 202 body: stored, and replayed byte for byte
    std::string queue_payload;    // the request body, queued for the worker
    // Tests only: the script's clock in µs. Production leaves it empty (Redis TIME), so all
    // gateway instances share one clock.
    std::optional<std::int64_t> now_us;
    // When the gateway stops waiting for the reply (its clock, µs since the epoch): a script that
    // Redis runs later than this (a stalled server catching up) writes nothing and answers
    // expired, so a 503 for a timed-out call never hides a queued submission. Empty: no deadline.
    std::optional<std::int64_t> deadline_us;
};

// A ready-to-send script call: KEYS and ARGV, owned; the *_views() point into them.
struct admission_call {
    std::uint32_t shard = 0;
    std::vector<std::string> keys;
    std::vector<std::string> argv;

    std::vector<std::string_view> key_views() const;
    std::vector<std::string_view> argv_views() const;
};

// How long a "pending" idempotency record answers in_use (ARGV 12): comfortably longer than a
// WAIT plus the completion call, each bounded by redis.timeout_ms.
std::uint64_t pending_timeout_ms(const config::settings& settings) noexcept;

// The admission script's call. The state is "pending" iff settings.durability.replicas > 0.
// The && overload moves the request's strings (the body is not copied).
admission_call build_admission_call(const admission_request& request, const config::settings& settings);
admission_call build_admission_call(admission_request&& request, const config::settings& settings);

// The completion script's call (pending -> done), after WAIT: KEYS {idem_key}, ARGV {submission_id}.
// Its reply is an integer: 1 completed, 0 nothing to do (already done, expired or another id).
admission_call build_completion_call(std::string_view practice, std::string_view idempotency_key,
                                     std::string_view submission_id, const config::settings& settings);

enum class admission_outcome : std::uint8_t {
    accepted,      // queued: answer 202 with the receipt
    replayed,      // same key, same body, first finished: the stored status and body again
    reused,        // same key, different body: 422 idempotency-key-reused
    in_use,        // same key, first still pending: 409 idempotency-key-in-use, Retry-After: 1
    limited,       // over the rate limit: 429, Retry-After from retry_after_us; nothing written
    expired,       // Redis ran it after deadline_us: nothing written; the answer is 503
    invalid_reply  // not a reply of this script (an error reply, NOSCRIPT, ...): see `error`
};

std::string_view to_string(admission_outcome outcome) noexcept;

struct admission_result {
    admission_outcome outcome = admission_outcome::invalid_reply;
    std::string stream_entry_id;       // accepted
    int replay_status = 0;             // replayed: the stored status (202)
    std::string replay_body;           // replayed: the stored body (the first receipt)
    std::string replay_submission_id;  // replayed: the first submission's id (Location)
    // For the RateLimit header; every outcome but invalid_reply. limited: remaining is 0.
    std::uint32_t remaining = 0;
    std::int64_t reset_after_us = 0;
    std::int64_t retry_after_us = 0;  // limited (> 0)
    std::string error;                // invalid_reply: what was wrong, with a Redis error's text
};

// Strict: anything but exactly one of the reply shapes above is invalid_reply.
admission_result parse_admission_reply(const redis::reply& reply);

}  // namespace sluice::queue
