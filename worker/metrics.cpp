// Prometheus text for the worker (see metrics.hpp).
#include "worker/metrics.hpp"

#include <charconv>
#include <string_view>

namespace sluice::worker {

void seconds_histogram::observe(std::chrono::nanoseconds d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    ++buckets_[i];
    ++count_;
    sum_ns_ += static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
}

namespace {

template <typename T>
void append_number(std::string& out, T v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <typename T>
void sample(std::string& out, std::string_view name, std::string_view labels, T value) {
    out.append(name);
    if (!labels.empty()) out.append("{").append(labels).append("}");
    out.push_back(' ');
    append_number(out, value);
    out.push_back('\n');
}

template <typename T>
void counter(std::string& out, std::string_view name, std::string_view help, T value) {
    header(out, name, "counter", help);
    sample(out, name, "", value);
}

}  // namespace

std::string render_prometheus(const worker_metrics& m, const worker_facts& facts) {
    std::string out;
    out.reserve(4096);
    counter(out, "sluice_worker_calculated_total",
            "Submissions calculated (first result written; once per submission).", m.calculated);
    counter(out, "sluice_worker_duplicate_results_total",
            "Calculations whose submission already had its result (a reclaimed entry finished twice).", m.duplicates);
    counter(out, "sluice_worker_failed_total", "Attempts that failed (left for a retry, or dead-lettered).", m.failed);
    counter(out, "sluice_worker_reclaimed_total", "Entries taken over from idle consumers with XAUTOCLAIM.",
            m.reclaimed);
    counter(out, "sluice_worker_dead_lettered_total", "Entries moved to a dead-letter stream after max_attempts.",
            m.dead_lettered);
    counter(out, "sluice_worker_redis_errors_total", "Redis calls without a usable answer (the entry stays pending).",
            m.redis_errors);
    counter(out, "sluice_worker_trimmed_total", "Acknowledged entries trimmed from the queue streams.", m.trimmed);
    counter(out, "sluice_worker_ledger_recorded_total", "Results and failures first written to PostgreSQL.",
            m.ledger_recorded);
    counter(out, "sluice_worker_ledger_errors_total",
            "PostgreSQL writes that failed (the entry is held, unacknowledged, and written again).", m.ledger_errors);
    counter(out, "sluice_worker_ledger_purged_total", "Rows removed from PostgreSQL by ledger.retention_days.",
            m.ledger_purged);

    header(out, "sluice_worker_in_flight", "gauge", "Submissions this worker holds (being processed).");
    sample(out, "sluice_worker_in_flight", "", static_cast<std::uint64_t>(facts.in_flight));
    header(out, "sluice_worker_concurrency", "gauge", "worker.concurrency: the bound on submissions in flight.");
    sample(out, "sluice_worker_concurrency", "", static_cast<std::uint64_t>(facts.concurrency));
    header(out, "sluice_worker_draining", "gauge", "1 after SIGTERM: no new reads, finishing what it holds.");
    sample(out, "sluice_worker_draining", "", facts.draining ? 1u : 0u);

    header(
        out, "sluice_worker_queue_lag", "gauge",
        "Entries of a shard not yet acknowledged by the workers: pending + not yet delivered (sampled every second).");
    for (std::size_t shard = 0; shard < m.lag.size(); ++shard) {
        const auto& l = m.lag[shard];
        if (!l.pending || !l.undelivered) continue;  // unknown: no sample rather than a wrong one
        sample(out, "sluice_worker_queue_lag", "shard=\"" + std::to_string(shard) + "\"", *l.pending + *l.undelivered);
    }
    header(out, "sluice_worker_queue_pending", "gauge",
           "Entries of a shard delivered to a worker and not yet acknowledged (sampled every second).");
    for (std::size_t shard = 0; shard < m.lag.size(); ++shard)
        if (m.lag[shard].pending)
            sample(out, "sluice_worker_queue_pending", "shard=\"" + std::to_string(shard) + "\"",
                   *m.lag[shard].pending);

    header(out, "sluice_worker_calculation_seconds", "histogram",
           "Time to parse, calculate and serialise one submission.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < seconds_histogram::bounds.size(); ++i) {
        cumulative += m.calculation.bucket(i);
        std::string le = "le=\"";
        append_number(le, seconds_histogram::bounds[i]);
        le.push_back('"');
        sample(out, "sluice_worker_calculation_seconds_bucket", le, cumulative);
    }
    cumulative += m.calculation.bucket(seconds_histogram::bounds.size());
    sample(out, "sluice_worker_calculation_seconds_bucket", "le=\"+Inf\"", cumulative);
    sample(out, "sluice_worker_calculation_seconds_sum", "", m.calculation.sum_seconds());
    sample(out, "sluice_worker_calculation_seconds_count", "", m.calculation.count());

    header(out, "sluice_worker_allocator_info", "gauge", "The malloc in use.");
    sample(out, "sluice_worker_allocator_info", "allocator=\"" + facts.allocator + "\"", 1u);
    return out;
}

}  // namespace sluice::worker
