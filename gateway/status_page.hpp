// The public status page (GET /status and GET /status.json): what a practice manager or an
// operator needs on deadline night, from the same figures /metrics exports.
//
//   accepting   whether this gateway takes submissions now (sluice_ready) and, in words, why not:
//               shutting down, or its queue store (Redis) out of reach; or that it is busy and
//               asks some submissions to come back later (sluice_admission_retry_backlog_seconds);
//   retry       the furthest Retry-After handed out now, in seconds (0: none);
//   queue       submissions waiting to be calculated (sluice_queue_waiting), the measured drain
//               rate (sluice_queue_drain_rate, per second over the last minute), and from the two
//               how long a submission made now waits for its calculation;
//   today       submissions queued since 00:00 UTC over every gateway (sluice_submissions_today),
//               and declarations made since then (sluice_declarations_today, from PostgreSQL);
//   message     the operator's message (status.message_file, re-read on SIGHUP).
//
// Pure: the caller gathers a status_inputs; this file decides the words and renders them. The
// HTML page is complete without JavaScript (every figure is in it as sent) and carries no
// external resource; a small inline script re-reads /status.json and updates the figures.
#pragma once

#include "config/html.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace sluice::gateway {

struct status_inputs {
    bool ready = false;     // sluice_ready
    bool draining = false;  // sluice_draining
    std::int64_t retry_after_seconds = 0;
    std::optional<std::int64_t> queue_waiting;      // unknown until first sampled
    std::optional<double> drain_per_second;         // unknown until two samples a few seconds apart
    std::optional<std::int64_t> submissions_today;  // unknown until first sampled
    std::optional<std::int64_t> declarations_today;  // unknown until sampled (no ledger: never)
    std::string operator_message;
    std::chrono::system_clock::time_point now;
    std::int64_t refresh_seconds = 5;
};

enum class status_state : std::uint8_t { open, busy, draining, unreachable };

struct status_view {
    status_inputs in;
    status_state state = status_state::open;
    std::string headline;  // one sentence: accepting or not
    std::string reason;    // why, and what a practice should do
    // Seconds until a submission made now is calculated; nullopt when it cannot be estimated
    // (the queue is not draining, or not yet measured).
    std::optional<std::int64_t> estimated_seconds;
};

status_view describe_status(status_inputs in);

std::string render_status_json(const status_view& v);
std::string render_status_html(const status_view& v);

// "about 3 minutes", "under a minute", "about 2 hours 10 minutes": for people, not parsers.
std::string human_duration(std::int64_t seconds);

using config::html_escape;  // config/html.hpp

// The drain rate over a sliding window: samples of a monotonic count of entries taken off the
// queue (acknowledged), with their times. Pure: the sampler feeds it.
class drain_rate {
public:
    using clock = std::chrono::steady_clock;
    explicit drain_rate(std::chrono::seconds window = std::chrono::seconds(60)) : window_(window) {}

    void add(clock::time_point at, std::int64_t drained_total);
    // Entries per second between the oldest and newest samples in the window; nullopt with fewer
    // than two samples or less than min_span between them.
    std::optional<double> per_second() const;

    static constexpr std::chrono::seconds min_span{3};

private:
    struct sample {
        clock::time_point at;
        std::int64_t total;
    };
    std::chrono::seconds window_;
    std::deque<sample> samples_;
};

}  // namespace sluice::gateway
