// The worker's metrics and their Prometheus text (exposition format 0.0.4), served on
// worker.metrics_address:metrics_port by metrics_server.hpp.
//
// The worker runs one io_context on one thread, and the metrics server runs on the same one, so
// the counters are plain integers: one writer, read only when a scrape is rendered there too.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::worker {

// Cumulative histogram of seconds with fixed upper bounds (Prometheus buckets).
class seconds_histogram {
public:
    static constexpr std::array<double, 14> bounds{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                   0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    1.0};
    void observe(std::chrono::nanoseconds d) noexcept;
    std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i]; }  // non-cumulative; last: +Inf
    std::uint64_t count() const noexcept { return count_; }
    double sum_seconds() const noexcept { return static_cast<double>(sum_ns_) / 1e9; }

private:
    std::array<std::uint64_t, bounds.size() + 1> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ns_ = 0;
};

struct shard_lag {
    std::optional<std::uint64_t> pending;      // delivered, not acknowledged (XINFO GROUPS pending)
    std::optional<std::uint64_t> undelivered;  // not yet delivered (XINFO GROUPS lag); unknown: nullopt
};

struct worker_metrics {
    explicit worker_metrics(std::uint32_t shards) : lag(shards) {}

    std::uint64_t calculated = 0;       // first results written (counted once per submission)
    std::uint64_t duplicates = 0;       // results found already written by another delivery
    std::uint64_t failed = 0;           // failed attempts (not acked, or dead-lettered)
    std::uint64_t reclaimed = 0;        // entries taken over with XAUTOCLAIM
    std::uint64_t dead_lettered = 0;    // entries moved to a dead-letter stream
    std::uint64_t redis_errors = 0;     // calls with no usable answer (the entry stays pending)
    std::uint64_t trimmed = 0;          // acknowledged entries removed from the streams
    std::uint64_t ledger_recorded = 0;  // rows written to PostgreSQL (first writes; duplicates not counted)
    std::uint64_t ledger_errors = 0;    // PostgreSQL writes that failed (the entry waits, unacknowledged)
    std::uint64_t ledger_purged = 0;    // rows removed by ledger.retention_days
    std::vector<shard_lag> lag;         // by shard, sampled every second
    seconds_histogram calculation;      // parse + calculate + result_json of one submission
};

struct worker_facts {
    std::size_t in_flight = 0;
    std::uint32_t concurrency = 0;
    bool draining = false;
    std::string allocator;  // "jemalloc" or "system"
};

std::string render_prometheus(const worker_metrics& m, const worker_facts& facts);

}  // namespace sluice::worker
