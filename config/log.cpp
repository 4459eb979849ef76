// Operator log (see log.hpp).
#include "config/log.hpp"

#include "config/rfc3339.hpp"

#include <unistd.h>

#include <string>

namespace sluice::config {

namespace {
std::string program = "sluice";
}

void set_log_program(std::string_view name) { program.assign(name); }

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
