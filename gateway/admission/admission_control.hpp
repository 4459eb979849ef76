// Admission control of one gateway thread: whether a submission may go to Redis now, and if not,
// when its client should come back. Decided right after the request's headers, before its body is
// read, hashed or validated, so that a refusal costs a small fraction of an admission.
//
//   room       the adaptive limit on Redis calls in flight (adaptive_limit.hpp): delay-based;
//   order      a retry that comes back at the time it was given goes first (it may use the whole
//              limit and half as much again, and the capacity reserved for it); a new first submission may use the
//              whole limit but only the capacity that the retries due this second leave; a repeat submission (its
//              practice already has one accepted, as far as this gateway knows) only the first repeat_share of the
//              limit, and its Retry-After comes after every first submission already told to wait
//              (ratelimit/retry_schedule.hpp);
//   refusal    503 with the Retry-After of the retry schedule: when this client can be served.
//
// Pure: time is a parameter; the caller reports what happened to each admitted call.
#pragma once

#include "gateway/admission/adaptive_limit.hpp"
#include "ratelimit/retry_schedule.hpp"

#include <chrono>
#include <cstdint>

namespace sluice::gateway {

struct admission_control_options {
    adaptive_limit_options limit;
    ratelimit::retry_schedule_options schedule;
    double repeat_share = 0.8;  // of the limit, for repeat submissions
    // A retry that comes back at its time may go this far beyond the limit: it was scheduled
    // within the measured capacity, and refusing it again for a passing dip of the limit would
    // only send it round once more.
    double due_share = 1.5;
};

struct admission_ticket {
    bool admitted = false;
    int retry_after = 0;  // refused: seconds
    std::uint64_t request_hash = 0;
    ratelimit::arrival_kind kind = ratelimit::arrival_kind::fresh;
};

class admission_control {
public:
    using clock = std::chrono::steady_clock;

    admission_control(admission_control_options options, clock::time_point now);

    // `request_hash` names the submission across retries (practice and Idempotency-Key). An
    // admitted ticket holds its room in the limit from now (its body may take a while to arrive,
    // and the requests that pass meanwhile must see it taken) until one of the three below.
    admission_ticket decide(std::uint64_t request_hash, ratelimit::submission_class cls, clock::time_point now);

    // An admitted ticket's call was answered after `round_trip` (measured from its send), or timed
    // out after it (a sample of the limit, but no admission), or it was abandoned: its request
    // failed before its call (an invalid body, a closed connection) or the connection was lost.
    void on_answered(const admission_ticket& t, std::chrono::nanoseconds round_trip, clock::time_point now) noexcept;
    void on_timed_out(std::chrono::nanoseconds round_trip, clock::time_point now) noexcept {
        limit_.on_reply(round_trip, now);
    }
    void on_abandoned() noexcept { limit_.on_abandon(); }

    const adaptive_limit& limit() const noexcept { return limit_; }
    ratelimit::retry_schedule& schedule() noexcept { return schedule_; }

private:
    admission_control_options options_;
    adaptive_limit limit_;
    ratelimit::retry_schedule schedule_;
};

}  // namespace sluice::gateway
