// redis_server: process management (fork/exec, readiness, stop) and a synchronous hiredis
// helper. See the header for the invariants.
//
// Between fork() and exec() the child only makes async-signal-safe calls: the test binary may
// have threads (an io_context, a gateway under test), and anything that takes a lock there could
// deadlock. So argv, the executable path and the file descriptors are all prepared beforehand.
#include "tests/support/redis_server.hpp"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <system_error>
#include <thread>

namespace sluice::test {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// How often start() tries a new port when redis-server loses the race for the one we picked.
constexpr int bind_attempts = 5;
// How long the tail of the server's log quoted in an exception may be.
constexpr std::size_t log_excerpt_chars = 4000;

std::string errno_text(int error) {
    return std::system_category().message(error);
}

// Looks redis-server up on PATH once, in the parent, so the child can execv() a full path.
std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream entries(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string entry; std::getline(entries, entry, ':');) {
        const auto candidate = std::filesystem::path(entry.empty() ? "." : entry) / name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
    }
    throw redis_error("redis_server: " + name + " not found on PATH (install redis-server)");
}

// Bind to port 0 and read what the kernel chose. The port is free again once we close it; a
// concurrent process may still take it before redis-server binds, hence the retries in start().
std::uint16_t pick_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw redis_error("redis_server: socket(): " + errno_text(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const int error = errno;
        ::close(fd);
        throw redis_error("redis_server: cannot find a free port: " + errno_text(error));
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

std::filesystem::path make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-redis-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw redis_error("redis_server: mkdtemp(" + pattern + "): " + errno_text(errno));
    }
    return pattern;
}

std::string tail(const std::string& text) {
    if (text.size() <= log_excerpt_chars) {
        return text;
    }
    return "...\n" + text.substr(text.size() - log_excerpt_chars);
}

struct context_deleter {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
};
struct reply_deleter {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

timeval to_timeval(std::chrono::milliseconds timeout) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    return timeval{static_cast<time_t>(micros / 1'000'000), static_cast<suseconds_t>(micros % 1'000'000)};
}

redis_reply convert(const redisReply& raw) {
    redis_reply reply;
    switch (raw.type) {
    case REDIS_REPLY_STRING:
        reply.type = redis_reply::kind::string;
        reply.str.assign(raw.str, raw.len);
        break;
    case REDIS_REPLY_STATUS:
        reply.type = redis_reply::kind::status;
        reply.str.assign(raw.str, raw.len);
        break;
    case REDIS_REPLY_ERROR:
        reply.type = redis_reply::kind::error;
        reply.str.assign(raw.str, raw.len);
        break;
    case REDIS_REPLY_INTEGER:
        reply.type = redis_reply::kind::integer;
        reply.integer = raw.integer;
        break;
    case REDIS_REPLY_ARRAY:
        reply.type = redis_reply::kind::array;
        reply.elements.reserve(raw.elements);
        for (std::size_t i = 0; i < raw.elements; ++i) {
            reply.elements.push_back(convert(*raw.element[i]));
        }
        break;
    default:
        reply.type = redis_reply::kind::nil;
        break;
    }
    return reply;
}

// hiredis 0.14 writes with write(2), so a server that goes away mid-command would raise
// SIGPIPE and kill the test binary. Block it on this thread for the call and swallow any
// SIGPIPE the call itself raised (the write then fails with EPIPE, which hiredis reports).
class sigpipe_guard {
public:
    sigpipe_guard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    }
    ~sigpipe_guard() {
        if (!was_pending_) {
            const timespec zero{};
            while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    sigpipe_guard(const sigpipe_guard&) = delete;
    sigpipe_guard& operator=(const sigpipe_guard&) = delete;

private:
    sigset_t pipe_{};
    sigset_t previous_{};
    bool was_pending_ = false;
};

const char* kind_name(redis_reply::kind kind) {
    switch (kind) {
    case redis_reply::kind::string: return "string";
    case redis_reply::kind::status: return "status";
    case redis_reply::kind::error: return "error";
    case redis_reply::kind::integer: return "integer";
    case redis_reply::kind::nil: return "nil";
    case redis_reply::kind::array: return "array";
    }
    return "unknown";
}

[[noreturn]] void wrong_type(const redis_reply& reply, const char* wanted) {
    std::ostringstream message;
    message << "redis reply is " << reply << ", expected " << wanted;
    throw redis_error(message.str());
}

// The pid Redis reports in INFO server, or -1.
long long reported_pid(redisContext& context) {
    reply_ptr info(static_cast<redisReply*>(redisCommand(&context, "INFO server")));
    if (!info || info->type != REDIS_REPLY_STRING) {
        return -1;
    }
    const std::string_view text(info->str, info->len);
    constexpr std::string_view field = "process_id:";
    const auto at = text.find(field);
    if (at == std::string_view::npos) {
        return -1;
    }
    return std::atoll(std::string(text.substr(at + field.size(), 20)).c_str());
}

}  // namespace

