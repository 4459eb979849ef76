// A private, real redis-server for tests: one child process on a free loopback port, in a fresh
// temporary directory, stopped and cleaned up when the object goes away.
//
// Invariants: while running() is true the child answers PING on 127.0.0.1:port() and it is our
// own child (start() checks INFO's process_id against the pid it forked, so a concurrent test
// binary that raced us to the same port is never mistaken for ours). port() and dir() stay the
// same for the object's whole life, so stop() then start() brings the server back where clients
// expect it, with whatever it persisted in dir(). Persistence is off unless a config file is
// given (see redis_server_options). Nothing here mocks Redis: every call talks to the process.
//
// The child gets PR_SET_PDEATHSIG(SIGKILL), so a test binary that dies without running
// destructors (abort, SIGKILL) does not leave a redis-server behind. Linux ties that signal to
// the *thread* that forked, so create servers from a thread that outlives them (the main thread,
// or the gtest environment in redis_environment.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

struct redis_server_options {
    // A redis.conf to load first (e.g. ops/redis.conf). Empty: Redis's built-in defaults.
    std::filesystem::path config_file;
    // false: `--save "" --appendonly no` is passed (a throwaway server; a restart loses data).
    // true: the persistence settings of config_file (or Redis's own defaults) apply.
    // Unset: true exactly when config_file is given.
    std::optional<bool> persistence;
    // Appended after everything else, so they override both the file and our defaults,
    // e.g. {"--maxmemory", "10mb"}. Do not pass --port, --dir or --bind: the server owns those.
    std::vector<std::string> extra_args;
    // How long start() waits for the first PONG (and stop() for the process to exit).
    std::chrono::milliseconds start_timeout{10'000};
};

// One reply, as hiredis 0.14 (RESP2) reports it. Accessors throw redis_error on a type mismatch
// (an error reply's message is in the exception), so assertions read plainly:
//     EXPECT_EQ(server.command({"GET", "k"}).as_string(), "v");
struct redis_reply {
    enum class kind { string, status, error, integer, nil, array };

    kind type = kind::nil;
    std::string str;  // string, status and error replies
    long long integer = 0;
    std::vector<redis_reply> elements;

    bool is_nil() const noexcept { return type == kind::nil; }
    bool is_error() const noexcept { return type == kind::error; }
    // A bulk string or a status reply ("OK", "PONG").
    const std::string& as_string() const;
    long long as_integer() const;
    const std::vector<redis_reply>& as_array() const;
};

std::ostream& operator<<(std::ostream& out, const redis_reply& reply);

// Anything that goes wrong talking to or managing the server: cannot start (the message
// carries the server's log), connection refused, timeout, wrong reply type.
class redis_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class redis_server {
public:
    static constexpr std::chrono::milliseconds default_command_timeout{5'000};

    // Creates the temporary directory, picks a free port and starts the server; throws
    // redis_error if it does not answer PING within options.start_timeout.
    explicit redis_server(redis_server_options options = {});
    ~redis_server();  // stop(), then removes dir()

    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    // Starts the server again on the same port and directory after stop() or kill(), or after
    // it died or hung (a running server that does not answer PING within 250 ms is killed and
    // replaced). A no-op if it answers, or is paused. Throws redis_error if it does not come up.
    void start();
    // SIGTERM (Redis flushes its AOF and exits), wait up to start_timeout, then SIGKILL.
    // Resumes a paused server first. A no-op if it is not running.
    void stop();
    // SIGKILL, as a crash: nothing is flushed beyond what Redis already wrote.
    void kill();
    // SIGSTOP/SIGCONT: the socket stays open and connects succeed, but nothing is answered.
    void pause();
    void resume();

    // Started and not yet stopped or killed through this object. A process that died on its own
    // still counts until the next start() (which starts it again) or stop().
    bool running() const noexcept { return pid_ > 0; }
    bool paused() const noexcept { return paused_; }
    const std::string& host() const noexcept { return host_; }
    std::uint16_t port() const noexcept { return port_; }
    std::string url() const;                                      // "redis://127.0.0.1:PORT"
    pid_t pid() const noexcept { return pid_; }                   // 0 when not running
    const std::filesystem::path& dir() const noexcept { return dir_; }
    std::filesystem::path log_file() const { return dir_ / "redis.log"; }
    std::string log() const;                                      // the server's stdout and stderr

    // Runs one command on a fresh connection (so it works across restarts) and returns the
    // reply; error replies are returned, not thrown. Throws redis_error if it cannot connect
    // or no reply arrives within `timeout` (hiredis socket timeout).
    redis_reply command(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = default_command_timeout) const;

private:
    void launch();
    void wait_until_ready();
    void reap(std::chrono::milliseconds grace);
    bool answers_ping() const;
    std::string log_of_this_run() const;  // what the current (or last) launch wrote

    redis_server_options options_;
    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
    std::filesystem::path dir_;
    std::string executable_;
    pid_t pid_ = 0;
    bool paused_ = false;
    std::uintmax_t log_offset_ = 0;  // size of log_file() when the current run was launched
};

}  // namespace sluice::test
