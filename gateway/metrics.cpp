// Prometheus text rendering for the gateway's metric shards (see metrics.hpp).
#include "gateway/metrics.hpp"

#include "config/allocator.hpp"

#include <algorithm>
#include <cstdio>
#include <charconv>

namespace sluice::gateway {

std::string_view route_name(route r) noexcept {
    switch (r) {
        case route::submit: return "submit";
        case route::status: return "status";
        case route::healthz: return "healthz";
        case route::readyz: return "readyz";
        case route::metrics: return "metrics";
        case route::service_status: return "service_status";
        case route::service_status_json: return "service_status_json";
        case route::unmatched: return "unmatched";
        case route::count_: break;
    }
    return "unknown";
}

std::string_view outcome_name(admission_outcome o) noexcept {
    switch (o) {
        case admission_outcome::accepted: return "accepted";
        case admission_outcome::replayed: return "replayed";
        case admission_outcome::conflict: return "conflict";
        case admission_outcome::reused: return "reused";
        case admission_outcome::limited: return "limited";
        case admission_outcome::shed: return "shed";
        case admission_outcome::invalid: return "invalid";
        case admission_outcome::unauthorized: return "unauthorized";
        case admission_outcome::forbidden: return "forbidden";
        case admission_outcome::count_: break;
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

class text_writer {
public:
    explicit text_writer(std::string& out) : out_(out) {}
    text_writer& operator<<(std::string_view s) {
        out_.append(s);
        return *this;
    }
    text_writer& operator<<(std::uint64_t v) { return number(v); }
    text_writer& operator<<(std::int64_t v) { return number(v); }
    text_writer& operator<<(unsigned v) { return number(v); }
    text_writer& operator<<(double v) { return number(v); }

private:
    template <typename T>
    text_writer& number(T v) {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        (void)ec;
        out_.append(buf, end);
        return *this;
    }
    std::string& out_;
};

// One histogram series in Prometheus form: cumulative buckets, _sum and _count, summed over shards.
// `labels` is empty or "name=\"value\"" (without braces); `pick` selects the histogram of a shard.
template <typename Pick>
void write_histogram(text_writer& w, std::span<const metrics_shard* const> shards, std::string_view name,
                     std::string_view labels, Pick pick) {
    const std::string_view sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0, count = 0, sum_ns = 0;
    for (std::size_t b = 0; b <= latency_histogram::bounds.size(); ++b) {
        for (const metrics_shard* s : shards) cumulative += pick(*s).bucket(b);
        w << name << "_bucket{" << labels << sep << "le=\"";
        if (b < latency_histogram::bounds.size())
            w << latency_histogram::bounds[b];
        else
            w << "+Inf";
        w << "\"} " << cumulative << "\n";
    }
    for (const metrics_shard* s : shards) {
        count += pick(*s).count();
        sum_ns += pick(*s).sum_nanoseconds();
    }
    const std::string_view open = labels.empty() ? "" : "{", close = labels.empty() ? "" : "}";
    w << name << "_sum" << open << labels << close << " " << static_cast<double>(sum_ns) / 1e9 << "\n";
    w << name << "_count" << open << labels << close << " " << count << "\n";
}

}  // namespace

std::size_t status_slot(unsigned status) noexcept {
    return status < status_slots.size() ? status_slots[status] : counted_statuses.size();
}

void latency_histogram::observe(std::chrono::nanoseconds d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds);
    buckets_[static_cast<std::size_t>(it - bounds.begin())].add();
    count_.add();
    sum_ns_.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())));
}

void metrics_shard::count_request(route r, unsigned status, std::chrono::nanoseconds d) noexcept {
    const auto ri = static_cast<std::size_t>(r);
    requests[ri][status_slot(status)].add();
    latency[ri].observe(d);
}

