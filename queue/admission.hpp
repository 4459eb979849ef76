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
//   otherwise             -> rate limit charged, one stream entry (XADD, never MAXLEN), the status
//                            record and the idempotency record (both with idempotency.ttl_seconds)
//
// Script contract (admission.lua's header says the same):
//   KEYS  1 idem_key  2 ratelimit_key  3 queue_key  4 submission_key   (one shard's hash tag)
//         5 latest_key (optional, with ARGV 15)
//   ARGV  1 body_sha256_hex  2 submission_id  3 practice  4 received_at  5 receipt_json
//         6 queue_payload  7 rate  8 burst  9 idem_ttl_seconds  10 state ("done" | "pending")
//         11 now_us ("" = Redis TIME)  12 pending_timeout_ms (optional)
//         13 deadline_us (optional; "" = none)  14 idempotency_key (optional: queued as "idem")
//         15 latest field "<period>/<scheme>" (optional: the admitted id becomes the practice's
//            latest for it, queue/latest.hpp)
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
#include "queue/call.hpp"
#include "redis/reply.hpp"
#include "redis/script.hpp"

#include <concepts>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::queue {

// The embedded scripts (gcra.lua + admission.lua, and complete.lua), for SCRIPT LOAD / EVAL.
std::string_view admission_script_source() noexcept;
std::string_view complete_script_source() noexcept;
// The same as scripts for redis::client (register_script, async_eval); one object each per process.
const redis::script& admission_script();
const redis::script& complete_script();

struct admission_request {
    std::string practice;         // the authenticated practice (== the body's)
    std::string idempotency_key;  // validated: 1 to 255 printable ASCII characters
    std::string body_sha256_hex;  // SHA-256 of the body as received, lowercase hex
    std::string received_at;      // RFC 3339 UTC, as in the receipt
    std::string queue_payload;    // the request body, queued for the worker
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
    std::string submission_id;  // "<shard>-<32 hex digits>", in the practice's shard (keys.hpp)

    // ARGV 5: the 202 body the records keep and a replay answers byte for byte.
    const std::string& receipt() const noexcept { return argv[4]; }
};

// How long a "pending" idempotency record answers in_use (ARGV 12): comfortably longer than a
// WAIT plus the completion call, each bounded by redis.timeout_ms.
std::uint64_t pending_timeout_ms(const config::settings& settings) noexcept;

// The admission script's call for `request`. A new submission id is minted from `random` in the
// practice's shard (the id encodes it, so GET /v1/submissions/{id} finds the record without an
// index); `receipt(id)` makes the 202 body for that id (the gateway's words: the HTTP answer is
// its own). The state is "pending" iff settings.durability.replicas > 0. The request's strings are
// moved into the call (the body is not copied again).
template <std::uniform_random_bit_generator Random, std::invocable<std::string_view> Receipt>
admission_call build_admission_call(admission_request request, const config::settings& settings, Random& random,
                                    Receipt&& receipt);

// The completion script's call (pending -> done), after WAIT: KEYS {idem_key}, ARGV {submission_id}.
// Its reply is an integer: 1 completed, 0 nothing to do (already done, expired or another id).
script_call build_completion_call(std::string_view practice, std::string_view idempotency_key,
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

// ---- implementation ----------------------------------------------------------------------------

namespace detail {
// Every KEY and ARGV but the receipt (ARGV 5, left empty), under the id made of `high` and `low`.
admission_call admission_call_for(admission_request&& request, const config::settings& settings, std::uint64_t high,
                                  std::uint64_t low);
}  // namespace detail

template <std::uniform_random_bit_generator Random, std::invocable<std::string_view> Receipt>
admission_call build_admission_call(admission_request request, const config::settings& settings, Random& random,
                                    Receipt&& receipt) {
    std::uniform_int_distribution<std::uint64_t> bits;
    const std::uint64_t high = bits(random);
    const std::uint64_t low = bits(random);
    admission_call call = detail::admission_call_for(std::move(request), settings, high, low);
    call.argv[4] = std::forward<Receipt>(receipt)(std::string_view(call.submission_id));
    return call;
}

}  // namespace sluice::queue
