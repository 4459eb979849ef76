// The worker's /metrics text (see metrics.hpp).
#include "worker/metrics.hpp"

#include "metrics/prometheus.hpp"

namespace sluice::worker {

std::string render_prometheus(const worker_metrics& m, const worker_facts& facts) {
    using metrics::metric_type;
    std::string out;
    out.reserve(4096);
    metrics::prometheus_writer w(out);
    w.counter("sluice_worker_calculated_total", "Submissions calculated (first result written; once per submission).",
              m.calculated.value());
    w.counter("sluice_worker_duplicate_results_total",
              "Calculations whose submission already had its result (a reclaimed entry finished twice).",
              m.duplicates.value());
    w.counter("sluice_worker_failed_total", "Attempts that failed (left for a retry, or dead-lettered).",
              m.failed.value());
    w.counter("sluice_worker_reclaimed_total", "Entries taken over from idle consumers with XAUTOCLAIM.",
              m.reclaimed.value());
    w.counter("sluice_worker_dead_lettered_total", "Entries moved to a dead-letter stream after max_attempts.",
              m.dead_lettered.value());
    w.counter("sluice_worker_redis_errors_total", "Redis calls without a usable answer (the entry stays pending).",
              m.redis_errors.value());
    w.counter("sluice_worker_trimmed_total", "Acknowledged entries trimmed from the queue streams.", m.trimmed.value());
    w.counter("sluice_worker_ledger_recorded_total", "Results and failures first written to PostgreSQL.",
              m.ledger_recorded.value());
    w.counter("sluice_worker_ledger_errors_total",
              "PostgreSQL writes that failed (the entry is held, unacknowledged, and written again).",
              m.ledger_errors.value());
    w.counter("sluice_worker_ledger_purged_total", "Rows removed from PostgreSQL by ledger.retention_days.",
              m.ledger_purged.value());

    w.gauge("sluice_worker_in_flight", "Submissions this worker holds (being processed).",
            static_cast<std::int64_t>(facts.in_flight));
    w.gauge("sluice_worker_concurrency", "worker.concurrency: the bound on submissions in flight.",
            static_cast<std::int64_t>(facts.concurrency));
    w.gauge("sluice_worker_draining", "1 after SIGTERM: no new reads, finishing what it holds.", facts.draining ? 1 : 0);

    w.family(
        "sluice_worker_queue_lag", metric_type::gauge,
        "Entries of a shard not yet acknowledged by the workers: pending + not yet delivered (sampled every second).");
    for (std::size_t shard = 0; shard < m.lag.size(); ++shard) {
        const auto& l = m.lag[shard];
        if (!l.pending || !l.undelivered) continue;  // unknown: no sample rather than a wrong one
        w.sample("sluice_worker_queue_lag", "shard=\"" + std::to_string(shard) + "\"", *l.pending + *l.undelivered);
    }
    w.family("sluice_worker_queue_pending", metric_type::gauge,
             "Entries of a shard delivered to a worker and not yet acknowledged (sampled every second).");
    for (std::size_t shard = 0; shard < m.lag.size(); ++shard)
        if (m.lag[shard].pending)
            w.sample("sluice_worker_queue_pending", "shard=\"" + std::to_string(shard) + "\"", *m.lag[shard].pending);

    w.family("sluice_worker_calculation_seconds", metric_type::histogram,
             "Time to parse, calculate and serialise one submission.");
    w.histogram("sluice_worker_calculation_seconds", "", m.calculation.snapshot());

    w.family("sluice_worker_allocator_info", metric_type::gauge, "The malloc in use.");
    w.sample("sluice_worker_allocator_info", "allocator=\"" + facts.allocator + "\"", std::uint64_t{1});
    return out;
}

}  // namespace sluice::worker
