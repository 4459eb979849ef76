// Unit tests of config/command_line.hpp: argument parsing and handle_command_line() in-process,
// then the same behaviour seen from outside, through config_check_tool (a main() written the way
// every sluice program's is): exit codes, stdout and stderr.

#include "config/command_line.hpp"

#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::config {
namespace {

using test::scratch_directory;

command_line parse_args(std::vector<const char*> args)
{
    args.insert(args.begin(), "/usr/local/bin/sluice-gateway");
    return parse_command_line(static_cast<int>(args.size()), args.data());
}

std::string usage_error_of(std::vector<const char*> args)
{
    try {
        (void)parse_args(std::move(args));
    } catch (const usage_error& error) {
        return error.what();
    }
    ADD_FAILURE() << "no usage_error was thrown";
    return {};
}

// ---- parse_options: the one option parser ----------------------------------------------------

// A grammar like sluice-loadtest's: valued options, switches, a command only as argv[1].
option_grammar tool_grammar()
{
    option_grammar grammar;
    grammar.options = {{"--target"}, {"--tokens"}, {"--count"}, {"--verify", false}, {"--quiet", false},
                       {"--debug", false, true}};
    grammar.command = command_word::argument_one;
    grammar.commands = {"generate", "body"};
    grammar.wording.unknown_option = "unknown option {name} (see tool --help)";
    return grammar;
}

parsed_options parse_with(const option_grammar& grammar, std::vector<const char*> args)
{
    args.insert(args.begin(), "/opt/bin/tool");
    return parse_options(static_cast<int>(args.size()), args.data(), grammar);
}

std::string parse_error_of(const option_grammar& grammar, std::vector<const char*> args)
{
    try {
        (void)parse_with(grammar, std::move(args));
    } catch (const usage_error& error) {
        return error.what();
    }
    ADD_FAILURE() << "no usage_error was thrown";
    return {};
}

TEST(option_parser, values_switches_and_help_anywhere)
{
    const auto parsed = parse_with(tool_grammar(), {"--target", "http://x", "--verify", "--tokens=a=b.csv", "-h"});
    EXPECT_EQ(parsed.program, "tool");
    EXPECT_EQ(parsed.command, "");
    EXPECT_TRUE(parsed.help);
    EXPECT_EQ(parsed.value("--target"), "http://x");
    EXPECT_EQ(parsed.value("--tokens"), "a=b.csv");  // the first '=' ends the name
    EXPECT_TRUE(parsed.given("--verify"));
    EXPECT_FALSE(parsed.value("--verify"));  // a switch has no value
    EXPECT_FALSE(parsed.given("--quiet"));
    EXPECT_FALSE(parsed.value("--count"));
    // A value is the next argument whatever it looks like.
    EXPECT_EQ(parse_with(tool_grammar(), {"--target", "--quiet"}).value("--target"), "--quiet");
    EXPECT_EQ(parse_with(tool_grammar(), {"--target="}).value("--target"), "");
}

TEST(option_parser, mistakes_in_the_default_words)
{
    const auto grammar = tool_grammar();
    EXPECT_EQ(parse_error_of(grammar, {"--bogus=1"}), "unknown option --bogus (see tool --help)");
    EXPECT_EQ(parse_error_of(grammar, {"--help=1"}), "unknown option --help (see tool --help)");
    EXPECT_EQ(parse_error_of(grammar, {"--"}), "unknown option -- (see tool --help)");
    EXPECT_EQ(parse_error_of(grammar, {"--target"}), "--target needs a value");
    EXPECT_EQ(parse_error_of(grammar, {"--target", "a", "--target"}), "--target needs a value");
    EXPECT_EQ(parse_error_of(grammar, {"--target", "a", "--target=b"}), "--target is given twice");
    EXPECT_EQ(parse_error_of(grammar, {"--verify=yes"}), "--verify takes no value");
    EXPECT_EQ(parse_error_of(grammar, {"--quiet", "--quiet"}), "--quiet is given twice");
    EXPECT_EQ(parse_error_of(grammar, {"-x"}), "unexpected argument \"-x\"");
    EXPECT_EQ(parse_error_of(grammar, {"stray"}), "unexpected argument \"stray\"");
    // --help does not stop the parse.
    EXPECT_EQ(parse_error_of(grammar, {"--help", "--bogus"}), "unknown option --bogus (see tool --help)");
    // A repeatable switch may come again.
    EXPECT_TRUE(parse_with(grammar, {"--debug", "--debug"}).given("--debug"));
}

TEST(option_parser, a_command_as_argument_one)
{
    const auto grammar = tool_grammar();
    EXPECT_EQ(parse_with(grammar, {"generate", "--count", "3"}).command, "generate");
    EXPECT_EQ(parse_error_of(grammar, {"--quiet", "generate"}), "unexpected argument \"generate\"");
    EXPECT_EQ(parse_error_of(grammar, {"issue"}), "unexpected argument \"issue\"");
    EXPECT_EQ(parse_error_of(grammar, {"body", "body"}), "unexpected argument \"body\"");
}

TEST(option_parser, a_command_as_the_first_bare_word)
{
    option_grammar grammar;
    grammar.options = {{"--file"}};
    grammar.command = command_word::first_bare_word;
    EXPECT_EQ(parse_with(grammar, {"--file", "f", "issue"}).command, "issue");
    EXPECT_EQ(parse_with(grammar, {"revoke"}).command, "revoke");  // any word: the program judges it
    EXPECT_EQ(parse_error_of(grammar, {"issue", "extra"}), "unexpected argument \"extra\"");
    EXPECT_EQ(parse_error_of(grammar, {"-x"}), "unexpected argument \"-x\"");
    EXPECT_EQ(parse_error_of(grammar, {"--colour", "red"}), "unknown option --colour");
}

TEST(option_parser, no_command_and_other_words)
{
    option_grammar grammar;
    grammar.options = {{"--config"}, {"--check", false}};
    grammar.empty_value_is_missing = true;
    grammar.wording.unknown_option = "unknown argument '{arg}' (try --help)";
    grammar.wording.unexpected_argument = "bare '{arg}'";
    grammar.wording.takes_no_value = "{name}: no value in '{arg}'";
    grammar.wording.needs_value = "{name} needs a FILE";
    grammar.wording.given_twice = "{name} given twice";
    EXPECT_EQ(parse_error_of(grammar, {"--bogus=1"}), "unknown argument '--bogus=1' (try --help)");
    EXPECT_EQ(parse_error_of(grammar, {"file.toml"}), "bare 'file.toml'");
    EXPECT_EQ(parse_error_of(grammar, {"--check=1"}), "--check: no value in '--check=1'");
    EXPECT_EQ(parse_error_of(grammar, {"--config="}), "--config needs a FILE");
    EXPECT_EQ(parse_error_of(grammar, {"--config", ""}), "--config needs a FILE");
    EXPECT_EQ(parse_error_of(grammar, {"--config", "a", "--config="}), "--config given twice");
}

TEST(option_parser, reading_values)
{
    auto parsed = parse_with(tool_grammar(), {"--count", "12", "--tokens=", "--verify"});
    EXPECT_EQ(parsed.whole("--count", 5, 1, 100), 12u);
    EXPECT_EQ(parsed.whole("--target", 5, 1, 100), 5u);  // not given: the fallback
    try {
        (void)parsed.whole("--count", 5, 1, 10, "days");
        ADD_FAILURE() << "12 is above 10";
    } catch (const usage_error& error) {
        EXPECT_STREQ(error.what(), "--count \"12\": expected a whole number of days from 1 to 10");
    }
    for (const char* text : {"", "x", "-1", "+1", "1 ", "99999999999999999999"}) {
        const std::string option = std::string("--count=") + text;
        const auto bad = parse_with(tool_grammar(), {option.c_str()});
        try {
            (void)bad.whole("--count", 5, 0, 100);
            ADD_FAILURE() << text;
        } catch (const usage_error& error) {
            EXPECT_EQ(error.what(), "--count \"" + std::string(text) + "\": expected a whole number from 0 to 100");
        }
    }

    EXPECT_EQ(parsed.required("--count", "unused"), "12");
    try {
        (void)parsed.required("--target", "--target is required");
        ADD_FAILURE();
    } catch (const usage_error& error) {
        EXPECT_STREQ(error.what(), "--target is required");
    }
    try {
        (void)parsed.required("--tokens", "unused");
        ADD_FAILURE();
    } catch (const usage_error& error) {
        EXPECT_STREQ(error.what(), "--tokens needs a value");
    }

    parsed.allow_only({"--count", "--tokens", "--verify"}, "a run");
    try {
        parsed.allow_only({"--count", "--tokens"}, "body");
        ADD_FAILURE();
    } catch (const usage_error& error) {
        EXPECT_STREQ(error.what(), "body takes no option --verify");
    }

    parsed.set_default("--count", "99");    // given: kept
    parsed.set_default("--target", "http://y");  // not given: set
    EXPECT_EQ(parsed.value("--count"), "12");
    EXPECT_EQ(parsed.value("--target"), "http://y");

    EXPECT_STREQ(bad_value("--mix", "a=1", "expected more").what(), "--mix \"a=1\": expected more");
}

// ---- parse_command_line ----------------------------------------------------------------------

TEST(command_line_parse, nothing_given)
{
    const auto args = parse_args({});
    EXPECT_EQ(args.program, "sluice-gateway");
    EXPECT_FALSE(args.config_file);
    EXPECT_FALSE(args.check_config);
    EXPECT_FALSE(args.help);
}

TEST(command_line_parse, every_option_in_any_order)
{
    const auto args = parse_args({"--check-config", "--config", "/etc/sluice.toml", "--help"});
    EXPECT_EQ(args.config_file, std::filesystem::path("/etc/sluice.toml"));
    EXPECT_TRUE(args.check_config);
    EXPECT_TRUE(args.help);
    EXPECT_EQ(parse_args({"--config=a.toml"}).config_file, std::filesystem::path("a.toml"));
    EXPECT_TRUE(parse_args({"-h"}).help);
}

TEST(command_line_parse, no_argv_zero)
{
    const char* none[] = {nullptr};
    EXPECT_EQ(parse_command_line(0, none).program, "sluice");
}

TEST(command_line_parse, usage_errors)
{
    EXPECT_EQ(usage_error_of({"--bogus"}), "unknown argument '--bogus' (try --help)");
    EXPECT_EQ(usage_error_of({"sluice.toml"}), "unknown argument 'sluice.toml' (try --help)");
    EXPECT_EQ(usage_error_of({"--config"}), "--config needs a FILE");
    EXPECT_EQ(usage_error_of({"--config="}), "--config needs a FILE");
    EXPECT_EQ(usage_error_of({"--config", "a", "--config=b"}), "--config given twice");
    EXPECT_EQ(usage_error_of({"--config", ""}), "--config needs a FILE");
    EXPECT_EQ(usage_error_of({"--check-config=yes"}), "unknown argument '--check-config=yes' (try --help)");
    EXPECT_EQ(usage_error_of({"--help=1"}), "unknown argument '--help=1' (try --help)");
    EXPECT_EQ(usage_error_of({"-x"}), "unknown argument '-x' (try --help)");
    EXPECT_TRUE(parse_args({"--check-config", "--check-config"}).check_config);
}

TEST(command_line_usage, names_the_program_options_and_variables)
{
    const auto text = usage("sluice-worker", "calculates queued submissions");
    EXPECT_TRUE(text.starts_with("usage: sluice-worker [--config FILE] [--check-config] [--help]\n"
                                 "calculates queued submissions\n"));
    EXPECT_NE(text.find("SLUICE_<SECTION>_<KEY>"), std::string::npos);
}

// ---- check_config_main and handle_command_line, in-process -----------------------------------

struct outcome {
    startup start;
    std::string out, err;
};

outcome handle(std::vector<const char*> args, const environment& env = {})
{
    args.insert(args.begin(), "sluice-gateway");
    std::ostringstream out, err;
    auto start = handle_command_line(static_cast<int>(args.size()), args.data(), "accepts submissions", env, out, err);
    return {std::move(start), out.str(), err.str()};
}

TEST(command_line_check_config, prints_the_effective_configuration)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", "[listen]\nport = 9000\n");
    command_line args;
    args.config_file = file;
    std::ostringstream out, err;
    EXPECT_EQ(check_config_main(args, {{"SLUICE_LISTEN_THREADS", "2"}}, out, err), 0);
    settings expected;
    expected.listen.port = 9000;
    expected.listen.threads = 2;
    EXPECT_EQ(out.str(), to_toml(expected));
    EXPECT_EQ(err.str(), "");
}

