// Scheduling and dispatch of one engine thread (client.hpp, "Open loop"): which request is due
// next, and when the thread should wake up to send it. Pure: times are given, nothing here waits.
//
// A thread owns the arrivals i of a phase [first, end) with i % threads == its index, each due at
// origin + plan.send_time(i), and a queue of copies (a double-submit's second one) and retries,
// each due at its own intended time. The due request with the earliest intended time goes first;
// an arrival and a queued request due at the same time: the queued one (it was due first in
// order of decision); queued ones among themselves first in, first out. The queue is a binary
// heap in a vector: no allocation per request once it has grown.
//
// Wake-ups: at most one per dispatch_granularity. A wake-up costs a timer reprogramming and a
// sleep and wake of the thread: measured here (2 vCPUs, a VM), tens of microseconds of system
// time each, so waking for every request of a 40,000 requests/s schedule took most of a core and
// let responses sit unread; requests due within one granularity go out together. Each is still
// measured from its own intended time, so this lateness (at most 100 us, 20-30 us typical)
// counts against the tool, never in its favour.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "loadtest/schedule.hpp"

namespace sluice::loadtest::detail {

using steady_time = std::chrono::steady_clock::time_point;

inline constexpr std::chrono::nanoseconds dispatch_granularity = std::chrono::microseconds{100};

// A request due or in flight: a first attempt, a double-submit's second copy, or a retry.
struct pending {
    steady_time intended{};
    std::uint64_t order = 0;  // first in, first out among equal intended times
    std::uint64_t submission = 0;
    std::uint8_t copy = 0;
    std::uint16_t attempt = 1;  // of this copy, 1-based
    bool retry = false;
};

class dispatcher {
public:
    dispatcher(const schedule& plan, unsigned index, std::uint64_t threads) noexcept
        : plan_(plan), index_(index), threads_(threads) {}

    // This thread's arrivals of [first, end), timed from `origin`; none after stop().
    void begin_phase(std::uint64_t first, std::uint64_t end, steady_time origin);

    // The due request with the earliest intended time, if any is due at `now`. `arrival` tells
    // a new submission (its first copy) from a queued copy or retry.
    struct due {
        pending request;
        bool arrival = false;
    };
    std::optional<due> take_due(steady_time now);

    // Queues a copy or a retry, due at `intended`.
    void push(steady_time intended, std::uint64_t submission, std::uint8_t copy, std::uint16_t attempt, bool retry);

    // No arrival left in the phase and nothing queued.
    bool exhausted() const noexcept { return next_arrival_ >= phase_end_ && queue_.empty(); }

    // Nothing new from now on: the phase's remaining arrivals are skipped (this one's and every
    // later one's) and the queued requests are returned, dropped.
    std::vector<pending> stop();
    bool stopping() const noexcept { return stopping_; }

    // When the dispatch timer should fire next: none when there is nothing to wait for, when
    // something is due already (a finishing request dispatches again), or when a wake-up at or
    // before that time is armed. Otherwise the earliest due time, but no sooner than one
    // granularity after the last wake-up; it then counts as armed.
    std::optional<steady_time> arm(steady_time now);
    // The armed wake-up fired at `now`.
    void woke(steady_time now) noexcept {
        armed_ = false;
        last_wake_ = now;
    }

private:
    steady_time next_due() const noexcept;

    const schedule& plan_;
    const unsigned index_;
    const std::uint64_t threads_;

    // The phase: arrivals next_arrival_, next_arrival_ + threads_, ... below phase_end_.
    steady_time origin_{};
    std::uint64_t next_arrival_ = 0, phase_end_ = 0;
    steady_time next_arrival_time_{};
    bool stopping_ = false;

    std::vector<pending> queue_;  // copies and retries, a heap by intended time
    std::uint64_t order_ = 0;

    bool armed_ = false;
    steady_time armed_at_{};
    steady_time last_wake_{};
};

}  // namespace sluice::loadtest::detail
