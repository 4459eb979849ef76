// Unit tests of gateway/admission/adaptive_limit.hpp with an injected clock: the limit grows while it binds
// and queueing stays under the target, is cut in proportion when round trips show more queueing,
// never grows when nothing tests it, stays within its bounds, and forgets an old baseline.
#include "gateway/admission/adaptive_limit.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>

namespace sluice::gateway {
namespace {

using namespace std::chrono_literals;
using clock = adaptive_limit::clock;

adaptive_limit_options options() {
    adaptive_limit_options o;
    o.target_delay = 20ms;
    o.min_limit = 4;
    o.max_limit = 1000;
    o.initial_limit = 64;
    o.window = 100ms;
    return o;
}

// Keeps `inflight` calls out (as a saturated thread does) and completes `per_window` of them in each
// window with round trip `rtt`, for `windows` windows.
void drive(adaptive_limit& l, clock::time_point& now, std::uint32_t inflight, std::chrono::nanoseconds rtt, int windows,
           int per_window = 10) {
    for (int w = 0; w < windows; ++w) {
        while (l.inflight() < inflight) l.on_send();
        for (int i = 0; i < per_window; ++i) {
            now += 100ms / per_window;
            l.on_reply(rtt, now);
            l.on_send();
        }
    }
}

TEST(adaptive_limit, starts_at_its_initial_limit_and_counts_calls_in_flight) {
    const auto t0 = clock::now();
    adaptive_limit l(options(), t0);
    EXPECT_EQ(l.limit(), 64u);
    EXPECT_TRUE(l.has_room());
    for (int i = 0; i < 64; ++i) l.on_send();
    EXPECT_FALSE(l.has_room());
    EXPECT_EQ(l.inflight(), 64u);
    l.on_abandon();
    EXPECT_TRUE(l.has_room());
    EXPECT_EQ(l.inflight(), 63u);
}

TEST(adaptive_limit, a_share_keeps_the_top_of_the_limit_for_others) {
    adaptive_limit l(options(), clock::now());
    for (int i = 0; i < 51; ++i) l.on_send();
    EXPECT_TRUE(l.has_room(1.0));
    EXPECT_FALSE(l.has_room(0.8));  // 0.8 x 64 = 51
}

TEST(adaptive_limit, grows_while_it_binds_and_round_trips_show_no_queueing) {
    auto now = clock::now();
    adaptive_limit l(options(), now);
    // 1 ms round trips with the limit full: no queueing to speak of, so it grows.
    drive(l, now, 64, 1ms, 1);
    EXPECT_EQ(l.baseline(), 1ms);
    const auto before = l.limit();
    drive(l, now, l.limit(), 1ms, 5);
    EXPECT_GT(l.limit(), before);
    // sqrt growth: from 64, five windows add about 8 + 8.5 + 9 + 9.5 + 10.
    EXPECT_LT(l.limit(), before + 60);
}

TEST(adaptive_limit, does_not_grow_when_nothing_tests_it) {
    auto now = clock::now();
    adaptive_limit l(options(), now);
    drive(l, now, 5, 1ms, 20);  // 5 in flight of 64: the limit never binds
    EXPECT_EQ(l.limit(), 64u);
}

TEST(adaptive_limit, a_refusal_marks_the_limit_as_binding) {
    auto now = clock::now();
    adaptive_limit l(options(), now);
    drive(l, now, 5, 1ms, 1);
    l.on_refused(now);
    drive(l, now, 5, 1ms, 1);
    EXPECT_GT(l.limit(), 64u);
}

TEST(adaptive_limit, cuts_in_proportion_to_queueing_beyond_the_target) {
    auto now = clock::now();
    adaptive_limit l(options(), now);
    drive(l, now, 64, 1ms, 1);  // baseline 1 ms
    ASSERT_EQ(l.baseline(), 1ms);
    const auto before = l.limit();
    // 31 ms round trips: 30 ms of queueing against a 20 ms target: cut by (1 + 20) / 31.
    drive(l, now, 40, 31ms, 1);
    EXPECT_NEAR(static_cast<double>(l.limit()), before * 21.0 / 31.0, 1.5);
}

TEST(adaptive_limit, never_cuts_by_more_than_half_at_once_nor_below_its_minimum) {
    auto now = clock::now();
    adaptive_limit l(options(), now);
    drive(l, now, 64, 1ms, 1);
    const auto before = l.limit();
    drive(l, now, 10, 2s, 1);  // calls that timed out count as their full wait
    EXPECT_EQ(l.limit(), before / 2);
    drive(l, now, 4, 2s, 20);
    EXPECT_EQ(l.limit(), 4u);
}

TEST(adaptive_limit, never_grows_beyond_its_maximum) {
    auto o = options();
    o.max_limit = 80;
    auto now = clock::now();
    adaptive_limit l(o, now);
    for (int i = 0; i < 50; ++i) drive(l, now, l.limit(), 1ms, 1);
    EXPECT_EQ(l.limit(), 80u);
}

// A server that serves one call at a time, 100 us each, in order; the thread keeps as many calls
// out as the limit lets it. Returns the limit after `duration`, and the worst one-second mean of
// the round trips after the first five seconds.
struct simulation {
    std::uint32_t final_limit = 0;
    std::chrono::nanoseconds worst_mean{0};
};

simulation simulate_saturated_server(adaptive_limit& l, clock::time_point& now, std::chrono::seconds duration) {
    std::deque<clock::time_point> sent;
    simulation result;
    const auto end = now + duration;
    const auto settled = now + 5s;
    std::chrono::nanoseconds sum{0};
    std::int64_t count = 0;
    auto second_end = now + 1s;
    clock::time_point service_free = now;
    while (now < end) {
        now += 100us;
        while (l.has_room()) {
            l.on_send();
            sent.push_back(now);
        }
        // The server finishes the front call if it has been in service for 100 us.
        if (!sent.empty() && service_free + 100us <= now) {
            const auto rtt = now - sent.front();
            sent.pop_front();
            service_free = now;
            l.on_reply(rtt, now);
            if (now >= settled) {
                sum += rtt;
                ++count;
            }
        }
        if (now >= second_end) {
            if (count > 0) result.worst_mean = std::max(result.worst_mean, sum / count);
            sum = {};
            count = 0;
            second_end = now + 1s;
        }
    }
    result.final_limit = l.limit();
    return result;
}

TEST(adaptive_limit, settles_where_queueing_meets_the_target) {
    // With L calls out each waits about L x 100 us: the limit should settle near where that wait is
    // the target (20 ms: L ~ 200), and stay there through its probes.
    auto now = clock::now();
    adaptive_limit l(options(), now);
    const auto sim = simulate_saturated_server(l, now, 30s);
    EXPECT_GT(sim.final_limit, 140u);
    EXPECT_LT(sim.final_limit, 260u);
    // Queueing stays near the target: no one-second mean above target + baseline + one window's growth.
    EXPECT_LT(sim.worst_mean, 30ms) << "worst one-second mean " << sim.worst_mean.count() << " ns";
}

TEST(adaptive_limit, a_probe_finds_the_unqueued_round_trip_under_sustained_load) {
    auto now = clock::now();
    adaptive_limit l(options(), now);
    // Saturated from the start: every sample is queued; only a probe shows 0.4 ms or so.
    simulate_saturated_server(l, now, 12s);
    EXPECT_GT(l.baseline(), 0ns);
    EXPECT_LT(l.baseline(), 1ms) << l.baseline().count() << " ns";
}

TEST(adaptive_limit, probes_hold_the_limit_at_its_minimum_until_the_old_calls_are_back) {
    auto o = options();
    o.probe_interval = 1s;
    auto now = clock::now();
    adaptive_limit l(o, now);
    while (l.has_room()) l.on_send();  // 64 out: binding
    now += 1s;
    l.on_refused(now);
    ASSERT_TRUE(l.probing());
    EXPECT_FALSE(l.has_room());
    // The 64 old calls come back (slow: queued); they are not probe samples.
    for (int i = 0; i < 64; ++i) l.on_reply(50ms, now += 1ms);
    EXPECT_TRUE(l.probing());
    EXPECT_EQ(l.inflight(), 0u);
    // Now at most min_limit (4) at a time, each unqueued.
    for (int round = 0; round < 2; ++round) {
        int sent = 0;
        while (l.has_room()) {
            l.on_send();
            ++sent;
        }
        EXPECT_EQ(sent, 4);
        for (int i = 0; i < 4; ++i) l.on_reply(300us, now += 1ms);
    }
    EXPECT_FALSE(l.probing());
    EXPECT_EQ(l.baseline(), 300us);
}

}  // namespace
}  // namespace sluice::gateway
