// Operator log lines on stderr: "2026-03-31T23:58:12.345Z sluice-gateway level: message".
// Not for the request path: requests are counted in metrics, not logged one by one.
#pragma once

#include <string_view>

namespace sluice::gateway {

enum class log_level { info, warning, error };

void log(log_level level, std::string_view message);

}  // namespace sluice::gateway
