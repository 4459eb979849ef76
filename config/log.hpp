// Operator log lines on stderr, for every sluice program:
//     2026-03-31T23:58:12.345Z sluice-gateway warning: message
// main() names the program once (set_log_program). Not for per-request or per-entry events:
// those are counted in metrics.
#pragma once

#include <string_view>

namespace sluice::config {

enum class log_level { info, warning, error };

// The name at the head of every line ("sluice"); call once, before other threads start.
void set_log_program(std::string_view name);

// One write() per line, so lines from different threads never interleave.
void log(log_level level, std::string_view message);

}  // namespace sluice::config
