// A practice's latest admission per period and scheme, as Redis knows it before the worker has
// recorded it (API.md "v1 additions": `current` is the latest submission received for a practice,
// period and scheme; a declaration must be of the current one).
//
// The admission script writes the practice's hash `sluice:{S}:practice:<practice>` (keys.hpp),
// whose field latest_field(period, scheme) names the last submission admitted for them, in the
// same atomic call that queues it, and keeps it for idempotency.ttl_seconds (the hash's other
// field, "tat", is the rate limit's and is not read here). The system of record learns of a
// submission only when the worker has calculated it; until then this hash is what says that a
// calculated submission in PostgreSQL has been superseded by one still queued. Pure: the call
// and the reading of its reply; the gateway sends it.
#pragma once

#include "config/config.hpp"
#include "queue/call.hpp"
#include "redis/reply.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::queue {

// "2024-25/QOF": the hash field of one period and scheme.
std::string latest_field(std::string_view period, std::string_view scheme);

// HGETALL of the practice's hash.
command_call build_latest_call(std::string_view practice, const config::settings& settings);

struct latest_reading {
    bool valid = false;                      // false: not a reply of HGETALL (an error, ...)
    std::map<std::string, std::string> ids;  // latest_field -> submission id
};

// Strict: an array of an even number of strings; empty (no key) is valid and knows nothing.
// Fields without a '/' (the rate limit's "tat") are not ids and are left out.
latest_reading read_latest(const redis::reply& reply);

// The latest submission id for (period, scheme), if the reading names one.
std::optional<std::string_view> latest_id(const latest_reading& reading, std::string_view period,
                                          std::string_view scheme);

}  // namespace sluice::queue
