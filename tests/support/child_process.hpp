// Test support: one of our executables as a child process, driven by its pid. Its stdout is read
// until it announces where it listens ("... on 127.0.0.1:PORT"), its stderr goes to a log file.
// The destructor SIGKILLs and reaps it if it is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

struct child_options {
    std::string binary;
    std::vector<std::string> args;
    std::filesystem::path log_file;                            // the child's stderr
    std::vector<std::pair<std::string, std::string>> set_env;  // set in the child only
    std::vector<std::string> unset_env;                        // removed in the child only
};

class child_process {
public:
    explicit child_process(const child_options& options);  // throws std::runtime_error
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    // Reads stdout until a line contains `marker` followed by a port ("listening on 127.0.0.1:"),
    // then stops reading. Returns the port; on timeout or exit kills the child and throws, with
    // what it printed and its log.
    std::uint16_t wait_for_port(const std::string& marker, std::chrono::milliseconds timeout);
    const std::string& stdout_text() const { return stdout_; }
    void send_signal(int sig) const;
    // The exit code, -signal if killed by one, nullopt on timeout (or if already reaped).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    std::string log() const;  // the child's stderr so far

private:
    void kill_and_reap() noexcept;
    std::string binary_;
    std::filesystem::path log_file_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    bool exited_ = false;
    std::string stdout_;
};

}  // namespace sluice::test