TEST(command_line_check_config, prints_the_error_line_and_returns_2)
{
    std::ostringstream out, err;
    EXPECT_EQ(check_config_main({}, {{"SLUICE_LISTEN_PORT", "http"}}, out, err), 2);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(err.str(),
              "config: listen.port = \"http\": expected an integer from 0 to 65535 (from SLUICE_LISTEN_PORT)\n");
}

TEST(command_line_handle, runs_with_the_loaded_configuration)
{
    const auto result = handle({}, {{"SLUICE_LISTEN_PORT", "0"}});
    EXPECT_FALSE(result.start.exit_code);
    EXPECT_EQ(result.start.config.listen.port, 0);
    EXPECT_FALSE(result.start.config_file);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "");
}

TEST(command_line_handle, keeps_the_file_name_for_reloading)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", "[limits]\nmax_connections = 9\n");
    const std::string option = "--config=" + file.string();
    const auto result = handle({option.c_str()});
    EXPECT_FALSE(result.start.exit_code);
    EXPECT_EQ(result.start.config.limits.max_connections, 9u);
    EXPECT_EQ(result.start.config_file, file);
    EXPECT_EQ(load(result.start.config_file, {}), result.start.config);
}

TEST(command_line_handle, help_exits_0)
{
    const auto result = handle({"--help", "--bogus-is-never-reached"});
    ASSERT_TRUE(result.start.exit_code);  // a usage error: --bogus is checked before --help acts
    EXPECT_EQ(*result.start.exit_code, 2);

    const auto help = handle({"--help", "--check-config"});
    ASSERT_TRUE(help.start.exit_code);
    EXPECT_EQ(*help.start.exit_code, 0);
    EXPECT_EQ(help.out, usage("sluice-gateway", "accepts submissions"));
    EXPECT_EQ(help.err, "");
}

