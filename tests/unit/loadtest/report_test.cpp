// Unit tests of loadtest/report.hpp on hand-built runs: the summary's figures (exact percentiles
// of known samples, status shares, submission outcomes, steps and the capacity line, the verdict,
// aligned columns), the JSON (parses, and every figure equals the run's: totals, statuses,
// histograms whose buckets add up to their count, intervals, steps, outcomes, verdict; integers
// stay integers), the HTML (self-contained: no script, no fetched resource, one <svg> per chart,
// balanced tags, every run string escaped), goodput and shedding (overall, peaks and means, per
// interval, in each form), and the edges: an empty run (no NaN or inf anywhere), one interval,
// and an hour of one-second intervals (bounded size).
#include "loadtest/report.hpp"

#include "loadtest/detail/report_figures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::loadtest {
namespace {

using std::chrono::nanoseconds;
namespace json = boost::json;

constexpr std::int64_t ms = 1'000'000;

// The value a histogram reports for a sample in the same bucket: recording only such values
// makes every percentile exact, so the expected figures are the samples themselves.
std::int64_t representable(std::int64_t value_ns) {
    return latency_histogram::bucket_midpoint(latency_histogram::bucket_index(value_ns));
}

std::size_t occurrences(std::string_view text, std::string_view needle) {
    std::size_t count = 0;
    for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) {
        ++count;
    }
    return count;
}

// The lines of `text` from the one equal to `heading` to the next empty line.
std::vector<std::string> section(const std::string& text, const std::string& heading) {
    std::istringstream in(text);
    std::vector<std::string> lines;
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (inside && line.empty()) break;
        if (inside) lines.push_back(line);
        if (line == heading) inside = true;
    }
    return lines;
}

// The whitespace-separated words of a line.
std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

std::string find_line(const std::vector<std::string>& lines, std::string_view start) {
    for (const std::string& line : lines) {
        if (line.rfind(start, 0) == 0) return line;
    }
    return {};
}

submission_record record(std::string practice, std::vector<std::string> ids, std::optional<int> last_status,
                         bool gave_up = false) {
    submission_record one;
    one.practice = std::move(practice);
    one.idempotency_key = "key-" + one.practice;
    one.requests = 1;
    one.submission_ids = std::move(ids);
    one.last_status = last_status;
    one.gave_up = gave_up;
    return one;
}

// Ten one-second intervals of 100 requests each: 90 x 202, 8 x 429, 2 transport errors, and
// latencies (0.1 ms, 0.2 ms, ..., 100 ms) made representable; three steps of which two held.
run_result sample_run() {
    run_result run;
    run.target = "http://127.0.0.1:8080";
    run.schedule_spec = "constant:rate=100,duration=10s";
    run.behaviour_spec = "polite=70,impatient=20,double=10";
    run.practices = 1000;
    run.connections = 64;
    run.threads = 2;
    run.started_at = "2025-01-31T23:59:00.000Z";
    run.elapsed = std::chrono::seconds{10};
    for (int second = 0; second < 10; ++second) {
        interval_stats interval;
        interval.offered = 100;
        interval.sent = 100 + static_cast<std::uint64_t>(second);
        interval.accepted = 90;
        interval.statuses = {{202, 90}, {429, 8}, {transport_error_status, 2}};
        for (int k = 1; k <= 100; ++k) {
            const nanoseconds latency{representable((second * 100 + k) * ms / 10)};
            interval.latency.record(latency);
            run.latency.record(latency);
        }
        run.intervals.push_back(std::move(interval));
    }
    run.offered = 1000;
    run.sent = 1045;
    run.answered = 980;
    run.accepted = 900;
    run.retries = 45;
    run.max_open_connections = 64;
    run.statuses = {{202, 900}, {429, 80}, {transport_error_status, 20}};
    for (const std::int64_t value : {1 * ms, 2 * ms, 3 * ms, 4 * ms}) {
        run.accepted_latency.record(nanoseconds{representable(value)});
    }
    run.time_to_receipt.record(nanoseconds{1'234'567});

    for (const double rate : {100.0, 200.0, 300.0}) {
        step_stats step;
        step.rate = rate;
        step.duration = std::chrono::seconds{10};
        step.offered = static_cast<std::uint64_t>(rate) * 10;
        step.answered = step.offered;
        step.accepted = rate < 300 ? step.offered : step.offered - 7;
        step.errors = step.offered - step.accepted;
        step.accepted_latency.record(nanoseconds{representable(rate < 300 ? 5 * ms : 25 * ms)});
        step.held = rate < 300;
        run.steps.push_back(std::move(step));
    }
    run.capacity_rate = 200;
    run.slo_p99_ms = 10;

    run.submissions.push_back(record("A81001", {"S-1"}, 202));
    run.submissions.push_back(record("A81002", {"S-2"}, 202));
    run.submissions.push_back(record("A81003", {"S-3", "S-4"}, 202));
    run.submissions.push_back(record("A81004", {}, 429, true));
    run.submissions.push_back(record("A81005", {}, std::nullopt));
    run.submissions.push_back(record("A81006", {}, 503));
    return run;
}

verdict failed_verdict() {
    verdict result;
    result.submissions = 6;
    result.accepted_once = 2;
    result.duplicates = 1;
    result.not_accepted = 3;
    result.calculated = 1;
    result.queued = 1;
    result.violations.push_back({violation_kind::duplicate, "A81003", "key-A81003", "ids S-3, S-4"});
    return result;
}

