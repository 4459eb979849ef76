// config/rfc3339.hpp: formatting whole seconds and milliseconds, parsing with every accepted and
// refused form, and the fault that tells "not UTC" from "not a time". (The seconds tests moved
// from tests/unit/credentials when RFC 3339 joined the log's time formatting in config/.)
#include "config/rfc3339.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

namespace sluice::config {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

sys_seconds at(std::string_view rfc3339)
{
    const auto parsed = parse_rfc3339(rfc3339);
    EXPECT_TRUE(parsed) << rfc3339;
    return parsed.value_or(sys_seconds{});
}

// ---- RFC 3339 ---------------------------------------------------------------------------------

TEST(config_rfc3339, formats_utc_with_z)
{
    EXPECT_EQ(format_rfc3339(sys_days{2027y / 3 / 31} + 23h + 59min + 59s), "2027-03-31T23:59:59Z");
    EXPECT_EQ(format_rfc3339(sys_seconds{}), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(sys_days{2028y / 2 / 29} + 1s), "2028-02-29T00:00:01Z");
}

TEST(config_rfc3339, round_trips)
{
    // Every 7 hours, 13 minutes and 11 seconds across 1999 to 2101 (leap years, century rules).
    const sys_seconds start = sys_days{1999y / 1 / 1}, end = sys_days{2101y / 1 / 1};
    for (auto t = start; t < end; t += 7h + 13min + 11s) {
        const auto text = format_rfc3339(t);
        ASSERT_EQ(parse_rfc3339(text), t) << text;
    }
    EXPECT_EQ(format_rfc3339(at("2000-02-29T12:00:00Z")), "2000-02-29T12:00:00Z");
}

TEST(config_rfc3339, accepted_forms)
{
    const sys_seconds expected = sys_days{2027y / 3 / 31} + 23h + 59min + 59s;
    for (const auto* text : {"2027-03-31T23:59:59Z", "2027-03-31t23:59:59z", "2027-03-31T23:59:59+00:00",
                             "2027-03-31T23:59:59-00:00", "2027-03-31T23:59:59.0Z", "2027-03-31T23:59:59.999999999Z",
                             "2027-03-31T23:59:59.5+00:00"})
        EXPECT_EQ(parse_rfc3339(text), expected) << text;
}

TEST(config_rfc3339, rejects)
{
    for (const auto* text :
         {"", "2027-03-31", "2027-03-31T23:59:59", "2027-03-31T23:59Z", "2027-03-31 23:59:59Z", "2027-3-31T23:59:59Z",
          "2027-03-31T23:59:59.Z", "2027-03-31T23:59:59+01:00", "2027-03-31T23:59:59-05:30", "2027-03-31T23:59:59+0000",
          "2027-03-31T23:59:59ZZ", " 2027-03-31T23:59:59Z", "2027-03-31T23:59:59Z ", "2027-13-01T00:00:00Z",
          "2027-00-01T00:00:00Z", "2027-04-31T00:00:00Z", "2027-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
          "2027-03-31T24:00:00Z", "2027-03-31T23:60:00Z", "2027-03-31T23:59:60Z", "+027-03-31T23:59:59Z",
          "2027-03-31T2a:59:59Z", "2027/03/31T23:59:59Z"})
        EXPECT_FALSE(parse_rfc3339(text)) << text;
}

TEST(config_rfc3339, read_tells_another_offset_from_malformed)
{
    EXPECT_EQ(read_rfc3339("2027-03-31T23:59:59Z").fault, rfc3339_fault::none);
    EXPECT_EQ(read_rfc3339("2027-03-31T23:59:59+01:00").fault, rfc3339_fault::not_utc);
    EXPECT_EQ(read_rfc3339("2027-03-31T23:59:59-05:30").fault, rfc3339_fault::not_utc);
    EXPECT_EQ(read_rfc3339("2027-03-31T23:59:59+0000").fault, rfc3339_fault::malformed);
    EXPECT_EQ(read_rfc3339("2027-03-31").fault, rfc3339_fault::malformed);
}

TEST(config_rfc3339, milliseconds)
{
    const auto t = sys_days{2026y / 3 / 31} + 23h + 58min + 12s + 345ms;
    EXPECT_EQ(rfc3339_millis(t), "2026-03-31T23:58:12.345Z");
    EXPECT_EQ(rfc3339_millis(sys_days{1970y / 1 / 1}), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(rfc3339_millis(t + 999us), "2026-03-31T23:58:12.345Z");  // truncated, not rounded
    EXPECT_EQ(utc_timestamp().size(), 24u);
}

}  // namespace
}  // namespace sluice::config
