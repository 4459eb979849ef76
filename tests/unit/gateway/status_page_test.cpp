// The status page's pure pieces: the words for each state, the estimate, escaping, the drain rate.
#include "gateway/status_page.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace sluice::gateway {
namespace {

using namespace std::chrono_literals;

status_inputs open_inputs() {
    status_inputs in;
    in.ready = true;
    in.queue_waiting = 600;
    in.drain_per_second = 10.0;
    in.submissions_today = 1234;
    in.declarations_today = 17;
    in.now = std::chrono::sys_days{std::chrono::year{2026} / 3 / 31} + 23h + 58min;
    return in;
}

TEST(status_page, states_follow_readiness_draining_and_retry_after) {
    auto in = open_inputs();
    EXPECT_EQ(describe_status(in).state, status_state::open);
    EXPECT_EQ(describe_status(in).headline, "Accepting submissions");
    in.retry_after_seconds = 42;
    const auto busy = describe_status(in);
    EXPECT_EQ(busy.state, status_state::busy);
    EXPECT_NE(busy.reason.find("within 42 seconds"), std::string::npos) << busy.reason;
    in.ready = false;
    EXPECT_EQ(describe_status(in).state, status_state::unreachable);
    EXPECT_EQ(describe_status(in).headline, "Not accepting submissions");
    in.draining = true;
    EXPECT_EQ(describe_status(in).state, status_state::draining);
}

TEST(status_page, estimate_is_waiting_over_the_drain_rate) {
    auto in = open_inputs();
    EXPECT_EQ(describe_status(in).estimated_seconds, 60);
    in.queue_waiting = 601;
    EXPECT_EQ(describe_status(in).estimated_seconds, 61);  // rounded up: never promises too early
    in.queue_waiting = 0;
    in.drain_per_second = 0.0;
    EXPECT_EQ(describe_status(in).estimated_seconds, 0);  // nothing waits: at once
    in.queue_waiting = 5;
    EXPECT_FALSE(describe_status(in).estimated_seconds);  // waiting, not draining: no estimate
    in.drain_per_second.reset();
    EXPECT_FALSE(describe_status(in).estimated_seconds);
}

TEST(status_page, human_durations) {
    EXPECT_EQ(human_duration(0), "under a minute");
    EXPECT_EQ(human_duration(59), "under a minute");
    EXPECT_EQ(human_duration(60), "about 1 minute");
    EXPECT_EQ(human_duration(150), "about 3 minutes");
    EXPECT_EQ(human_duration(3600), "about 1 hour");
    EXPECT_EQ(human_duration(2 * 3600 + 10 * 60), "about 2 hours 10 minutes");
}

TEST(status_page, json_carries_figures_and_words) {
    auto in = open_inputs();
    in.operator_message = "maintenance 02:00-02:30";
    const auto json = boost::json::parse(render_status_json(describe_status(in))).as_object();
    EXPECT_EQ(json.at("accepting").as_bool(), true);
    EXPECT_EQ(json.at("state").as_string(), "open");
    EXPECT_EQ(json.at("queue_waiting").as_int64(), 600);
    EXPECT_EQ(json.at("estimated_seconds").as_int64(), 60);
    EXPECT_EQ(json.at("submissions_today").as_int64(), 1234);
    EXPECT_EQ(json.at("declarations_today").as_int64(), 17);
    EXPECT_EQ(json.at("message").as_string(), "maintenance 02:00-02:30");
    EXPECT_EQ(json.at("generated_at").as_string(), "2026-03-31T23:58:00.000Z");
    EXPECT_EQ(json.at("text").at("estimate").as_string(), "about 1 minute");
    in.queue_waiting.reset();
    const auto unknown = boost::json::parse(render_status_json(describe_status(in))).as_object();
    EXPECT_TRUE(unknown.at("queue_waiting").is_null());
    EXPECT_EQ(unknown.at("text").at("queue_waiting").as_string(), "not yet measured");
    in.declarations_today.reset();  // no ledger configured, or not sampled yet
    EXPECT_TRUE(boost::json::parse(render_status_json(describe_status(in))).as_object().at("declarations_today").is_null());
}

TEST(status_page, html_shows_every_figure_escaped_and_self_contained) {
    auto in = open_inputs();
    in.operator_message = "<script>alert(1)</script> & \"x\"";
    const auto html = render_status_html(describe_status(in));
    EXPECT_NE(html.find("id=\"queue_waiting\" data-value=\"600\">600<"), std::string::npos);
    EXPECT_NE(html.find("id=\"submissions_today\" data-value=\"1234\">1234<"), std::string::npos);
    EXPECT_NE(html.find("id=\"declarations_today\" data-value=\"17\">17<"), std::string::npos);
    EXPECT_NE(html.find("id=\"estimate\" data-value=\"60\">about 1 minute<"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"), std::string::npos);
    EXPECT_EQ(html.find("<script>alert"), std::string::npos);
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_NE(html.find("<div id=\"message\">"), std::string::npos);
    in.operator_message.clear();
    EXPECT_NE(render_status_html(describe_status(in)).find("<div id=\"message\" hidden>"), std::string::npos);
}

TEST(drain_rate, measures_over_the_window) {
    drain_rate rate(60s);
    const drain_rate::clock::time_point t0{};
    EXPECT_FALSE(rate.per_second());
    rate.add(t0, 100);
    rate.add(t0 + 1s, 110);
    EXPECT_FALSE(rate.per_second());  // under min_span
    rate.add(t0 + 4s, 140);
    ASSERT_TRUE(rate.per_second());
    EXPECT_DOUBLE_EQ(*rate.per_second(), 10.0);
    for (int s = 5; s <= 120; ++s) rate.add(t0 + std::chrono::seconds(s), 140);  // stalled since 4 s
    ASSERT_TRUE(rate.per_second());
    EXPECT_DOUBLE_EQ(*rate.per_second(), 0.0);  // the old progress has left the window
}

TEST(drain_rate, a_count_that_goes_down_starts_again) {
    drain_rate rate(60s);
    const drain_rate::clock::time_point t0{};
    rate.add(t0, 1000);
    rate.add(t0 + 5s, 1050);
    rate.add(t0 + 6s, 3);  // streams recreated
    EXPECT_FALSE(rate.per_second());
    rate.add(t0 + 10s, 23);
    EXPECT_DOUBLE_EQ(*rate.per_second(), 5.0);
}

}  // namespace
}  // namespace sluice::gateway