// ---------------------------------------------------------------------------------------------
// Summary.

TEST(ReportSummary, ScenarioTotalsAndAchievedRates) {
    const std::string summary = format_summary(sample_run(), std::nullopt);
    ASSERT_FALSE(summary.empty());
    EXPECT_EQ(summary.back(), '\n');
    const auto scenario = section(summary, "scenario");
    EXPECT_EQ(words(find_line(scenario, "  target")), (std::vector<std::string>{"target", "http://127.0.0.1:8080"}));
    EXPECT_EQ(words(find_line(scenario, "  schedule")).at(1), "constant:rate=100,duration=10s");
    EXPECT_EQ(words(find_line(scenario, "  mix")).at(1), "polite=70,impatient=20,double=10");
    EXPECT_EQ(words(find_line(scenario, "  practices")).at(1), "1000");
    EXPECT_EQ(words(find_line(scenario, "  connections")).at(1), "64");
    EXPECT_EQ(words(find_line(scenario, "  threads")).at(1), "2");
    EXPECT_NE(find_line(scenario, "  started at").find("2025-01-31T23:59:00.000Z"), std::string::npos);
    EXPECT_NE(find_line(scenario, "  elapsed").find("10.000 s"), std::string::npos);

    const auto totals = section(summary, "totals");
    EXPECT_EQ(words(find_line(totals, "  offered")).at(1), "1000");
    EXPECT_EQ(words(find_line(totals, "  sent")).at(1), "1045");
    EXPECT_EQ(words(find_line(totals, "  answered")), (std::vector<std::string>{"answered", "980", "98.0", "req/s"}));
    EXPECT_EQ(words(find_line(totals, "  accepted")).at(2), "90.0");
    EXPECT_EQ(words(find_line(totals, "  retries")).at(1), "45");
    EXPECT_EQ(words(find_line(totals, "  max open connections")).at(3), "64");
}

TEST(ReportSummary, StatusCodesWithSharesAndTransportErrorsLast) {
    const auto lines = section(format_summary(sample_run(), std::nullopt), "status codes");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"202", "900", "90.00", "%"}));
    EXPECT_EQ(words(lines[2]), (std::vector<std::string>{"429", "80", "8.00", "%"}));
    EXPECT_EQ(words(lines[3]), (std::vector<std::string>{"transport", "error", "20", "2.00", "%"}));
    // Right-aligned numbers: every row of the table ends in the same column.
    for (const std::string& line : lines) EXPECT_EQ(line.size(), lines[0].size()) << line;
}

TEST(ReportSummary, RareStatusesAreNotRoundedAway) {
    run_result run;
    run.statuses = {{202, 99'999}, {transport_error_status, 1}};
    const auto lines = section(format_summary(run, std::nullopt), "status codes");
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"202", "99999", "100.00", "%"}));
    EXPECT_EQ(words(lines[2]), (std::vector<std::string>{"transport", "error", "1", "<0.01", "%"}));
}

TEST(ReportSummary, LatencyPercentilesAreTheSamples) {
    const auto lines = section(format_summary(sample_run(), std::nullopt), "latency (ms)");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(words(lines[0]), (std::vector<std::string>{"count", "p50", "p90", "p99", "p99.9", "p99.99", "max"}));
    // 1000 samples k * 0.1 ms in their buckets' midpoints: p50 is the 500th (50 ms -> 49.938431 ms),
    // p90 the 900th (89.915391 ms), p99 the 990th (98.828287 ms); 99.9 % and above share the
    // top bucket (99.876863 ms).
    EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"all", "answers", "1000", "49.94", "89.92", "98.83", "99.88",
                                                         "99.88", "99.88"}));
    // 1, 2, 3, 4 ms: p50 is the second sample; the rest the fourth.
    const auto expected_ms = [](std::int64_t value) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3f", static_cast<double>(representable(value)) / 1e6);
        return std::string(text);
    };
    EXPECT_EQ(words(lines[2]), (std::vector<std::string>{"accepted", "(2xx)", "4", expected_ms(2 * ms),
                                                         expected_ms(4 * ms), expected_ms(4 * ms), expected_ms(4 * ms),
                                                         expected_ms(4 * ms), expected_ms(4 * ms)}));
    // One sample: every percentile is it, exact (clamped to min and max), to the microsecond.
    EXPECT_EQ(words(lines[3]), (std::vector<std::string>{"time", "to", "receipt", "1", "1.235", "1.235", "1.235",
                                                         "1.235", "1.235", "1.235"}));
}

TEST(ReportSummary, MillisecondsKeepAboutFourSignificantDigits) {
    run_result run;
    run.latency.record(nanoseconds{representable(734 * 1000)});         // 0.735231 ms
    run.accepted_latency.record(nanoseconds{representable(250 * ms)});  // 250.x ms
    run.time_to_receipt.record(std::chrono::seconds{75});               // 75 s, one sample: exact
    const auto lines = section(format_summary(run, std::nullopt), "latency (ms)");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(words(lines[1]).at(3), "0.735");
    EXPECT_EQ(words(lines[2]).at(3).size(), 5u) << lines[2];  // "250.x"
    EXPECT_EQ(words(lines[2]).at(3).substr(0, 4), "250.");
    EXPECT_EQ(words(lines[3]).at(4), "75000");
}

