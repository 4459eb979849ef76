// The RateLimit-Policy and RateLimit response fields of draft-ietf-httpapi-ratelimit-headers
// (the current draft's Structured Fields syntax, which replaced RateLimit-Limit/-Remaining/-Reset):
//
//     RateLimit-Policy: "practice";q=10;w=5
//     RateLimit: "practice";r=7;t=2
//
// The draft describes a quota `q` per window of `w` seconds. A GCRA has no windows; the closest
// honest description: `q` = burst (what a client may send at once after being idle) and
// `w` = ceil(burst / rate), the seconds after which an emptied bucket is full again (over any
// span t the GCRA allows burst + rate*t, so a client that sends q per w never hits the limit).
// `r` = requests allowed right now, `t` = seconds until the bucket is full again, rounded up
// (0 when it already is).
//
// The functions return field values only (no name, no CRLF); the policy name must be a
// Structured Fields String (printable ASCII; '"' and '\' are escaped here).
#pragma once

#include "ratelimit/gcra.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::ratelimit {

inline constexpr std::string_view ratelimit_policy_field = "RateLimit-Policy";
inline constexpr std::string_view ratelimit_field = "RateLimit";
// The policy name sluice uses for the per-practice limit.
inline constexpr std::string_view practice_policy_name = "practice";

// ceil(burst / rate) seconds, at least 1 (the draft's w is a positive integer).
std::int64_t policy_window_seconds(const gcra_policy& policy) noexcept;

// "practice";q=<burst>;w=<policy_window_seconds>
std::string ratelimit_policy_value(std::string_view policy_name, const gcra_policy& policy);

// "practice";r=<remaining>;t=<ceil(reset_after_us / 1e6), at least 0>
std::string ratelimit_value(std::string_view policy_name, std::uint32_t remaining, std::int64_t reset_after_us);

// Same, from a decision of gcra_check or gcra_peek.
std::string ratelimit_value(std::string_view policy_name, const gcra_decision& decision);

}  // namespace sluice::ratelimit
