// Operator log (see log.hpp). One write() per line so lines from threads never interleave.
#include "gateway/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <unistd.h>

namespace sluice::gateway {

void log(log_level level, std::string_view message) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis));
    std::string line;
    line.reserve(message.size() + 64);
    line.append(stamp);
    line.append(" sluice-gateway ");
    line.append(level == log_level::info ? "info: " : level == log_level::warning ? "warning: " : "error: ");
    line.append(message);
    line.push_back('\n');
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sluice::gateway
