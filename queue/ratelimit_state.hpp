// A practice's rate-limit state in Redis, read without charging it: for the RateLimit field of an
// answer that did not run the admission script (a refused request, a status lookup). The state
// is the GCRA's theoretical arrival time (tat, µs) that the admission script keeps in the
// practice's hash, field "tat" (keys.hpp); none, or one in the past, means a full bucket. Pure: the call and the parse; the caller
// sends the call.
#pragma once

#include "config/config.hpp"
#include "queue/call.hpp"
#include "ratelimit/gcra.hpp"
#include "redis/reply.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::queue {

// HGET <the practice's hash> tat.
command_call build_ratelimit_peek_call(std::string_view practice, const config::settings& settings);

// A reply that holds a tat (a string of decimal µs) or none (nil): {true, tat or nullopt}; a
// string that is not a number reads as none, as if the key were absent. Any other reply (an
// error, an integer, an array): {false, nullopt}.
struct tat_reading {
    bool valid = false;
    std::optional<std::int64_t> tat_us;
};
tat_reading read_tat(const redis::reply& reply);

// The practice's allowance now, from a tat read uncharged (ratelimit::gcra_peek with the
// configured policy).
ratelimit::gcra_decision ratelimit_state(std::optional<std::int64_t> tat_us, const config::settings& settings,
                                         std::int64_t now_us);

}  // namespace sluice::queue
