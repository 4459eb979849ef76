// The command line of every sluice executable, in two layers.
//
// 1. The option parser (parse_options): the one argv parser of sluice-gateway, sluice-worker,
//    sluice-token and sluice-loadtest. A program declares its grammar (option_grammar): the
//    options it takes, each "--name VALUE" or "--name=VALUE", or a switch "--name"; whether it
//    takes a command word, and where ("sluice-token issue", "sluice-loadtest generate"); the words
//    of its usage errors, which are part of each tool's interface and differ between them
//    ("unknown option --x" or "unknown argument '--x' (try --help)"). --help and -h are always
//    understood, anywhere, and never stop the parse: a mistake after --help is still a mistake.
//    Rules, the same for every program: an option is given at most once (a switch may be declared
//    repeatable); a value is the next argument whatever it looks like, or what follows '=';
//    "--name=VALUE" of a switch or "--help=x" is a mistake; an argument that does not start with
//    "--" (other than -h) is a command word where the grammar has one, else a mistake. Every
//    mistake is a usage_error whose what() is the one line to show.
//
// 2. The servers' command line (handle_command_line): --config FILE, --check-config, --help of
//    sluice-gateway and sluice-worker, whose main() is:
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

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

// Exit status of a program whose arguments or configuration are wrong.
inline constexpr int exit_bad_configuration = 2;

// An argument the program does not take, a value missing or refused, an option given twice;
// what() is the one line to show (without the program name).
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ---- 1. the option parser ----------------------------------------------------------------------

// One option a program takes.
struct option_spec {
    std::string_view name;    // "--tokens"
    bool takes_value = true;  // false: a switch ("--verify")
    bool repeatable = false;  // a switch that may be given more than once
};

// Where a command word may stand.
enum class command_word {
    none,            // nowhere: every bare word is an unexpected argument
    first_bare_word, // the first argument not starting with '-', wherever it is (sluice-token)
    argument_one,    // argv[1] only, and only one of option_grammar::commands (sluice-loadtest)
};

// The words of the usage errors. In each, {name} stands for the option's name ("--config") and
// {arg} for the whole argument as given ("--config=a").
struct usage_wording {
    std::string unknown_option = "unknown option {name}";
    std::string unexpected_argument = "unexpected argument \"{arg}\"";
    std::string needs_value = "{name} needs a value";
    std::string given_twice = "{name} is given twice";
    std::string takes_no_value = "{name} takes no value";
};

struct option_grammar {
    std::vector<option_spec> options;
    command_word command = command_word::none;
    std::vector<std::string_view> commands;  // for argument_one
    bool empty_value_is_missing = false;     // "--config=" and "--config ''": wording.needs_value
    usage_wording wording;
};

// What parse_options() found. Values are kept as given; reading them as numbers or durations is
// the caller's (whole() for the common case), with messages of the form bad_value() makes.
class parsed_options {
public:
    std::string program;  // argv[0]'s file name ("sluice" when there is none), for messages
    std::string command;  // the command word, "" when none
    bool help = false;    // --help or -h

    // Whether the option (valued or switch) was given.
    bool given(std::string_view name) const;
    // The value of a valued option; none when not given.
    std::optional<std::string> value(std::string_view name) const;
    // The value; usage_error(`missing`) when not given, the grammar's needs_value when empty.
    const std::string& required(std::string_view name, const std::string& missing) const;
    // A whole number from low to high, `fallback` when not given; otherwise usage_error
    // `NAME "TEXT": expected a whole number from LOW to HIGH` ("a whole number of UNIT" with a unit).
    std::uint64_t whole(std::string_view name, std::uint64_t fallback, std::uint64_t low, std::uint64_t high,
                        std::string_view unit = {}) const;
    // usage_error "WHAT takes no option NAME" for the first option given that is not in `allowed`
    // (valued options by name, then switches in the order given).
    void allow_only(const std::vector<std::string_view>& allowed, std::string_view what) const;
    // Gives a valued option `value` unless it was given: a preset's defaults, which explicit
    // options override.
    void set_default(std::string_view name, std::string value);

private:
    friend parsed_options parse_options(int argc, const char* const* argv, const option_grammar& grammar);

    std::map<std::string, std::string, std::less<>> values_;
    std::vector<std::string> switches_;  // in the order given
    std::string needs_value_ = "{name} needs a value";
};

// Parses argv by `grammar` (see the top of this file). Throws usage_error.
parsed_options parse_options(int argc, const char* const* argv, const option_grammar& grammar);

// `FLAG "VALUE": EXPECTED`, the form of every refused value.
usage_error bad_value(std::string_view flag, std::string_view value, std::string_view expected);

// ---- 2. the servers' command line --------------------------------------------------------------

struct command_line {
    std::string program = "sluice";                    // argv[0]'s file name, for messages
    std::optional<std::filesystem::path> config_file;  // --config FILE (or --config=FILE)
    bool check_config = false;                         // --check-config
    bool help = false;                                 // --help or -h
};

// Throws usage_error: an argument the program does not take, or --config without a FILE or
// given twice.
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
