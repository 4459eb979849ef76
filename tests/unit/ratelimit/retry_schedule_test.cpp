// Unit tests of ratelimit/retry_schedule.hpp with an injected clock: the capacity estimate, retry
// seconds filled in order at that capacity (so retries come back no faster than it), due retries
// going before new arrivals, early arrivals keeping their second, repeats after first submissions.
#include "ratelimit/retry_schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>

namespace sluice::ratelimit {
namespace {

using namespace std::chrono_literals;
using clock = retry_schedule::clock;

struct schedule_fixture : ::testing::Test {
    clock::time_point t0 = clock::time_point() + 1000s;
    retry_schedule schedule{retry_schedule_options{}, t0};

    void admit_spread(int count, clock::time_point second_start, std::uint64_t first_hash = 1'000'000) {
        for (int i = 0; i < count; ++i)
            schedule.on_admitted(first_hash + static_cast<std::uint64_t>(i), arrival_kind::fresh,
                                 second_start + std::chrono::microseconds(1'000'000LL * i / count));
    }
};

TEST_F(schedule_fixture, capacity_is_the_rate_over_the_last_second) {
    EXPECT_EQ(schedule.capacity(t0), 1.0);  // nothing measured: at least 1
    admit_spread(500, t0);
    EXPECT_NEAR(schedule.capacity(t0 + 1s + 1ms), 500.0, 1.0);
}

TEST_F(schedule_fixture, capacity_remembers_the_best_second_of_the_last_minute) {
    admit_spread(500, t0);
    admit_spread(300, t0 + 1s, 2'000'000);
    // A starved moment (nothing admitted for two seconds) does not make the schedule pessimistic.
    EXPECT_NEAR(schedule.capacity(t0 + 4s + 1ms), 500.0, 1.0);
    // A minute later the memory is gone.
    EXPECT_EQ(schedule.capacity(t0 + 62s), 1.0);
}

TEST_F(schedule_fixture, capacity_follows_a_surge_within_a_fifth_of_a_second) {
    admit_spread(100, t0);  // 100/s before the surge
    // 120 admissions in 200 ms: 600/s, seen as soon as those two buckets are complete.
    for (int i = 0; i < 120; ++i)
        schedule.on_admitted(5000 + static_cast<std::uint64_t>(i), arrival_kind::fresh,
                             t0 + 1s + std::chrono::microseconds(1'666 * i));
    EXPECT_NEAR(schedule.capacity(t0 + 1s + 200ms), 600.0, 1.0);
}

TEST_F(schedule_fixture, fills_the_next_seconds_in_order_at_capacity) {
    admit_spread(1000, t0);
    ASSERT_NEAR(schedule.capacity(t0 + 1s + 10ms), 1000.0, 15.0);
    std::map<int, int> per_second;
    // 4,500 shed evenly over one second while 1,000 are admitted (capacity stays 1,000/s): they
    // are told 1, 2, 3, 4 (about 1,000 each), then 5.
    for (std::uint64_t i = 0; i < 4500; ++i) {
        const auto now = t0 + 1s + std::chrono::nanoseconds(1'000'000'000 * i / 4500);
        if (i % 9 == 0 || i % 9 == 5) schedule.on_admitted(100'000 + i, arrival_kind::fresh, now);
        ++per_second[schedule.on_shed(i, arrival_kind::fresh, submission_class::first, now)];
    }
    // The estimate of capacity is a measurement (the largest of three windows): a little above 1,000.
    int total = 0;
    for (const auto& [ra, n] : per_second) {
        EXPECT_LE(n, 1150) << "Retry-After " << ra;
        total += n;
    }
    EXPECT_EQ(total, 4500);
    // Ticks whose estimate dipped put a few later: 99 % of them are told at most 5 s, none above 10.
    int within_five = 0;
    for (const auto& [ra, n] : per_second)
        if (ra <= 5) within_five += n;
    EXPECT_GE(within_five, 4455);
    EXPECT_LE(per_second.rbegin()->first, 10);
    EXPECT_GE(per_second[1], 900);
}

TEST_F(schedule_fixture, retries_are_spread_over_the_second_as_their_clients_were_shed) {
    admit_spread(1000, t0);  // 1,000/s: 10 per 10 ms tick
    // 100 shed within one tick: only 10 of them can come back in each later tick of the same
    // offset, so they are told 1 to 10.
    std::map<int, int> per_second;
    for (std::uint64_t i = 0; i < 100; ++i) {
        const auto now = t0 + 1s + 2ms + std::chrono::microseconds(50 * i);
        ++per_second[schedule.on_shed(i, arrival_kind::fresh, submission_class::first, now)];
    }
    EXPECT_EQ(per_second.size(), 10u);
    for (const auto& [ra, n] : per_second) EXPECT_EQ(n, 10) << "Retry-After " << ra;
}

TEST_F(schedule_fixture, a_thread_that_has_measured_nothing_assumes_its_floor) {
    retry_schedule fresh{retry_schedule_options{.capacity_floor = 1000}, t0};
    EXPECT_EQ(fresh.capacity(t0), 1000.0);
    // A gateway started into a surge: 60 shed in its first tick are told at most 6 s (10 a tick),
    // not the 60 s that a capacity of 1/s (nothing measured) would give them.
    int last = 0;
    for (std::uint64_t i = 0; i < 60; ++i) last = fresh.on_shed(i, arrival_kind::fresh, submission_class::first, t0);
    EXPECT_EQ(last, 6);
}

TEST_F(schedule_fixture, retry_after_counts_from_the_moment_the_client_was_shed) {
    admit_spread(100, t0);
    // Shed late in a second and told 1: it comes back late in the next, which is the tick counted.
    const int ra = schedule.on_shed(42, arrival_kind::fresh, submission_class::first, t0 + 1s + 900ms);
    EXPECT_EQ(ra, 1);
    EXPECT_EQ(schedule.classify(42, t0 + 1s + 950ms), arrival_kind::early);
    EXPECT_EQ(schedule.classify(42, t0 + 2s + 850ms), arrival_kind::early);
    EXPECT_EQ(schedule.classify(42, t0 + 2s + 900ms), arrival_kind::due);
    EXPECT_EQ(schedule.due_this_tick(t0 + 2s + 900ms), 1u);
    // Later than its time (a client adding its own jitter) is still due.
    EXPECT_EQ(schedule.classify(42, t0 + 3s + 500ms), arrival_kind::due);
}

TEST_F(schedule_fixture, a_due_retry_is_forgotten_once_admitted) {
    admit_spread(10, t0);
    schedule.on_shed(42, arrival_kind::fresh, submission_class::first, t0 + 1s);
    ASSERT_EQ(schedule.classify(42, t0 + 2s), arrival_kind::due);
    schedule.on_admitted(42, arrival_kind::due, t0 + 2s);
    EXPECT_EQ(schedule.classify(42, t0 + 2s + 1ms), arrival_kind::fresh);
}

TEST_F(schedule_fixture, an_early_arrival_keeps_its_time) {
    admit_spread(200, t0);  // 200/s: 2 per 10 ms tick
    const auto now = t0 + 1s + 5ms;
    int last = 0;
    for (std::uint64_t i = 0; i < 12; ++i) last = schedule.on_shed(i, arrival_kind::fresh, submission_class::first, now);
    ASSERT_EQ(last, 6);  // 2 per tick of this offset: the 11th and 12th get the sixth second
    // Back after half a second, it is told the rest, rounded up (so that it lands at or after its tick).
    ASSERT_EQ(schedule.classify(11, now + 500ms), arrival_kind::early);
    EXPECT_EQ(schedule.on_shed(11, arrival_kind::early, submission_class::first, now + 500ms), 6);
    EXPECT_EQ(schedule.on_shed(11, arrival_kind::early, submission_class::first, now + 2s), 4);
    EXPECT_EQ(schedule.classify(11, now + 6s), arrival_kind::due);
}

TEST_F(schedule_fixture, new_arrivals_get_the_share_that_due_retries_leave) {
    admit_spread(1000, t0);  // capacity 1,000/s: 10 per tick
    const auto shed_at = t0 + 1s + 15ms;
    for (std::uint64_t i = 0; i < 8; ++i) schedule.on_shed(i, arrival_kind::fresh, submission_class::first, shed_at);
    admit_spread(1000, t0 + 1s, 50'000);  // keeps the capacity at 1,000
    // A second later, in that tick: 8 retries due of 10: new arrivals may use a fifth of the room.
    EXPECT_NEAR(schedule.fresh_share(t0 + 2s + 16ms), 0.2, 0.05);
    // In the next tick, none are due: new arrivals are not held back.
    EXPECT_EQ(schedule.fresh_share(t0 + 2s + 25ms), 1.0);
}

TEST_F(schedule_fixture, repeat_submissions_wait_behind_first_ones) {
    admit_spread(1000, t0);  // 10 per tick
    const auto now = t0 + 1s;
    for (std::uint64_t i = 0; i < 30; ++i) schedule.on_shed(i, arrival_kind::fresh, submission_class::first, now);
    // 30 first submissions fill this tick's offset for seconds 1 to 3; a repeat goes after them.
    EXPECT_EQ(schedule.on_shed(1000, arrival_kind::fresh, submission_class::repeat, now), 4);
    // A first submission shed after it still goes before it.
    EXPECT_EQ(schedule.on_shed(31, arrival_kind::fresh, submission_class::first, now), 4);
    // Later, with the first submissions' time passed, repeats are told the next second.
    EXPECT_EQ(schedule.on_shed(1001, arrival_kind::fresh, submission_class::repeat, now + 10s), 1);
}

TEST_F(schedule_fixture, bookings_that_never_come_back_are_overbooked) {
    admit_spread(1000, t0);
    EXPECT_EQ(schedule.show_rate(), 1.0);  // nothing has come due yet
    // 2,000 shed over second 1 (20 a tick, room for 10) are told 1 and 2; none of them comes back
    // (a probe that ignores Retry-After, clients sent to another gateway by a load balancer).
    for (std::uint64_t i = 0; i < 2000; ++i)
        schedule.on_shed(i, arrival_kind::fresh, submission_class::first, t0 + 1s + std::chrono::microseconds(500 * i));
    const auto later = t0 + 4s + 500ms;
    schedule.capacity(later);  // advances past their ticks
    EXPECT_EQ(schedule.show_rate(), 0.25);
    // So a tick's room is four times the capacity's share: 40 shed in one tick get second 1.
    int last = 0;
    for (std::uint64_t i = 0; i < 40; ++i) last = schedule.on_shed(10'000 + i, arrival_kind::fresh, submission_class::first, later);
    EXPECT_EQ(last, 1);
}

TEST_F(schedule_fixture, bookings_that_come_back_keep_the_show_rate_at_one) {
    admit_spread(1000, t0);
    for (std::uint64_t i = 0; i < 500; ++i)
        schedule.on_shed(i, arrival_kind::fresh, submission_class::first, t0 + 1s + std::chrono::microseconds(2000 * i));
    // Every one comes back at its time (one second later, at its offset) and is admitted.
    for (std::uint64_t i = 0; i < 500; ++i) {
        const auto back = t0 + 2s + std::chrono::microseconds(2000 * i);
        ASSERT_EQ(schedule.classify(i, back), arrival_kind::due) << i;
        schedule.on_admitted(i, arrival_kind::due, back);
    }
    schedule.capacity(t0 + 3s + 100ms);
    EXPECT_EQ(schedule.show_rate(), 1.0);
}

TEST_F(schedule_fixture, a_due_retry_shed_again_is_given_the_first_free_second) {
    admit_spread(100, t0);
    const auto now = t0 + 1s;
    schedule.on_shed(1, arrival_kind::fresh, submission_class::first, now);
    ASSERT_EQ(schedule.classify(1, now + 1s), arrival_kind::due);
    EXPECT_EQ(schedule.on_shed(1, arrival_kind::due, submission_class::repeat, now + 1s), 1);
}

TEST_F(schedule_fixture, retry_after_is_capped_at_the_horizon) {
    retry_schedule small{retry_schedule_options{.horizon_seconds = 10, .remembered = 64, .remember_seconds = 5}, t0};
    int last = 0;
    for (std::uint64_t i = 0; i < 100; ++i)
        last = small.on_shed(i, arrival_kind::fresh, submission_class::first, t0 + 1ms);
    EXPECT_EQ(last, 10);
}

TEST_F(schedule_fixture, forgets_a_retry_long_after_its_time) {
    retry_schedule short_memory{retry_schedule_options{.horizon_seconds = 100, .remembered = 64, .remember_seconds = 5},
                                t0};
    short_memory.on_shed(7, arrival_kind::fresh, submission_class::first, t0);
    EXPECT_EQ(short_memory.classify(7, t0 + 3s), arrival_kind::due);
    EXPECT_EQ(short_memory.classify(7, t0 + 30s), arrival_kind::fresh);
}

}  // namespace
}  // namespace sluice::ratelimit
