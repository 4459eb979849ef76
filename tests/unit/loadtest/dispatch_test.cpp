// Unit tests of loadtest/detail/dispatch.hpp, the scheduling of one engine thread: its share of
// the arrivals (i % threads == index), each due at origin + send_time(i); queued copies and retries
// first in, first out among equal times and ahead of an arrival due at the same time; stop()
// skipping the rest and handing back the queue; and wake-ups at most one per granularity.
#include "loadtest/detail/dispatch.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace sluice::loadtest::detail {
namespace {

using namespace std::chrono_literals;

const steady_time t0 = steady_time{} + 1h;

// Takes every request due at `now`: (submission, arrival?) in order.
std::vector<std::pair<std::uint64_t, bool>> drain(dispatcher& d, steady_time now) {
    std::vector<std::pair<std::uint64_t, bool>> taken;
    while (const auto due = d.take_due(now)) taken.emplace_back(due->request.submission, due->arrival);
    return taken;
}

TEST(dispatch, a_thread_takes_its_share_of_the_arrivals_at_their_times) {
    const auto plan = schedule::parse("constant:rate=10,duration=1s");  // i at i * 100 ms
    dispatcher d(plan, 1, 3);
    d.begin_phase(0, plan.count(), t0);
    EXPECT_TRUE(drain(d, t0 + 99ms).empty());
    EXPECT_EQ(drain(d, t0 + 100ms), (std::vector<std::pair<std::uint64_t, bool>>{{1, true}}));
    EXPECT_FALSE(d.exhausted());
    EXPECT_EQ(drain(d, t0 + 700ms), (std::vector<std::pair<std::uint64_t, bool>>{{4, true}, {7, true}}));
    EXPECT_TRUE(d.exhausted()) << "10 is beyond the schedule";
    EXPECT_TRUE(drain(d, t0 + 10s).empty());
}

TEST(dispatch, a_phase_starts_at_this_threads_first_arrival_in_it) {
    const auto plan = schedule::parse("constant:rate=10,duration=1s");
    dispatcher d(plan, 0, 2);
    d.begin_phase(3, 7, t0);  // ours: 4 and 6
    const auto due = d.take_due(t0 + 1s);
    ASSERT_TRUE(due);
    EXPECT_EQ(due->request.submission, 4u);
    EXPECT_EQ(due->request.intended, t0 + 400ms);
    EXPECT_EQ(due->request.attempt, 1);
    EXPECT_FALSE(due->request.retry);
    EXPECT_EQ(drain(d, t0 + 1s), (std::vector<std::pair<std::uint64_t, bool>>{{6, true}}));
    EXPECT_TRUE(d.exhausted());
}

TEST(dispatch, queued_requests_go_first_in_first_out_and_before_an_arrival_due_with_them) {
    const auto plan = schedule::parse("constant:rate=10,duration=1s");
    dispatcher d(plan, 0, 1);
    d.begin_phase(0, plan.count(), t0);
    EXPECT_EQ(drain(d, t0), (std::vector<std::pair<std::uint64_t, bool>>{{0, true}}));
    d.push(t0 + 150ms, 70, 0, 2, true);
    d.push(t0 + 100ms, 71, 0, 2, true);  // due with arrival 1
    d.push(t0 + 150ms, 72, 1, 1, false);
    EXPECT_EQ(drain(d, t0 + 100ms), (std::vector<std::pair<std::uint64_t, bool>>{{71, false}, {1, true}}));
    const auto first = d.take_due(t0 + 200ms);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->request.submission, 70u);
    EXPECT_EQ(first->request.attempt, 2);
    EXPECT_TRUE(first->request.retry);
    EXPECT_EQ(drain(d, t0 + 200ms), (std::vector<std::pair<std::uint64_t, bool>>{{72, false}, {2, true}}));
}

TEST(dispatch, stop_skips_the_rest_and_hands_back_the_queue) {
    const auto plan = schedule::parse("constant:rate=10,duration=1s");
    dispatcher d(plan, 0, 1);
    d.begin_phase(0, plan.count(), t0);
    (void)drain(d, t0);
    d.push(t0 + 5s, 0, 0, 2, true);
    const auto dropped = d.stop();
    ASSERT_EQ(dropped.size(), 1u);
    EXPECT_EQ(dropped[0].submission, 0u);
    EXPECT_TRUE(d.stopping());
    EXPECT_TRUE(d.exhausted());
    EXPECT_TRUE(drain(d, t0 + 10s).empty());
    d.begin_phase(0, plan.count(), t0 + 10s);  // a later phase sends nothing either
    EXPECT_TRUE(d.exhausted());
}

TEST(dispatch, wakes_at_the_next_due_time_at_most_once_per_granularity) {
    const auto plan = schedule::parse("constant:rate=100000,duration=1s");  // every 10 us
    dispatcher d(plan, 0, 1);
    d.begin_phase(0, plan.count(), t0);
    EXPECT_FALSE(d.arm(t0));  // arrival 0 is due already: dispatch now, no timer
    (void)d.take_due(t0);
    d.woke(t0);
    const auto wake = d.arm(t0);
    ASSERT_TRUE(wake);
    EXPECT_EQ(*wake, t0 + dispatch_granularity) << "arrival 1 at 10 us waits for the granularity";
    EXPECT_FALSE(d.arm(t0)) << "armed already for that time";
    d.push(t0 + 2 * dispatch_granularity, 99, 0, 2, true);
    EXPECT_FALSE(d.arm(t0)) << "a later request does not re-arm";

    dispatcher idle(plan, 0, 1);
    EXPECT_FALSE(idle.arm(t0)) << "nothing to wait for";
    idle.begin_phase(0, 1, t0 + 1s);
    EXPECT_EQ(idle.arm(t0), t0 + 1s) << "far ahead: its own time";
}

}  // namespace
}  // namespace sluice::loadtest::detail
