// Unit tests of ratelimit/gcra.hpp: gcra_check and gcra_peek against the definition (burst at
// once, then rate per second), exact retry and reset times, long runs, fractional rates, and
// inputs at the edges of int64 (saturation, no overflow: UBSan runs these).
#include "ratelimit/gcra.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <vector>

namespace sluice::ratelimit {
namespace {

constexpr std::int64_t second = 1'000'000;
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

const gcra_policy default_policy{2.0, 10};  // API.md's default: T = 0.5 s, tau = 5 s

// Runs requests at the given times from an empty state; returns how many were allowed.
int allowed_count(const gcra_policy& policy, std::int64_t start, std::int64_t end, std::int64_t step) {
    std::optional<std::int64_t> tat;
    int allowed = 0;
    for (std::int64_t now = start; now <= end; now += step) {
        const auto decision = gcra_check(policy, tat, now);
        if (decision.allowed) {
            tat = decision.tat_us;
            ++allowed;
        }
    }
    return allowed;
}

TEST(gcra_interval, is_rounded_microseconds_per_request) {
    EXPECT_EQ(emission_interval_us({2.0, 10}), 500'000);
    EXPECT_EQ(emission_interval_us({1.0, 1}), 1'000'000);
    EXPECT_EQ(emission_interval_us({3.0, 1}), 333'333);        // 333333.33 rounds down
    EXPECT_EQ(emission_interval_us({6.0, 1}), 166'667);        // 166666.67 rounds up
    EXPECT_EQ(emission_interval_us({0.5, 1}), 2'000'000);
    EXPECT_EQ(emission_interval_us({1.0 / 3.0, 1}), 3'000'000);
    EXPECT_EQ(emission_interval_us({0.001, 1}), 1'000'000'000);  // config's smallest rate
    EXPECT_EQ(emission_interval_us({1'000'000.0, 1}), 1);        // config's largest rate
    EXPECT_EQ(emission_interval_us({1e9, 1}), 1);                // never 0
    EXPECT_EQ(tolerance_us({2.0, 10}), 5'000'000);
    EXPECT_EQ(tolerance_us({0.001, 1'000'000}), 1'000'000'000'000'000);  // config's largest: 1e15 < 2^53
}

TEST(gcra_interval, absurd_rates_are_bounded) {
    EXPECT_EQ(emission_interval_us({0.0, 1}), max_emission_interval_us);
    EXPECT_EQ(emission_interval_us({-1.0, 1}), max_emission_interval_us);
    EXPECT_EQ(emission_interval_us({std::nan(""), 1}), max_emission_interval_us);
    EXPECT_EQ(emission_interval_us({1e-300, 1}), max_emission_interval_us);
    EXPECT_EQ(emission_interval_us({std::numeric_limits<double>::infinity(), 1}), 1);
    EXPECT_EQ(tolerance_us({1e-300, std::numeric_limits<std::uint32_t>::max()}), int64_max);  // saturates
}

TEST(gcra_interval, format_rate_round_trips_exactly) {
    for (const double rate : {2.0, 0.1, 1.0 / 3.0, 0.001, 1e6, 2.5, 123.456789, 1e-5}) {
        const std::string text = format_rate(rate);
        double back = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), back);
        EXPECT_EQ(error, std::errc{}) << text;
        EXPECT_EQ(end, text.data() + text.size()) << text;
        EXPECT_EQ(back, rate) << text;
    }
    EXPECT_EQ(format_rate(2.0), "2");
    EXPECT_EQ(format_rate(0.1), "0.1");
}

TEST(gcra_check, first_request_is_allowed_with_burst_minus_one_left) {
    const auto decision = gcra_check(default_policy, std::nullopt, 1'000);
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.tat_us, 1'000 + 500'000);
    EXPECT_EQ(decision.remaining, 9u);
    EXPECT_EQ(decision.retry_after_us, 0);
    EXPECT_EQ(decision.reset_after_us, 500'000);
}

TEST(gcra_check, tat_in_the_past_is_a_full_bucket) {
    EXPECT_EQ(gcra_check(default_policy, 0, 10 * second), gcra_check(default_policy, std::nullopt, 10 * second));
    EXPECT_EQ(gcra_check(default_policy, 10 * second, 10 * second),
              gcra_check(default_policy, std::nullopt, 10 * second));
}

TEST(gcra_check, exactly_burst_at_once_then_denied) {
    std::optional<std::int64_t> tat;
    const std::int64_t now = 42 * second;
    for (std::uint32_t i = 0; i < default_policy.burst; ++i) {
        const auto decision = gcra_check(default_policy, tat, now);
        ASSERT_TRUE(decision.allowed) << "request " << i;
        EXPECT_EQ(decision.remaining, default_policy.burst - 1 - i);
        EXPECT_EQ(decision.reset_after_us, static_cast<std::int64_t>(i + 1) * 500'000);
        tat = decision.tat_us;
    }
    const auto denied = gcra_check(default_policy, tat, now);
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.remaining, 0u);
    EXPECT_EQ(denied.retry_after_us, 500'000);  // one emission interval
    EXPECT_EQ(denied.reset_after_us, 5 * second);
    EXPECT_EQ(denied.tat_us, *tat);  // unchanged: nothing to store
}

TEST(gcra_check, retry_after_is_exact) {
    std::optional<std::int64_t> tat;
    const std::int64_t now = 7 * second + 123;
    for (int i = 0; i < 10; ++i) {
        tat = gcra_check(default_policy, tat, now).tat_us;
    }
    const auto denied = gcra_check(default_policy, tat, now + 100'000);
    ASSERT_FALSE(denied.allowed);
    EXPECT_EQ(denied.retry_after_us, 400'000);
    EXPECT_FALSE(gcra_check(default_policy, tat, now + 100'000 + denied.retry_after_us - 1).allowed);
    const auto admitted = gcra_check(default_policy, tat, now + 100'000 + denied.retry_after_us);
    EXPECT_TRUE(admitted.allowed);
    EXPECT_EQ(admitted.remaining, 0u);
}

TEST(gcra_check, recovers_one_request_per_interval_and_fully_after_reset) {
    std::optional<std::int64_t> tat;
    for (int i = 0; i < 10; ++i) {
        tat = gcra_check(default_policy, tat, 0).tat_us;
    }
    // 1.6 s later: 3 intervals have passed, so 3 requests fit (and not a fourth).
    const std::int64_t later = 1'600'000;
    EXPECT_EQ(gcra_peek(default_policy, tat, later).remaining, 3u);
    for (int i = 0; i < 3; ++i) {
        const auto decision = gcra_check(default_policy, tat, later);
        ASSERT_TRUE(decision.allowed) << i;
        tat = decision.tat_us;
    }
    EXPECT_FALSE(gcra_check(default_policy, tat, later).allowed);
    // After reset_after the bucket is full again: burst requests at once.
    const auto state = gcra_peek(default_policy, tat, later);
    const std::int64_t full = later + state.reset_after_us;
    EXPECT_EQ(gcra_peek(default_policy, tat, full).remaining, default_policy.burst);
    EXPECT_EQ(gcra_peek(default_policy, tat, full - 1).remaining, default_policy.burst - 1);
}

TEST(gcra_check, five_seconds_of_hammering_admit_burst_plus_rate_times_five) {
    // Every millisecond for 5 s: burst + rate * 5 = 10 + 10, within one.
    const int admitted = allowed_count(default_policy, 0, 5 * second, 1'000);
    EXPECT_GE(admitted, 19);
    EXPECT_LE(admitted, 21);
    // Exactly: 10 in the first 10 ms, then one at each of 0.5 s, 1.0 s, ..., 5.0 s.
    EXPECT_EQ(admitted, 20);
}

TEST(gcra_check, long_run_matches_burst_plus_rate_t_for_many_policies) {
    // Requests on a grid that divides T, so none arrives late: exactly burst + rate*t, within one.
    const std::vector<gcra_policy> policies = {
        {2.0, 10}, {1.0, 1}, {0.5, 3}, {3.0, 1}, {8.0, 4}, {100.0, 100}, {1.0 / 3.0, 2}, {1000.0, 5}, {0.1, 1}};
    for (const auto& policy : policies) {
        const std::int64_t interval = emission_interval_us(policy);
        std::int64_t divisor = 7;
        while (interval % divisor != 0) {
            ++divisor;
            ASSERT_LT(divisor, 64) << interval;
        }
        for (const std::int64_t span : {5 * second, 60 * second}) {
            const int admitted = allowed_count(policy, 0, span, interval / divisor);
            const double expected = policy.burst + policy.rate * static_cast<double>(span) / second;
            EXPECT_LE(std::abs(admitted - expected), 1.0)
                << "rate " << policy.rate << " burst " << policy.burst << " span " << span << ": " << admitted;
        }
    }
}

TEST(gcra_check, never_admits_more_than_burst_plus_rate_t) {
    // Whatever the arrival pattern (here: random gaps), the allowance is an upper bound.
    std::mt19937_64 random(99);
    for (const gcra_policy policy : {gcra_policy{2.0, 10}, gcra_policy{7.5, 1}, gcra_policy{0.3, 4}}) {
        std::optional<std::int64_t> tat;
        int admitted = 0;
        std::int64_t now = 0;
        while (now <= 120 * second) {
            const auto decision = gcra_check(policy, tat, now);
            if (decision.allowed) {
                tat = decision.tat_us;
                ++admitted;
            }
            EXPECT_LE(admitted, policy.burst + policy.rate * static_cast<double>(now) / second + 1e-9) << now;
            now += static_cast<std::int64_t>(random() % 200'000);
        }
    }
}

TEST(gcra_check, fractional_rate) {
    const gcra_policy slow{0.5, 2};  // one every 2 s, two at once
    std::optional<std::int64_t> tat;
    for (int i = 0; i < 2; ++i) {
        const auto decision = gcra_check(slow, tat, 0);
        ASSERT_TRUE(decision.allowed) << i;
        tat = decision.tat_us;
    }
    const auto denied = gcra_check(slow, tat, 0);
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.retry_after_us, 2 * second);
    EXPECT_EQ(denied.reset_after_us, 4 * second);
    EXPECT_TRUE(gcra_check(slow, tat, 2 * second).allowed);
}

TEST(gcra_check, huge_now_values) {
    // Near 2^53 (the largest exact double, the Lua side's limit): plain arithmetic still exact.
    const std::int64_t near_2_53 = (std::int64_t{1} << 53) - 10 * second;
    auto decision = gcra_check(default_policy, std::nullopt, near_2_53);
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.tat_us, near_2_53 + 500'000);
    // Near the end of int64: saturates, never wraps into the past.
    decision = gcra_check(default_policy, std::nullopt, int64_max - 10);
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.tat_us, int64_max);
    EXPECT_EQ(decision.reset_after_us, 500'000);
    decision = gcra_check(default_policy, int64_max, int64_max - 10);  // tat 10 µs ahead: allowed
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.tat_us, int64_max);
    EXPECT_EQ(decision.reset_after_us, 500'000 + 10);
    decision = gcra_check(default_policy, int64_max, int64_max - 10 * second);  // 10 s ahead: denied
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.retry_after_us, 5 * second + 500'000);
    EXPECT_EQ(decision.reset_after_us, 10 * second);
    // Far in the past (a clock at its minimum, a stored tat from another epoch).
    decision = gcra_check(default_policy, int64_max, int64_min);
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.reset_after_us, int64_max);
    EXPECT_EQ(decision.retry_after_us, int64_max);
    decision = gcra_check(default_policy, int64_min, 0);
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.remaining, 9u);
    // An absurd policy with the largest tolerance does not overflow either.
    const gcra_policy absurd{1e-300, std::numeric_limits<std::uint32_t>::max()};
    decision = gcra_check(absurd, std::nullopt, int64_max / 2);
    EXPECT_TRUE(decision.allowed);
    EXPECT_EQ(decision.remaining, std::numeric_limits<std::uint32_t>::max() - 1);
}

TEST(gcra_check, burst_zero_allows_nothing) {
    const gcra_policy closed{2.0, 0};
    EXPECT_FALSE(gcra_check(closed, std::nullopt, 0).allowed);
    EXPECT_FALSE(gcra_check(closed, std::nullopt, 100 * second).allowed);
    EXPECT_EQ(gcra_peek(closed, std::nullopt, 0).remaining, 0u);
}

TEST(gcra_peek, of_an_empty_state_is_a_full_bucket) {
    const auto state = gcra_peek(default_policy, std::nullopt, 5);
    EXPECT_TRUE(state.allowed);
    EXPECT_EQ(state.remaining, 10u);
    EXPECT_EQ(state.reset_after_us, 0);
    EXPECT_EQ(state.retry_after_us, 0);
    EXPECT_EQ(state.tat_us, 5);
}

// Random sequences: peek agrees with check (allowed, retry), remaining is exactly the number of
// further requests allowed at that instant, retry_after and reset_after are exact.
TEST(gcra_properties, peek_check_remaining_retry_and_reset_agree) {
    std::mt19937_64 random(20250331);
    const std::vector<gcra_policy> policies = {{2.0, 10}, {0.3, 2}, {5.0, 1}, {1000.0, 50}, {1.7, 7}};
    for (const auto& policy : policies) {
        std::optional<std::int64_t> tat;
        std::int64_t now = 1'700'000'000 * second;  // a 2023 wall clock in µs
        for (int step = 0; step < 400; ++step) {
            now += static_cast<std::int64_t>(random() % (2 * emission_interval_us(policy) + 1));
            const auto peeked = gcra_peek(policy, tat, now);
            const auto decision = gcra_check(policy, tat, now);
            ASSERT_EQ(peeked.allowed, decision.allowed);
            if (!decision.allowed) {
                EXPECT_EQ(peeked.retry_after_us, decision.retry_after_us);
                EXPECT_FALSE(gcra_check(policy, tat, now + decision.retry_after_us - 1).allowed);
                EXPECT_TRUE(gcra_check(policy, tat, now + decision.retry_after_us).allowed);
                EXPECT_EQ(decision.reset_after_us, peeked.reset_after_us);
                continue;
            }
            tat = decision.tat_us;
            // remaining == how many more succeed right now.
            std::optional<std::int64_t> probe = tat;
            std::uint32_t more = 0;
            for (;;) {
                const auto next = gcra_check(policy, probe, now);
                if (!next.allowed) {
                    break;
                }
                probe = next.tat_us;
                ++more;
            }
            EXPECT_EQ(more, decision.remaining);
            EXPECT_EQ(decision.reset_after_us, *tat - now);
            EXPECT_EQ(gcra_peek(policy, tat, now + decision.reset_after_us).remaining, policy.burst);
        }
    }
}

}  // namespace
}  // namespace sluice::ratelimit
