// Unit tests of ratelimit::local_limiter: per-key GCRA with an injected clock, and the memory
// bound (expired entries dropped first, never more than max_entries).
#include "ratelimit/gcra.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::ratelimit {
namespace {

constexpr std::int64_t second = 1'000'000;

TEST(local_limiter, limits_each_key_separately) {
    local_limiter limiter({1.0, 3}, 100);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(limiter.check("10.0.0.1", 0).allowed) << i;
    }
    const auto denied = limiter.check("10.0.0.1", 0);
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.retry_after_us, second);
    EXPECT_TRUE(limiter.check("10.0.0.2", 0).allowed);  // another address is unaffected
    EXPECT_TRUE(limiter.check("10.0.0.1", second).allowed);
    EXPECT_FALSE(limiter.check("10.0.0.1", second).allowed);
}

TEST(local_limiter, matches_gcra_check) {
    const gcra_policy policy{2.0, 4};
    local_limiter limiter(policy, 10);
    std::optional<std::int64_t> tat;
    for (std::int64_t now = 0; now < 10 * second; now += 97'000) {
        const auto expected = gcra_check(policy, tat, now);
        if (expected.allowed) {
            tat = expected.tat_us;
        }
        EXPECT_EQ(limiter.check("k", now), expected) << now;
    }
}

TEST(local_limiter, denial_and_peek_change_nothing) {
    local_limiter limiter({1.0, 1}, 10);
    EXPECT_TRUE(limiter.check("a", 0).allowed);
    const auto before = limiter.peek("a", 0);
    EXPECT_FALSE(limiter.check("a", 0).allowed);
    EXPECT_FALSE(limiter.check("a", 500'000).allowed);
    EXPECT_EQ(limiter.peek("a", 0), before);
    EXPECT_EQ(limiter.size(), 1u);

    local_limiter closed({1.0, 0}, 10);  // burst 0: nothing allowed, nothing stored
    EXPECT_FALSE(closed.check("a", 0).allowed);
    EXPECT_EQ(closed.size(), 0u);
}

TEST(local_limiter, never_grows_beyond_max_entries) {
    local_limiter limiter({0.01, 5}, 64);  // slow refill: entries stay live for minutes
    for (int i = 0; i < 10'000; ++i) {
        std::string address = "client-";  // appended: GCC 12 -O3 warns falsely on "literal" + std::string
        address += std::to_string(i);
        EXPECT_TRUE(limiter.check(address, i).allowed);
        ASSERT_LE(limiter.size(), 64u);
    }
    EXPECT_EQ(limiter.size(), 64u);
    EXPECT_EQ(limiter.max_entries(), 64u);
}

TEST(local_limiter, expired_entries_are_dropped_first) {
    local_limiter limiter({1.0, 2}, 3);
    EXPECT_TRUE(limiter.check("a", 0).allowed);  // tat 1 s
    EXPECT_TRUE(limiter.check("b", 0).allowed);
    EXPECT_TRUE(limiter.check("b", 0).allowed);  // tat 2 s
    EXPECT_TRUE(limiter.check("c", 0).allowed);
    EXPECT_TRUE(limiter.check("c", 0).allowed);  // tat 2 s
    EXPECT_EQ(limiter.size(), 3u);
    // At 1.5 s only a's tat is in the past: it goes, b and c keep their state.
    EXPECT_TRUE(limiter.check("d", 1'500'000).allowed);
    EXPECT_EQ(limiter.size(), 3u);
    EXPECT_EQ(limiter.peek("b", 1'500'000).remaining, 1u);  // tat 0.5 s ahead: state kept
    EXPECT_EQ(limiter.peek("c", 1'500'000).remaining, 1u);
    EXPECT_EQ(limiter.peek("a", 1'500'000).remaining, 2u);
    // Long after, everything has expired: one call empties the table but for its own key.
    EXPECT_TRUE(limiter.check("e", 100 * second).allowed);
    EXPECT_EQ(limiter.size(), 1u);
}

TEST(local_limiter, when_full_of_live_entries_the_nearest_to_full_goes) {
    local_limiter limiter({1.0, 3}, 2);
    EXPECT_TRUE(limiter.check("busy", 0).allowed);
    EXPECT_TRUE(limiter.check("busy", 0).allowed);
    EXPECT_TRUE(limiter.check("busy", 0).allowed);  // tat 3 s, exhausted
    EXPECT_TRUE(limiter.check("quiet", 0).allowed);  // tat 1 s
    EXPECT_TRUE(limiter.check("new", 0).allowed);    // evicts "quiet" (smallest tat)
    EXPECT_EQ(limiter.size(), 2u);
    EXPECT_FALSE(limiter.check("busy", 0).allowed);  // the exhausted key kept its state
    EXPECT_EQ(limiter.peek("quiet", 0).remaining, 3u);
}

TEST(local_limiter, zero_max_entries_is_one) {
    local_limiter limiter({1.0, 1}, 0);
    EXPECT_EQ(limiter.max_entries(), 1u);
    EXPECT_TRUE(limiter.check("a", 0).allowed);
    EXPECT_TRUE(limiter.check("b", 0).allowed);
    EXPECT_EQ(limiter.size(), 1u);
}

TEST(local_limiter, policy_can_be_replaced) {
    local_limiter limiter({1.0, 1}, 10);
    EXPECT_TRUE(limiter.check("a", 0).allowed);
    EXPECT_FALSE(limiter.check("a", 0).allowed);
    limiter.set_policy({1.0, 5});
    EXPECT_EQ(limiter.policy(), (gcra_policy{1.0, 5}));
    EXPECT_TRUE(limiter.check("a", 0).allowed);
}

}  // namespace
}  // namespace sluice::ratelimit
