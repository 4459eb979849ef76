// postgres_server: initdb (once per machine, as a template), process management and a
// synchronous libpq helper for assertions. See the header for the invariants.
//
// As in redis_server.cpp, the child makes only async-signal-safe calls between fork() and exec():
// the test binary may have threads. Everything (argv, the user to become, file descriptors) is
// prepared before the fork.
#include "tests/support/postgres_server.hpp"

#include <libpq-fe.h>

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>

namespace sluice::test {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int bind_attempts = 5;
constexpr std::size_t log_excerpt_chars = 4000;

// True while a process of group `group` is alive (a zombie has released its shared memory and
// does not count: in a container nobody may reap it). Reads /proc/<pid>/stat: "pid (comm) S ppid pgrp".
bool group_has_live_members(pid_t group) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        if (!std::getline(in, stat)) continue;
        const auto close = stat.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(stat.substr(close + 1));
        char state = 0;
        long parent = 0;
        long pgrp = 0;
        if (!(rest >> state >> parent >> pgrp)) continue;
        if (pgrp == group && state != 'Z' && state != 'X') return true;
    }
    return false;
}

std::string errno_text(int error) { return std::system_category().message(error); }

std::string tail(const std::string& text) {
    return text.size() <= log_excerpt_chars ? text : "...\n" + text.substr(text.size() - log_excerpt_chars);
}

std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// $SLUICE_PG_BINDIR, or the newest /usr/lib/postgresql/<major>/bin with initdb and postgres.
std::filesystem::path find_bin_dir() {
    if (const char* configured = std::getenv("SLUICE_PG_BINDIR"); configured != nullptr && *configured != '\0') {
        return configured;
    }
    std::filesystem::path best;
    int best_major = -1;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
        const auto bin = entry.path() / "bin";
        const int major = std::atoi(entry.path().filename().c_str());
        if (major > best_major && ::access((bin / "postgres").c_str(), X_OK) == 0 &&
            ::access((bin / "initdb").c_str(), X_OK) == 0) {
            best = bin;
            best_major = major;
        }
    }
    if (best.empty()) {
        throw postgres_error(
            "postgres_server: no /usr/lib/postgresql/<major>/bin with initdb and postgres (install postgresql-15, "
            "or set SLUICE_PG_BINDIR)");
    }
    return best;
}

// The user to run the server as when we are root; nullopt otherwise.
std::optional<std::pair<uid_t, gid_t>> server_user() {
    if (::geteuid() != 0) return std::nullopt;
    const char* name = std::getenv("SLUICE_PG_USER");
    if (name == nullptr || *name == '\0') name = "postgres";
    const passwd* user = ::getpwnam(name);
    if (user == nullptr) {
        throw postgres_error(std::string("postgres_server: running as root, and there is no user \"") + name +
                             "\" to run PostgreSQL as (install postgresql-15, which creates it, or set "
                             "SLUICE_PG_USER)");
    }
    return std::pair{user->pw_uid, user->pw_gid};
}

void give_to(const std::filesystem::path& path, const std::optional<std::pair<uid_t, gid_t>>& user) {
    if (user && ::chown(path.c_str(), user->first, user->second) != 0) {
        throw postgres_error("postgres_server: chown(" + path.string() + "): " + errno_text(errno));
    }
}

std::uint16_t pick_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw postgres_error("postgres_server: socket(): " + errno_text(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int error = errno;
        ::close(fd);
        throw postgres_error("postgres_server: cannot find a free port: " + errno_text(error));
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

// fork + exec of `args` with stdout and stderr appended to `log_file`, as `user` if set, in a
// new process group if `own_group`. Returns the child's pid once exec succeeded.
pid_t spawn(std::vector<std::string> args, const std::filesystem::path& log_file,
            const std::optional<std::pair<uid_t, gid_t>>& user, bool own_group) {
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw postgres_error("postgres_server: open(" + log_file.string() + "): " + errno_text(errno));
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int exec_status[2];
    if (null_fd < 0 || ::pipe2(exec_status, O_CLOEXEC) != 0) {
        const int error = errno;
        ::close(log_fd);
        if (null_fd >= 0) ::close(null_fd);
        throw postgres_error("postgres_server: cannot prepare the child: " + errno_text(error));
    }
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) {
        // Async-signal-safe calls only from here to execv.
        if (own_group) ::setpgid(0, 0);
        if (user) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(user->second) != 0 || ::setuid(user->first) != 0) {
                const int error = errno;
                [[maybe_unused]] auto written = ::write(exec_status[1], &error, sizeof error);
                ::_exit(127);
            }
        }
        // After the credential change, which clears the parent-death signal.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int signal_number = 1; signal_number < NSIG; ++signal_number) ::signal(signal_number, SIG_DFL);
        ::execv(argv[0], argv.data());
        const int error = errno;
        [[maybe_unused]] auto written = ::write(exec_status[1], &error, sizeof error);
        ::_exit(127);
    }
    const int fork_error = errno;
    ::close(exec_status[1]);
    ::close(log_fd);
    ::close(null_fd);
    if (child < 0) {
        ::close(exec_status[0]);
        throw postgres_error("postgres_server: fork(): " + errno_text(fork_error));
    }
    int exec_error = 0;
    ssize_t got;
    do {
        got = ::read(exec_status[0], &exec_error, sizeof exec_error);
    } while (got < 0 && errno == EINTR);
    ::close(exec_status[0]);
    if (got > 0) {
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        throw postgres_error("postgres_server: cannot execute " + args.front() + ": " + errno_text(exec_error));
    }
    return child;
}

