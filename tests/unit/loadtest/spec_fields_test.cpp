// Unit tests of loadtest/detail/spec_fields.hpp: the key=value lists, numbers and durations
// behind every sluice-loadtest spec, and their canonical formatting.
#include "loadtest/detail/spec_fields.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <stdexcept>
#include <string>

namespace sluice::loadtest::detail {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST(split_fields, keeps_order_and_values) {
    const auto fields = split_fields("b=2,a=x.y", "test", {"a", "b"});
    ASSERT_EQ(fields.size(), 2U);
    EXPECT_EQ(fields[0].key, "b");
    EXPECT_EQ(fields[0].value, "2");
    EXPECT_EQ(fields[1].key, "a");
    EXPECT_EQ(fields[1].value, "x.y");
}

TEST(split_fields, errors_start_with_the_context) {
    try {
        (void)split_fields("c=1", "schedule 'thing'", {"a", "b"});
        FAIL();
    } catch (const std::invalid_argument& error) {
        EXPECT_EQ(std::string(error.what()), "schedule 'thing': unknown field 'c' (allowed: a, b)");
    }
    EXPECT_THROW((void)split_fields("=1", "test", {"a"}), std::invalid_argument);
    EXPECT_THROW((void)split_fields(",", "test", {"a"}), std::invalid_argument);
    EXPECT_EQ(split_fields("a=1=2", "test", {"a"}).at(0).value, "1=2");  // the first '=' splits
}

TEST(parse_number, reads_plain_decimals_only) {
    EXPECT_EQ(parse_number("500", "test", "rate"), 500);
    EXPECT_EQ(parse_number("0.5", "test", "rate"), 0.5);
    EXPECT_EQ(parse_number(".5", "test", "rate"), 0.5);
    EXPECT_EQ(parse_number("5.", "test", "rate"), 5);
    EXPECT_EQ(parse_number("007", "test", "rate"), 7);
    for (const char* bad : {"", ".", "+5", "-5", "5e2", "inf", "nan", "0x10", "5 ", " 5", "1,5", "5/s"}) {
        EXPECT_THROW((void)parse_number(bad, "test", "rate"), std::invalid_argument) << bad;
    }
}

TEST(parse_whole, reads_digits_only) {
    EXPECT_EQ(parse_whole("7000", "test", "practices"), 7000U);
    EXPECT_EQ(parse_whole("0", "test", "practices"), 0U);
    EXPECT_EQ(parse_whole("18446744073709551615", "test", "practices"), 18446744073709551615ULL);
    for (const char* bad : {"", "+1", "-1", "1.0", "1e3", "18446744073709551616", "12a"}) {
        EXPECT_THROW((void)parse_whole(bad, "test", "practices"), std::invalid_argument) << bad;
    }
}

TEST(parse_duration, sums_groups_and_rounds_to_nanoseconds) {
    EXPECT_EQ(parse_duration("1h2m3s4ms5us6ns", "test", "d"), 1h + 2min + 3s + 4ms + 5us + 6ns);
    EXPECT_EQ(parse_duration("0.000000001s", "test", "d"), 1ns);
    EXPECT_EQ(parse_duration("0.1s", "test", "d"), 100ms);
    EXPECT_EQ(parse_duration("720h", "test", "d"), max_duration);
    EXPECT_EQ(parse_duration("0s", "test", "d"), 0ns);  // ranges are the caller's business
    for (const char* bad : {"", "5", "s", "5 s", "5sec", "5S", "1h-5m", "721h", "1e3s", "1..5s"}) {
        EXPECT_THROW((void)parse_duration(bad, "test", "d"), std::invalid_argument) << bad;
    }
}

TEST(format_duration, is_the_shortest_text_that_reads_back) {
    EXPECT_EQ(format_duration(0ns), "0s");
    EXPECT_EQ(format_duration(30s), "30s");
    EXPECT_EQ(format_duration(10min), "10m");
    EXPECT_EQ(format_duration(90min), "1h30m");
    EXPECT_EQ(format_duration(1500ms), "1s500ms");
    EXPECT_EQ(format_duration(1h + 1ns), "1h1ns");
    EXPECT_EQ(format_duration(-2s), "-2s");
    std::mt19937_64 random(1);
    std::uniform_int_distribution<std::int64_t> duration(1, max_duration.count());
    for (int i = 0; i < 10'000; ++i) {
        const nanoseconds value{duration(random)};
        ASSERT_EQ(parse_duration(format_duration(value), "test", "d"), value);
    }
}

TEST(format_number, is_plain_and_reads_back) {
    EXPECT_EQ(format_number(500), "500");
    EXPECT_EQ(format_number(0.6), "0.6");
    EXPECT_EQ(format_number(0.00001), "0.00001");
    EXPECT_EQ(format_number(1e20), "100000000000000000000");
    std::mt19937_64 random(2);
    std::uniform_real_distribution<double> number(0, 1e6);
    for (int i = 0; i < 10'000; ++i) {
        const double value = number(random);
        ASSERT_EQ(parse_number(format_number(value), "test", "x"), value);
    }
}

}  // namespace
}  // namespace sluice::loadtest::detail
