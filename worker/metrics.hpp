// The worker's metrics and their Prometheus text (through metrics/prometheus.hpp), served on
// worker.metrics_address:metrics_port by metrics_server.hpp.
//
// The worker runs one io_context on one thread, and the metrics server runs on the same one: the
// whole process is one shard of metrics/ types, written and scraped on that thread. The ledger's
// figures (recorded, errors, purged) are counted here, by the worker that writes to the ledger.
#pragma once

#include "metrics/counter.hpp"
#include "metrics/histogram.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::worker {

// One submission's parse + calculate + result, in seconds: microseconds, normally.
inline constexpr std::array<double, 14> calculation_bounds{0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                                           0.0005,  0.001,    0.0025,  0.005,  0.01,
                                                           0.025,   0.05,     0.1,     1.0};

struct shard_lag {
    std::optional<std::uint64_t> pending;      // delivered, not acknowledged (XINFO GROUPS pending)
    std::optional<std::uint64_t> undelivered;  // not yet delivered (XINFO GROUPS lag); unknown: nullopt
};

struct worker_metrics {
    explicit worker_metrics(std::uint32_t shards) : lag(shards) {}

    metrics::counter calculated;       // first results written (counted once per submission)
    metrics::counter duplicates;       // results found already written by another delivery
    metrics::counter failed;           // failed attempts (not acked, or dead-lettered)
    metrics::counter reclaimed;        // entries taken over with XAUTOCLAIM
    metrics::counter dead_lettered;    // entries moved to a dead-letter stream
    metrics::counter redis_errors;     // calls with no usable answer (the entry stays pending)
    metrics::counter trimmed;          // acknowledged entries removed from the streams
    metrics::counter ledger_recorded;  // rows written to PostgreSQL (first writes; duplicates not counted)
    metrics::counter ledger_errors;    // PostgreSQL writes that failed (the entry waits, unacknowledged)
    metrics::counter ledger_purged;    // rows removed by ledger.retention_days
    std::vector<shard_lag> lag;        // by shard, sampled every second
    metrics::histogram<calculation_bounds> calculation;  // parse + calculate + result_json of one submission
};

struct worker_facts {
    std::size_t in_flight = 0;
    std::uint32_t concurrency = 0;
    bool draining = false;
    std::string allocator;  // "jemalloc" or "system"
};

std::string render_prometheus(const worker_metrics& m, const worker_facts& facts);

}  // namespace sluice::worker
