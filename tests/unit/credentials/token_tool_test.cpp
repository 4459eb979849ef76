// sluice-token seen from outside, as an operator runs it: exit codes, what goes to stdout (the
// token and nothing else) and stderr, and the credential file it leaves, read back with
// credential_table::load().

#include "credentials/credentials.hpp"

#include "config/config.hpp"
#include "config/digest.hpp"
#include "config/rfc3339.hpp"

#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace sluice::credentials {
namespace {

using config::config_error;
using config::format_rfc3339;
using config::parse_rfc3339;
using config::sha256;
using config::to_hex;

using namespace std::chrono;
using namespace std::chrono_literals;
using test::scratch_directory;

struct run_result {
    int exit_code = -1;
    std::string out, err;
};

// Starts sluice-token with `args`, its stdout and stderr going to files in `dir`; returns the pid.
pid_t start_tool(const scratch_directory& dir, const std::vector<std::string>& args, const std::string& tag)
{
    std::vector<char*> argv;
    std::string program = SLUICE_TOKEN_TOOL;
    argv.push_back(program.data());
    std::vector<std::string> copies = args;
    for (auto& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);

    const auto out = (dir.path() / ("stdout-" + tag)).string(), err = (dir.path() / ("stderr-" + tag)).string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    const int failed = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(failed, 0) << "cannot start " << program;
    return failed ? -1 : pid;
}

run_result finish_tool(const scratch_directory& dir, pid_t pid, const std::string& tag)
{
    run_result result;
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = scratch_directory::read(dir.path() / ("stdout-" + tag));
    result.err = scratch_directory::read(dir.path() / ("stderr-" + tag));
    return result;
}

run_result run_tool(const scratch_directory& dir, const std::vector<std::string>& args)
{
    return finish_tool(dir, start_tool(dir, args, "run"), "run");
}

std::vector<std::string> data_lines(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') lines.push_back(line);
    return lines;
}

std::string issued_token(const run_result& result)
{
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(result.out.ends_with("\n")) << result.out;
    auto token = result.out.substr(0, result.out.size() - 1);
    EXPECT_TRUE(well_formed_token(token)) << "stdout: " << result.out;
    return token;
}

// ---- generate ---------------------------------------------------------------------------------

TEST(token_tool_generate, writes_matching_credential_and_token_files)
{
    scratch_directory dir;
    const auto creds = dir.path() / "credentials.csv", tokens = dir.path() / "tokens.csv";
    const auto result =
        run_tool(dir, {"generate", "--count", "25", "--file", creds.string(), "--tokens", tokens.string(), "--letter", "Q"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto table = credential_table::load(creds);
    EXPECT_EQ(table.size(), 25u);
    const auto lines = data_lines(scratch_directory::read(tokens));
    ASSERT_EQ(lines.size(), 25u);
    std::set<std::string> practices;
    for (const auto& line : lines) {
        const auto comma = line.find(',');
        const auto practice = line.substr(0, comma), token = line.substr(comma + 1);
        const auto auth = table.authenticate(token, system_clock::now());
        ASSERT_EQ(auth.status, auth_status::ok) << line;
        EXPECT_EQ(auth.who->practice, practice);
        EXPECT_EQ(practice[0], 'Q');
        practices.insert(practice);
    }
    EXPECT_EQ(practices.size(), 25u);
    // Never overwrites: a second run fails and leaves both files as they were.
    const auto before = scratch_directory::read(tokens);
    const auto again = run_tool(dir, {"generate", "--count", "2", "--file", creds.string(), "--tokens", tokens.string()});
    EXPECT_EQ(again.exit_code, 2) << again.err;
    EXPECT_EQ(scratch_directory::read(tokens), before);
    EXPECT_EQ(run_tool(dir, {"generate", "--count", "0", "--file", "a", "--tokens", "b"}).exit_code, 2);
    EXPECT_EQ(run_tool(dir, {"generate", "--count", "3", "--file", "a", "--tokens", "b", "--letter", "q"}).exit_code, 2);
}

// ---- issue ------------------------------------------------------------------------------------

TEST(token_tool_issue, creates_the_file_and_prints_only_the_token)
{
    scratch_directory dir;
    const auto file = dir.path() / "credentials.csv";
    const auto result = run_tool(dir, {"issue", "--practice", "A81001", "--file", file.string(), "--not-after",
                                       "2099-03-31T23:59:59Z"});
    const auto token = issued_token(result);
    EXPECT_NE(result.err.find("shown only this once"), std::string::npos) << result.err;
    EXPECT_EQ(result.out.find("A81001"), std::string::npos);  // stdout: the token alone

    struct stat status {};
    ASSERT_EQ(::stat(file.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0600u);

    const std::string text = scratch_directory::read(file);
    EXPECT_TRUE(text.starts_with("#")) << text;
    EXPECT_EQ(text.find(token), std::string::npos) << "the token itself must never be stored";
    const auto lines = data_lines(text);
    ASSERT_EQ(lines.size(), 1u) << text;
    EXPECT_EQ(lines[0], "A81001," + to_hex(sha256(token)) + ",2099-03-31T23:59:59Z");

    const auto table = credential_table::load(file);
    ASSERT_EQ(table.size(), 1u);
    const auto auth = table.authenticate(token, system_clock::now());
    EXPECT_EQ(auth.status, auth_status::ok);
    ASSERT_NE(auth.who, nullptr);
    EXPECT_EQ(auth.who->practice, "A81001");
    // No temporary file left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 3);  // file, stdout, stderr
}

TEST(token_tool_issue, appends_a_rotated_token_and_both_work)
{
    scratch_directory dir;
    const auto file = dir.path() / "credentials.csv";
    const auto first = issued_token(run_tool(dir, {"issue", "--practice=A81001", "--file=" + file.string(),
                                                   "--not-after=2098-01-01T00:00:00Z"}));
    const auto second_run =
        run_tool(dir, {"issue", "--file", file.string(), "--practice", "A81001", "--valid-days", "365"});
    const auto second = issued_token(second_run);
    EXPECT_NE(second_run.err.find("also holds 1 earlier token"), std::string::npos) << second_run.err;
    EXPECT_NE(first, second);

    const auto table = credential_table::load(file);
    ASSERT_EQ(table.size(), 2u);
    const auto now = system_clock::now();
    EXPECT_EQ(table.authenticate(first, now).status, auth_status::ok);
    const auto auth = table.authenticate(second, now);
    ASSERT_EQ(auth.status, auth_status::ok);
    const auto expected = floor<seconds>(now) + days{365};
    EXPECT_LE(abs(auth.who->not_after - expected), 10s) << format_rfc3339(auth.who->not_after);
    EXPECT_EQ(data_lines(scratch_directory::read(file))[1], "A81001," + to_hex(sha256(second)) + ","
                                                                + format_rfc3339(auth.who->not_after));
}

TEST(token_tool_issue, a_hand_edited_file_without_its_last_newline)
{
    scratch_directory dir;
    const std::string existing =
        "# mine\nB82002," + to_hex(sha256(std::string(43, 'A'))) + ",2099-01-01T00:00:00Z";  // no '\n'
    const auto file = dir.write("credentials.csv", existing);
    const auto token = issued_token(
        run_tool(dir, {"issue", "--practice", "A81001", "--file", file.string(), "--valid-days", "30"}));
    const std::string text = scratch_directory::read(file);
    EXPECT_TRUE(text.starts_with(existing + "\nA81001,")) << text;
    const auto table = credential_table::load(file);
    EXPECT_EQ(table.size(), 2u);
    EXPECT_EQ(table.authenticate(token, system_clock::now()).status, auth_status::ok);
}

TEST(token_tool_issue, concurrent_issues_all_land_whole)
{
    scratch_directory dir;
    const auto file = dir.path() / "credentials.csv";
    constexpr int runs = 8;
    std::vector<pid_t> pids;
    for (int i = 0; i < runs; ++i) {
        const std::string practice = "A8100" + std::to_string(i);
        pids.push_back(start_tool(dir, {"issue", "--practice", practice, "--file", file.string(), "--valid-days", "10"},
                                  std::to_string(i)));
    }
    std::vector<std::string> tokens;
    for (int i = 0; i < runs; ++i) tokens.push_back(issued_token(finish_tool(dir, pids[i], std::to_string(i))));

    const auto table = credential_table::load(file);
    ASSERT_EQ(table.size(), static_cast<std::size_t>(runs)) << scratch_directory::read(file);
    for (int i = 0; i < runs; ++i) {
        const auto auth = table.authenticate(tokens[i], system_clock::now());
        ASSERT_EQ(auth.status, auth_status::ok) << i;
        EXPECT_EQ(auth.who->practice, "A8100" + std::to_string(i));
    }
}

TEST(token_tool_issue, refuses_a_malformed_practice)
{
    scratch_directory dir;
    const auto file = dir.path() / "credentials.csv";
    for (const auto* practice : {"a81001", "A8100", "A810011", "81001A", ""}) {
        const auto result =
            run_tool(dir, {"issue", "--practice", practice, "--file", file.string(), "--valid-days", "30"});
        EXPECT_EQ(result.exit_code, 2) << practice;
        EXPECT_EQ(result.out, "") << practice;
        EXPECT_TRUE(result.err.find("ODS practice code") != std::string::npos
                    || result.err.find("--practice needs a value") != std::string::npos)
            << result.err;
    }
    EXPECT_FALSE(std::filesystem::exists(file));
    // A usage error is its line, then where to look.
    EXPECT_EQ(run_tool(dir, {"expiring", "--file", file, "--bogus", "1"}).err,
              "sluice-token: unknown option --bogus\nsluice-token: see sluice-token --help\n");
}

TEST(token_tool_issue, role_commissioner_and_operator_write_a_fourth_column)
{
    scratch_directory dir;
    const auto file = dir.path() / "credentials.csv";
    const auto commissioner = issued_token(run_tool(
        dir, {"issue", "--practice", "QWE", "--role", "commissioner", "--file", file.string(), "--valid-days", "30"}));
    const auto op = issued_token(
        run_tool(dir, {"issue", "--practice", "OPS-1", "--role=operator", "--file", file.string(), "--valid-days", "30"}));
    const auto practice = issued_token(
        run_tool(dir, {"issue", "--practice", "A81001", "--role", "practice", "--file", file.string(), "--valid-days", "30"}));
    const auto lines = data_lines(scratch_directory::read(file));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_TRUE(lines[0].starts_with("QWE,") && lines[0].ends_with(",commissioner")) << lines[0];
    EXPECT_TRUE(lines[1].ends_with(",operator")) << lines[1];
    EXPECT_EQ(std::count(lines[2].begin(), lines[2].end(), ','), 2) << lines[2];  // a practice keeps 3 columns
    const auto table = credential_table::load(file);
    EXPECT_EQ(table.authenticate(commissioner, system_clock::now()).who->access, role::commissioner);
    EXPECT_EQ(table.authenticate(op, system_clock::now()).who->access, role::operator_);
    EXPECT_EQ(table.authenticate(practice, system_clock::now()).who->access, role::practice);

    // A role the code does not fit, or an unknown role: exit 2, nothing written.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--practice", "A81001", "--role", "commissioner"},
          std::vector<std::string>{"--practice", "QWE", "--role", "practice"},
          std::vector<std::string>{"--practice", "QWE", "--role", "admin"}}) {
        std::vector<std::string> all = {"issue"};
        all.insert(all.end(), args.begin(), args.end());
        all.insert(all.end(), {"--file", file.string(), "--valid-days", "30"});
        const auto result = run_tool(dir, all);
        EXPECT_EQ(result.exit_code, 2) << result.err;
        EXPECT_EQ(result.out, "");
    }
    EXPECT_EQ(data_lines(scratch_directory::read(file)).size(), 3u);
}

TEST(token_tool_issue, refuses_a_not_after_in_the_past)
{
    scratch_directory dir;
    const auto file = dir.write("credentials.csv", "# empty\n");
    const auto now = format_rfc3339(floor<seconds>(system_clock::now()));
    for (const auto& when : {std::string("2020-01-01T00:00:00Z"), now}) {
        const auto result =
            run_tool(dir, {"issue", "--practice", "A81001", "--file", file.string(), "--not-after", when});
        EXPECT_EQ(result.exit_code, 2) << when;
        EXPECT_EQ(result.out, "");
        EXPECT_NE(result.err.find("is not in the future"), std::string::npos) << result.err;
    }
    EXPECT_EQ(scratch_directory::read(file), "# empty\n");
}

TEST(token_tool_issue, refuses_to_append_to_a_file_that_does_not_load)
{
    scratch_directory dir;
    const std::string broken = "A81001,not-a-hash,2099-01-01T00:00:00Z\n";
    const auto file = dir.write("credentials.csv", broken);
    const auto result =
        run_tool(dir, {"issue", "--practice", "A81001", "--file", file.string(), "--valid-days", "30"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.out, "");
    EXPECT_NE(result.err.find("does not load"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find(file.string() + ":1"), std::string::npos) << result.err;
    EXPECT_EQ(scratch_directory::read(file), broken);
}

TEST(token_tool_issue, cannot_write_is_exit_1)
{
    scratch_directory dir;
    const auto file = dir.path() / "no-such-directory" / "credentials.csv";
    const auto result =
        run_tool(dir, {"issue", "--practice", "A81001", "--file", file.string(), "--valid-days", "30"});
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_NE(result.err.find("No such file or directory"), std::string::npos) << result.err;
}

// ---- expiring ---------------------------------------------------------------------------------

class token_tool_expiring : public ::testing::Test {
protected:
    scratch_directory dir;
    const std::filesystem::path file = dir.write(
        "credentials.csv",
        "# practice,token_sha256_hex,not_after\n"
        "C83003," + to_hex(sha256(std::string(43, 'c'))) + ",2027-06-01T00:00:00Z\n"
        "A81001," + to_hex(sha256(std::string(43, 'a'))) + ",2026-12-01T00:00:00Z\n"
        "B82002," + to_hex(sha256(std::string(43, 'b'))) + ",2026-01-01T00:00:00Z\n"
        "B82002," + to_hex(sha256(std::string(43, 'B'))) + ",2028-01-01T00:00:00Z\n"
        "D84004," + to_hex(sha256(std::string(43, 'd'))) + ",2025-06-01T12:30:00Z\n");
};

TEST_F(token_tool_expiring, lists_practices_whose_latest_token_expires_before_the_date)
{
    const auto result = run_tool(dir, {"expiring", "--file", file.string(), "--before", "2027-03-31"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "D84004,2025-06-01T12:30:00Z\nA81001,2026-12-01T00:00:00Z\n");
    EXPECT_EQ(result.err, "");
}

TEST_F(token_tool_expiring, a_full_time_and_an_empty_answer)
{
    auto result = run_tool(dir, {"expiring", "--file", file.string(), "--before", "2027-06-01T00:00:01Z"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "D84004,2025-06-01T12:30:00Z\nA81001,2026-12-01T00:00:00Z\nC83003,2027-06-01T00:00:00Z\n");
    result = run_tool(dir, {"--before=2025-06-01T12:30:00Z", "expiring", "--file=" + file.string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "");  // not before: exactly at
}

TEST_F(token_tool_expiring, a_bad_date_or_file_is_exit_2)
{
    auto result = run_tool(dir, {"expiring", "--file", file.string(), "--before", "31/03/2027"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("--before \"31/03/2027\""), std::string::npos) << result.err;
    result = run_tool(dir, {"expiring", "--file", (dir.path() / "missing.csv").string(), "--before", "2027-03-31"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("cannot open the credential file"), std::string::npos) << result.err;
    const auto broken = dir.write("broken.csv", "A81001,zz,2027-01-01T00:00:00Z\n");
    result = run_tool(dir, {"expiring", "--file", broken.string(), "--before", "2027-03-31"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find(broken.string() + ":1"), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
}

// ---- the command line -------------------------------------------------------------------------

TEST(token_tool_usage, help)
{
    scratch_directory dir;
    const std::vector<std::vector<std::string>> help_forms = {{"--help"}, {"-h"}, {"issue", "--help"}};
    for (const auto& args : help_forms) {
        const auto result = run_tool(dir, args);
        EXPECT_EQ(result.exit_code, 0);
        EXPECT_TRUE(result.out.starts_with("usage: sluice-token issue")) << result.out;
        EXPECT_NE(result.out.find("expiring"), std::string::npos);
        EXPECT_EQ(result.err, "");
    }
}

TEST(token_tool_usage, bad_arguments_exit_2)
{
    scratch_directory dir;
    const std::string file = (dir.path() / "credentials.csv").string();
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "no command given"},
        {{"revoke", "--file", file}, "unknown command \"revoke\""},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days", "30", "--colour", "red"},
         "unknown option --colour"},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days"}, "--valid-days needs a value"},
        {{"issue", "--practice", "A81001", "--valid-days", "30"}, "issue needs --file"},
        {{"issue", "--file", file, "--valid-days", "30"}, "issue needs --practice"},
        {{"issue", "--practice", "A81001", "--file", file}, "issue needs --not-after TIME or --valid-days N"},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days", "30", "--not-after", "2099-01-01T00:00:00Z"},
         "not both"},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days", "0"}, "--valid-days \"0\""},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days", "3661"}, "from 1 to 3660"},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days", "30d"}, "--valid-days \"30d\""},
        {{"issue", "--practice", "A81001", "--file", file, "--not-after", "2099-01-01"}, "is not an RFC 3339 UTC time"},
        {{"issue", "--practice", "A81001", "--file", file, "--not-after", "2099-01-01T00:00:00+01:00"},
         "is not an RFC 3339 UTC time"},
        {{"issue", "--practice", "A81001", "--practice", "B82002", "--file", file, "--valid-days", "1"},
         "--practice is given twice"},
        {{"issue", "--practice", "A81001", "--file", file, "--before", "2027-01-01", "--valid-days", "1"},
         "takes no option --before"},
        {{"expiring", "--file", file, "--before", "2027-01-01", "--practice", "A81001"}, "takes no option --practice"},
        {{"expiring", "--file", file}, "expiring needs --before"},
        {{"issue", "extra", "--practice", "A81001", "--file", file, "--valid-days", "1"},
         "unexpected argument \"extra\""},
        {{"-x"}, "unexpected argument \"-x\""},
        {{"issue", "--practice", "A81001", "--file=", "--valid-days", "1"}, "--file needs a value"},
        {{"issue", "--practice", "A81001", "--file", file, "--valid-days="},
         "--valid-days \"\": expected a whole number of days from 1 to 3660"},
        {{"generate", "--count", "x", "--file", file, "--tokens", file + ".tokens"},
         "--count \"x\": expected a whole number from 1 to 100000"},
    };
    for (const auto& [args, message] : cases) {
        const auto result = run_tool(dir, args);
        EXPECT_EQ(result.exit_code, 2) << message;
        EXPECT_EQ(result.out, "") << message;
        EXPECT_NE(result.err.find(message), std::string::npos) << "expected \"" << message << "\" in: " << result.err;
    }
    EXPECT_FALSE(std::filesystem::exists(file));
    // A usage error is its line, then where to look.
    EXPECT_EQ(run_tool(dir, {"expiring", "--file", file, "--bogus", "1"}).err,
              "sluice-token: unknown option --bogus\nsluice-token: see sluice-token --help\n");
}

}  // namespace
}  // namespace sluice::credentials
