// Running the sluice-loadtest binary from a test: its exit status and what it printed. Shared by
// loadtest_tool_test and journey_tool_test.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

struct tool_run {
    std::optional<int> exit_code;  // nullopt: killed on timeout; a signal's number negated
    std::string out;
    std::string err;
    std::string output() const { return out + err; }
};

// Runs `binary` with `args` in `dir` (its working directory; no reliance on the test's), stdout and
// stderr into numbered files there; SIGKILL after `limit`.
tool_run run_program(const std::string& binary, const std::filesystem::path& dir, const std::vector<std::string>& args,
                     std::chrono::seconds limit);

}  // namespace sluice::test
