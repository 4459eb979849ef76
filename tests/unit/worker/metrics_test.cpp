// worker/metrics.hpp: the worker's /metrics text, every family of it, on figures set by hand: the
// exact bytes a scraper and ops/'s alert rules read (written through metrics/prometheus.hpp).
#include "worker/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace sluice::worker {
namespace {

using namespace std::chrono_literals;

TEST(worker_metrics, prometheus_text) {
    worker_metrics m(3);
    m.calculated.add(10);
    m.duplicates.add(1);
    m.failed.add(2);
    m.reclaimed.add(3);
    m.dead_lettered.add(1);
    m.redis_errors.add(4);
    m.trimmed.add(100);
    m.ledger_recorded.add(9);
    m.ledger_errors.add(1);
    m.ledger_purged.add(2);
    m.lag[0] = {5, 6};
    m.lag[1] = {std::nullopt, 3};  // unknown: no lag sample, no pending sample
    m.lag[2] = {0, std::nullopt};  // pending known: a pending sample only
    m.calculation.observe(20us);
    m.calculation.observe(3ms);
    m.calculation.observe(2s);
    EXPECT_EQ(render_prometheus(m, {4, 64, true, "system"}),
              "# HELP sluice_worker_calculated_total Submissions calculated (first result written; once per submission).\n"
              "# TYPE sluice_worker_calculated_total counter\n"
              "sluice_worker_calculated_total 10\n"
              "# HELP sluice_worker_duplicate_results_total Calculations whose submission already had its result (a reclaimed entry finished twice).\n"
              "# TYPE sluice_worker_duplicate_results_total counter\n"
              "sluice_worker_duplicate_results_total 1\n"
              "# HELP sluice_worker_failed_total Attempts that failed (left for a retry, or dead-lettered).\n"
              "# TYPE sluice_worker_failed_total counter\n"
              "sluice_worker_failed_total 2\n"
              "# HELP sluice_worker_reclaimed_total Entries taken over from idle consumers with XAUTOCLAIM.\n"
              "# TYPE sluice_worker_reclaimed_total counter\n"
              "sluice_worker_reclaimed_total 3\n"
              "# HELP sluice_worker_dead_lettered_total Entries moved to a dead-letter stream after max_attempts.\n"
              "# TYPE sluice_worker_dead_lettered_total counter\n"
              "sluice_worker_dead_lettered_total 1\n"
              "# HELP sluice_worker_redis_errors_total Redis calls without a usable answer (the entry stays pending).\n"
              "# TYPE sluice_worker_redis_errors_total counter\n"
              "sluice_worker_redis_errors_total 4\n"
              "# HELP sluice_worker_trimmed_total Acknowledged entries trimmed from the queue streams.\n"
              "# TYPE sluice_worker_trimmed_total counter\n"
              "sluice_worker_trimmed_total 100\n"
              "# HELP sluice_worker_ledger_recorded_total Results and failures first written to PostgreSQL.\n"
              "# TYPE sluice_worker_ledger_recorded_total counter\n"
              "sluice_worker_ledger_recorded_total 9\n"
              "# HELP sluice_worker_ledger_errors_total PostgreSQL writes that failed (the entry is held, unacknowledged, and written again).\n"
              "# TYPE sluice_worker_ledger_errors_total counter\n"
              "sluice_worker_ledger_errors_total 1\n"
              "# HELP sluice_worker_ledger_purged_total Rows removed from PostgreSQL by ledger.retention_days.\n"
              "# TYPE sluice_worker_ledger_purged_total counter\n"
              "sluice_worker_ledger_purged_total 2\n"
              "# HELP sluice_worker_in_flight Submissions this worker holds (being processed).\n"
              "# TYPE sluice_worker_in_flight gauge\n"
              "sluice_worker_in_flight 4\n"
              "# HELP sluice_worker_concurrency worker.concurrency: the bound on submissions in flight.\n"
              "# TYPE sluice_worker_concurrency gauge\n"
              "sluice_worker_concurrency 64\n"
              "# HELP sluice_worker_draining 1 after SIGTERM: no new reads, finishing what it holds.\n"
              "# TYPE sluice_worker_draining gauge\n"
              "sluice_worker_draining 1\n"
              "# HELP sluice_worker_queue_lag Entries of a shard not yet acknowledged by the workers: pending + not yet delivered (sampled every second).\n"
              "# TYPE sluice_worker_queue_lag gauge\n"
              "sluice_worker_queue_lag{shard=\"0\"} 11\n"
              "# HELP sluice_worker_queue_pending Entries of a shard delivered to a worker and not yet acknowledged (sampled every second).\n"
              "# TYPE sluice_worker_queue_pending gauge\n"
              "sluice_worker_queue_pending{shard=\"0\"} 5\n"
              "sluice_worker_queue_pending{shard=\"2\"} 0\n"
              "# HELP sluice_worker_calculation_seconds Time to parse, calculate and serialise one submission.\n"
              "# TYPE sluice_worker_calculation_seconds histogram\n"
              "sluice_worker_calculation_seconds_bucket{le=\"1e-05\"} 0\n"
              "sluice_worker_calculation_seconds_bucket{le=\"2.5e-05\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"5e-05\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"1e-04\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.00025\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"5e-04\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.001\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.0025\"} 1\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.005\"} 2\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.01\"} 2\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.025\"} 2\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.05\"} 2\n"
              "sluice_worker_calculation_seconds_bucket{le=\"0.1\"} 2\n"
              "sluice_worker_calculation_seconds_bucket{le=\"1\"} 2\n"
              "sluice_worker_calculation_seconds_bucket{le=\"+Inf\"} 3\n"
              "sluice_worker_calculation_seconds_sum 2.00302\n"
              "sluice_worker_calculation_seconds_count 3\n"
              "# HELP sluice_worker_allocator_info The malloc in use.\n"
              "# TYPE sluice_worker_allocator_info gauge\n"
              "sluice_worker_allocator_info{allocator=\"system\"} 1\n");
}

}  // namespace
}  // namespace sluice::worker
