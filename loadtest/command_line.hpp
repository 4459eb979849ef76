// sluice-loadtest's command line, on the option parser every sluice executable shares
// (config/command_line.hpp): its grammar (a run, or `generate` or `body` as the first argument,
// and the flags each takes), and the readers of its values, whose mistakes are one line naming the
// flag, the value and what was expected (`--timeout "5": expected a duration such as 10s, ...`).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/command_line.hpp"

namespace sluice::loadtest {

// The flags each command takes; --verify, --find-capacity and --quiet are switches (no value).
extern const std::vector<std::string_view> run_flags;
extern const std::vector<std::string_view> generate_flags;
extern const std::vector<std::string_view> body_flags;

config::option_grammar command_grammar();

// The value of a flag a command needs: "--target is required (see sluice-loadtest --help)" when
// it is missing, "--target needs a value" when empty.
const std::string& required_flag(const config::parsed_options& args, std::string_view name);

// A decimal from low to high (`fallback` when not given).
double decimal_flag(const config::parsed_options& args, std::string_view name, double fallback, double low,
                    double high);

// A positive duration such as 10s, 1500ms or 2m (`fallback` when not given).
std::chrono::nanoseconds duration_flag(const config::parsed_options& args, std::string_view name,
                                       std::chrono::nanoseconds fallback);

}  // namespace sluice::loadtest