TEST(command_line_handle, usage_error_exits_2)
{
    const auto result = handle({"--bogus"});
    ASSERT_TRUE(result.start.exit_code);
    EXPECT_EQ(*result.start.exit_code, 2);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "sluice-gateway: unknown argument '--bogus' (try --help)\n");
}

TEST(command_line_handle, configuration_error_exits_2_without_check_config)
{
    const auto result = handle({}, {{"SLUICE_LIMITS_MAX_BODYBYTES", "1"}});
    ASSERT_TRUE(result.start.exit_code);
    EXPECT_EQ(*result.start.exit_code, 2);
    EXPECT_TRUE(result.err.starts_with("config: SLUICE_LIMITS_MAX_BODYBYTES: unknown variable")) << result.err;
    EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "one line";
}

TEST(command_line_handle, check_config_exits_without_running)
{
    const auto result = handle({"--check-config"});
    ASSERT_TRUE(result.start.exit_code);
    EXPECT_EQ(*result.start.exit_code, 0);
    EXPECT_EQ(result.out, to_toml(settings{}));
}

// ---- through a real program: config_check_tool -----------------------------------------------

struct run_result {
    int exit_code = -1;
    std::string out, err;
};

std::string contents(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs config_check_tool with `args` and exactly the environment `env`; stdout and stderr are
// captured in files of `dir`.
run_result run_tool(const scratch_directory& dir, std::vector<std::string> args, std::vector<std::string> env = {})
{
    const auto out_file = dir.path() / "stdout", err_file = dir.path() / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);

    std::string program = SLUICE_CONFIG_CHECK_TOOL;
    args.insert(args.begin(), program);
    std::vector<char*> argv, envp;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (auto& variable : env) envp.push_back(variable.data());
    envp.push_back(nullptr);

    pid_t child = 0;
    const int spawned = posix_spawn(&child, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    run_result result;
    if (spawned != 0) {
        ADD_FAILURE() << "cannot start " << program << ": " << std::strerror(spawned);
        return result;
    }
    int status = 0;
    if (waitpid(child, &status, 0) == child && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    result.out = contents(out_file);
    result.err = contents(err_file);
    return result;
}

TEST(command_line_program, check_config_prints_a_good_file)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", "[ratelimit.per_practice]\nrate = 5\n[limits]\nmax_body_bytes = 4096\n");
    const auto result = run_tool(dir, {"--check-config", "--config", file.string()}, {"SLUICE_LISTEN_PORT=0"});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.err, "");
    settings expected;
    expected.ratelimit.rate = 5.0;
    expected.limits.max_body_bytes = 4096;
    expected.listen.port = 0;
    EXPECT_EQ(result.out, to_toml(expected));
    EXPECT_EQ(parse(result.out, {}), expected);
}

