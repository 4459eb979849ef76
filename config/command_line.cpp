// The command line of every sluice executable (command_line.hpp): the option parser, and the
// servers' --config, --check-config and --help, with every usage or configuration error turned into
// one line on stderr and exit status 2.

#include "config/command_line.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <ostream>

namespace sluice::config {
namespace {

std::string program_name(int argc, const char* const* argv)
{
    if (argc > 0 && argv[0] && *argv[0]) return std::filesystem::path(argv[0]).filename().string();
    return command_line{}.program;
}

startup exit_now(int exit_code)
{
    startup start;
    start.exit_code = exit_code;
    return start;
}

// `wording` with {name} and {arg} filled in.
std::string worded(std::string_view wording, std::string_view name, std::string_view arg)
{
    std::string text;
    for (std::size_t at = 0; at < wording.size();) {
        if (wording.substr(at).starts_with("{name}")) {
            text += name;
            at += 6;
        } else if (wording.substr(at).starts_with("{arg}")) {
            text += arg;
            at += 5;
        } else {
            text += wording[at++];
        }
    }
    return text;
}

const option_spec* find_option(const option_grammar& grammar, std::string_view name)
{
    const auto it = std::find_if(grammar.options.begin(), grammar.options.end(),
                                 [&](const option_spec& option) { return option.name == name; });
    return it == grammar.options.end() ? nullptr : &*it;
}

// The servers' grammar: --config FILE and --check-config, in the words their tests hold.
option_grammar server_grammar()
{
    option_grammar grammar;
    grammar.options = {{"--config"}, {"--check-config", false, true}};
    grammar.empty_value_is_missing = true;
    grammar.wording.unknown_option = "unknown argument '{arg}' (try --help)";
    grammar.wording.unexpected_argument = "unknown argument '{arg}' (try --help)";
    grammar.wording.takes_no_value = "unknown argument '{arg}' (try --help)";
    grammar.wording.needs_value = "{name} needs a FILE";
    grammar.wording.given_twice = "{name} given twice";
    return grammar;
}

}  // namespace

// ---- 1. the option parser ----------------------------------------------------------------------

parsed_options parse_options(int argc, const char* const* argv, const option_grammar& grammar)
{
    const usage_wording& words = grammar.wording;
    parsed_options parsed;
    parsed.program = program_name(argc, argv);
    parsed.needs_value_ = words.needs_value;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i] ? argv[i] : "";
        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
            continue;
        }
        if (!arg.starts_with("--")) {
            const bool command =
                (grammar.command == command_word::first_bare_word && parsed.command.empty() && !arg.starts_with("-"))
                || (grammar.command == command_word::argument_one && i == 1
                    && std::find(grammar.commands.begin(), grammar.commands.end(), arg) != grammar.commands.end());
            if (!command) throw usage_error(worded(words.unexpected_argument, arg, arg));
            parsed.command = std::string(arg);
            continue;
        }
        const auto equals = arg.find('=');
        const std::string name(arg.substr(0, equals));
        const option_spec* option = find_option(grammar, name);
        if (!option) throw usage_error(worded(words.unknown_option, name, arg));
        if (!option->takes_value) {
            if (equals != std::string_view::npos) throw usage_error(worded(words.takes_no_value, name, arg));
            if (parsed.given(name) && !option->repeatable) throw usage_error(worded(words.given_twice, name, arg));
            if (!parsed.given(name)) parsed.switches_.push_back(name);
            continue;
        }
        std::string value;
        if (equals != std::string_view::npos) {
            value = arg.substr(equals + 1);
        } else if (i + 1 < argc && argv[i + 1]) {
            value = argv[++i];
        } else {
            throw usage_error(worded(words.needs_value, name, arg));
        }
        if (parsed.given(name)) throw usage_error(worded(words.given_twice, name, arg));
        if (value.empty() && grammar.empty_value_is_missing) throw usage_error(worded(words.needs_value, name, arg));
        parsed.values_.emplace(name, std::move(value));
    }
    return parsed;
}

bool parsed_options::given(std::string_view name) const
{
    return values_.find(name) != values_.end()
           || std::find(switches_.begin(), switches_.end(), name) != switches_.end();
}

