// The HTML form of the report (report.hpp: format_html): one self-contained page (inline CSS
// and SVG; no script, font or image fetched from anywhere), in sections: the headline and the
// verdict's banner, scenario and totals, charts over time (offered and accepted rate, goodput and
// 503s, status codes, latency percentiles), status codes and submissions, latency, steps,
// verification.
//
// The charts plot per-second rates of each interval's counts; past max_chart_slots
// intervals a point stands for several merged ones (their average rate, the percentiles of their
// merged histograms), so an hour-long run stays a few hundred KB. Every string from the run is
// HTML-escaped.
#include "loadtest/report.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadtest/detail/report_figures.hpp"
#include "loadtest/detail/svg_chart.hpp"

namespace sluice::loadtest {

namespace {

using namespace detail;

// ---- charts ------------------------------------------------------------------------------------

// Colours by status class, the n-th code of a class taking the class's n-th colour.
std::string status_colour(int status, std::size_t rank_in_class) {
    static constexpr std::array<const char*, 3> success{"#2ca02c", "#98df8a", "#17661a"};
    static constexpr std::array<const char*, 2> redirect{"#1f77b4", "#aec7e8"};
    static constexpr std::array<const char*, 5> client{"#ff9f1c", "#ffd166", "#bcbd22", "#8c564b", "#e377c2"};
    static constexpr std::array<const char*, 3> server{"#d62728", "#ff9896", "#9467bd"};
    if (status == transport_error_status) return "#3a3a3a";
    if (status >= 200 && status < 300) return success[rank_in_class % success.size()];
    if (status >= 300 && status < 400) return redirect[rank_in_class % redirect.size()];
    if (status >= 400 && status < 500) return client[rank_in_class % client.size()];
    if (status >= 500 && status < 600) return server[rank_in_class % server.size()];
    return "#7f7f7f";
}

std::string rate_chart(const run_result& run, const time_slots& slots) {
    std::vector<chart_series> series{
        // Drawn accepted first and widest, so that a line on top of it shows as well.
        {"offered (first attempts)", "#555555", {}, true, 1.5},
        {"sent (with retries and copies)", "#1f77b4", {}, false, 1.8},
        {"accepted (2xx)", "#2ca02c", {}, false, 4},
    };
    for (std::size_t slot = 0; slot < slots.ranges.size(); ++slot) {
        series[0].values.emplace_back(slot_rate(run, slots, slot, [](const interval_stats& i) { return i.offered; }));
        series[1].values.emplace_back(slot_rate(run, slots, slot, [](const interval_stats& i) { return i.sent; }));
        series[2].values.emplace_back(slot_rate(run, slots, slot, [](const interval_stats& i) { return i.accepted; }));
    }
    chart_spec spec;
    spec.title = "Offered and accepted rate";
    spec.y_title = "requests/s";
    return render_chart(spec, slots.edges, series);
}

// What got through and what was shed: submissions newly accepted (each one's first 2xx, so
// replays and second copies do not count) and 503 answers, per second.
std::string goodput_chart(const run_result& run, const time_slots& slots) {
    std::vector<chart_series> series{
        {"goodput (submissions newly accepted)", "#2ca02c", {}, false, 3},
        {"503 (shed)", "#d62728", {}, false, 1.8},
    };
    for (std::size_t slot = 0; slot < slots.ranges.size(); ++slot) {
        series[0].values.emplace_back(
            slot_rate(run, slots, slot, [](const interval_stats& i) { return i.newly_accepted; }));
        series[1].values.emplace_back(
            slot_rate(run, slots, slot, [](const interval_stats& i) { return shed_count(i.statuses); }));
    }
    chart_spec spec;
    spec.title = "Goodput and shedding";
    spec.y_title = "per second";
    return render_chart(spec, slots.edges, series);
}

std::string status_chart(const run_result& run, const time_slots& slots) {
    // Every status seen, 2xx first (bottom of the stack), transport errors last (top).
    std::vector<int> codes;
    for (const auto& [status, count] : run.statuses) {
        if (status != transport_error_status) codes.push_back(status);
    }
    for (const interval_stats& interval : run.intervals) {
        for (const auto& [status, count] : interval.statuses) {
            if (status != transport_error_status && !std::binary_search(codes.begin(), codes.end(), status)) {
                codes.insert(std::upper_bound(codes.begin(), codes.end(), status), status);
            }
        }
    }
    const bool any_transport_error =
        run.statuses.count(transport_error_status) != 0 ||
        std::any_of(run.intervals.begin(), run.intervals.end(), [](const interval_stats& interval) {
            return interval.statuses.count(transport_error_status) != 0;
        });
    if (any_transport_error) codes.push_back(transport_error_status);

    std::vector<chart_series> series;
    std::map<int, std::size_t> rank_by_class;
    for (const int status : codes) {
        const std::size_t rank = rank_by_class[status / 100]++;
        series.push_back({status_text(status), status_colour(status, rank), {}, false});
    }
    for (std::size_t slot = 0; slot < slots.ranges.size(); ++slot) {
        const auto [first, last] = slots.ranges[slot];
        const double width_s = slots.edges[slot + 1] - slots.edges[slot];
        for (std::size_t code = 0; code < codes.size(); ++code) {
            std::uint64_t count = 0;
            for (std::size_t index = first; index < last; ++index) {
                const auto found = run.intervals[index].statuses.find(codes[code]);
                if (found != run.intervals[index].statuses.end()) count += found->second;
            }
            series[code].values.emplace_back(static_cast<double>(count) / width_s);
        }
    }
    chart_spec spec;
    spec.title = "Status codes";
    spec.y_title = "answers/s";
    spec.stacked = true;
    return render_chart(spec, slots.edges, series);
}

std::string latency_chart(const run_result& run, const time_slots& slots) {
    std::vector<chart_series> series{
        {"p50", "#1f77b4", {}, false},
        {"p90", "#9467bd", {}, false},
        {"p99", "#ff7f0e", {}, false},
        {"max", "#d62728", {}, true},
    };
    static constexpr std::array<double, 3> quantiles{50, 90, 99};
    latency_histogram merged;
    for (const auto& [first, last] : slots.ranges) {
        const latency_histogram* histogram = &run.intervals[first].latency;
        if (last - first > 1) {
            merged.reset();
            for (std::size_t index = first; index < last; ++index) merged.merge(run.intervals[index].latency);
            histogram = &merged;
        }
        if (histogram->count() == 0) {
            for (auto& one : series) one.values.emplace_back(std::nullopt);
            continue;
        }
        for (std::size_t q = 0; q < quantiles.size(); ++q) {
            series[q].values.emplace_back(milliseconds(histogram->percentile(quantiles[q])));
        }
        series[3].values.emplace_back(milliseconds(histogram->max()));
    }
    chart_spec spec;
    spec.title = "Latency of all answers (from intended send time; log scale)";
    spec.y_title = "latency";
    spec.scale = chart_scale::log10;
    spec.unit = chart_value_unit::milliseconds;
    if (run.slo_p99_ms && *run.slo_p99_ms > 0) {
        spec.reference = *run.slo_p99_ms;
        spec.reference_label = "SLO p99 " + plain_number(*run.slo_p99_ms) + " ms";
    }
    return render_chart(spec, slots.edges, series);
}

// ---- tables and the page -----------------------------------------------------------------------

// A two-column table of names and values.
class html_rows {
public:
    void add(std::string_view name, std::string_view value, bool numeric = true) {
        rows_ += "<tr><th>" + html_escape(name) + "</th><td" + (numeric ? " class=\"num\"" : "") + ">" +
                 html_escape(value) + "</td></tr>\n";
    }
    std::string table() const { return "<table class=\"pairs\">\n" + rows_ + "</table>\n"; }

private:
    std::string rows_;
};

// A table with a header row: the first `text_columns` columns are text, the others numbers
// (right-aligned).
std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                       std::size_t text_columns = 1) {
    std::string out = "<table class=\"grid\">\n<thead><tr>";
    for (std::size_t column = 0; column < header.size(); ++column) {
        out += column < text_columns ? "<th>" : "<th class=\"num\">";
        out += html_escape(header[column]) + "</th>";
    }
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (std::size_t column = 0; column < row.size(); ++column) {
            out += column < text_columns ? "<td>" : "<td class=\"num\">";
            out += html_escape(row[column]) + "</td>";
        }
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n";
    return out;
}

constexpr std::string_view page_css = R"(*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#222;background:#fafafa;margin:0}
main{max-width:1120px;margin:0 auto;padding:20px 24px 40px;background:#fff;min-height:100vh}
h1{font-size:22px;margin:0 0 2px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:3px;border-bottom:1px solid #e3e3e3}
h3{font-size:14px;margin:14px 0 6px;color:#555}
.sub{color:#555;margin:0 0 12px;word-break:break-all}
.columns{display:flex;flex-wrap:wrap;gap:12px 40px;align-items:flex-start}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.pairs th{text-align:left;font-weight:normal;color:#555;padding:2px 18px 2px 0;vertical-align:top}
table.pairs td{padding:2px 0;word-break:break-all;max-width:560px}
table.grid th,table.grid td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
table.grid thead th{border-bottom:1px solid #bbb;color:#444;font-weight:600}
table.grid td{word-break:break-all;max-width:520px}
.num{text-align:right!important;white-space:nowrap}
.banner{padding:10px 14px;border-radius:4px;margin:14px 0;font-weight:600;white-space:pre-wrap}
.banner.ok{background:#e7f6e9;color:#17661a;border:1px solid #a9dbb0}
.banner.failed{background:#fdecea;color:#8a1c14;border:1px solid #f0b1aa}
.capacity{font-weight:600;margin:8px 0}
.note{color:#666;font-size:13px}
)";

std::string verdict_headline(const verdict& result) {
    const std::string text = format_verdict(result, 0);
    const std::size_t end = text.find('\n');
    return text.substr(0, end);
}

// ---- the sections ------------------------------------------------------------------------------

std::string page_head(const run_result& run) {
    std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    page += "<title>sluice-loadtest: " + html_escape(run.target) + "</title>\n<style>\n";
    page += page_css;
    page += chart_css();
    page += "</style>\n</head>\n<body>\n<main>\n";
    return page;
}

std::string headline_section(const run_result& run, const std::optional<verdict>& checked) {
    std::string page = "<h1>sluice-loadtest report</h1>\n<p class=\"sub\">" + html_escape(run.target) + " &middot; " +
                       html_escape(run.schedule_spec) + " &middot; started " + html_escape(run.started_at) +
                       " &middot; " + html_escape(elapsed_text(run.elapsed)) + "</p>\n";
    if (checked) {
        page += std::string("<div class=\"banner ") + (checked->ok() ? "ok" : "failed") + "\">" +
                html_escape(verdict_headline(*checked)) + "</div>\n";
    }
    return page;
}

// Scenario and totals side by side.
std::string scenario_section(const run_result& run) {
    html_rows scenario;
    scenario.add("target", run.target, false);
    scenario.add("schedule", run.schedule_spec, false);
    scenario.add("mix", run.behaviour_spec, false);
    scenario.add("practices", std::to_string(run.practices), false);
    scenario.add("connections", std::to_string(run.connections), false);
    scenario.add("threads", std::to_string(run.threads), false);
    scenario.add("started at", run.started_at, false);
    scenario.add("elapsed", elapsed_text(run.elapsed), false);
    html_rows totals;
    totals.add("offered (first attempts)", std::to_string(run.offered));
    totals.add("sent (with retries and copies)", std::to_string(run.sent));
    totals.add("answered", std::to_string(run.answered));
    totals.add("accepted (2xx)", std::to_string(run.accepted));
    totals.add("retries", std::to_string(run.retries));
    totals.add("answered rate", rate_text(per_second(run.answered, run.elapsed)) + " req/s");
    totals.add("accepted rate", rate_text(per_second(run.accepted, run.elapsed)) + " req/s");
    totals.add("max open connections", std::to_string(run.max_open_connections));
    const surge_figures surge = surge_figures_of(run);
    totals.add("goodput (submissions accepted)", std::to_string(surge.accepted_submissions) + ": " +
                                                     rate_text(surge.goodput_per_s) + "/s overall, peak " +
                                                     rate_text(surge.peak_goodput_per_s) + "/s");
    totals.add("503 answers (shed)", std::to_string(surge.shed) + ": " + rate_text(surge.mean_shed_per_s) +
                                         "/s mean, peak " + rate_text(surge.peak_shed_per_s) + "/s");
    return "<div class=\"columns\">\n<section><h2>Scenario</h2>\n" + scenario.table() + "</section>\n" +
           "<section><h2>Totals</h2>\n" + totals.table() + "</section>\n</div>\n";
}

std::string charts_section(const run_result& run) {
    const time_slots slots = slots_of(run, max_chart_slots);
    std::string page = "<h2>Over time</h2>\n";
    if (!slots.ranges.empty() && slots.ranges.front().second - slots.ranges.front().first > 1) {
        page += "<p class=\"note\">" + std::to_string(slots.ranges.front().second - slots.ranges.front().first) +
                " intervals per point (" + std::to_string(run.intervals.size()) + " intervals in all).</p>\n";
    }
    page += rate_chart(run, slots);
    page += goodput_chart(run, slots);
    page += status_chart(run, slots);
    page += latency_chart(run, slots);
    return page;
}

// Status codes and submissions side by side, then latency, steps and capacity.
std::string tables_section(const run_result& run) {
    std::string page = "<div class=\"columns\">\n<section><h2>Status codes</h2>\n" +
                       html_table({"status", "count", "share"}, status_rows(run)) + "</section>\n";
    page += "<section><h2>Submissions</h2>\n" + html_table({"outcome", "count", "share"}, outcome_rows(run)) +
            "</section>\n</div>\n";
    page += "<h2>Latency (ms)</h2>\n" +
            html_table({"", "count", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"}, latency_rows(run, true));
    if (const std::uint64_t clamped = clamped_total(run); clamped > 0) {
        page += "<p class=\"note\">" + std::to_string(clamped) +
                " latencies were outside the histogram's range and clamped.</p>\n";
    }
    if (!run.steps.empty()) {
        page += "<h2>Steps</h2>\n" +
                html_table({"rate/s", "offered", "answered", "accepted", "errors", "p99 accepted (ms)", "held"},
                           step_rows(run));
    }
    if (const auto capacity = capacity_text(run)) page += "<p class=\"capacity\">" + html_escape(*capacity) + "</p>\n";
    return page;
}

std::string verification_section(const verdict& result) {
    html_rows counts;
    counts.add("submissions judged", std::to_string(result.submissions));
    counts.add("accepted exactly once", std::to_string(result.accepted_once));
    counts.add("duplicates", std::to_string(result.duplicates));
    counts.add("lost", std::to_string(result.lost));
    counts.add("wrong practice", std::to_string(result.wrong_practice));
    counts.add("not accepted", std::to_string(result.not_accepted));
    counts.add("lookup failed", std::to_string(result.lookup_failed));
    html_rows states;
    states.add("calculated", std::to_string(result.calculated));
    states.add("queued", std::to_string(result.queued));
    states.add("processing", std::to_string(result.processing));
    states.add("failed", std::to_string(result.failed));
    std::string page = "<h2>Verification</h2>\n<div class=\"columns\">\n<section>" + counts.table() +
                       "</section>\n<section><h3>states of those accepted once</h3>\n" + states.table() +
                       "</section>\n</div>\n";
    if (!result.violations.empty()) {
        constexpr std::size_t max_listed = 200;
        table_rows rows;
        for (std::size_t index = 0; index < result.violations.size() && index < max_listed; ++index) {
            const violation& found = result.violations[index];
            rows.push_back(
                {std::string(violation_name(found.kind)), found.practice, found.idempotency_key, found.detail});
        }
        page += "<h3>violations</h3>\n" + html_table({"kind", "practice", "idempotency key", "detail"}, rows, 4);
        if (result.violations.size() > max_listed) {
            page += "<p class=\"note\">... and " + std::to_string(result.violations.size() - max_listed) +
                    " more (all of them are in the JSON report).</p>\n";
        }
    }
    return page;
}

}  // namespace

std::string format_html(const run_result& run, const std::optional<verdict>& checked) {
    std::string page = page_head(run);
    page += headline_section(run, checked);
    page += scenario_section(run);
    page += charts_section(run);
    page += tables_section(run);
    if (checked) page += verification_section(*checked);
    page += "</main>\n</body>\n</html>\n";
    return page;
}

}  // namespace sluice::loadtest
