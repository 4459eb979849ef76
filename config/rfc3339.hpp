// RFC 3339 date-times in UTC, the one way every sluice program writes and reads time: the log's
// stamps, receipts' received_at, the credential file's not_after, sluice-token's arguments.
//
//   format_rfc3339         2027-03-31T23:59:59Z        whole seconds (credentials, Credential-Expires)
//   rfc3339_millis         2026-03-31T23:58:12.345Z    milliseconds (log lines, received_at)
//   parse_rfc3339          the forms above and more, UTC only, to the second
//
// Pure and thread-safe (gmtime_r; no locale).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

// `2027-03-31T23:59:59Z`.
std::string format_rfc3339(std::chrono::sys_seconds when);

// RFC 3339 UTC with milliseconds: "2026-03-31T23:58:12.345Z".
std::string rfc3339_millis(std::chrono::system_clock::time_point when);
inline std::string utc_timestamp() { return rfc3339_millis(std::chrono::system_clock::now()); }

// Why a text is not an RFC 3339 UTC time: not one at all, or one with another offset (a message
// can then say "not in UTC" rather than "malformed").
enum class rfc3339_fault { none, malformed, not_utc };

struct rfc3339_reading {
    std::chrono::sys_seconds when{};  // set when fault == none
    rfc3339_fault fault = rfc3339_fault::malformed;
};

// RFC 3339 date-time in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00|-00:00)`; `t` and `z` may
// be lower case. A fraction is dropped (rounded down to the second). Other offsets are not_utc;
// leap seconds (:60), impossible dates and trailing text are malformed.
rfc3339_reading read_rfc3339(std::string_view text);

// read_rfc3339(text).when, or nullopt for any fault.
std::optional<std::chrono::sys_seconds> parse_rfc3339(std::string_view text);

}  // namespace sluice::config