TEST(ReportSummary, SubmissionsByOutcome) {
    const auto lines = section(format_summary(sample_run(), std::nullopt), "submissions");
    EXPECT_EQ(words(find_line(lines, "  accepted once")).at(2), "2");
    EXPECT_EQ(words(find_line(lines, "  duplicate ids")).at(2), "1");
    EXPECT_EQ(words(find_line(lines, "  gave up")).at(2), "1");
    EXPECT_EQ(words(find_line(lines, "  never answered")).at(2), "1");
    EXPECT_EQ(words(find_line(lines, "  no 2xx yet")).at(7), "1");
    EXPECT_EQ(words(find_line(lines, "  total")).at(1), "6");
    EXPECT_EQ(words(find_line(lines, "  accepted once")).at(3), "33.33");
}

// A 2xx without a submission_id (a static test server, or a gateway bug) is its own outcome, not
// "no 2xx yet", and is shown only when it happens.
TEST(ReportSummary, AcceptedWithoutAReceiptId) {
    EXPECT_EQ(format_summary(sample_run(), std::nullopt).find("without a submission_id"), std::string::npos);
    run_result run = sample_run();
    submission_record bare = record("A81007", {}, 202);
    bare.time_to_receipt = nanoseconds{1'000'000};
    run.submissions.push_back(bare);
    const auto lines = section(format_summary(run, std::nullopt), "submissions");
    EXPECT_EQ(words(find_line(lines, "  2xx without a submission_id")).at(4), "1");
    EXPECT_EQ(words(find_line(lines, "  no 2xx yet")).at(7), "1");  // A81006 only
    const json::value root = json::parse(format_json(run, std::nullopt));
    EXPECT_EQ(root.at("submissions").at("accepted_without_id").to_number<std::uint64_t>(), 1u);
    EXPECT_NE(format_html(run, std::nullopt).find("2xx without a submission_id"), std::string::npos);
}

TEST(ReportSummary, StepsAndCapacity) {
    run_result run = sample_run();
    std::string summary = format_summary(run, std::nullopt);
    const auto steps = section(summary, "steps");
    ASSERT_EQ(steps.size(), 4u);
    EXPECT_EQ(words(steps[0]), (std::vector<std::string>{"rate/s", "offered", "answered", "accepted", "errors", "p99",
                                                         "accepted", "ms", "held"}));
    EXPECT_EQ(words(steps[1]),
              (std::vector<std::string>{"100", "1000", "1000", "1000", "0", "4.997", "yes"}));  // 4.997055 ms
    EXPECT_EQ(words(steps[3]).at(4), "7");
    EXPECT_EQ(words(steps[3]).back(), "no");
    EXPECT_NE(summary.find("\ncapacity: 200 req/s held p99 <= 10 ms with no errors\n"), std::string::npos) << summary;

    run.capacity_rate.reset();
    run.slo_p99_ms = 2.5;
    summary = format_summary(run, std::nullopt);
    EXPECT_NE(summary.find("\ncapacity: no step held p99 <= 2.5 ms with no errors\n"), std::string::npos) << summary;

    // A plain steps schedule: no SLO, so no capacity and no "held".
    run.slo_p99_ms.reset();
    summary = format_summary(run, std::nullopt);
    EXPECT_EQ(summary.find("capacity:"), std::string::npos);
    EXPECT_EQ(words(section(summary, "steps").at(1)).back(), "-");

    run.steps.clear();
    summary = format_summary(run, std::nullopt);
    EXPECT_TRUE(section(summary, "steps").empty());
}

TEST(ReportSummary, VerdictWhenPresent) {
    const run_result run = sample_run();
    EXPECT_EQ(format_summary(run, std::nullopt).find("verify:"), std::string::npos);
    const verdict result = failed_verdict();
    const std::string summary = format_summary(run, result);
    EXPECT_NE(summary.find(format_verdict(result)), std::string::npos);
    EXPECT_NE(summary.find("verify: FAILED"), std::string::npos);
    EXPECT_NE(summary.find("A81003"), std::string::npos);
}