std::optional<std::string> parsed_options::value(std::string_view name) const
{
    const auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

const std::string& parsed_options::required(std::string_view name, const std::string& missing) const
{
    const auto it = values_.find(name);
    if (it == values_.end()) throw usage_error(missing);
    if (it->second.empty()) throw usage_error(worded(needs_value_, name, name));
    return it->second;
}

std::uint64_t parsed_options::whole(std::string_view name, std::uint64_t fallback, std::uint64_t low,
                                    std::uint64_t high, std::string_view unit) const
{
    const auto text = value(name);
    if (!text) return fallback;
    std::uint64_t number = 0;
    const auto [end, fault] = std::from_chars(text->data(), text->data() + text->size(), number);
    if (text->empty() || fault != std::errc{} || end != text->data() + text->size() || number < low
        || number > high)
        throw bad_value(name, *text,
                        "expected a whole number" + (unit.empty() ? std::string() : " of " + std::string(unit))
                            + " from " + std::to_string(low) + " to " + std::to_string(high));
    return number;
}

void parsed_options::allow_only(const std::vector<std::string_view>& allowed, std::string_view what) const
{
    const auto refuse = [&](std::string_view name) {
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
            throw usage_error(std::string(what) + " takes no option " + std::string(name));
    };
    for (const auto& [name, value] : values_) refuse(name);
    for (const auto& name : switches_) refuse(name);
}

void parsed_options::set_default(std::string_view name, std::string value)
{
    if (!given(name)) values_.emplace(std::string(name), std::move(value));
}

usage_error bad_value(std::string_view flag, std::string_view value, std::string_view expected)
{
    return usage_error(std::string(flag) + " \"" + std::string(value) + "\": " + std::string(expected));
}

// ---- 2. the servers' command line --------------------------------------------------------------

command_line parse_command_line(int argc, const char* const* argv)
{
    static const option_grammar grammar = server_grammar();
    const parsed_options parsed = parse_options(argc, argv, grammar);
    command_line args;
    args.program = parsed.program;
    if (const auto file = parsed.value("--config")) args.config_file = std::filesystem::path(*file);
    args.check_config = parsed.given("--check-config");
    args.help = parsed.help;
    return args;
}

std::string usage(std::string_view program, std::string_view summary)
{
    std::string text = "usage: " + std::string(program) + " [--config FILE] [--check-config] [--help]\n";
    text += summary;
    text += R"(

  --config FILE    read the configuration from FILE (TOML); without it, every key has its default
  --check-config   print the effective configuration (FILE and SLUICE_* environment variables)
                   and exit: 0 if it is valid, 2 with the error on stderr if not
  --help, -h       print this help and exit

Every key can be overridden by an environment variable SLUICE_<SECTION>_<KEY> (upper case,
dots as '_'), e.g. SLUICE_LISTEN_PORT=8081 or SLUICE_RATELIMIT_PER_PRACTICE_RATE=5.
)";
    return text;
}

int check_config_main(const command_line& args, const environment& env, std::ostream& out, std::ostream& err)
{
    try {
        out << to_toml(load(args.config_file, env)) << std::flush;
        return 0;
    } catch (const config_error& error) {
        err << error.what() << '\n' << std::flush;
        return exit_bad_configuration;
    }
}

startup handle_command_line(int argc, const char* const* argv, std::string_view summary, const environment& env,
                            std::ostream& out, std::ostream& err)
{
    command_line args;
    try {
        args = parse_command_line(argc, argv);
    } catch (const usage_error& error) {
        err << program_name(argc, argv) << ": " << error.what() << '\n' << std::flush;
        return exit_now(exit_bad_configuration);
    }
    if (args.help) {
        out << usage(args.program, summary) << std::flush;
        return exit_now(0);
    }
    if (args.check_config) return exit_now(check_config_main(args, env, out, err));
    try {
        startup start;
        start.config = load(args.config_file, env);
        start.config_file = args.config_file;
        return start;
    } catch (const config_error& error) {
        err << error.what() << '\n' << std::flush;
        return exit_now(exit_bad_configuration);
    }
}

startup handle_command_line(int argc, const char* const* argv, std::string_view summary)
{
    return handle_command_line(argc, argv, summary, process_environment(), std::cout, std::cerr);
}

}  // namespace sluice::config
