// The gateway's metric shards and their /metrics text (see metrics.hpp).
#include "gateway/metrics.hpp"

#include "config/allocator.hpp"
#include "metrics/prometheus.hpp"
#include "metrics/shards.hpp"

#include <string>

namespace sluice::gateway {

std::string_view verdict_name(admission_verdict v) noexcept {
    switch (v) {
    case admission_verdict::accepted: return "accepted";
    case admission_verdict::replayed: return "replayed";
    case admission_verdict::conflict: return "conflict";
    case admission_verdict::reused: return "reused";
    case admission_verdict::limited: return "limited";
    case admission_verdict::shed: return "shed";
    case admission_verdict::invalid: return "invalid";
    case admission_verdict::unauthorized: return "unauthorized";
    case admission_verdict::forbidden: return "forbidden";
    case admission_verdict::count_: break;
    }
    return "unknown";
}

namespace {

std::string_view phase_name(timeout_phase p) noexcept {
    switch (p) {
    case timeout_phase::idle: return "idle";
    case timeout_phase::header: return "header";
    case timeout_phase::body: return "body";
    case timeout_phase::write: return "write";
    case timeout_phase::count_: break;
    }
    return "unknown";
}

constexpr auto status_slots = [] {
    std::array<std::uint8_t, 600> slots{};
    slots.fill(static_cast<std::uint8_t>(counted_statuses.size()));
    for (std::size_t i = 0; i < counted_statuses.size(); ++i) slots[counted_statuses[i]] = static_cast<std::uint8_t>(i);
    return slots;
}();

}  // namespace

std::size_t status_slot(unsigned status) noexcept {
    return status < status_slots.size() ? status_slots[status] : counted_statuses.size();
}

void metrics_shard::count_request(route r, unsigned status, std::chrono::nanoseconds d) noexcept {
    const auto ri = static_cast<std::size_t>(r);
    requests[ri][status_slot(status)].add();
    latency[ri].observe(d);
}

std::string render_prometheus(std::span<const metrics_shard* const> shards, const process_facts& facts, bool ready,
                              bool draining) {
    using metrics::metric_type;
    std::string out;
    out.reserve(16384);
    metrics::prometheus_writer w(out);
    auto sum = [&](auto pick) { return metrics::total(shards, pick); };

    w.family("sluice_http_requests_total", metric_type::counter, "HTTP requests answered, by route and status.");
    for (std::size_t r = 0; r < route_count; ++r) {
        for (std::size_t slot = 0; slot < status_slot_count; ++slot) {
            const auto n = sum([&](const metrics_shard& s) { return s.requests[r][slot].value(); });
            if (n == 0) continue;
            const std::string status =
                slot < counted_statuses.size() ? std::to_string(counted_statuses[slot]) : std::string("other");
            w.sample("sluice_http_requests_total",
                     "route=\"" + std::string(route_name(static_cast<route>(r))) + "\",status=\"" + status + "\"", n);
        }
    }

    w.family("sluice_http_request_duration_seconds", metric_type::histogram,
             "Time from a request's complete header to its answer written.");
    for (std::size_t r = 0; r < route_count; ++r)
        w.histogram("sluice_http_request_duration_seconds",
                    "route=\"" + std::string(route_name(static_cast<route>(r))) + "\"",
                    metrics::combined(
                        shards, [r](const metrics_shard& s) -> const auto& { return s.latency[r]; }));

    w.family("sluice_http_timeouts_total", metric_type::counter, "Connections cut off because a phase took too long.");
    for (std::size_t p = 0; p < timeout_phase_count; ++p)
        w.sample("sluice_http_timeouts_total",
                 "phase=\"" + std::string(phase_name(static_cast<timeout_phase>(p))) + "\"",
                 sum([&](const metrics_shard& s) { return s.timeouts[p].value(); }));

    w.gauge("sluice_http_open_connections", "Client connections open now.",
            sum([](const metrics_shard& s) { return s.open_connections.value(); }));
    w.gauge("sluice_http_inflight_requests", "Requests received and not yet answered.",
            sum([](const metrics_shard& s) { return s.inflight_requests.value(); }));
    w.counter("sluice_http_connections_accepted_total", "Client connections accepted.",
              sum([](const metrics_shard& s) { return s.accepted_connections.value(); }));
    w.counter("sluice_http_connections_rejected_total",
              "Connections answered 503 because limits.max_connections were open.",
              sum([](const metrics_shard& s) { return s.rejected_connections.value(); }));
    w.counter("sluice_replication_waits_total",
              "Redis WAIT commands sent for durability.replicas (one per batch of admissions).",
              sum([](const metrics_shard& s) { return s.replication_waits.value(); }));
    w.counter("sluice_replication_shortfalls_total",
              "Submissions answered 202 although fewer than durability.replicas replicas acknowledged them within "
              "durability.wait_timeout_ms.",
              sum([](const metrics_shard& s) { return s.replication_shortfalls.value(); }));
    w.counter("sluice_http_accept_errors_total", "accept() failures (for example out of file descriptors).",
              sum([](const metrics_shard& s) { return s.accept_errors.value(); }));
    if (facts.tls) {
        w.counter("sluice_tls_handshakes_total", "TLS handshakes completed.",
                  sum([](const metrics_shard& s) { return s.tls_handshakes.value(); }));
        w.counter("sluice_tls_resumed_handshakes_total",
                  "TLS handshakes completed that resumed a session (a session ticket): no certificate signature.",
                  sum([](const metrics_shard& s) { return s.tls_resumed_handshakes.value(); }));
        w.counter("sluice_tls_handshake_failures_total",
                  "TLS handshakes that failed: refused (protocol version, ALPN), broken off by the client, or cut "
                  "at limits.header_timeout_ms.",
                  sum([](const metrics_shard& s) { return s.tls_handshake_failures.value(); }));
        w.counter("sluice_tls_reload_failures_total",
                  "SIGHUP reloads whose certificate or key did not load (the running pair was kept).",
                  facts.tls_reload_failures);
        w.gauge("sluice_tls_certificate_expiry_timestamp_seconds",
                "When the certificate new TLS connections get expires (Unix time).", facts.tls_not_after);
    }
    w.family("sluice_http_max_connections", metric_type::gauge, "The configured limits.max_connections.");
    w.sample("sluice_http_max_connections", "", facts.max_connections);

    w.family("sluice_admissions_total", metric_type::counter, "Submissions by how their admission ended.");
    for (std::size_t v = 0; v < admission_verdict_count; ++v)
        w.sample("sluice_admissions_total",
                 "outcome=\"" + std::string(verdict_name(static_cast<admission_verdict>(v))) + "\"",
                 sum([&](const metrics_shard& s) { return s.admissions[v].value(); }));
    w.gauge("sluice_admissions_inflight", "Admissions waiting on Redis now.",
            sum([](const metrics_shard& s) { return s.admissions_inflight.value(); }));
    w.gauge("sluice_admission_limit", "The adaptive limit on admissions in flight, summed over threads.",
            sum([](const metrics_shard& s) { return s.admission_limit.value(); }));
    w.gauge("sluice_admission_retry_backlog_seconds",
            "How far ahead the furthest Retry-After handed out to a shed submission reaches.",
            metrics::largest(shards, [](const metrics_shard& s) { return s.retry_backlog_seconds.value(); }));
    w.counter("sluice_admission_refused_before_body_total",
              "Submissions answered 503 at their headers, before the body was read.",
              sum([](const metrics_shard& s) { return s.refused_before_body.value(); }));
    w.counter("sluice_redis_call_timeouts_total", "Admission calls Redis did not answer within redis.timeout_ms.",
              sum([](const metrics_shard& s) { return s.redis_call_timeouts.value(); }));
    w.counter("sluice_redis_late_replies_total", "Replies that came after their call had timed out (discarded).",
              sum([](const metrics_shard& s) { return s.redis_late_replies.value(); }));
    w.counter("sluice_redis_liveness_drops_total",
              "Redis connections dropped because Redis stopped answering for redis.liveness_ms.",
              sum([](const metrics_shard& s) { return s.redis_liveness_drops.value(); }));
    w.family("sluice_redis_round_trip_seconds", metric_type::histogram, "Time from sending a Redis call to its reply.");
    w.histogram("sluice_redis_round_trip_seconds", "",
                metrics::combined(
                    shards, [](const metrics_shard& s) -> const auto& { return s.redis_round_trip; }));
    w.family("sluice_queue_length", metric_type::gauge, "Entries in each queue shard's stream (sampled every second).");
    for (std::size_t shard = 0; shard < facts.queue_lengths.size(); ++shard) {
        const std::int64_t n = facts.queue_lengths[shard].load(std::memory_order_relaxed);
        if (n >= 0) w.sample("sluice_queue_length", "shard=\"" + std::to_string(shard) + "\"", n);
    }
    // The status page's figures (status_page.hpp), here so that both show the same numbers.
    if (facts.queue_waiting >= 0)
        w.gauge("sluice_queue_waiting",
                "Submissions not yet calculated, over every shard (undelivered plus delivered and not acknowledged).",
                facts.queue_waiting);
    if (facts.drain_per_second >= 0) {
        w.family("sluice_queue_drain_rate", metric_type::gauge,
                 "Submissions acknowledged by the workers per second, over the last minute.");
        w.sample("sluice_queue_drain_rate", "", facts.drain_per_second);
    }
    if (facts.submissions_today >= 0)
        w.gauge("sluice_submissions_today", "Submissions queued since 00:00 UTC, over every gateway.",
                facts.submissions_today);
    if (facts.declarations_today >= 0)
        w.gauge("sluice_declarations_today", "Declarations made since 00:00 UTC, from the system of record.",
                facts.declarations_today);

    w.gauge("sluice_ready", "1 when the gateway accepts submissions.", ready ? 1 : 0);
    w.gauge("sluice_draining", "1 after SIGTERM while in-flight requests finish.", draining ? 1 : 0);

    w.family("sluice_allocator_info", metric_type::gauge, "The malloc implementation in use, checked at start-up.");
    w.sample("sluice_allocator_info",
             "allocator=\"" + facts.allocator + "\",version=\"" + facts.allocator_version + "\"", std::uint64_t{1});
    if (const auto stats = config::allocator_statistics()) {
        w.family("sluice_allocator_allocated_bytes", metric_type::gauge,
                 "Bytes allocated by the application (jemalloc stats).");
        w.sample("sluice_allocator_allocated_bytes", "", stats->allocated_bytes);
        w.family("sluice_allocator_resident_bytes", metric_type::gauge,
                 "Bytes in physically resident pages held by jemalloc.");
        w.sample("sluice_allocator_resident_bytes", "", stats->resident_bytes);
    }
    return out;
}

}  // namespace sluice::gateway