TEST(ReportSummary, ControlCharactersFromTheRunAreReplaced) {
    run_result run;
    run.target = "http://evil\x1b[2J\r\nhost";
    const std::string summary = format_summary(run, std::nullopt);
    EXPECT_EQ(summary.find('\x1b'), std::string::npos);
    EXPECT_EQ(summary.find('\r'), std::string::npos);
    EXPECT_NE(summary.find("http://evil?[2J??host"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// JSON.

void expect_histogram(const json::value& value, const latency_histogram& histogram) {
    const json::object& object = value.as_object();
    const latency_summary summary = histogram.summary();
    EXPECT_EQ(object.at("count").to_number<std::uint64_t>(), summary.count);
    EXPECT_EQ(object.at("min_ns").to_number<std::int64_t>(), summary.min.count());
    EXPECT_EQ(object.at("mean_ns").to_number<std::int64_t>(), summary.mean.count());
    EXPECT_EQ(object.at("p50_ns").to_number<std::int64_t>(), summary.p50.count());
    EXPECT_EQ(object.at("p90_ns").to_number<std::int64_t>(), summary.p90.count());
    EXPECT_EQ(object.at("p99_ns").to_number<std::int64_t>(), summary.p99.count());
    EXPECT_EQ(object.at("p999_ns").to_number<std::int64_t>(), summary.p999.count());
    EXPECT_EQ(object.at("p9999_ns").to_number<std::int64_t>(), summary.p9999.count());
    EXPECT_EQ(object.at("max_ns").to_number<std::int64_t>(), summary.max.count());
    EXPECT_EQ(object.at("clamped").to_number<std::uint64_t>(), histogram.clamped_count());
    const json::array& buckets = object.at("buckets").as_array();
    const std::vector<latency_histogram::bucket> expected = histogram.buckets();
    ASSERT_EQ(buckets.size(), expected.size());
    std::uint64_t sum = 0;
    std::int64_t previous_upper = -1;
    for (std::size_t index = 0; index < buckets.size(); ++index) {
        const json::array& bucket = buckets[index].as_array();
        ASSERT_EQ(bucket.size(), 3u);
        const auto lower = bucket[0].to_number<std::int64_t>();
        const auto upper = bucket[1].to_number<std::int64_t>();
        EXPECT_EQ(lower, expected[index].lower_ns);
        EXPECT_EQ(upper, expected[index].upper_ns);
        EXPECT_LE(lower, upper);
        EXPECT_GT(lower, previous_upper);
        previous_upper = upper;
        sum += bucket[2].to_number<std::uint64_t>();
    }
    EXPECT_EQ(sum, summary.count);
}

TEST(ReportJson, ParsesAndHoldsEveryFigure) {
    const run_result run = sample_run();
    const json::value document = json::parse(format_json(run, failed_verdict()));
    const json::object& root = document.as_object();

    const json::object& scenario = root.at("scenario").as_object();
    EXPECT_EQ(scenario.at("target").as_string(), run.target);
    EXPECT_EQ(scenario.at("schedule").as_string(), run.schedule_spec);
    EXPECT_EQ(scenario.at("mix").as_string(), run.behaviour_spec);
    EXPECT_EQ(scenario.at("practices").to_number<std::uint64_t>(), 1000u);
    EXPECT_EQ(scenario.at("connections").to_number<std::uint32_t>(), 64u);
    EXPECT_EQ(scenario.at("threads").to_number<std::uint32_t>(), 2u);
    EXPECT_EQ(scenario.at("started_at").as_string(), run.started_at);
    EXPECT_EQ(scenario.at("elapsed_ns").to_number<std::int64_t>(), 10'000'000'000);
    EXPECT_EQ(scenario.at("interval_ns").to_number<std::int64_t>(), 1'000'000'000);

    const json::object& totals = root.at("totals").as_object();
    EXPECT_EQ(totals.at("offered").to_number<std::uint64_t>(), run.offered);
    EXPECT_EQ(totals.at("sent").to_number<std::uint64_t>(), run.sent);
    EXPECT_EQ(totals.at("answered").to_number<std::uint64_t>(), run.answered);
    EXPECT_EQ(totals.at("accepted").to_number<std::uint64_t>(), run.accepted);
    EXPECT_EQ(totals.at("retries").to_number<std::uint64_t>(), run.retries);
    EXPECT_EQ(totals.at("max_open_connections").to_number<std::uint32_t>(), 64u);
    EXPECT_EQ(totals.at("answered_per_s").to_number<double>(), 98.0);
    EXPECT_EQ(totals.at("accepted_per_s").to_number<double>(), 90.0);

    const json::object& statuses = root.at("statuses").as_object();
    ASSERT_EQ(statuses.size(), 3u);
    EXPECT_EQ(statuses.at("202").to_number<std::uint64_t>(), 900u);
    EXPECT_EQ(statuses.at("429").to_number<std::uint64_t>(), 80u);
    EXPECT_EQ(statuses.at("0").to_number<std::uint64_t>(), 20u);

    expect_histogram(root.at("latency"), run.latency);
    expect_histogram(root.at("accepted_latency"), run.accepted_latency);
    expect_histogram(root.at("time_to_receipt"), run.time_to_receipt);
    EXPECT_EQ(root.at("latency").at("p50_ns").to_number<std::int64_t>(), 49'938'431);

    const json::array& intervals = root.at("intervals").as_array();
    ASSERT_EQ(intervals.size(), run.intervals.size());
    std::uint64_t sent = 0;
    for (std::size_t index = 0; index < intervals.size(); ++index) {
        const json::object& interval = intervals[index].as_object();
        EXPECT_TRUE(interval.at("start_s").is_int64());
        EXPECT_EQ(interval.at("start_s").as_int64(), static_cast<std::int64_t>(index));
        EXPECT_EQ(interval.at("offered").to_number<std::uint64_t>(), 100u);
        EXPECT_EQ(interval.at("accepted").to_number<std::uint64_t>(), 90u);
        EXPECT_EQ(interval.at("answered").to_number<std::uint64_t>(), 100u);
        EXPECT_EQ(interval.at("statuses").at("429").to_number<std::uint64_t>(), 8u);
        const json::object& latency = interval.at("latency").as_object();
        EXPECT_EQ(latency.at("count").to_number<std::uint64_t>(), 100u);
        EXPECT_EQ(latency.at("p50_ns").to_number<std::int64_t>(), run.intervals[index].latency.percentile(50).count());
        EXPECT_EQ(latency.at("p99_ns").to_number<std::int64_t>(), run.intervals[index].latency.percentile(99).count());
        EXPECT_EQ(latency.at("max_ns").to_number<std::int64_t>(), run.intervals[index].latency.max().count());
        EXPECT_FALSE(latency.contains("buckets"));
        sent += interval.at("sent").to_number<std::uint64_t>();
    }
    EXPECT_EQ(sent, run.sent);

    const json::array& steps = root.at("steps").as_array();
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_EQ(steps[0].at("rate").as_int64(), 100);
    EXPECT_EQ(steps[2].at("errors").to_number<std::uint64_t>(), 7u);
    EXPECT_EQ(steps[2].at("held").as_bool(), false);
    EXPECT_EQ(steps[1].at("accepted_latency").at("p99_ns").to_number<std::int64_t>(), representable(5 * ms));
    EXPECT_EQ(root.at("capacity_rate").as_int64(), 200);
    EXPECT_EQ(root.at("slo_p99_ms").as_int64(), 10);

    const json::object& submissions = root.at("submissions").as_object();
    EXPECT_EQ(submissions.at("total").to_number<std::uint64_t>(), 6u);
    EXPECT_EQ(submissions.at("accepted_once").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(submissions.at("duplicate_ids").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(submissions.at("gave_up").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(submissions.at("never_answered").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(submissions.at("unfinished").to_number<std::uint64_t>(), 1u);

    const json::object& checked = root.at("verdict").as_object();
    EXPECT_FALSE(checked.at("ok").as_bool());
    EXPECT_EQ(checked.at("submissions").to_number<std::uint64_t>(), 6u);
    EXPECT_EQ(checked.at("accepted_once").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(checked.at("duplicates").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(checked.at("not_accepted").to_number<std::uint64_t>(), 3u);
    EXPECT_EQ(checked.at("calculated").to_number<std::uint64_t>(), 1u);
    const json::array& violations = checked.at("violations").as_array();
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].at("kind").as_string(), "duplicate");
    EXPECT_EQ(violations[0].at("practice").as_string(), "A81003");
    EXPECT_EQ(violations[0].at("idempotency_key").as_string(), "key-A81003");
    EXPECT_EQ(violations[0].at("detail").as_string(), "ids S-3, S-4");
}

TEST(ReportJson, IntegersStayIntegersAndAbsentFiguresAreNull) {
    run_result run = sample_run();
    run.elapsed = std::chrono::milliseconds{12'500};
    run.capacity_rate.reset();
    run.slo_p99_ms = 2.5;
    const std::string text = format_json(run, std::nullopt);
    const json::value document = json::parse(text);
    EXPECT_TRUE(document.at("totals").at("offered").is_number());
    EXPECT_FALSE(document.at("totals").at("offered").is_double());
    EXPECT_TRUE(document.at("scenario").at("elapsed_s").is_double());
    EXPECT_DOUBLE_EQ(document.at("scenario").at("elapsed_s").as_double(), 12.5);
    // 900 / 12.5 s is a whole number, so an integer; 980 / 12.5 s is not.
    EXPECT_EQ(document.at("totals").at("accepted_per_s").as_int64(), 72);
    EXPECT_DOUBLE_EQ(document.at("totals").at("answered_per_s").as_double(), 78.4);
    EXPECT_DOUBLE_EQ(document.at("slo_p99_ms").as_double(), 2.5);
    EXPECT_TRUE(document.at("capacity_rate").is_null());
    EXPECT_TRUE(document.at("verdict").is_null());
    // The per-submission records are counted, not listed.
    EXPECT_EQ(text.find("key-A81001"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// HTML.

// Every "<tag" has its "</tag>".
void expect_balanced(const std::string& html) {
    for (const char* tag :
         {"html",   "head",       "body",    "main", "style", "title", "table", "thead", "tbody", "tr",
          "figure", "figcaption", "section", "svg",  "text",  "div",   "p",     "h1",    "h2",    "span"}) {
        const std::string open = std::string("<") + tag;
        std::size_t opened = 0;
        for (std::size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
            const char next = html[at + open.size()];
            if (next == '>' || next == ' ') ++opened;
        }
        EXPECT_EQ(opened, occurrences(html, std::string("</") + tag + ">")) << tag;
    }
}

void expect_self_contained(const std::string& html, std::string_view target) {
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(occurrences(html, "<svg"), 4u);  // rate, goodput, status and latency charts
    EXPECT_EQ(occurrences(html, "</svg>"), 4u);
    std::string lower = html;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* banned : {"<script", "javascript:", "<link", "<img", "<iframe", "<object", "@import", "url(",
                               "src=", "href=", "@font-face"}) {
        EXPECT_EQ(lower.find(banned), std::string::npos) << banned;
    }
    // The only addresses in the page are the target's, as text.
    std::string rest = html;
    const std::string escaped_target = std::string(target);
    for (std::size_t at = rest.find(escaped_target); !escaped_target.empty() && at != std::string::npos;
         at = rest.find(escaped_target, at)) {
        rest.erase(at, escaped_target.size());
    }
    EXPECT_EQ(rest.find("http://"), std::string::npos);
    EXPECT_EQ(rest.find("https://"), std::string::npos);
    EXPECT_EQ(rest.find("//www."), std::string::npos);
}

void expect_no_nan_or_infinity(const std::string& text) {
    static const std::regex bad(R"(\b(nan|inf|infinity)\b)", std::regex::icase);
    EXPECT_FALSE(std::regex_search(text, bad)) << text.substr(0, 2000);
}

TEST(ReportHtml, SelfContainedAndWellFormed) {
    const run_result run = sample_run();
    const std::string html = format_html(run, failed_verdict());
    expect_self_contained(html, run.target);
    expect_balanced(html);
    expect_no_nan_or_infinity(html);
    EXPECT_EQ(occurrences(html, "<figure class=\"chart\">"), 4u);
    EXPECT_NE(html.find("<style>"), std::string::npos);
    // Rate lines (offered, sent, accepted), goodput and 503 lines, one area per status code, four
    // latency lines.
    EXPECT_EQ(occurrences(html, "<polyline"), 3u + 2u + 4u);
    EXPECT_EQ(occurrences(html, "<polygon"), 3u);
    // Legends name the codes and the percentiles; the SLO is drawn on the latency chart.
    for (const char* key : {">202</span>", ">429</span>", ">transport error</span>", ">p50</span>", ">p99</span>",
                            ">SLO p99 10 ms</span>"}) {
        EXPECT_NE(html.find(key), std::string::npos) << key;
    }
    // The figures of the summary are here too.
    for (const char* figure : {"90.00 %", "49.94", "98.83", "capacity: 200 req/s held p99 &lt;= 10 ms with no errors",
                               "verify: FAILED", "ids S-3, S-4", "banner failed", "98.0 req/s"}) {
        EXPECT_NE(html.find(figure), std::string::npos) << figure;
    }
}

TEST(ReportHtml, EscapesEveryStringFromTheRun) {
    run_result run = sample_run();
    run.target = "http://x/<script>alert('1')</script>&\"";
    run.schedule_spec = "<b>bold</b>";
    run.started_at = "<i>";
    verdict result = failed_verdict();
    result.violations[0].practice = "<img src=x>";
    result.violations[0].detail = "a & b";
    const std::string html = format_html(run, result);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<b>"), std::string::npos);
    EXPECT_EQ(html.find("<i>"), std::string::npos);
    EXPECT_EQ(html.find("<img"), std::string::npos);
    EXPECT_NE(html.find("http://x/&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;&quot;"), std::string::npos);
    EXPECT_NE(html.find("&lt;img src=x&gt;"), std::string::npos);
    EXPECT_NE(html.find("a &amp; b"), std::string::npos);
    expect_balanced(html);
}

TEST(ReportHtml, ListsTheFirstViolationsAndCountsTheRest) {
    verdict result = failed_verdict();
    result.violations.assign(250, result.violations.front());
    result.duplicates = 250;
    const std::string html = format_html(sample_run(), result);
    EXPECT_EQ(occurrences(html, "<td>duplicate</td>"), 200u);
    EXPECT_NE(html.find("... and 50 more"), std::string::npos);
    // The JSON lists them all.
    EXPECT_EQ(json::parse(format_json(sample_run(), result)).at("verdict").at("violations").as_array().size(), 250u);
}

TEST(ReportHtml, PassingVerdictIsShownAsOk) {
    verdict result;
    result.submissions = 2;
    result.accepted_once = 2;
    result.calculated = 2;
    const std::string html = format_html(sample_run(), result);
    EXPECT_NE(html.find("banner ok"), std::string::npos);
    EXPECT_NE(html.find("verify: OK"), std::string::npos);
    EXPECT_EQ(html.find("<h3>violations</h3>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Goodput and shedding.

// Four one-second intervals of a surge: goodput 10, 30, 20, 0 submissions; 503s 0, 6, 40, 0.
run_result surge_run() {
    run_result run;
    run.elapsed = std::chrono::seconds{4};
    const std::uint64_t goodput[] = {10, 30, 20, 0}, shed[] = {0, 6, 40, 0};
    for (std::size_t second = 0; second < 4; ++second) {
        interval_stats interval;
        interval.offered = 20;
        interval.newly_accepted = goodput[second];
        interval.accepted = goodput[second] + 5;  // replays and second copies: not goodput
        interval.statuses[202] = interval.accepted;
        if (shed[second] > 0) interval.statuses[detail::shed_status] = shed[second];
        run.intervals.push_back(std::move(interval));
    }
    run.offered = 80;
    run.newly_accepted = 60;
    run.accepted = 80;
    run.statuses = {{202, 80}, {503, 46}};
    return run;
}

TEST(ReportGoodput, OverallPeakAndMean) {
    const detail::surge_figures figures = detail::surge_figures_of(surge_run());
    EXPECT_EQ(figures.accepted_submissions, 60u);
    EXPECT_DOUBLE_EQ(figures.goodput_per_s, 15.0);  // 60 submissions over 4 s
    EXPECT_DOUBLE_EQ(figures.peak_goodput_per_s, 30.0);
    EXPECT_EQ(figures.peak_goodput_interval, 1u);
    EXPECT_EQ(figures.shed, 46u);
    EXPECT_DOUBLE_EQ(figures.mean_shed_per_s, 11.5);
    EXPECT_DOUBLE_EQ(figures.peak_shed_per_s, 40.0);
    EXPECT_EQ(figures.peak_shed_interval, 2u);

    // Per interval, over the interval's length: 500 ms intervals double the rates.
    run_result halves = surge_run();
    halves.interval_length = std::chrono::milliseconds{500};
    EXPECT_DOUBLE_EQ(detail::goodput_per_s(halves.intervals[1], halves.interval_length), 60.0);
    EXPECT_DOUBLE_EQ(detail::shed_per_s(halves.intervals[2], halves.interval_length), 80.0);
    EXPECT_DOUBLE_EQ(detail::surge_figures_of(halves).peak_shed_per_s, 80.0);
    EXPECT_DOUBLE_EQ(detail::surge_figures_of(halves).goodput_per_s, 15.0) << "overall: over the elapsed time";
}

TEST(ReportGoodput, NothingAcceptedNothingShedAndNoTime) {
    const detail::surge_figures none = detail::surge_figures_of(run_result{});
    EXPECT_EQ(none.accepted_submissions, 0u);
    EXPECT_EQ(none.goodput_per_s, 0.0);
    EXPECT_EQ(none.peak_goodput_per_s, 0.0);
    EXPECT_EQ(none.mean_shed_per_s, 0.0);
    EXPECT_EQ(none.peak_shed_per_s, 0.0);
    run_result instant = surge_run();
    instant.elapsed = nanoseconds{0};
    instant.interval_length = nanoseconds{0};
    const detail::surge_figures zero = detail::surge_figures_of(instant);
    EXPECT_EQ(zero.goodput_per_s, 0.0);
    EXPECT_EQ(zero.peak_shed_per_s, 0.0);
    EXPECT_EQ(zero.shed, 46u);
}

TEST(ReportGoodput, InTheSummary) {
    const std::string summary = format_summary(surge_run(), std::nullopt);
    const auto lines = section(summary, "goodput and shedding");
    ASSERT_EQ(lines.size(), 2u) << summary;
    EXPECT_EQ(words(lines[0]), (std::vector<std::string>{"goodput:", "submissions", "accepted", "60", "15.0/s",
                                                         "overall,", "peak", "30.0/s", "at", "1", "s"}));
    EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"shedding:", "503", "answers", "46", "11.5/s", "mean,", "peak",
                                                         "40.0/s", "at", "2", "s"}));
    const auto over_time = section(summary, "over time (per second)");
    ASSERT_EQ(over_time.size(), 5u) << summary;
    EXPECT_EQ(words(over_time[0]),
              (std::vector<std::string>{"from", "s", "to", "s", "offered/s", "goodput/s", "503/s"}));
    EXPECT_EQ(words(over_time[2]), (std::vector<std::string>{"1", "2", "20.0", "30.0", "6.0"}));
    EXPECT_EQ(words(over_time[3]), (std::vector<std::string>{"2", "3", "20.0", "20.0", "40.0"}));

    // Nothing shed: no peak to place.
    const auto quiet = section(format_summary(sample_run(), std::nullopt), "goodput and shedding");
    ASSERT_EQ(quiet.size(), 2u);
    EXPECT_EQ(words(quiet[1]),
              (std::vector<std::string>{"shedding:", "503", "answers", "0", "0.0/s", "mean,", "peak", "0.0/s"}));
}

TEST(ReportGoodput, OverTimeStaysShort) {
    run_result run = surge_run();
    const interval_stats second = run.intervals[1];
    run.intervals.assign(3600, second);  // an hour: 30 submissions and 6 503s a second
    run.elapsed = std::chrono::hours{1};
    const auto over_time = section(format_summary(run, std::nullopt), "over time (per second)");
    ASSERT_EQ(over_time.size(), 1u + 12u);
    EXPECT_EQ(words(over_time[1]), (std::vector<std::string>{"0", "300", "20.0", "30.0", "6.0"}));
    EXPECT_EQ(words(over_time[12]).at(1), "3600");
    EXPECT_TRUE(section(format_summary(run_result{}, std::nullopt), "over time (per second)").empty());
}

TEST(ReportGoodput, InTheJsonPerIntervalAndInTotal) {
    const run_result run = surge_run();
    const json::value document = json::parse(format_json(run, std::nullopt));
    const json::object& totals = document.at("totals").as_object();
    EXPECT_EQ(totals.at("newly_accepted").to_number<std::uint64_t>(), 60u);
    EXPECT_EQ(totals.at("goodput_per_s").as_int64(), 15);
    EXPECT_EQ(totals.at("peak_goodput_per_s").as_int64(), 30);
    EXPECT_EQ(totals.at("http_503").to_number<std::uint64_t>(), 46u);
    EXPECT_DOUBLE_EQ(totals.at("mean_http_503_per_s").as_double(), 11.5);
    EXPECT_EQ(totals.at("peak_http_503_per_s").as_int64(), 40);
    const json::array& intervals = document.at("intervals").as_array();
    ASSERT_EQ(intervals.size(), 4u);
    std::uint64_t newly_accepted = 0;
    for (std::size_t index = 0; index < intervals.size(); ++index) {
        const json::object& interval = intervals[index].as_object();
        newly_accepted += interval.at("newly_accepted").to_number<std::uint64_t>();
        EXPECT_EQ(interval.at("goodput_per_s").to_number<double>(),
                  static_cast<double>(run.intervals[index].newly_accepted));
        EXPECT_EQ(interval.at("accepted").to_number<std::uint64_t>(), run.intervals[index].newly_accepted + 5);
    }
    EXPECT_EQ(newly_accepted, 60u) << "the total is the sum over intervals";
    EXPECT_EQ(intervals[2].at("http_503_per_s").as_int64(), 40);
    EXPECT_EQ(intervals[0].at("http_503_per_s").as_int64(), 0);
}

TEST(ReportGoodput, AChartInTheHtml) {
    const std::string html = format_html(surge_run(), std::nullopt);
    EXPECT_NE(html.find(">Goodput and shedding</figcaption>"), std::string::npos) << html.substr(0, 200);
    EXPECT_NE(html.find(">goodput (submissions newly accepted)</span>"), std::string::npos);
    EXPECT_NE(html.find(">503 (shed)</span>"), std::string::npos);
    EXPECT_NE(html.find("60: 15.0/s overall, peak 30.0/s"), std::string::npos);
    EXPECT_NE(html.find("46: 11.5/s mean, peak 40.0/s"), std::string::npos);
    expect_no_nan_or_infinity(html);
}

// ---------------------------------------------------------------------------------------------
// Edges.

TEST(ReportEdges, EmptyRunRendersWithoutNanOrInfinity) {
    const run_result run;
    const std::string summary = format_summary(run, std::nullopt);
    const std::string text = format_json(run, std::nullopt);
    const std::string html = format_html(run, std::nullopt);
    for (const std::string* output : {&summary, &text, &html}) expect_no_nan_or_infinity(*output);

    EXPECT_EQ(words(find_line(section(summary, "latency (ms)"), "  all answers")),
              (std::vector<std::string>{"all", "answers", "0", "-", "-", "-", "-", "-", "-"}));
    EXPECT_EQ(words(find_line(section(summary, "totals"), "  answered")).at(2), "0.0");
    EXPECT_EQ(words(find_line(section(summary, "submissions"), "  accepted once")).at(3), "-");

    const json::value document = json::parse(text);
    EXPECT_TRUE(document.at("intervals").as_array().empty());
    EXPECT_TRUE(document.at("latency").at("buckets").as_array().empty());
    EXPECT_EQ(document.at("latency").at("count").to_number<std::uint64_t>(), 0u);
    EXPECT_EQ(document.at("totals").at("accepted_per_s").to_number<double>(), 0.0);
    EXPECT_TRUE(document.at("statuses").as_object().empty());

    expect_self_contained(html, run.target);
    expect_balanced(html);
    EXPECT_EQ(occurrences(html, ">no data</text>"), 4u);
    EXPECT_EQ(occurrences(html, "<polyline"), 0u);
}

TEST(ReportEdges, IntervalsWithoutAnswersAndZeroLengthsStayFinite) {
    run_result run;
    run.interval_length = nanoseconds{0};
    run.intervals.resize(3);
    run.intervals[1].offered = 5;
    run.intervals[1].statuses[transport_error_status] = 5;
    run.statuses[transport_error_status] = 5;
    const std::string html = format_html(run, std::nullopt);
    const std::string text = format_json(run, std::nullopt);
    expect_no_nan_or_infinity(html);
    expect_no_nan_or_infinity(text);
    expect_balanced(html);
    json::parse(text);
    // No latency at all: that chart is empty, the others are drawn.
    EXPECT_EQ(occurrences(html, ">no data</text>"), 1u);
    EXPECT_NE(html.find(">transport error</span>"), std::string::npos);
}

TEST(ReportEdges, OneIntervalIsDrawn) {
    run_result run;
    run.elapsed = std::chrono::milliseconds{800};
    interval_stats interval;
    interval.offered = 10;
    interval.sent = 10;
    interval.accepted = 10;
    interval.statuses[202] = 10;
    interval.latency.record(nanoseconds{3 * ms});
    run.intervals.push_back(std::move(interval));
    const std::string html = format_html(run, std::nullopt);
    expect_no_nan_or_infinity(html);
    EXPECT_EQ(occurrences(html, ">no data</text>"), 0u);
    EXPECT_EQ(occurrences(html, "<polygon"), 1u);
    EXPECT_EQ(occurrences(html, "<polyline"), 3u + 2u + 4u);
    EXPECT_EQ(json::parse(format_json(run, std::nullopt)).at("intervals").as_array().size(), 1u);
}

TEST(ReportEdges, AnHourOfIntervalsStaysSmall) {
    run_result run = sample_run();
    run.intervals.clear();
    run.elapsed = std::chrono::hours{1};
    for (int second = 0; second < 3600; ++second) {
        interval_stats interval;
        interval.offered = 200 + static_cast<std::uint64_t>(second % 60);
        interval.sent = interval.offered + 3;
        interval.accepted = interval.offered - static_cast<std::uint64_t>(second % 7);
        interval.statuses = {{202, interval.accepted}, {429, static_cast<std::uint64_t>(second % 7)}, {503, 1}};
        if (second % 100 == 0) interval.statuses[transport_error_status] = 2;
        for (int k = 1; k <= 20; ++k) interval.latency.record(nanoseconds{(k + second % 50) * ms});
        run.intervals.push_back(std::move(interval));
    }
    const std::string html = format_html(run, std::nullopt);
    EXPECT_LT(html.size(), 2'000'000u);
    expect_self_contained(html, run.target);
    expect_balanced(html);
    expect_no_nan_or_infinity(html);
    EXPECT_NE(html.find("4 intervals per point (3600 intervals in all)"), std::string::npos);
    // At most one step (two points) per slot in any line, whatever the run's length.
    std::size_t lines = 0;
    for (std::size_t at = html.find("<polyline"); at != std::string::npos; at = html.find("<polyline", at + 1)) {
        ++lines;
        const std::size_t points = html.find(" points=\"", at) + 9;
        const std::string_view values(html.data() + points, html.find('"', points) - points);
        EXPECT_LE(occurrences(values, ","), 2 * 1000u);
    }
    EXPECT_EQ(lines, 3u + 2u + 4u);
    // The time axis reads as clock time.
    EXPECT_NE(html.find(">1:00:00</text>"), std::string::npos);
    EXPECT_NE(html.find("time since start (h:mm:ss)"), std::string::npos);

    const std::string text = format_json(run, std::nullopt);
    EXPECT_LT(text.size(), 2'000'000u);
    const json::value document = json::parse(text);
    EXPECT_EQ(document.at("intervals").as_array().size(), 3600u);
    EXPECT_EQ(document.at("intervals").as_array().back().at("start_s").as_int64(), 3599);
}

}  // namespace
}  // namespace sluice::loadtest
