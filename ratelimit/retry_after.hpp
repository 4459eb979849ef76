// Retry-After values (RFC 9110 §10.2.3, delay-seconds form): whole seconds, and at least 1,
// because "Retry-After: 0" invites an immediate retry, which is exactly the stampede a 429 or
// 503 is meant to stop.
//
// 429 (rate limited): the exact GCRA wait, rounded up, so a client that obeys it is admitted.
// 503 (shed: overloaded or Redis unavailable): no exact wait exists, and thousands of clients
// shed in the same millisecond would all come back in the same second ("the more error reports
// that are sent, the more people press OK"). So the base is spread uniformly over
// [base, 2*base]: the returning load is at most half as steep. The random input is a parameter
// (the caller owns the generator, one per thread), which keeps this pure and testable.
#pragma once

#include <cstdint>

namespace sluice::ratelimit {

// The largest value returned (one day): a Retry-After beyond it is a bug, not advice.
inline constexpr int max_retry_after_seconds = 86'400;

// ceil(wait_us / 1e6), at least 1, at most max_retry_after_seconds. Negative or zero waits give 1.
int retry_after_seconds(std::int64_t wait_us) noexcept;

// base + (random mod (base + 1)): uniform over [base, 2*base] for a uniform 64-bit `random`.
// base below 1 is taken as 1; the result is at most max_retry_after_seconds.
int jittered_retry_after(int base_seconds, std::uint64_t random) noexcept;

}  // namespace sluice::ratelimit
