// The command line every sluice program shares: --config FILE, --check-config, --help.
//
// A program's main() is:
//
//   int main(int argc, char** argv) {
//       auto start = sluice::config::handle_command_line(argc, argv, "accepts practice submissions");
//       if (start.exit_code) return *start.exit_code;
//       return run(start.config);
//   }
//
// handle_command_line() has already done everything else: --help printed, --check-config printed
// the effective configuration (file + SLUICE_* environment), a usage or configuration error
// reported as one line on stderr. Exit codes: 0 for --help and a valid --check-config; 2 for a
// usage error and for a configuration error (so main() never catches config_error itself).
#pragma once

#include "config/config.hpp"

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::config {

// Exit status of a program whose arguments or configuration are wrong.
inline constexpr int exit_bad_configuration = 2;

struct command_line {
    std::string program = "sluice";                    // argv[0]'s file name, for messages
    std::optional<std::filesystem::path> config_file;  // --config FILE (or --config=FILE)
    bool check_config = false;                         // --check-config
    bool help = false;                                 // --help or -h
};

// An argument the program does not take, or --config without a FILE or given twice.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws usage_error; what() is the one line to show (without the program name).
command_line parse_command_line(int argc, const char* const* argv);

// The --help text: usage line, `summary`, the options and the environment override rule.
std::string usage(std::string_view program, std::string_view summary);

// --check-config: loads args.config_file (if any) with `env`, writes to_toml() to `out` and
// returns 0; or writes the config_error's line to `err` and returns exit_bad_configuration.
int check_config_main(const command_line& args, const environment& env, std::ostream& out, std::ostream& err);

struct startup {
    std::optional<int> exit_code;                      // set: main() returns it at once, all has been said
    settings config;                                   // otherwise: the validated configuration to run with
    std::optional<std::filesystem::path> config_file;  // --config FILE, to load() again on SIGHUP
};

// Parses argv and handles --help, --check-config and every error (see the top of this file),
// with process_environment(), std::cout and std::cerr.
startup handle_command_line(int argc, const char* const* argv, std::string_view summary);

// The same with the environment and the streams given (tests).
startup handle_command_line(int argc, const char* const* argv, std::string_view summary, const environment& env,
                            std::ostream& out, std::ostream& err);

}  // namespace sluice::config
