// Operator log lines on stderr, for every sluice program:
//     2026-03-31T23:58:12.345Z sluice-gateway warning: message
// main() names the program once (set_log_program). Not for per-request or per-entry events:
// those are counted in metrics.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sluice::config {

enum class log_level { info, warning, error };

// The name at the head of every line ("sluice"); call once, before other threads start.
void set_log_program(std::string_view name);

// One write() per line, so lines from different threads never interleave.
void log(log_level level, std::string_view message);

// RFC 3339 UTC with milliseconds: "2026-03-31T23:58:12.345Z".
std::string rfc3339_millis(std::chrono::system_clock::time_point when);
inline std::string utc_timestamp() { return rfc3339_millis(std::chrono::system_clock::now()); }

}  // namespace sluice::config
