// What the sign-off endpoints share (internal to gateway/): who may ask what (roles, the
// organisations file), and calls to the system of record that fail fast.
//
// PostgreSQL down, its pool exhausted, or a call slower than ledger.timeout_ms: the answer is 503
// ledger-unavailable with a jittered Retry-After, at once (the client's pool never queues a call:
// ledger/client.hpp), and nothing was recorded, or (a write that timed out) what was recorded is
// replayed by a retry with the same Idempotency-Key. None of this touches the admission path.
#pragma once

#include "credentials/credentials.hpp"
#include "gateway/detail/handler.hpp"
#include "ledger/client.hpp"
#include "queue/latest.hpp"
#include "queue/status.hpp"

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::gateway::detail {

// Authenticates (401 / 429 answered when it fails), then adds Credential-Expires, the rate-limit
// policy and the token's current RateLimit, read from Redis uncharged (as a status answer does:
// every answer to an authenticated request carries both; sign-off requests are not charged, and
// Redis down only leaves RateLimit out). Null when answered.
net::awaitable<const credentials::credential*> authenticate_for_sign_off(const exchange& x,
                                                                         std::chrono::system_clock::time_point now);

// Whether `who`'s role is one of `roles`; otherwise answers 403 not-permitted saying what the
// role may not do.
bool permitted(const exchange& x, const credentials::credential& who, std::initializer_list<credentials::role> roles,
               std::string_view action);

// Whether `who` may read what is about `practice`: the practice itself, or its commissioner in
// the organisations file. (An operator reads only the outstanding list.)
bool covers(const exchange& x, const credentials::credential& who, std::string_view practice);

// 503 ledger-unavailable, Retry-After jittered over [1, 2] s.
void ledger_unavailable(const exchange& x, std::string_view detail);

// Whether this core has a ledger with a ready connection; otherwise answers 503.
bool ledger_ready(const exchange& x);

struct ledger_reply {
    boost::system::error_code ec;
    std::vector<ledger::result> results;
};

// One call (one transaction) on this core's pool.
net::awaitable<ledger_reply> call_ledger(const exchange& x, std::vector<ledger::statement> statements);
// One statement alone.
net::awaitable<ledger_reply> call_ledger(const exchange& x, ledger::statement statement);

// A failed call's answer: 503 ledger-unavailable (logged when PostgreSQL refused it unexpectedly).
void answer_ledger_failure(const exchange& x, const ledger_reply& reply, std::string_view what);

// What Redis knows of submissions the system of record does not have yet (one still queued or
// being calculated). The status record of this practice's submission `id`: nullopt when Redis has
// none for this practice (or did not answer).
net::awaitable<std::optional<queue::status_record>> status_in_redis(const exchange& x, std::string_view id,
                                                                    const std::string& practice);
// The practice's latest admission per period and scheme (queue/latest.hpp); nullopt when Redis did
// not answer.
net::awaitable<std::optional<queue::latest_reading>> latest_in_redis(const exchange& x, const std::string& practice);
// Whether `reading` names a later admission than `submission_id` for (period, scheme): the one
// that supersedes it, still queued or being calculated.
std::optional<std::string_view> superseded_by(const queue::latest_reading& reading, std::string_view period,
                                              std::string_view scheme, std::string_view submission_id);

// 16 random bytes as 32 hex digits, for new declaration ids.
std::string random_id(core& c);

}  // namespace sluice::gateway::detail
