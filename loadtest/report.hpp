// The report of a sluice-loadtest run, in three forms: a summary table for the terminal, a JSON
// document with every figure and the merged histograms (for scripts and for comparing runs), and a
// self-contained HTML page (inline CSS and SVG: no scripts, fonts or images fetched from anywhere)
// with charts over time of offered and accepted rate, goodput and 503s, status codes and latency
// percentiles.
//
// All three are pure functions of the run (and of the verdict when --verify ran), so they are
// unit-tested on constructed results. One renderer a file: report_table.cpp, report_json.cpp,
// report_html.cpp (charts drawn by detail/svg_chart.hpp); what they read the same way, and the
// rows the table and the page share, are in detail/report_figures.hpp.
#pragma once

#include <optional>
#include <string>

#include "loadtest/run_result.hpp"
#include "loadtest/verify.hpp"

namespace sluice::loadtest {

// Goodput is the rate of submissions newly accepted (each one's first 2xx: replays and second
// copies are not goodput); shedding the rate of 503 answers. Each report shows both over the whole
// run (goodput over the elapsed time, 503s as a mean and as the peak of an interval) and per
// interval.
//
// The stdout table: scenario, totals, goodput and shedding, offered/goodput/503 per second over
// time (at most 12 rows), status codes, latency percentiles (all answers, accepted, time to
// receipt), steps/capacity when present, the verdict when present. Ends with '\n'.
std::string format_summary(const run_result& run, const std::optional<verdict>& checked);

// JSON (Boost.JSON serialised): every field of run_result except the per-submission records
// (their counts by outcome instead), histograms as [[lower_ns, upper_ns, count], ...] plus
// their percentiles, intervals with their rates (goodput_per_s, http_503_per_s) and percentiles,
// totals with goodput_per_s, peak_goodput_per_s, mean_http_503_per_s and peak_http_503_per_s,
// and the verdict.
std::string format_json(const run_result& run, const std::optional<verdict>& checked);

// The HTML page. Every string from the run is HTML-escaped.
std::string format_html(const run_result& run, const std::optional<verdict>& checked);

}  // namespace sluice::loadtest
