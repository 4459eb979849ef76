// config/log.hpp's lines in both formats: the text line a person reads and the one JSON object a
// log shipper (Loki, Elastic) parses, for operator lines and for the request log. Each JSON line
// is parsed back with Boost.JSON (the project's JSON reader) to prove it is one valid object.
#include "config/log.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace {

using namespace std::chrono_literals;
using sluice::config::format_log_line;
using sluice::config::format_request_line;
using sluice::config::log_format;
using sluice::config::log_level;
using sluice::config::request_record;

constexpr std::string_view time = "2026-03-31T23:58:12.345Z";

boost::json::object parsed(const std::string& line) {
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
    boost::system::error_code ec;
    auto value = boost::json::parse(std::string_view(line).substr(0, line.size() - 1), ec);
    EXPECT_FALSE(ec) << line;
    EXPECT_TRUE(value.is_object()) << line;
    return value.is_object() ? value.as_object() : boost::json::object{};
}

TEST(log_text, operator_line) {
    EXPECT_EQ(format_log_line(log_format::text, time, "sluice-gateway", log_level::warning, "Redis connection lost"),
              "2026-03-31T23:58:12.345Z sluice-gateway warning: Redis connection lost\n");
}

TEST(log_json, operator_line_is_one_object_with_every_field) {
    const auto line = format_log_line(log_format::json, time, "sluice-worker", log_level::error, "moved to dlq");
    EXPECT_EQ(
        line,
        R"({"time":"2026-03-31T23:58:12.345Z","level":"error","program":"sluice-worker","message":"moved to dlq"})"
        "\n");
    const auto o = parsed(line);
    EXPECT_EQ(o.at("level").as_string(), "error");
}

TEST(log_json, escapes_what_json_needs_and_keeps_the_text) {
    const std::string message = "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f caf\xC3\xA9";
    const auto o = parsed(format_log_line(log_format::json, time, "p", log_level::info, message));
    EXPECT_EQ(o.at("message").as_string(), message);
}

TEST(log_request_line, text) {
    const request_record r{"4f2a", "A81001", "submit", 202, 1'234'567ns};
    EXPECT_EQ(format_request_line(log_format::text, time, "sluice-gateway", r),
              "2026-03-31T23:58:12.345Z sluice-gateway info: request id=4f2a practice=A81001 route=submit status=202 "
              "latency_ms=1.234\n");
    const request_record anonymous{"9", "", "unmatched", 404, 42'000'000ns};
    EXPECT_EQ(
        format_request_line(log_format::text, time, "g", anonymous),
        "2026-03-31T23:58:12.345Z g info: request id=9 practice=- route=unmatched status=404 latency_ms=42.000\n");
}

TEST(log_request_line, json_has_request_id_practice_route_status_and_latency) {
    const request_record r{"4f2a", "A81001", "submit", 503, 12'345'678ns};
    const auto o = parsed(format_request_line(log_format::json, time, "sluice-gateway", r));
    EXPECT_EQ(o.at("time").as_string(), time);
    EXPECT_EQ(o.at("level").as_string(), "info");
    EXPECT_EQ(o.at("program").as_string(), "sluice-gateway");
    EXPECT_EQ(o.at("message").as_string(), "request");
    EXPECT_EQ(o.at("request_id").as_string(), "4f2a");
    EXPECT_EQ(o.at("practice").as_string(), "A81001");
    EXPECT_EQ(o.at("route").as_string(), "submit");
    EXPECT_EQ(o.at("status").as_int64(), 503);
    EXPECT_DOUBLE_EQ(o.at("latency_ms").as_double(), 12.345);
    const auto anonymous = parsed(format_request_line(log_format::json, time, "g", {"x", "", "healthz", 200, 0ns}));
    EXPECT_TRUE(anonymous.at("practice").is_null());
    EXPECT_DOUBLE_EQ(anonymous.at("latency_ms").as_double(), 0.0);
}

TEST(log_format_switch, json_or_text) {
    sluice::config::set_log_format("json");
    EXPECT_EQ(sluice::config::current_log_format(), log_format::json);
    sluice::config::set_log_format("text");
    EXPECT_EQ(sluice::config::current_log_format(), log_format::text);
}

}  // namespace
