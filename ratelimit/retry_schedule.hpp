// Retry-After for requests shed under overload: a schedule that clears a surge instead of
// re-creating it ("the more error reports that are sent, the more people press OK").
//
// A shed client is told when it can be served, not just "later": the schedule measures how many
// admissions this thread makes per second (its capacity while it sheds) and hands out
// Retry-After values so that the retries due in any tenth of a second are at most a tenth of that.
// Retry-After is whole seconds, so a client shed at second s + f comes back at s + k + f: it can
// only land in the tick (10 ms) at the same offset f of a later second. The schedule counts the
// retries given to every future tick and tells each shed client the smallest k whose tick at its
// offset still has room. A backlog of B shed clients at capacity C is thus spread evenly over the
// next B / C seconds, at the resolution of a tick, and Retry-After grows with the backlog,
// truthfully. (With 100 ms ticks, the clients shed in the first half of a tick filled one
// second's slot and arrived in a burst at twice the rate; 10 ms keeps such bursts short. Judging
// a tick's room over the 20 before it instead spread a burst within one tick over fewer seconds,
// but brought it back as one: clients that honour Retry-After exactly were refused again five
// times as often in the simulated surges of tests/unit/gateway/admission_control_test.cpp.) A backlog of B shed clients at capacity C
// is thus spread evenly over the next B / C seconds, and Retry-After grows with the backlog,
// truthfully.
//
// Retries that come back at their time are served before new arrivals: the schedule remembers
// each shed request (by a hash of its practice and Idempotency-Key) with the tick it was given,
// and while retries are due in the current tick, new arrivals may use only the share of the room
// for calls in flight that the due retries leave (1 - expected due / capacity per tick; the caller
// applies it to its in-flight limit). Due retries may use all of it; retries that do not come
// leave their room to new arrivals (the in-flight count, not a quota, decides). So a client that
// honours Retry-After is shed about once and served at its time, whatever else arrives: nobody
// starves, and the admissions a surge brings are its capacity, not a lottery among its retries.
//
// Not every client told to come back does: some give up, some ignore Retry-After (a probe such as
// wrk, a client retrying at its own pace), and behind a load balancer a retry often lands on
// another gateway, which sees it as new (with N gateways, each sees about 1 / N of its bookings
// come back). Bookings that never come would fill the future with phantoms and push real clients
// out while the gateway idles (measured: a capacity probe's phantoms left a gateway idle from
// second 20 to 36 of a surge). So the schedule measures its show rate, the share of the bookings
// for a few recent seconds that came back (at least 0.25), and books each tick's room divided by
// it; the due retries a tick expects are its bookings times it.
//
// Fairness between practices: a repeat submission (a practice that already has one accepted) is
// given a tick after every first submission already scheduled, so practices that have nothing in
// go first. (After the last of them at three quarters of the offsets within the second, rather
// than at every offset, would resist a few first submissions told to come late; but then repeats
// interleave with the first submissions shed after them, and in the simulated surge a first
// submission waited longer than a repeat. The capacity floor below keeps such outliers short.)
//
// Capacity is measured in ticks: the largest of the rate over the last 200 ms, over the last
// second, and over the last 40 ms and the current tick so far. The short windows find the
// capacity within a fraction of a second of a surge's start (the rate before it says nothing
// about it); the long one smooths a noisy moment. It is also at least the best whole second of
// the last minute: a measurement made while the thread sheds (refusals and new connections cost it
// CPU) or was briefly starved (a busy machine, a probe, a hiccup of Redis) would otherwise send its
// clients far into the future, where they cannot be recalled when the capacity is back; erring
// high costs a cheap second refusal, erring low leaves capacity idle. (4/5 of it left the thread
// a fifth idle after every surge measured here.) For the same reason it is at least
// capacity_floor, what a thread is assumed to manage before it has measured anything (a gateway
// started or restarted into a surge): measured at 1/s, a capacity probe's first burst of 61 was
// told up to 18 s, every repeat of the next 18 s was sent behind that, and the gateway idled while
// they waited. A tick's room is the capacity spread over the second's ticks, at least one.
//
// Everything is per gateway thread (shared nothing); one thread's view of its own admissions is
// what it can keep. The memory of shed requests is a fixed table (lossy: a forgotten request is
// only treated as new). Pure: time is a parameter (tests/unit/ratelimit/retry_schedule_test.cpp).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace sluice::ratelimit {

