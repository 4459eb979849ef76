// What the worker's integration tests share: queue entries written exactly as queue/admission.lua
// writes them (XADD of the entry, HSET of the status record, EXPIRE), small readers of Redis
// state, and a real sluice-worker process driven by its pid.
#pragma once

#include "tests/support/child_process.hpp"
#include "tests/support/redis_server.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

using namespace std::chrono_literals;

// The valid QOF body for `practice` (A81001 by default).
std::string valid_body(std::string_view practice = "A81001");

struct queued {
    std::uint32_t shard = 0;
    std::string submission_id;
    std::string entry_id;
    std::string practice;
    std::string body;
    std::string status_key;  // sluice:{S}:sub:<id>
};

// Queues `body` for `practice` on its shard (shard_of(practice, shards)) as admission.lua does, in
// one script: XADD sluice:{S}:q * id practice sha256 received_at idem body; HSET of the status
// record (id, practice, status=queued, attempts=0, received_at, content_sha256, receipt, entry_id);
// EXPIRE ttl.
// `shard_override` puts it on another shard (the id then encodes that shard).
queued enqueue(const redis_server& server, std::uint32_t shards, std::string_view practice, std::string_view body,
               std::chrono::seconds ttl = 3600s, std::optional<std::uint32_t> shard_override = std::nullopt);

// HGETALL as a map.
std::map<std::string, std::string> hash(const redis_server& server, const std::string& key);

// XRANGE key - + : (id, fields as a map) in order.
std::vector<std::pair<std::string, std::map<std::string, std::string>>> stream(const redis_server& server,
                                                                               const std::string& key);

// XPENDING key workers (summary): the number of pending entries; 0 when the group is missing.
long long pending_count(const redis_server& server, const std::string& queue_key);

// Polls `done` every 20 ms until it holds or `limit` passes.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        ::usleep(20'000);
    }
}

struct worker_config {
    std::uint32_t shards = 4;
    std::uint32_t concurrency = 16;
    std::uint32_t claim_idle_ms = 300;
    std::uint32_t max_attempts = 3;
    std::string redis_url;      // "": the test binary's redis-server
    std::string catalogue_dir;  // "": the repository's data/catalogue
    std::string ledger_url;     // "": no ledger (ledger.url = "")
};

// A real sluice-worker with `--config <tmp>/sluice.toml` (written here; metrics_port 0), started
// in the constructor, which waits for its "sluice-worker metrics on ADDR:PORT" line (10 s).
// The destructor SIGKILLs it if it is still running. Stopped by its pid only.
class worker_process {
public:
    explicit worker_process(const worker_config& config, bool wait_for_metrics_line = true);
    ~worker_process();
    worker_process(const worker_process&) = delete;
    worker_process& operator=(const worker_process&) = delete;

    pid_t pid() const { return child_->pid(); }
    std::uint16_t metrics_port() const { return port_; }
    void send_signal(int sig) const;
    // The exit code, -signal if killed by one, nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    std::string log() const;  // stderr so far
    std::string stdout_text() const { return child_->stdout_text(); }

    // One HTTP/1.1 request to the metrics endpoint (Connection: close): status line + headers +
    // body, or "" if it could not connect or timed out.
    std::string http(std::string_view method, std::string_view target) const;
    // The value of an unlabelled sample in GET /metrics, or nullopt.
    std::optional<double> metric(std::string_view name) const;

private:
    std::filesystem::path dir_;
    std::unique_ptr<child_process> child_;
    std::uint16_t port_ = 0;
};

}  // namespace sluice::test