const std::string& redis_reply::as_string() const {
    if (type != kind::string && type != kind::status) {
        wrong_type(*this, "a string");
    }
    return str;
}

long long redis_reply::as_integer() const {
    if (type != kind::integer) {
        wrong_type(*this, "an integer");
    }
    return integer;
}

const std::vector<redis_reply>& redis_reply::as_array() const {
    if (type != kind::array) {
        wrong_type(*this, "an array");
    }
    return elements;
}

std::ostream& operator<<(std::ostream& out, const redis_reply& reply) {
    switch (reply.type) {
    case redis_reply::kind::string: return out << '"' << reply.str << '"';
    case redis_reply::kind::status: return out << "status " << reply.str;
    case redis_reply::kind::error: return out << "error \"" << reply.str << '"';
    case redis_reply::kind::integer: return out << "(integer) " << reply.integer;
    case redis_reply::kind::nil: return out << "(nil)";
    case redis_reply::kind::array: {
        out << '[';
        for (std::size_t i = 0; i < reply.elements.size(); ++i) {
            out << (i == 0 ? "" : ", ") << reply.elements[i];
        }
        return out << ']';
    }
    }
    return out << kind_name(reply.type);
}

redis_server::redis_server(redis_server_options options)
    : options_(std::move(options)), executable_(find_on_path("redis-server")) {
    if (!options_.config_file.empty() && !std::filesystem::is_regular_file(options_.config_file)) {
        throw redis_error("redis_server: config file " + options_.config_file.string() + " does not exist");
    }
    dir_ = make_temp_dir();
    try {
        for (int attempt = 1;; ++attempt) {
            port_ = pick_free_port();
            launch();
            try {
                wait_until_ready();
                return;
            } catch (const redis_error&) {
                const bool lost_port_race =
                    !running() && log_of_this_run().find("Address already in use") != std::string::npos;
                if (!lost_port_race || attempt == bind_attempts) {
                    throw;
                }
                // Another process bound the port between pick_free_port() and redis-server's
                // bind: try another one.
            }
        }
    } catch (...) {
        kill();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        throw;
    }
}

