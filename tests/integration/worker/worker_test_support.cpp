// Test support for the worker's integration tests (see worker_test_support.hpp).
#include "tests/integration/worker/worker_test_support.hpp"

#include "queue/keys.hpp"
#include "tests/support/redis_environment.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#if !defined(SLUICE_WORKER_BINARY) || !defined(SLUICE_CATALOGUE_DIR)
#error "SLUICE_WORKER_BINARY and SLUICE_CATALOGUE_DIR must be defined by the build"
#endif

namespace sluice::test {

namespace {

std::filesystem::path make_temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-worker-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

std::mt19937_64& random_bits() {
    static std::mt19937_64 generator{std::random_device{}()};
    return generator;
}

}  // namespace

std::string valid_body(std::string_view practice) {
    return std::string(R"({"practice":")") + std::string(practice) +
           R"(","period":"2024-25","scheme":"QOF","list_size":8123,"items":[{"code":"AF006","numerator":120,)"
           R"("denominator":140,"pca":6},{"code":"HYP008","numerator":950,"denominator":1210}],)"
           R"("registers":[{"condition":"AF","size":201},{"condition":"HYP","size":1312}]})";
}

queued enqueue(const redis_server& server, std::uint32_t shards, std::string_view practice, std::string_view body,
               std::chrono::seconds ttl, std::optional<std::uint32_t> shard_override) {
    queued q;
    q.shard = shard_override ? *shard_override : queue::shard_of(practice, shards);
    q.submission_id = queue::new_submission_id(q.shard, random_bits());
    q.practice = std::string(practice);
    q.body = std::string(body);
    q.status_key = queue::submission_key(q.shard, q.submission_id);
    const std::string sha256(64, 'a');
    const std::string received_at = "2025-03-31T23:58:12.345Z";
    const std::string receipt = R"({"submission_id":")" + q.submission_id + R"(","status":"queued"})";
    q.entry_id = server
                     .command({"XADD", queue::queue_key(q.shard), "*", "id", q.submission_id, "practice", q.practice,
                               "sha256", sha256, "received_at", received_at, "body", q.body})
                     .as_string();
    server.command({"HSET", q.status_key, "id", q.submission_id, "practice", q.practice, "status", "queued", "attempts",
                    "0", "received_at", received_at, "content_sha256", sha256, "receipt", receipt, "entry_id",
                    q.entry_id});
    server.command({"EXPIRE", q.status_key, std::to_string(ttl.count())});
    return q;
}

std::map<std::string, std::string> hash(const redis_server& server, const std::string& key) {
    std::map<std::string, std::string> out;
    const auto r = server.command({"HGETALL", key});
    const auto& e = r.as_array();
    for (std::size_t i = 0; i + 1 < e.size(); i += 2) out[e[i].as_string()] = e[i + 1].as_string();
    return out;
}

std::vector<std::pair<std::string, std::map<std::string, std::string>>> stream(const redis_server& server,
                                                                               const std::string& key) {
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> out;
    const auto r = server.command({"XRANGE", key, "-", "+"});
    for (const auto& entry : r.as_array()) {
        const auto& parts = entry.as_array();
        std::map<std::string, std::string> fields;
        const auto& f = parts.at(1).as_array();
        for (std::size_t i = 0; i + 1 < f.size(); i += 2) fields[f[i].as_string()] = f[i + 1].as_string();
        out.emplace_back(parts.at(0).as_string(), std::move(fields));
    }
    return out;
}

long long pending_count(const redis_server& server, const std::string& queue_key) {
    const auto r = server.command({"XPENDING", queue_key, "workers"});
    if (r.is_error()) return 0;
    return r.as_array().at(0).as_integer();
}

worker_process::worker_process(const worker_config& config, bool wait_for_metrics_line) : dir_(make_temp_dir()) {
    const std::string redis_url = config.redis_url.empty() ? redis().url() : config.redis_url;
    const std::string catalogue = config.catalogue_dir.empty() ? SLUICE_CATALOGUE_DIR : config.catalogue_dir;
    {
        std::ofstream toml(dir_ / "sluice.toml");
        toml << "[redis]\nurl = \"" << redis_url << "\"\nshards = " << config.shards
             << "\ntimeout_ms = 1000\n\n[catalogue]\ndir = \"" << catalogue
             << "\"\n\n[worker]\nconcurrency = " << config.concurrency << "\nclaim_idle_ms = " << config.claim_idle_ms
             << "\nmax_attempts = " << config.max_attempts << "\nmetrics_address = \"127.0.0.1\"\nmetrics_port = 0\n";
    }
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    const auto config_path = (dir_ / "sluice.toml").string();
    const auto log_path = (dir_ / "worker.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(log_fd, STDERR_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        // The test's environment must not override the file (SLUICE_* variables of a CI job).
        for (const char* name :
             {"SLUICE_REDIS_URL", "SLUICE_REDIS_SHARDS", "SLUICE_CATALOGUE_DIR", "SLUICE_WORKER_CONCURRENCY",
              "SLUICE_WORKER_CLAIM_IDLE_MS", "SLUICE_WORKER_MAX_ATTEMPTS", "SLUICE_WORKER_METRICS_PORT"})
            ::unsetenv(name);
        ::execl(SLUICE_WORKER_BINARY, SLUICE_WORKER_BINARY, "--config", config_path.c_str(),
                static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    ::close(out[1]);
    if (!wait_for_metrics_line) {
        ::close(out[0]);
        return;
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    const std::string marker = "sluice-worker metrics on 127.0.0.1:";
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[512];
        const auto n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        stdout_.append(buf, static_cast<std::size_t>(n));
        if (auto at = stdout_.find(marker); at != std::string::npos && stdout_.find('\n', at) != std::string::npos) {
            port_ = static_cast<std::uint16_t>(std::stoi(stdout_.substr(at + marker.size())));
            break;
        }
    }
    ::close(out[0]);
    if (port_ == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exited_ = true;
        throw std::runtime_error("sluice-worker did not start; stdout: " + stdout_ + "; log: " + log());
    }
}

worker_process::~worker_process() {
    if (!exited_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void worker_process::send_signal(int sig) const {
    if (!exited_ && pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> worker_process::wait_exit(std::chrono::milliseconds timeout) {
    if (exited_) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return -WTERMSIG(status);
        }
        std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
}

std::string worker_process::log() const {
    std::ifstream in(dir_ / "worker.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string worker_process::http(std::string_view method, std::string_view target) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string request = std::string(method) + " " + std::string(target) +
                                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
            const auto deadline = std::chrono::steady_clock::now() + 5s;
            while (std::chrono::steady_clock::now() < deadline) {
                pollfd p{fd, POLLIN, 0};
                if (::poll(&p, 1, 100) <= 0) continue;
                char buf[4096];
                const auto n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                answer.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return answer;
}

std::optional<double> worker_process::metric(std::string_view name) const {
    const auto text = http("GET", "/metrics");
    const std::string prefix = "\n" + std::string(name) + " ";
    const auto at = text.find(prefix);
    if (at == std::string::npos) return std::nullopt;
    return std::stod(text.substr(at + prefix.size()));
}

}  // namespace sluice::test