// Runs a command to completion (initdb, cp); throws with its output if it fails.
void run(const std::vector<std::string>& args, const std::filesystem::path& log_file,
         const std::optional<std::pair<uid_t, gid_t>>& user) {
    const pid_t child = spawn(args, log_file, user, false);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw postgres_error("postgres_server: " + args.front() + " failed; its output:\n" + tail(read_file(log_file)));
    }
}

// The template cluster: initdb'd once per binaries and user, then copied by every server. 1 MB
// WAL segments instead of 16 keep the copy small (28 MB instead of 39: the copy is most of a
// test server's start-up).
std::filesystem::path template_cluster(const std::filesystem::path& bin_dir,
                                       const std::optional<std::pair<uid_t, gid_t>>& user) {
    struct stat binary {};
    if (::stat((bin_dir / "postgres").c_str(), &binary) != 0) {
        throw postgres_error("postgres_server: stat(" + (bin_dir / "postgres").string() + "): " + errno_text(errno));
    }
    const auto uid = user ? user->first : ::geteuid();
    const auto name = "sluice-pg-template-" + bin_dir.parent_path().filename().string() + "-" +
                      std::to_string(binary.st_mtime) + "-w1-u" + std::to_string(uid);
    const auto final_path = std::filesystem::temp_directory_path() / name;
    if (std::filesystem::exists(final_path / "data" / "PG_VERSION")) return final_path;

    std::string pattern = (std::filesystem::temp_directory_path() / (name + ".tmp-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw postgres_error("postgres_server: mkdtemp(" + pattern + "): " + errno_text(errno));
    }
    const std::filesystem::path building = pattern;
    try {
        give_to(building, user);
        run({(bin_dir / "initdb").string(), "-D", (building / "data").string(), "-U",
             std::string(postgres_server::superuser), "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
             "--wal-segsize=1"},
            building / "initdb.log", user);
        // Another test process may have finished first: then ours is not needed.
        if (::rename(building.c_str(), final_path.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY) {
            throw postgres_error("postgres_server: rename(" + building.string() + "): " + errno_text(errno));
        }
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(building, ignored);
        throw;
    }
    std::error_code ignored;
    std::filesystem::remove_all(building, ignored);  // a no-op once renamed
    return final_path;
}

struct connection_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};

}  // namespace

postgres_server::postgres_server(postgres_server_options options)
    : options_(std::move(options)), bin_dir_(find_bin_dir()), run_as_(server_user()) {
    const auto cluster = template_cluster(bin_dir_, run_as_);
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw postgres_error("postgres_server: mkdtemp(" + pattern + "): " + errno_text(errno));
    }
    dir_ = pattern;
    try {
        give_to(dir_, run_as_);
        run({"/bin/cp", "-a", (cluster / "data").string(), (dir_ / "data").string()}, dir_ / "copy.log", run_as_);
        for (int attempt = 1;; ++attempt) {
            port_ = pick_free_port();
            const auto log_size =
                std::filesystem::exists(dir_ / "postgres.log") ? std::filesystem::file_size(dir_ / "postgres.log") : 0;
            launch();
            try {
                wait_until_ready();
                return;
            } catch (const postgres_error&) {
                const auto this_run = read_file(dir_ / "postgres.log").substr(log_size);
                if (running() || this_run.find("Address already in use") == std::string::npos ||
                    attempt == bind_attempts) {
                    throw;
                }
            }
        }
    } catch (...) {
        kill();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        throw;
    }
}

