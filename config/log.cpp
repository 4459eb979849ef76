// Operator log (see log.hpp).
#include "config/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace sluice::config {

namespace {
std::string program = "sluice";
}

void set_log_program(std::string_view name) { program.assign(name); }

std::string rfc3339_millis(std::chrono::system_clock::time_point when) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms % 1000));
    return stamp;
}

void log(log_level level, std::string_view message) {
    std::string line = utc_timestamp();
    line.reserve(line.size() + program.size() + message.size() + 16);
    line.push_back(' ');
    line.append(program);
    line.append(level == log_level::info ? " info: " : level == log_level::warning ? " warning: " : " error: ");
    line.append(message);
    line.push_back('\n');
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sluice::config
