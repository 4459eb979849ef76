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
    // One script, as admission.lua: a worker never sees the entry without its status record (one
    // that did would dead-letter it at once as "no status record").
    static const std::string script = R"(
        local entry_id = redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'practice', ARGV[2], 'sha256', ARGV[3],
          'received_at', ARGV[4], 'idem', 'key-' .. ARGV[1], 'body', ARGV[5])
        redis.call('HSET', KEYS[2], 'id', ARGV[1], 'practice', ARGV[2], 'status', 'queued', 'attempts', '0',
          'received_at', ARGV[4], 'content_sha256', ARGV[3], 'receipt', ARGV[6], 'entry_id', entry_id)
        redis.call('EXPIRE', KEYS[2], ARGV[7])
        return entry_id)";
    q.entry_id = server
                     .command({"EVAL", script, "2", queue::queue_key(q.shard), q.status_key, q.submission_id,
                               q.practice, sha256, received_at, q.body, receipt, std::to_string(ttl.count())})
                     .as_string();
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
             << "\nmax_attempts = " << config.max_attempts << "\nmetrics_address = \"127.0.0.1\"\nmetrics_port = 0\n"
             << "\n[ledger]\nurl = \"" << config.ledger_url << "\"\ntimeout_ms = 1000\n";
    }
    // The test's environment must not override the file (SLUICE_* variables of a CI job).
    child_ = std::make_unique<child_process>(
        child_options{SLUICE_WORKER_BINARY,
                      {"--config", (dir_ / "sluice.toml").string()},
                      dir_ / "worker.log",
                      {},
                      {"SLUICE_REDIS_URL", "SLUICE_REDIS_SHARDS", "SLUICE_CATALOGUE_DIR", "SLUICE_WORKER_CONCURRENCY",
                       "SLUICE_WORKER_CLAIM_IDLE_MS", "SLUICE_WORKER_MAX_ATTEMPTS", "SLUICE_WORKER_METRICS_PORT",
                       "SLUICE_LEDGER_URL", "SLUICE_LEDGER_TIMEOUT_MS", "SLUICE_LEDGER_POOL_SIZE"}});
    if (wait_for_metrics_line) port_ = child_->wait_for_port("sluice-worker metrics on 127.0.0.1:", 10s);
}

worker_process::~worker_process() {
    child_.reset();  // SIGKILL and reap if still running
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void worker_process::send_signal(int sig) const { child_->send_signal(sig); }

std::optional<int> worker_process::wait_exit(std::chrono::milliseconds timeout) { return child_->wait_exit(timeout); }

std::string worker_process::log() const { return child_->log(); }

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