postgres_server::~postgres_server() {
    try {
        stop();
    } catch (...) {
        kill();
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string postgres_server::log() const { return read_file(dir_ / "postgres.log"); }

std::string postgres_server::url(std::string_view database) const {
    return "postgresql://" + std::string(superuser) + "@127.0.0.1:" + std::to_string(port_) + "/" +
           std::string(database);
}

void postgres_server::launch() {
    std::vector<std::string> args{(bin_dir_ / "postgres").string(),
                                  "-D",
                                  (dir_ / "data").string(),
                                  "-p",
                                  std::to_string(port_),
                                  "-k",
                                  dir_.string(),
                                  "-c",
                                  "listen_addresses=127.0.0.1",
                                  "-c",
                                  "fsync=off",
                                  "-c",
                                  "full_page_writes=off",
                                  "-c",
                                  "max_connections=100",
                                  "-c",
                                  "shared_buffers=32MB",
                                  "-c",
                                  "logging_collector=off"};
    for (const auto& setting : options_.settings) {
        args.push_back("-c");
        args.push_back(setting);
    }
    pid_ = spawn(std::move(args), dir_ / "postgres.log", run_as_, true);
    paused_ = false;
}

void postgres_server::wait_until_ready() {
    const auto deadline = steady::now() + options_.start_timeout;
    const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + std::string(superuser) +
                                 " dbname=postgres connect_timeout=2";
    const auto expected_dir = std::filesystem::weakly_canonical(dir_ / "data");
    std::string last_problem = "no answer yet";
    while (steady::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = 0;
            throw postgres_error("postgres_server: postgres on port " + std::to_string(port_) +
                                 " exited during start-up; its log:\n" + tail(log()));
        }
        if (PQping(conninfo.c_str()) == PQPING_OK) {
            try {
                const auto answered = std::filesystem::weakly_canonical(scalar("SHOW data_directory"));
                if (answered == expected_dir) return;
                last_problem =
                    "port " + std::to_string(port_) + " is answered by another server (" + answered.string() + ")";
            } catch (const postgres_error& e) {
                last_problem = e.what();
            }
        }
        std::this_thread::sleep_for(20ms);
    }
    throw postgres_error("postgres_server: postgres (pid " + std::to_string(pid_) + ") did not accept connections on " +
                         "127.0.0.1:" + std::to_string(port_) + " within " +
                         std::to_string(options_.start_timeout.count()) + " ms (" + last_problem + "); its log:\n" +
                         tail(log()));
}

void postgres_server::reap(std::chrono::milliseconds grace) {
    const auto deadline = steady::now() + grace;
    int status = 0;
    bool gone = false;
    while (steady::now() < deadline) {
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_ || (done < 0 && errno == ECHILD)) {
            gone = true;
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
    if (!gone) {
        ::kill(-pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    // Backends left behind by a crashed postmaster exit by themselves; make sure, and wait until
    // they are gone: one still attached to the shared memory block stops the next start
    // ("pre-existing shared memory block is still in use").
    ::kill(-pid_, SIGKILL);
    const auto members_deadline = steady::now() + grace;
    while (group_has_live_members(pid_) && steady::now() < members_deadline) std::this_thread::sleep_for(5ms);
    pid_ = 0;
    paused_ = false;
}

void postgres_server::start() {
    if (running()) {
        resume();
        return;
    }
    launch();
    try {
        wait_until_ready();
    } catch (...) {
        kill();
        throw;
    }
}

void postgres_server::stop() {
    if (!running()) return;
    ::kill(pid_, SIGINT);  // fast shutdown; SIGTERM would wait for every client to leave
    if (paused_) ::kill(-pid_, SIGCONT);
    reap(options_.start_timeout);
}

void postgres_server::kill() {
    if (!running()) return;
    ::kill(-pid_, SIGKILL);
    reap(options_.start_timeout);
}

void postgres_server::pause() {
    if (!running() || paused_) return;
    ::kill(-pid_, SIGSTOP);
    int status = 0;
    while (::waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
    }
    if (!WIFSTOPPED(status)) {
        pid_ = 0;
        throw postgres_error("postgres_server: postgres exited while being paused; its log:\n" + tail(log()));
    }
    paused_ = true;
}

void postgres_server::resume() {
    if (!running() || !paused_) return;
    ::kill(-pid_, SIGCONT);
    paused_ = false;
}

std::string postgres_server::create_database() {
    const auto name = "sluice_test_" + std::to_string(++databases_created_);
    query("CREATE DATABASE " + name);
    return url(name);
}

postgres_rows postgres_server::query(const std::string& sql, const std::string& target) const {
    auto conninfo = target.empty() ? url() : target;
    conninfo += conninfo.find('?') == std::string::npos ? "?connect_timeout=5" : "&connect_timeout=5";
    std::unique_ptr<PGconn, connection_deleter> conn(PQconnectdb(conninfo.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        throw postgres_error("postgres " + conninfo +
                             ": cannot connect: " + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
    }
    std::unique_ptr<PGresult, result_deleter> result(PQexec(conn.get(), sql.c_str()));
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        throw postgres_error("postgres: " + sql.substr(0, 200) + ": " + PQerrorMessage(conn.get()));
    }
    postgres_rows rows;
    for (int r = 0; r < PQntuples(result.get()); ++r) {
        auto& row = rows.emplace_back();
        for (int c = 0; c < PQnfields(result.get()); ++c) {
            if (PQgetisnull(result.get(), r, c)) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(PQgetvalue(result.get(), r, c), PQgetlength(result.get(), r, c)));
            }
        }
    }
    return rows;
}

std::string postgres_server::scalar(const std::string& sql, const std::string& target) const {
    const auto rows = query(sql, target);
    if (rows.empty() || rows.front().empty() || !rows.front().front()) {
        throw postgres_error("postgres: " + sql.substr(0, 200) + ": no value");
    }
    return *rows.front().front();
}

}  // namespace sluice::test
