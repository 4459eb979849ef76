// The shared command line (command_line.hpp): argument parsing, --help, --check-config, and
// turning every usage or configuration error into one line on stderr and exit status 2.

#include "config/command_line.hpp"

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

}  // namespace

command_line parse_command_line(int argc, const char* const* argv)
{
    command_line args;
    args.program = program_name(argc, argv);

    auto set_config_file = [&](std::string_view file) {
        if (args.config_file) throw usage_error("--config given twice");
        if (file.empty()) throw usage_error("--config needs a FILE");
        args.config_file = std::filesystem::path(file);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config") {
            if (i + 1 == argc) throw usage_error("--config needs a FILE");
            set_config_file(argv[++i]);
        } else if (arg.starts_with("--config=")) {
            set_config_file(arg.substr(std::string_view("--config=").size()));
        } else if (arg == "--check-config") {
            args.check_config = true;
        } else if (arg == "--help" || arg == "-h") {
            args.help = true;
        } else {
            throw usage_error("unknown argument '" + std::string(arg) + "' (try --help)");
        }
    }
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
