// Admission control by delay: an adaptive limit on the Redis calls one gateway thread has in
// flight, learned from their measured round trips (the delay-gradient family: Netflix's
// concurrency-limits Gradient/Vegas, Envoy's adaptive concurrency filter).
//
// Why delay and not a fixed count: a fixed max_inflight_per_thread large enough for a quiet Redis
// lets thousands of calls queue behind a busy one, each waiting longer than the last, until they
// miss redis.timeout_ms together; one small enough for a busy Redis wastes a quiet one. Queueing
// shows as round-trip time above the round trip of an unqueued call, so:
//
//   baseline   the round trip of an unqueued call: the shortest seen since the last probe. Under a
//              sustained surge no call is unqueued, and a minimum over busy samples creeps up with
//              the limit (and the limit with it); so every probe_interval the limit is held at
//              min_limit until the calls sent before have come back, and the shortest of the next
//              probe_samples round trips becomes the baseline (Envoy's minRTT probe). The replies
//              of one pipelined connection come back in order, so "the calls sent before" are the
//              first ones to come back.
//   window     every `window`, the mean round trip of the calls that completed in it;
//   delay      mean - baseline, the queueing delay;
//   revision   delay above target: limit *= max(1/2, (baseline + target) / mean), a cut in
//              proportion to the overshoot; delay within target and the limit was binding (a
//              call was refused for want of room, or the in-flight count reached 9/10 of it):
//              limit += max(1, sqrt(limit)); otherwise unchanged (a limit that nothing tests
//              must not grow on its own).
//
// The round trip is measured from the send to the moment the reply is handled, so it includes
// our own event loop's lag as well as Redis's queue: either kind of congestion lowers the limit.
// A call that timed out is a sample of its full wait (at least redis.timeout_ms), the strongest
// signal there is. Pure: time is a parameter; unit-tested in tests/unit/gateway/.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice::gateway {

struct adaptive_limit_options {
    std::chrono::microseconds target_delay{20'000};  // admission.target_queue_delay_ms
    std::uint32_t min_limit = 4;
    std::uint32_t max_limit = 4096;  // limits.max_inflight_per_thread
    std::uint32_t initial_limit = 64;
    std::chrono::microseconds window{100'000};
    std::chrono::microseconds probe_interval{5'000'000};
    std::uint32_t probe_samples = 8;
    std::chrono::microseconds probe_max{250'000};  // a probe ends by then, with what it has
};

class adaptive_limit {
public:
    using clock = std::chrono::steady_clock;

    adaptive_limit(adaptive_limit_options options, clock::time_point now);

    std::uint32_t limit() const noexcept { return static_cast<std::uint32_t>(limit_); }
    std::uint32_t inflight() const noexcept { return inflight_; }
    bool probing() const noexcept { return probing_; }
    // Room for one more call, keeping the top (1 - share) of the limit for others: 1.0 for full
    // priority, less for requests that should go after them. While probing, min_limit for all.
    bool has_room(double share = 1.0) const noexcept;

    void on_send() noexcept;
    // The call's reply (or its timeout) came after `round_trip`.
    void on_reply(std::chrono::nanoseconds round_trip, clock::time_point now) noexcept;
    // The call ended without a round trip worth measuring (connection lost).
    void on_abandon() noexcept;
    // A call was refused for want of room: the limit is binding.
    void on_refused(clock::time_point now) noexcept;

    // The unqueued round trip (zero before the first sample), and the last window's mean.
    std::chrono::nanoseconds baseline() const noexcept { return baseline_; }
    std::chrono::nanoseconds last_mean() const noexcept { return last_mean_; }

private:
    void tick(clock::time_point now) noexcept;
    void end_probe(clock::time_point now) noexcept;
    void reset_window(clock::time_point now) noexcept;

    adaptive_limit_options options_;
    double limit_;
    std::uint32_t inflight_ = 0;
    std::chrono::nanoseconds baseline_{0};  // zero: none yet

    clock::time_point window_start_;
    std::chrono::nanoseconds window_sum_{0};
    std::uint32_t window_samples_ = 0;
    std::uint32_t window_peak_inflight_ = 0;
    bool window_refused_ = false;
    std::chrono::nanoseconds last_mean_{0};

    bool probing_ = false;
    clock::time_point next_probe_;
    clock::time_point probe_start_;
    std::uint32_t probe_old_calls_ = 0;  // calls sent before the probe, still to come back
    std::uint32_t probe_count_ = 0;
    std::chrono::nanoseconds probe_min_{0};
};

}  // namespace sluice::gateway
