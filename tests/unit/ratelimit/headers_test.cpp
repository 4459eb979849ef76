// Unit tests of ratelimit/headers.hpp: the draft's Structured Fields syntax, q and w of a GCRA,
// t rounded up.
#include "ratelimit/headers.hpp"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

TEST(ratelimit_headers, policy_value_for_the_default_policy) {
    EXPECT_EQ(ratelimit_policy_value(practice_policy_name, {2.0, 10}), R"("practice";q=10;w=5)");
}

TEST(ratelimit_headers, window_is_burst_over_rate_rounded_up) {
    EXPECT_EQ(policy_window_seconds({2.0, 10}), 5);
    EXPECT_EQ(policy_window_seconds({3.0, 10}), 4);    // 3.33
    EXPECT_EQ(policy_window_seconds({0.1, 10}), 100);  // 10 / 0.1 is 100 in decimal; no +1 from rounding
    EXPECT_EQ(policy_window_seconds({6.0, 6}), 1);
    EXPECT_EQ(policy_window_seconds({1000.0, 1}), 1);  // never 0
    EXPECT_EQ(policy_window_seconds({0.001, 1'000'000}), 1'000'000'000);
    EXPECT_EQ(policy_window_seconds({0.0, 1}), 999'999'999'999'999);  // bounded, an SF Integer
    EXPECT_EQ(ratelimit_policy_value("p", {0.5, 3}), R"("p";q=3;w=6)");
}

TEST(ratelimit_headers, ratelimit_value_rounds_reset_up) {
    EXPECT_EQ(ratelimit_value(practice_policy_name, 9, 500'000), R"("practice";r=9;t=1)");
    EXPECT_EQ(ratelimit_value(practice_policy_name, 10, 0), R"("practice";r=10;t=0)");
    EXPECT_EQ(ratelimit_value(practice_policy_name, 0, 5'000'000), R"("practice";r=0;t=5)");
    EXPECT_EQ(ratelimit_value(practice_policy_name, 0, 5'000'001), R"("practice";r=0;t=6)");
    EXPECT_EQ(ratelimit_value(practice_policy_name, 0, -3), R"("practice";r=0;t=0)");
}

TEST(ratelimit_headers, ratelimit_value_from_a_decision) {
    const auto decision = gcra_check({2.0, 10}, std::nullopt, 0);
    EXPECT_EQ(ratelimit_value(practice_policy_name, decision), R"("practice";r=9;t=1)");
}

TEST(ratelimit_headers, policy_name_is_escaped_as_an_sf_string) {
    EXPECT_EQ(ratelimit_value(R"(a"b\c)", 1, 1), R"("a\"b\\c";r=1;t=1)");
    EXPECT_EQ(ratelimit_field, "RateLimit");
    EXPECT_EQ(ratelimit_policy_field, "RateLimit-Policy");
}

}  // namespace
}  // namespace sluice::ratelimit