std::string render_prometheus(std::span<const metrics_shard* const> shards, const process_facts& facts, bool ready,
                              bool draining) {
    std::string out;
    out.reserve(16384);
    text_writer w(out);

    auto sum = [&](auto&& get) {
        std::uint64_t total = 0;
        for (const metrics_shard* s : shards) total += static_cast<std::uint64_t>(get(*s));
        return total;
    };

    w << "# HELP sluice_http_requests_total HTTP requests answered, by route and status.\n"
         "# TYPE sluice_http_requests_total counter\n";
    for (std::size_t r = 0; r < route_count; ++r) {
        for (std::size_t slot = 0; slot < status_slot_count; ++slot) {
            const auto n = sum([&](const metrics_shard& s) { return s.requests[r][slot].value(); });
            if (n == 0) continue;
            w << "sluice_http_requests_total{route=\"" << route_name(static_cast<route>(r)) << "\",status=\"";
            if (slot < counted_statuses.size())
                w << counted_statuses[slot];
            else
                w << "other";
            w << "\"} " << n << "\n";
        }
    }

    w << "# HELP sluice_http_request_duration_seconds Time from a request's complete header to its answer "
         "written.\n"
         "# TYPE sluice_http_request_duration_seconds histogram\n";
    for (std::size_t r = 0; r < route_count; ++r) {
        const std::string labels = "route=\"" + std::string(route_name(static_cast<route>(r))) + "\"";
        write_histogram(w, shards, "sluice_http_request_duration_seconds", labels,
                        [r](const metrics_shard& s) -> const latency_histogram& { return s.latency[r]; });
    }

    w << "# HELP sluice_http_timeouts_total Connections cut off because a phase took too long.\n"
         "# TYPE sluice_http_timeouts_total counter\n";
    for (std::size_t p = 0; p < timeout_phase_count; ++p)
        w << "sluice_http_timeouts_total{phase=\"" << phase_name(static_cast<timeout_phase>(p)) << "\"} "
          << sum([&](const metrics_shard& s) { return s.timeouts[p].value(); }) << "\n";

    w << "# HELP sluice_http_open_connections Client connections open now.\n"
         "# TYPE sluice_http_open_connections gauge\n"
         "sluice_http_open_connections "
      << static_cast<std::int64_t>(sum([](const metrics_shard& s) { return s.open_connections.value(); })) << "\n";
    w << "# HELP sluice_http_inflight_requests Requests received and not yet answered.\n"
         "# TYPE sluice_http_inflight_requests gauge\n"
         "sluice_http_inflight_requests "
      << static_cast<std::int64_t>(sum([](const metrics_shard& s) { return s.inflight_requests.value(); })) << "\n";
    w << "# HELP sluice_http_connections_accepted_total Client connections accepted.\n"
         "# TYPE sluice_http_connections_accepted_total counter\n"
         "sluice_http_connections_accepted_total "
      << sum([](const metrics_shard& s) { return s.accepted_connections.value(); }) << "\n";
    w << "# HELP sluice_http_connections_rejected_total Connections answered 503 because limits.max_connections "
         "were open.\n"
         "# TYPE sluice_http_connections_rejected_total counter\n"
         "sluice_http_connections_rejected_total "
      << sum([](const metrics_shard& s) { return s.rejected_connections.value(); }) << "\n";
    w << "# HELP sluice_replication_waits_total Redis WAIT commands sent for durability.replicas (one per batch "
         "of admissions).\n"
         "# TYPE sluice_replication_waits_total counter\n"
         "sluice_replication_waits_total "
      << sum([](const metrics_shard& s) { return s.replication_waits.value(); }) << "\n";
    w << "# HELP sluice_replication_shortfalls_total Submissions answered 202 although fewer than "
         "durability.replicas replicas acknowledged them within durability.wait_timeout_ms.\n"
         "# TYPE sluice_replication_shortfalls_total counter\n"
         "sluice_replication_shortfalls_total "
      << sum([](const metrics_shard& s) { return s.replication_shortfalls.value(); }) << "\n";
    w << "# HELP sluice_http_accept_errors_total accept() failures (for example out of file descriptors).\n"
         "# TYPE sluice_http_accept_errors_total counter\n"
         "sluice_http_accept_errors_total "
      << sum([](const metrics_shard& s) { return s.accept_errors.value(); }) << "\n";
    w << "# HELP sluice_http_max_connections The configured limits.max_connections.\n"
         "# TYPE sluice_http_max_connections gauge\n"
         "sluice_http_max_connections "
      << facts.max_connections << "\n";

    w << "# HELP sluice_admissions_total Submissions by how their admission ended.\n"
         "# TYPE sluice_admissions_total counter\n";
    for (std::size_t o = 0; o < admission_outcome_count; ++o)
        w << "sluice_admissions_total{outcome=\"" << outcome_name(static_cast<admission_outcome>(o)) << "\"} "
          << sum([&](const metrics_shard& s) { return s.admissions[o].value(); }) << "\n";
    w << "# HELP sluice_admissions_inflight Admissions waiting on Redis now.\n"
         "# TYPE sluice_admissions_inflight gauge\n"
         "sluice_admissions_inflight "
      << static_cast<std::int64_t>(sum([](const metrics_shard& s) { return s.admissions_inflight.value(); })) << "\n";
    w << "# HELP sluice_admission_limit The adaptive limit on admissions in flight, summed over threads.\n"
         "# TYPE sluice_admission_limit gauge\n"
         "sluice_admission_limit "
      << static_cast<std::int64_t>(sum([](const metrics_shard& s) { return s.admission_limit.value(); })) << "\n";
    std::int64_t backlog = 0;
    for (const metrics_shard* s : shards) backlog = std::max(backlog, s->retry_backlog_seconds.value());
    w << "# HELP sluice_admission_retry_backlog_seconds How far ahead the furthest Retry-After handed out "
         "to a shed submission reaches.\n"
         "# TYPE sluice_admission_retry_backlog_seconds gauge\n"
         "sluice_admission_retry_backlog_seconds "
      << backlog << "\n";
    w << "# HELP sluice_admission_refused_before_body_total Submissions answered 503 at their headers, "
         "before the body was read.\n"
         "# TYPE sluice_admission_refused_before_body_total counter\n"
         "sluice_admission_refused_before_body_total "
      << sum([](const metrics_shard& s) { return s.refused_before_body.value(); }) << "\n";
    w << "# HELP sluice_redis_call_timeouts_total Admission calls Redis did not answer within redis.timeout_ms.\n"
         "# TYPE sluice_redis_call_timeouts_total counter\n"
         "sluice_redis_call_timeouts_total "
      << sum([](const metrics_shard& s) { return s.redis_call_timeouts.value(); }) << "\n";
    w << "# HELP sluice_redis_late_replies_total Replies that came after their call had timed out (discarded).\n"
         "# TYPE sluice_redis_late_replies_total counter\n"
         "sluice_redis_late_replies_total "
      << sum([](const metrics_shard& s) { return s.redis_late_replies.value(); }) << "\n";
    w << "# HELP sluice_redis_liveness_drops_total Redis connections dropped because Redis stopped answering "
         "for redis.liveness_ms.\n"
         "# TYPE sluice_redis_liveness_drops_total counter\n"
         "sluice_redis_liveness_drops_total "
      << sum([](const metrics_shard& s) { return s.redis_liveness_drops.value(); }) << "\n";
    w << "# HELP sluice_redis_round_trip_seconds Time from sending a Redis call to its reply.\n"
         "# TYPE sluice_redis_round_trip_seconds histogram\n";
    write_histogram(w, shards, "sluice_redis_round_trip_seconds", "",
                    [](const metrics_shard& s) -> const latency_histogram& { return s.redis_round_trip; });
    w << "# HELP sluice_queue_length Entries in each queue shard's stream (sampled every second).\n"
         "# TYPE sluice_queue_length gauge\n";
    for (std::size_t shard = 0; shard < facts.queue_lengths.size(); ++shard) {
        const auto n = facts.queue_lengths[shard].load(std::memory_order_relaxed);
        if (n >= 0) w << "sluice_queue_length{shard=\"" << static_cast<std::uint64_t>(shard) << "\"} " << n << "\n";
    }
    // The status page's figures (status_page.hpp), here so that both show the same numbers.
    if (facts.queue_waiting >= 0)
        w << "# HELP sluice_queue_waiting Submissions not yet calculated, over every shard (undelivered plus "
             "delivered and not acknowledged).\n"
             "# TYPE sluice_queue_waiting gauge\n"
             "sluice_queue_waiting "
          << facts.queue_waiting << "\n";
    if (facts.drain_per_second >= 0) {
        char rate[32];
        std::snprintf(rate, sizeof rate, "%.3f", facts.drain_per_second);
        w << "# HELP sluice_queue_drain_rate Submissions acknowledged by the workers per second, over the last "
             "minute.\n"
             "# TYPE sluice_queue_drain_rate gauge\n"
             "sluice_queue_drain_rate "
          << rate << "\n";
    }
    if (facts.submissions_today >= 0)
        w << "# HELP sluice_submissions_today Submissions queued since 00:00 UTC, over every gateway.\n"
             "# TYPE sluice_submissions_today gauge\n"
             "sluice_submissions_today "
          << facts.submissions_today << "\n";

    w << "# HELP sluice_ready 1 when the gateway accepts submissions.\n"
         "# TYPE sluice_ready gauge\n"
         "sluice_ready "
      << (ready ? 1u : 0u) << "\n";
    w << "# HELP sluice_draining 1 after SIGTERM while in-flight requests finish.\n"
         "# TYPE sluice_draining gauge\n"
         "sluice_draining "
      << (draining ? 1u : 0u) << "\n";

    w << "# HELP sluice_allocator_info The malloc implementation in use, checked at start-up.\n"
         "# TYPE sluice_allocator_info gauge\n"
         "sluice_allocator_info{allocator=\""
      << facts.allocator << "\",version=\"" << facts.allocator_version << "\"} 1\n";
    if (const auto stats = config::allocator_statistics()) {
        w << "# HELP sluice_allocator_allocated_bytes Bytes allocated by the application (jemalloc stats).\n"
             "# TYPE sluice_allocator_allocated_bytes gauge\n"
             "sluice_allocator_allocated_bytes "
          << stats->allocated_bytes << "\n";
        w << "# HELP sluice_allocator_resident_bytes Bytes in physically resident pages held by jemalloc.\n"
             "# TYPE sluice_allocator_resident_bytes gauge\n"
             "sluice_allocator_resident_bytes "
          << stats->resident_bytes << "\n";
    }
    return out;
}

}  // namespace sluice::gateway