TEST(command_line_program, check_config_reports_a_bad_value_and_exits_2)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", "[limits]\nmax_body_bytes = -5\n");
    const auto result = run_tool(dir, {"--check-config", "--config=" + file.string()});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "config: limits.max_body_bytes = -5: expected an integer from 1 to 1073741824 (at "
                              + file.string() + ":2)\n");
}

TEST(command_line_program, reads_the_process_environment)
{
    scratch_directory dir;
    const auto result = run_tool(dir, {"--check-config"}, {"SLUICE_LISTEN_PORT=70000", "SLUICE_STATE_DIR=/tmp"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err,
              "config: listen.port = 70000: expected an integer from 0 to 65535 (from SLUICE_LISTEN_PORT)\n");
}

TEST(command_line_program, missing_file_exits_2)
{
    scratch_directory dir;
    const auto missing = dir.path() / "absent.toml";
    const auto result = run_tool(dir, {"--config", missing.string()});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err, "config: cannot read " + missing.string() + ": No such file or directory\n");
}

TEST(command_line_program, unknown_argument_exits_2)
{
    scratch_directory dir;
    const auto result = run_tool(dir, {"--bogus"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "config_check_tool: unknown argument '--bogus' (try --help)\n");
}

TEST(command_line_program, help_exits_0)
{
    scratch_directory dir;
    const auto result = run_tool(dir, {"--help"});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_TRUE(result.out.starts_with("usage: config_check_tool [--config FILE]")) << result.out;
    EXPECT_EQ(result.err, "");
}

TEST(command_line_program, runs_with_a_good_configuration)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", "[listen]\nport = 8443\n");
    const auto result = run_tool(dir, {"--config", file.string()});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out, "would listen on port 8443\n");
    EXPECT_EQ(result.err, "");
}

}  // namespace
}  // namespace sluice::config
