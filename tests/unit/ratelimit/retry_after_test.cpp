// Unit tests of ratelimit/retry_after.hpp: whole seconds rounded up, at least 1; the 503 jitter
// stays in [base, 2*base], is a function of its input, and spreads.
#include "ratelimit/retry_after.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>

namespace sluice::ratelimit {
namespace {

TEST(retry_after_seconds, rounds_up_to_whole_seconds_at_least_one) {
    EXPECT_EQ(retry_after_seconds(0), 1);
    EXPECT_EQ(retry_after_seconds(-5'000'000), 1);
    EXPECT_EQ(retry_after_seconds(1), 1);
    EXPECT_EQ(retry_after_seconds(500'000), 1);
    EXPECT_EQ(retry_after_seconds(1'000'000), 1);
    EXPECT_EQ(retry_after_seconds(1'000'001), 2);
    EXPECT_EQ(retry_after_seconds(2'500'000), 3);
    EXPECT_EQ(retry_after_seconds(1'000'000'000), 1000);  // config's slowest rate: T = 1000 s
    EXPECT_EQ(retry_after_seconds(std::numeric_limits<std::int64_t>::max()), max_retry_after_seconds);
}

TEST(jittered_retry_after, stays_within_base_and_twice_base) {
    std::mt19937_64 random(7);
    for (const int base : {1, 2, 5, 30}) {
        for (int i = 0; i < 2000; ++i) {
            const int value = jittered_retry_after(base, random());
            ASSERT_GE(value, base);
            ASSERT_LE(value, 2 * base);
        }
    }
}

TEST(jittered_retry_after, is_deterministic_and_reaches_both_ends) {
    EXPECT_EQ(jittered_retry_after(5, 0), 5);
    EXPECT_EQ(jittered_retry_after(5, 5), 10);
    EXPECT_EQ(jittered_retry_after(5, 6), 5);
    EXPECT_EQ(jittered_retry_after(5, 123456789), jittered_retry_after(5, 123456789));
    EXPECT_EQ(jittered_retry_after(5, std::numeric_limits<std::uint64_t>::max()),
              5 + static_cast<int>(std::numeric_limits<std::uint64_t>::max() % 6));
}

TEST(jittered_retry_after, base_below_one_is_one_and_large_bases_are_bounded) {
    EXPECT_EQ(jittered_retry_after(0, 0), 1);
    EXPECT_EQ(jittered_retry_after(-7, 1), 2);
    EXPECT_LE(jittered_retry_after(max_retry_after_seconds, 12345), max_retry_after_seconds);
    EXPECT_LE(jittered_retry_after(std::numeric_limits<int>::max(), 99), max_retry_after_seconds);
}

TEST(jittered_retry_after, spreads_over_the_whole_range) {
    // 11 000 clients shed at once with base 10: every second of [10, 20] gets about 1/11 of them,
    // none gets more than twice its share (lock-step would put them all in one second).
    std::mt19937_64 random(2025);
    std::map<int, int> per_second;
    constexpr int clients = 11'000;
    for (int i = 0; i < clients; ++i) {
        ++per_second[jittered_retry_after(10, random())];
    }
    EXPECT_EQ(per_second.size(), 11u);
    for (const auto& [seconds, count] : per_second) {
        EXPECT_GT(count, clients / 11 / 2) << seconds;
        EXPECT_LT(count, clients / 11 * 2) << seconds;
    }
}

}  // namespace
}  // namespace sluice::ratelimit