struct retry_schedule_options {
    std::uint32_t horizon_seconds = 1024;  // the longest Retry-After handed out
    std::uint32_t remembered = 1u << 18;   // shed requests remembered (rounded up to a power of 2)
    std::uint32_t remember_seconds = 120;  // how long after its time a shed request is remembered
    double capacity_floor = 1;             // admissions/s assumed at least, even before any is measured
};

enum class submission_class : std::uint8_t {
    first,   // the practice has no accepted submission (known here)
    repeat,  // the practice already has one
};

enum class arrival_kind : std::uint8_t {
    fresh,  // not shed before (or forgotten)
    due,    // shed before, and its time has come
    early,  // shed before, back before its time
};

class retry_schedule {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds tick{10};
    static constexpr std::uint32_t ticks_per_second = 100;

    retry_schedule(retry_schedule_options options, clock::time_point now);

    // An arrival that is due is counted for the show rate.
    arrival_kind classify(std::uint64_t request_hash, clock::time_point now) noexcept;

    // The share of the in-flight room an arrival that is not due may use now: 1 unless retries
    // are due in this tick, then 1 - due / (capacity per tick), at least 0.
    double fresh_share(clock::time_point now) noexcept;

    // An admission (for the capacity estimate); a remembered request is forgotten.
    void on_admitted(std::uint64_t request_hash, arrival_kind kind, clock::time_point now) noexcept;

    // A shed request: its Retry-After in whole seconds (1 to horizon_seconds), remembered. An early
    // arrival keeps the time it was given; any other gets the first second with room.
    int on_shed(std::uint64_t request_hash, arrival_kind kind, submission_class cls, clock::time_point now) noexcept;

    // Admissions per second this thread makes (see above); at least 1.
    double capacity(clock::time_point now) noexcept;

    // The share of bookings whose time passed that came back due (see above): 0.25 to 1, and 1
    // until enough have passed to tell.
    double show_rate() const noexcept;

    // Retries given the current tick (for tests), and how far ahead the last one given is.
    std::uint32_t due_this_tick(clock::time_point now) noexcept;
    std::uint32_t backlog_seconds(clock::time_point now) noexcept;

private:
    struct slot {
        std::uint32_t tick = 0;  // absolute tick this slot counts for
        std::uint32_t given = 0;
    };
    struct memory {
        std::uint32_t tag = 0;  // 0: empty
        std::uint32_t tick = 0;
    };

    std::uint32_t tick_of(clock::time_point t) const noexcept;
    void advance(clock::time_point now) noexcept;
    slot& slot_for(std::uint32_t tick) noexcept;
    const memory* find(std::uint64_t request_hash) const noexcept;
    void remember(std::uint64_t request_hash, std::uint32_t tick) noexcept;
    void forget(std::uint64_t request_hash) noexcept;
    std::uint32_t first_second_with_room(std::uint32_t from_second, std::uint32_t room) noexcept;
    std::uint32_t room_per_tick(double capacity) const noexcept;

    retry_schedule_options options_;
    clock::time_point start_;
    std::uint32_t now_tick_ = 0;  // ticks count from 1, so that 0 can mean "none"
    clock::duration into_tick_{};
    static constexpr std::size_t bucket_count = 128;
    std::array<std::uint32_t, bucket_count> admitted_{};  // admissions per tick (ring)
    static constexpr std::size_t remembered_seconds = 60;
    std::array<std::uint32_t, remembered_seconds> per_second_{};  // admissions per whole second (ring)
    std::uint32_t per_second_at_ = 0;                             // the second per_second_ counts now
    std::vector<slot> slots_;
    std::uint32_t first_horizon_ = 0;  // the last tick given to a first submission or a due retry
    static constexpr std::size_t show_seconds = 8;
    std::array<std::uint32_t, show_seconds> came_due_{};  // per second: bookings whose tick passed
    std::array<std::uint32_t, show_seconds> shows_{};     // per second booked: arrivals that were due
    std::uint32_t last_given_ = 0;     // the last tick given to anyone
    // Per offset within the second: the ticks of that offset before the cursor are full.
    std::array<std::uint32_t, ticks_per_second> cursor_tick_{};
    std::array<std::uint32_t, ticks_per_second> cursor_budget_{};
    std::vector<memory> memory_;
    std::uint32_t memory_mask_ = 0;
};

}  // namespace sluice::ratelimit
