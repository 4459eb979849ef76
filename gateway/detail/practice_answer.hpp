// What every answer to a practice's request carries, shared by the practice-facing handlers
// (internal to gateway/): authentication by bearer token (401, 429 for an address that keeps
// failing), Credential-Expires and RateLimit-Policy once authenticated, RateLimit when the
// practice's state is known, and the 503 that says nothing was done.
//
// Every answer to an authenticated request carries RateLimit-Policy and, when the rate-limit
// state is known (from the admission script, or read from Redis for answers that were not
// charged), RateLimit. A 503 never reaches Redis (or Redis did not answer), so its RateLimit
// says only what is true of it: nothing is allowed until Retry-After.
#pragma once

#include "gateway/detail/handler.hpp"
#include "gateway/problem.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::gateway::detail {

std::int64_t micros_since_epoch(std::chrono::system_clock::time_point t);

// Authenticates the request; on failure fills the answer (401, or 429 for an address that keeps
// failing) and returns null.
const credentials::credential* authenticate(const exchange& x, std::chrono::system_clock::time_point now);

// Credential-Expires within credentials.warn_days of the token's end, and RateLimit-Policy.
void authenticated_headers(const exchange& x, const credentials::credential& who,
                           std::chrono::system_clock::time_point now);

void add_rate_limit(const exchange& x, std::uint32_t remaining, std::int64_t reset_after_us);

// For answers that did not run the admission script: the practice's current state, uncharged.
net::awaitable<void> add_current_rate_limit(const exchange& x, const std::string& practice);

// 503 to an authenticated request with this Retry-After; RateLimit says nothing is allowed until then.
void unavailable(const exchange& x, problem p, std::string_view detail, int retry_after);
// Redis is unreachable or answered wrongly: nothing says when it will be back, so the base is
// jittered over [1, 2] s (ratelimit/retry_after.hpp): the clients that came in one second come
// back over two.
void unavailable(const exchange& x, problem p, std::string_view detail);

}  // namespace sluice::gateway::detail
