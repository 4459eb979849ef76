// A private, real PostgreSQL server for tests: initdb into a fresh temporary directory, postgres
// on a free loopback port (and its Unix socket in that directory, never /var/run/postgresql),
// stopped and removed when the object goes away. No mock anywhere: every call talks to the server.
//
// Where the binaries come from: $SLUICE_PG_BINDIR if set, else the newest
// /usr/lib/postgresql/<major>/bin holding both initdb and postgres (Debian's postgresql-NN). Not
// PATH: Debian puts only wrappers there.
//
// Root: PostgreSQL refuses to run as root. When the test runs as root (CI does), initdb and
// postgres run as the user "postgres" (created by Debian's package; $SLUICE_PG_USER overrides),
// and the directory is chowned to it. Otherwise they run as the caller.
//
// Speed: initdb takes seconds, and ctest runs every test case in its own process. So the first
// server of a machine initdb's a template cluster once (in $TMPDIR, named after the binaries'
// version and the user, created under a temporary name and renamed into place, so concurrent
// test processes never see a half-made one) and every server copies it (a fraction of a second).
// Tests run with fsync=off: a killed server still recovers (the WAL is in the page cache), only
// a machine crash could lose data, and tests do not survive those anyway.
//
// Invariants, as redis_server's: while running() the server answers on 127.0.0.1:port() and it
// is ours (start() checks that the answering server's data_directory is our dir()); port() and
// dir() stay the same for the object's life, so stop()/kill() then start() bring it back where
// clients expect it, with its data (kill() makes it run crash recovery). postgres runs in its own
// process group, so kill() and pause() reach the postmaster and every backend at once, and gets
// PR_SET_PDEATHSIG(SIGKILL) (backends exit when their postmaster dies): a test binary that dies
// leaves nothing behind. Create servers from a thread that outlives them (see redis_server.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

struct postgres_server_options {
    // Extra server settings, each "name=value", passed as -c name=value after ours.
    std::vector<std::string> settings;
    // How long start() waits for the server to accept connections (crash recovery included),
    // and stop() for it to exit.
    std::chrono::milliseconds start_timeout{30'000};
};

class postgres_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Rows of a query's result as text; nullopt is SQL NULL.
using postgres_rows = std::vector<std::vector<std::optional<std::string>>>;

class postgres_server {
public:
    static constexpr std::string_view superuser = "postgres";  // initdb -U: the role tests connect as

    explicit postgres_server(postgres_server_options options = {});
    ~postgres_server();  // stop(), then removes dir()
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    // Starts it again after stop() or kill() (a no-op while it runs; resumes it if paused).
    void start();
    // Fast shutdown (SIGINT: open transactions roll back, clients are disconnected), then wait;
    // SIGKILL to the whole group if it does not exit within start_timeout.
    void stop();
    // SIGKILL to the postmaster and every backend at once: a crash. start() then recovers.
    void kill();
    // SIGSTOP/SIGCONT to the whole group: connections stay open, nothing is answered.
    void pause();
    void resume();

    bool running() const noexcept { return pid_ > 0; }
    bool paused() const noexcept { return paused_; }
    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }  // the postmaster's; 0 when not running
    const std::filesystem::path& dir() const noexcept { return dir_; }
    std::string log() const;  // the server's log (stderr), every run

    // A libpq URI for a database of this server, as the superuser over TCP.
    std::string url(std::string_view database = "postgres") const;

    // CREATE DATABASE with a fresh name (sluice_test_<n>); returns its url(). Tests that need an
    // empty schema each take their own database instead of cleaning up one another's.
    std::string create_database();

    // Runs `sql` (one or more statements; the last one's rows are returned) on a fresh connection
    // to `url` (by default this server's postgres database). Throws postgres_error with the
    // server's message on any failure, so tests read plainly.
    postgres_rows query(const std::string& sql, const std::string& url = {}) const;
    // The first column of the first row of query(): a COUNT(*) or a single value.
    std::string scalar(const std::string& sql, const std::string& url = {}) const;

private:
    void launch();
    void wait_until_ready();
    void reap(std::chrono::milliseconds grace);

    postgres_server_options options_;
    std::filesystem::path bin_dir_;
    std::filesystem::path dir_;  // ours; data/ inside it belongs to the server's user
    std::uint16_t port_ = 0;
    pid_t pid_ = 0;
    bool paused_ = false;
    std::optional<std::pair<uid_t, gid_t>> run_as_;  // set when we are root
    unsigned databases_created_ = 0;
};

}  // namespace sluice::test
