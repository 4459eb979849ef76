// The gateway's metrics: one shard per io_context thread (metrics/shards.hpp), summed only when
// /metrics is scraped, and the text of that scrape (through metrics/prometheus.hpp).
//
// Routes and statuses are small fixed enumerations, so a request is counted with two array
// indexings and no map look-up or string on the hot path.
#pragma once

#include "gateway/router.hpp"
#include "metrics/counter.hpp"
#include "metrics/histogram.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sluice::gateway {

// How an admission (POST /v1/submissions) ended, as /metrics counts it (sluice_admissions_total's
// `outcome` label). Not queue::admission_outcome, which is what the admission script answered.
enum class admission_verdict : std::uint8_t {
    accepted,      // 202, queued
    replayed,      // the stored answer of an earlier request with the same key
    conflict,      // 409: the first request with this key is still in flight
    reused,        // 422: the key was used with another body
    limited,       // 429: the practice's rate limit
    shed,          // 503: in-flight bound, or Redis down or slow
    invalid,       // 400, 415, 422: the request or body is wrong
    unauthorized,  // 401, or 429 for failed attempts from one address
    forbidden,     // 403
    count_
};
inline constexpr std::size_t admission_verdict_count = static_cast<std::size_t>(admission_verdict::count_);
std::string_view verdict_name(admission_verdict v) noexcept;

enum class timeout_phase : std::uint8_t { idle, header, body, write, count_ };
inline constexpr std::size_t timeout_phase_count = static_cast<std::size_t>(timeout_phase::count_);

using metrics::counter;
using metrics::gauge;

// Request and Redis round-trip latencies, in seconds.
inline constexpr std::array<double, 16> latency_bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
using latency_histogram = metrics::histogram<latency_bounds>;

// The HTTP statuses the gateway can answer; anything else is counted as "other".
inline constexpr std::array<unsigned, 19> counted_statuses{200, 202, 400, 401, 403, 404, 405, 408, 409, 411,
                                                           413, 415, 422, 429, 431, 500, 501, 503, 505};
inline constexpr std::size_t status_slot_count = counted_statuses.size() + 1;
std::size_t status_slot(unsigned status) noexcept;

struct metrics_shard {
    std::array<std::array<counter, status_slot_count>, route_count> requests;
    std::array<latency_histogram, route_count> latency;
    std::array<counter, timeout_phase_count> timeouts;
    gauge open_connections;
    gauge inflight_requests;
    counter accepted_connections;
    counter rejected_connections;  // beyond limits.max_connections
    counter accept_errors;
    counter tls_handshakes;          // completed
    counter tls_resumed_handshakes;  // of which resumed a session (a ticket): no certificate signature
    counter tls_handshake_failures;  // refused, broken off, or cut at limits.header_timeout_ms
    std::array<counter, admission_verdict_count> admissions;
    latency_histogram redis_round_trip;
    gauge admissions_inflight;
    gauge admission_limit;           // the adaptive limit now (this thread's)
    gauge retry_backlog_seconds;     // the furthest Retry-After this thread has handed out, from now
    counter refused_before_body;     // 503s decided at the headers (body never read)
    counter redis_call_timeouts;     // admission calls past redis.timeout_ms (answered 503)
    counter redis_late_replies;      // their replies, discarded (mirrors the client's counter)
    counter redis_liveness_drops;    // connections dropped because Redis stopped answering
    counter replication_waits;       // WAIT commands sent (durability.replicas > 0)
    counter replication_shortfalls;  // 202s sent with fewer replicas acknowledged than asked

    void count_request(route r, unsigned status, std::chrono::nanoseconds latency) noexcept;
};

// Facts about the process shown on /metrics (allocator, build).
struct process_facts {
    std::string allocator;          // "jemalloc" or "system"
    std::string allocator_version;  // "" when unknown
    std::uint64_t max_connections = 0;
    std::span<const std::atomic<std::int64_t>> queue_lengths;  // per shard, sampled; -1: not yet known
    // Over every shard, sampled with the lengths (gateway/queue_stats.lua); negative: not yet known.
    std::int64_t queue_waiting = -1;
    double drain_per_second = -1;
    std::int64_t submissions_today = -1;
    std::int64_t declarations_today = -1;
    // [tls], when on: reloads that kept the running pair, and the certificate's expiry.
    bool tls = false;
    std::uint64_t tls_reload_failures = 0;
    std::int64_t tls_not_after = 0;  // Unix seconds
};

// Renders every shard, summed, as Prometheus text exposition format 0.0.4.
std::string render_prometheus(std::span<const metrics_shard* const> shards, const process_facts& facts, bool ready,
                              bool draining);

}  // namespace sluice::gateway
