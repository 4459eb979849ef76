// The admission of one submission: the arguments of the atomic Redis script (queue/admission.lua
// run after ratelimit/gcra.lua), the submission id it is admitted under, and the meaning of its
// reply. Pure: no I/O; the gateway sends the call with its Redis client (EVALSHA, falling back to
// EVAL/SCRIPT LOAD on NOSCRIPT) and answers from the parsed reply. The queue owns the whole
// contract: which shard, which keys, which id (build_admission_call mints it in the practice's
// shard), what the reply means.
//
// One call does, atomically (API.md "Idempotency", "Rate limiting", "Durability"):
//   known idempotency key -> replay (same body), reused (other body) or in_use (still pending);
//                            nothing written, nothing charged
//   over the rate limit   -> limited; nothing written at all
//   otherwise             -> rate limit charged, one stream entry (XADD, never MAXLEN), the
//                            submission's record (idempotency and status in one hash, with
//                            idempotency.ttl_seconds) and the practice's hash (tat, latest)
//
// Script contract (admission.lua's header says the same):
//   KEYS  1 submission_key  2 practice_key  3 queue_key  4 idem_key (legacy, read only)
//         (one shard's hash tag; keys.hpp)
//   ARGV  1 body_sha256_hex  2 submission_id  3 practice  4 received_at  5 queue_payload
//         6 rate  7 burst  8 idem_ttl_seconds  9 state ("done" | "pending")
//         10 now_us ("" = Redis TIME)  11 pending_timeout_ms  12 deadline_us ("" = none)
//         13 idempotency_key (queued as "idem")  14 latest field "<period>/<scheme>" ("" = none)
//   reply {"accepted", entry_id, remaining, reset_after_us}
//         {"replay", status, body, submission_id, remaining, reset_after_us, received_at}
//             (body "": rebuild the receipt from the id and received_at; else a legacy record's)
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
#include "queue/call.hpp"
#include "redis/reply.hpp"
#include "redis/script.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::queue {

// The embedded scripts (gcra.lua + admission.lua, and complete.lua), for SCRIPT LOAD / EVAL.
std::string_view admission_script_source() noexcept;
std::string_view complete_script_source() noexcept;
// The same as scripts for redis::client (register_script, async_eval); one object each per process.
const redis::script& admission_script();
const redis::script& complete_script();

struct admission_request {
    std::string practice;          // the authenticated practice (== the body's)
    std::string idempotency_key;   // validated: 1 to 255 printable ASCII characters
    std::string body_sha256_hex;   // SHA-256 of the body as received, lowercase hex
    std::string received_at;       // RFC 3339 UTC, as in the receipt
    std::int64_t received_ms = 0;  // the same instant, ms since the epoch: the id's time part
    std::string queue_payload;     // the request body, queued for the worker
    // latest_field(period, scheme) of the validated body: the admitted id becomes the practice's
    // latest submission for them (what a declaration of an older one is refused by). Empty: not
    // recorded (tests of the script alone).
    std::string latest_field;
    // Tests only: the script's clock in µs. Production leaves it empty (Redis TIME), so all
    // gateway instances share one clock.
    std::optional<std::int64_t> now_us;
    // When the gateway stops waiting for the reply (its clock, µs since the epoch): a script that
    // Redis runs later than this (a stalled server catching up) writes nothing and answers
    // expired, so a 503 for a timed-out call never hides a queued submission. Empty: no deadline.
    std::optional<std::int64_t> deadline_us;
};

// The admission script's call, and the submission id it admits the request under.
struct admission_call : script_call {
    std::string submission_id;  // submission_id_for(shard, practice, key, received_ms) (keys.hpp)
};

// How long a "pending" idempotency record answers in_use (ARGV 11): comfortably longer than a
// WAIT plus the completion call, each bounded by redis.timeout_ms.
std::uint64_t pending_timeout_ms(const config::settings& settings) noexcept;

// The admission script's call for `request`, under the id its practice, key and time name in the
// practice's shard (keys.hpp: the id encodes the shard and the record, so GET /v1/submissions/{id}
// and a retry find the record without an index). The state is "pending" iff
// settings.durability.replicas > 0. The request's strings are moved into the call (the body is not
// copied again).
admission_call build_admission_call(admission_request request, const config::settings& settings);

// The completion script's call (pending -> done), after WAIT: KEYS {the submission's record},
// ARGV {submission_id}. Its reply is an integer: 1 completed, 0 nothing to do (already done,
// expired or another admission's).
script_call build_completion_call(std::string_view practice, std::string_view submission_id,
                                  const config::settings& settings);

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
    std::string replay_body;           // replayed: a legacy record's stored body; empty: rebuild it
    std::string replay_submission_id;  // replayed: the first submission's id (Location)
    std::string replay_received_at;    // replayed: the first receipt's received_at (empty: legacy)
    // For the RateLimit header; every outcome but invalid_reply. limited: remaining is 0.
    std::uint32_t remaining = 0;
    std::int64_t reset_after_us = 0;
    std::int64_t retry_after_us = 0;  // limited (> 0)
    std::string error;                // invalid_reply: what was wrong, with a Redis error's text
};

// Strict: anything but exactly one of the reply shapes above is invalid_reply.
admission_result parse_admission_reply(const redis::reply& reply);

}  // namespace sluice::queue
