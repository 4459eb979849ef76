// Prometheus text rendering for the gateway's metric shards (see metrics.hpp).
#include "gateway/metrics.hpp"

#include "config/allocator.hpp"

#include <algorithm>
#include <charconv>

namespace sluice::gateway {

std::string_view route_name(route r) noexcept {
    switch (r) {
        case route::healthz: return "healthz";
        case route::readyz: return "readyz";
        case route::metrics: return "metrics";
        case route::unmatched: return "unmatched";
        case route::count_: break;
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
        const auto name = route_name(static_cast<route>(r));
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= latency_histogram::bounds.size(); ++b) {
            cumulative += sum([&](const metrics_shard& s) { return s.latency[r].bucket(b); });
            w << "sluice_http_request_duration_seconds_bucket{route=\"" << name << "\",le=\"";
            if (b < latency_histogram::bounds.size())
                w << latency_histogram::bounds[b];
            else
                w << "+Inf";
            w << "\"} " << cumulative << "\n";
        }
        const auto sum_ns = sum([&](const metrics_shard& s) { return s.latency[r].sum_nanoseconds(); });
        w << "sluice_http_request_duration_seconds_sum{route=\"" << name << "\"} " << static_cast<double>(sum_ns) / 1e9
          << "\n";
        w << "sluice_http_request_duration_seconds_count{route=\"" << name << "\"} "
          << sum([&](const metrics_shard& s) { return s.latency[r].count(); }) << "\n";
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
    w << "# HELP sluice_http_accept_errors_total accept() failures (for example out of file descriptors).\n"
         "# TYPE sluice_http_accept_errors_total counter\n"
         "sluice_http_accept_errors_total "
      << sum([](const metrics_shard& s) { return s.accept_errors.value(); }) << "\n";
    w << "# HELP sluice_http_max_connections The configured limits.max_connections.\n"
         "# TYPE sluice_http_max_connections gauge\n"
         "sluice_http_max_connections "
      << facts.max_connections << "\n";

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