redis_server::~redis_server() {
    try {
        stop();
    } catch (...) {
        kill();
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string redis_server::url() const {
    return "redis://" + host_ + ":" + std::to_string(port_);
}

std::string redis_server::log() const {
    std::ifstream in(log_file(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string redis_server::log_of_this_run() const {
    const std::string whole = log();
    return tail(log_offset_ < whole.size() ? whole.substr(log_offset_) : whole);
}

bool redis_server::answers_ping() const {
    try {
        (void)command({"PING"}, 250ms);
        return true;
    } catch (const redis_error&) {
        return false;
    }
}

void redis_server::start() {
    if (running()) {
        if (paused_ || answers_ping()) {
            return;
        }
        // It died on its own, or is dying (its socket closes before it becomes a zombie), or hangs:
        // make sure it is gone and reaped, then start afresh.
        ::kill(pid_, SIGKILL);
        reap(options_.start_timeout);
    }
    // The port is ours to keep: clients under test hold url(). Redis sets SO_REUSEADDR, so
    // TIME_WAIT connections from the previous run do not block the bind.
    launch();
    try {
        wait_until_ready();
    } catch (...) {
        kill();
        throw;
    }
}

void redis_server::launch() {
    std::vector<std::string> args{executable_};
    if (!options_.config_file.empty()) {
        args.push_back(std::filesystem::absolute(options_.config_file).string());  // must come first
    }
    const std::vector<std::string> owned{
        "--port",      std::to_string(port_),
        "--bind",      host_,
        "--dir",       dir_.string(),
        "--daemonize", "no",
        "--logfile",   "",  // stdout, which is log_file()
    };
    args.insert(args.end(), owned.begin(), owned.end());
    if (!options_.persistence.value_or(!options_.config_file.empty())) {
        args.insert(args.end(), {"--save", "", "--appendonly", "no"});
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    std::error_code no_log_yet;
    log_offset_ = std::filesystem::file_size(log_file(), no_log_yet);
    if (no_log_yet) {
        log_offset_ = 0;
    }
    const int log_fd = ::open(log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        throw redis_error("redis_server: open(" + log_file().string() + "): " + errno_text(errno));
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int exec_status[2];  // the child writes errno here if execv fails; EOF means it succeeded
    if (null_fd < 0 || ::pipe2(exec_status, O_CLOEXEC) != 0) {
        const int error = errno;
        ::close(log_fd);
        if (null_fd >= 0) {
            ::close(null_fd);
        }
        throw redis_error("redis_server: cannot prepare the child: " + errno_text(error));
    }
    const pid_t parent = ::getpid();

    const pid_t child = ::fork();
    if (child == 0) {
        // Async-signal-safe calls only from here to execv.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);  // the parent died before prctl took effect
        }
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        // Sockets the test binary holds (a gateway's listener, say) must not leak into Redis.
        if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = 3; fd < 4096; ++fd) {
                ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            }
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
            ::signal(signal_number, SIG_DFL);  // ignored signals would stay ignored across exec
        }
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
        throw redis_error("redis_server: fork(): " + errno_text(fork_error));
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
        throw redis_error("redis_server: cannot execute " + executable_ + ": " + errno_text(exec_error));
    }
    pid_ = child;
    paused_ = false;
}

void redis_server::wait_until_ready() {
    const auto deadline = steady::now() + options_.start_timeout;
    std::string last_problem = "no answer yet";
    while (steady::now() < deadline) {
        int status = 0;
        const pid_t exited = ::waitpid(pid_, &status, WNOHANG);
        if (exited == pid_) {
            pid_ = 0;
            std::ostringstream message;
            message << "redis_server: redis-server on port " << port_ << " exited during start-up ("
                    << (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                          : "signal " + std::to_string(WTERMSIG(status)))
                    << "); its log:\n"
                    << log_of_this_run();
            throw redis_error(message.str());
        }
        context_ptr context(redisConnectWithTimeout(host_.c_str(), port_, to_timeval(100ms)));
        if (context && context->err == 0) {
            redisSetTimeout(context.get(), to_timeval(250ms));
            sigpipe_guard guard;
            reply_ptr pong(static_cast<redisReply*>(redisCommand(context.get(), "PING")));
            if (pong && pong->type == REDIS_REPLY_STATUS && std::string_view(pong->str, pong->len) == "PONG") {
                const long long answered_by = reported_pid(*context);
                if (answered_by == pid_) {
                    return;
                }
                last_problem = "port " + std::to_string(port_) + " is answered by another redis-server (pid " +
                               std::to_string(answered_by) + ")";
            } else if (pong) {
                last_problem = std::string(pong->str != nullptr ? pong->str : "unexpected reply");  // e.g. LOADING
            } else {
                last_problem = context->errstr;
            }
        } else if (context) {
            last_problem = context->errstr;
        }
        std::this_thread::sleep_for(10ms);
    }
    throw redis_error("redis_server: redis-server (pid " + std::to_string(pid_) + ") did not answer PING on " +
                      host_ + ":" + std::to_string(port_) + " within " +
                      std::to_string(options_.start_timeout.count()) + " ms (" + last_problem + "); its log:\n" +
                      log_of_this_run());
}

void redis_server::reap(std::chrono::milliseconds grace) {
    const auto deadline = steady::now() + grace;
    int status = 0;
    while (steady::now() < deadline) {
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_ || (done < 0 && errno == ECHILD)) {
            pid_ = 0;
            paused_ = false;
            return;
        }
        std::this_thread::sleep_for(5ms);
    }
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
    paused_ = false;
}

void redis_server::stop() {
    if (!running()) {
        return;
    }
    ::kill(pid_, SIGTERM);
    if (paused_) {
        ::kill(pid_, SIGCONT);  // a stopped process only acts on SIGTERM once continued
    }
    reap(options_.start_timeout);
}

void redis_server::kill() {
    if (!running()) {
        return;
    }
    ::kill(pid_, SIGKILL);
    reap(options_.start_timeout);
}

void redis_server::pause() {
    if (!running() || paused_) {
        return;
    }
    ::kill(pid_, SIGSTOP);
    // Signals are delivered asynchronously; wait until the process is really stopped so the
    // caller's next command is guaranteed to hang.
    int status = 0;
    while (::waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
    }
    if (!WIFSTOPPED(status)) {
        pid_ = 0;
        throw redis_error("redis_server: redis-server exited while being paused; its log:\n" + log_of_this_run());
    }
    paused_ = true;
}

void redis_server::resume() {
    if (!running() || !paused_) {
        return;
    }
    ::kill(pid_, SIGCONT);
    paused_ = false;
}

redis_reply redis_server::command(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    if (args.empty()) {
        throw redis_error("redis_server::command: no command given");
    }
    const std::string shown = args.front() + " on " + host_ + ":" + std::to_string(port_);
    context_ptr context(redisConnectWithTimeout(host_.c_str(), port_, to_timeval(timeout)));
    if (!context) {
        throw redis_error("redis " + shown + ": cannot allocate a hiredis context");
    }
    if (context->err != 0) {
        throw redis_error("redis " + shown + ": cannot connect: " + context->errstr);
    }
    redisSetTimeout(context.get(), to_timeval(timeout));

    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    sigpipe_guard guard;
    reply_ptr reply(static_cast<redisReply*>(
        redisCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) {
        throw redis_error("redis " + shown + ": no reply within " + std::to_string(timeout.count()) +
                          " ms: " + context->errstr);
    }
    return convert(*reply);
}

}  // namespace sluice::test
