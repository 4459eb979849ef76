// What the three renderers of the report (report.hpp: report_table.cpp, report_json.cpp,
// report_html.cpp) read from a run the same way, so that the table, the JSON and the page never
// disagree:
//   - rates are counts over the run's elapsed time (or over an interval's length), 0 when the
//     time is 0, so that no output ever holds NaN or infinity;
//   - a status share is its count over all statuses counted (transport errors included);
//   - submissions are counted by outcome from their records (count_outcomes): every record lands
//     in exactly one outcome, so the outcomes add up to the number of records;
//   - latencies are printed in milliseconds with about four significant digits (the histogram's
//     error is below 0.4 %), and kept in integer nanoseconds in the JSON.
// The rows of the tables that the terminal and the page both show are built here once.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadtest/run_result.hpp"

namespace sluice::loadtest::detail {

struct submission_outcomes {
    std::uint64_t accepted_once = 0;   // exactly one submission id in its 2xx answers
    std::uint64_t duplicate_ids = 0;   // two or more distinct ids: a duplicate
    std::uint64_t gave_up = 0;         // no 2xx, and the behaviour stopped retrying
    std::uint64_t never_answered = 0;  // no answer at all (not even a transport error)
    std::uint64_t unfinished = 0;      // answered but no 2xx, still retrying when the run ended
    // 2xx answered but no submission_id in any of them: not a sluice receipt (a static test
    // server, or a gateway bug); shown only when it happens.
    std::uint64_t accepted_without_id = 0;
};

submission_outcomes count_outcomes(const std::vector<submission_record>& records);

double seconds(std::chrono::nanoseconds duration);
// count / duration, 0 when the duration is not positive.
double per_second(std::uint64_t count, std::chrono::nanoseconds duration);
double milliseconds(std::chrono::nanoseconds duration);

// printf into a std::string, for numbers only (at most 95 characters).
template <class... Args>
std::string print(const char* format, Args... args) {
    std::array<char, 96> buffer{};
    const int length = std::snprintf(buffer.data(), buffer.size(), format, args...);
    if (length <= 0) return {};
    return std::string(buffer.data(), std::min(static_cast<std::size_t>(length), buffer.size() - 1));
}

double finite_or_zero(double value);
// "1200", "2.5", "0.125": a rate or an SLO as given, without trailing zeros.
std::string plain_number(double value);
// "98.0": a rate per second, one decimal.
std::string rate_text(double per_s);
// Milliseconds with about four significant digits: 0.734, 4.512, 12.35, 250.1, 1203.
std::string ms_text(std::chrono::nanoseconds duration);
// "30.012 s", with "(1:02:03)" after it from two minutes on.
std::string elapsed_text(std::chrono::nanoseconds elapsed);
// "12.34 %", "<0.01 %" for something that happened, "-" of nothing.
std::string share_text(std::uint64_t part, std::uint64_t whole);
// "503", "transport error".
std::string status_text(int status);
std::uint64_t total_count(const std::map<int, std::uint64_t>& statuses);
std::string yes_no(bool value);

// "capacity: 1200 req/s held p99 <= 10 ms with no errors", "capacity: no step held ...", or
// nothing when the run did not search for a capacity.
std::optional<std::string> capacity_text(const run_result& run);

// Goodput and shedding, what a surge leaves standing: submissions newly accepted per second (each
// one's first 2xx; replays and second copies are not goodput) and 503 answers per second.
inline constexpr int shed_status = 503;

// 503 answers among `statuses`.
std::uint64_t shed_count(const std::map<int, std::uint64_t>& statuses);

struct surge_figures {
    std::uint64_t accepted_submissions = 0;  // run.newly_accepted
    double goodput_per_s = 0;                // over the whole run: accepted_submissions / elapsed
    double peak_goodput_per_s = 0;           // the interval with the most, over its length
    std::size_t peak_goodput_interval = 0;   // (the first of equals)
    std::uint64_t shed = 0;                  // 503 answers
    double mean_shed_per_s = 0;              // over the whole run: shed / elapsed
    double peak_shed_per_s = 0;              // the interval with the most, over its length
    std::size_t peak_shed_interval = 0;
};
surge_figures surge_figures_of(const run_result& run);

// An interval's goodput and 503s per second (0 for an interval length of 0).
double goodput_per_s(const interval_stats& interval, std::chrono::nanoseconds length);
double shed_per_s(const interval_stats& interval, std::chrono::nanoseconds length);

// The latency histograms a report shows, in order.
struct named_histogram {
    const char* label;  // for people
    const char* key;    // for the JSON
    const latency_histogram* histogram;
};
std::array<named_histogram, 3> histograms_of(const run_result& run);
// Latencies outside the histograms' range, over all of them.
std::uint64_t clamped_total(const run_result& run);

// The run's time cut into at most `max_slots` slots: each interval, or runs of `per_slot`
// intervals when there are more. Every interval counts its full length (the last one included).
struct time_slots {
    std::vector<double> edges;                                // seconds, slots + 1 of them
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // [first, last) intervals
    double width_s(std::size_t slot) const { return edges[slot + 1] - edges[slot]; }
};
time_slots slots_of(const run_result& run, std::size_t max_slots);

// A slot's count per second: `count_of(interval)` summed over the slot's intervals, over its width.
template <class Count>
double slot_rate(const run_result& run, const time_slots& slots, std::size_t slot, Count count_of) {
    std::uint64_t count = 0;
    for (std::size_t index = slots.ranges[slot].first; index < slots.ranges[slot].second; ++index)
        count += count_of(run.intervals[index]);
    const double width = slots.width_s(slot);
    return width > 0 ? static_cast<double>(count) / width : 0.0;
}

using table_rows = std::vector<std::vector<std::string>>;
// status, count, share: every status by code, transport errors last; "(none)" when there is none.
table_rows status_rows(const run_result& run);
// outcome, count, share: the submissions by outcome (the rare ones only when they happen), then the total.
table_rows outcome_rows(const run_result& run);
// rate/s, offered, answered, accepted, errors, p99 of accepted (ms), held.
table_rows step_rows(const run_result& run);
// label, count, [mean,] p50, p90, p99, p99.9, p99.99, max: one row per histogram.
table_rows latency_rows(const run_result& run, bool with_mean);

}  // namespace sluice::loadtest::detail
