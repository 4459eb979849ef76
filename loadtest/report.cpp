// The three forms of the report (report.hpp). They read the same figures the same way:
//   - rates are counts over the run's elapsed time (or over an interval's length), 0 when the
//     time is 0, so that no output ever holds NaN or infinity;
//   - a status share is its count over all statuses counted (transport errors included);
//   - submissions are counted by outcome from their records (count_outcomes below): every record
//     lands in exactly one outcome, so the outcomes add up to the number of records;
//   - latencies are printed in milliseconds with about four significant digits (the histogram's
//     error is below 0.4 %), and kept in integer nanoseconds in the JSON.
//   - the HTML charts plot per-second rates of each interval's counts (a slot of several merged
//     intervals, past detail::max_chart_slots, plots their average rate and the percentiles of
//     their merged histograms), so an hour-long run stays a few hundred KB.
// Strings from the run (target, specs, practices, keys, details) are escaped for HTML, and their
// control characters replaced in the terminal table.
#include "loadtest/report.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadtest/detail/report_html.hpp"

namespace sluice::loadtest {

namespace {

using std::chrono::nanoseconds;
namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Figures shared by the three forms.

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

submission_outcomes count_outcomes(const std::vector<submission_record>& records) {
    submission_outcomes outcomes;
    for (const submission_record& record : records) {
        if (record.submission_ids.size() == 1) {
            ++outcomes.accepted_once;
        } else if (record.submission_ids.size() > 1) {
            ++outcomes.duplicate_ids;
        } else if (record.time_to_receipt) {
            ++outcomes.accepted_without_id;
        } else if (record.gave_up) {
            ++outcomes.gave_up;
        } else if (!record.last_status) {
            ++outcomes.never_answered;
        } else {
            ++outcomes.unfinished;
        }
    }
    return outcomes;
}

double seconds(nanoseconds duration) { return static_cast<double>(duration.count()) / 1e9; }

double per_second(std::uint64_t count, nanoseconds duration) {
    return duration.count() > 0 ? static_cast<double>(count) / seconds(duration) : 0.0;
}

double milliseconds(nanoseconds duration) { return static_cast<double>(duration.count()) / 1e6; }

template <class... Args>
std::string print(const char* format, Args... args) {
    std::array<char, 96> buffer{};
    const int length = std::snprintf(buffer.data(), buffer.size(), format, args...);
    if (length <= 0) return {};
    return std::string(buffer.data(), std::min(static_cast<std::size_t>(length), buffer.size() - 1));
}

double finite_or_zero(double value) { return std::isfinite(value) ? value : 0.0; }

// "1200", "2.5", "0.125": a rate or an SLO as given, without trailing zeros.
std::string plain_number(double value) {
    value = finite_or_zero(value);
    std::string text = print("%.3f", value);
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text == "-0" ? "0" : text;
}

std::string rate_text(double per_s) { return print("%.1f", finite_or_zero(per_s)); }

// Milliseconds with about four significant digits: 0.734, 4.512, 12.35, 250.1, 1203.
std::string ms_text(nanoseconds duration) {
    const double ms = milliseconds(duration);
    const int decimals = ms < 10 ? 3 : ms < 100 ? 2 : ms < 1000 ? 1 : 0;
    return print("%.*f", decimals, ms);
}

// "30.012 s", with "(1:02:03)" after it from two minutes on.
std::string elapsed_text(nanoseconds elapsed) {
    std::string text = print("%.3f s", seconds(elapsed));
    if (elapsed >= std::chrono::minutes{2}) {
        const auto whole = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
        text += print(" (%lld:%02lld:%02lld)", static_cast<long long>(whole / 3600),
                      static_cast<long long>(whole / 60 % 60), static_cast<long long>(whole % 60));
    }
    return text;
}

std::string share_text(std::uint64_t part, std::uint64_t whole) {
    if (whole == 0) return "-";
    const double percent = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
    if (part > 0 && percent < 0.005) return "<0.01 %";  // not 0.00 % for something that happened
    return print("%.2f %%", percent);
}

std::string status_text(int status) {
    return status == transport_error_status ? "transport error" : std::to_string(status);
}

std::uint64_t total_count(const std::map<int, std::uint64_t>& statuses) {
    std::uint64_t total = 0;
    for (const auto& [status, count] : statuses) total += count;
    return total;
}

std::string yes_no(bool value) { return value ? "yes" : "no"; }

// "capacity: 1200 req/s held p99 <= 10 ms with no errors", "capacity: no step held ...", or
// nothing when the run did not search for a capacity.
std::optional<std::string> capacity_text(const run_result& run) {
    std::string condition;
    if (run.slo_p99_ms) condition = " p99 <= " + plain_number(*run.slo_p99_ms) + " ms";
    condition += " with no errors";
    if (run.capacity_rate) return "capacity: " + plain_number(*run.capacity_rate) + " req/s held" + condition;
    if (run.slo_p99_ms) return "capacity: no step held" + condition;
    return std::nullopt;
}

// The latency histograms a report shows, in order.
struct named_histogram {
    const char* label;  // for people
    const char* key;    // for the JSON
    const latency_histogram* histogram;
};

std::array<named_histogram, 3> histograms_of(const run_result& run) {
    return {{{"all answers", "latency", &run.latency},
             {"accepted (2xx)", "accepted_latency", &run.accepted_latency},
             {"time to receipt", "time_to_receipt", &run.time_to_receipt}}};
}

std::uint64_t clamped_total(const run_result& run) {
    std::uint64_t clamped = 0;
    for (const named_histogram& named : histograms_of(run)) clamped += named.histogram->clamped_count();
    return clamped;
}

// ---------------------------------------------------------------------------------------------
// The terminal table.

// Control characters (escape sequences in a target, say) would rewrite the terminal.
std::string terminal_safe(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = '?';
    }
    return out;
}

// Columns padded to their widest cell (in UTF-8 code points), two spaces apart.
class text_table {
public:
    // One flag per column: true aligns it to the right (numbers).
    explicit text_table(std::vector<bool> right_aligned) : right_aligned_(std::move(right_aligned)) {}

    void add_row(std::vector<std::string> cells) {
        cells.resize(right_aligned_.size());
        rows_.push_back(std::move(cells));
    }

    void render(std::string& out, std::string_view indent = "  ") const {
        std::vector<std::size_t> widths(right_aligned_.size(), 0);
        for (const auto& row : rows_) {
            for (std::size_t column = 0; column < row.size(); ++column) {
                widths[column] = std::max(widths[column], display_width(row[column]));
            }
        }
        for (const auto& row : rows_) {
            std::string line(indent);
            for (std::size_t column = 0; column < row.size(); ++column) {
                const std::string padding(widths[column] - display_width(row[column]), ' ');
                if (column > 0) line += "  ";
                line += right_aligned_[column] ? padding + row[column] : row[column] + padding;
            }
            while (!line.empty() && line.back() == ' ') line.pop_back();
            out += line;
            out += '\n';
        }
    }

private:
    static std::size_t display_width(std::string_view text) {
        return static_cast<std::size_t>(std::count_if(
            text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
    }

    std::vector<bool> right_aligned_;
    std::vector<std::vector<std::string>> rows_;
};

void add_latency_row(text_table& table, const char* label, const latency_histogram& histogram) {
    if (histogram.count() == 0) {
        table.add_row({label, "0", "-", "-", "-", "-", "-", "-"});
        return;
    }
    const latency_summary summary = histogram.summary();
    table.add_row({label, std::to_string(summary.count), ms_text(summary.p50), ms_text(summary.p90),
                   ms_text(summary.p99), ms_text(summary.p999), ms_text(summary.p9999), ms_text(summary.max)});
}

// ---------------------------------------------------------------------------------------------
// JSON.

// An integer when the value is a whole number (rates of round figures, seconds), null when it is
// not finite, a double otherwise.
json::value number(double value) {
    if (!std::isfinite(value)) return nullptr;
    if (value == std::trunc(value) && std::abs(value) < 9.0e15) return static_cast<std::int64_t>(value);
    return value;
}

json::value optional_number(const std::optional<double>& value) {
    return value ? number(*value) : json::value(nullptr);
}

json::object statuses_json(const std::map<int, std::uint64_t>& statuses) {
    json::object object;
    for (const auto& [status, count] : statuses) object[std::to_string(status)] = count;
    return object;
}

json::object histogram_json(const latency_histogram& histogram) {
    const latency_summary summary = histogram.summary();
    json::object object;
    object["count"] = summary.count;
    object["clamped"] = histogram.clamped_count();
    object["min_ns"] = summary.min.count();
    object["mean_ns"] = summary.mean.count();
    object["p50_ns"] = summary.p50.count();
    object["p90_ns"] = summary.p90.count();
    object["p99_ns"] = summary.p99.count();
    object["p999_ns"] = summary.p999.count();
    object["p9999_ns"] = summary.p9999.count();
    object["max_ns"] = summary.max.count();
    return object;
}

json::object histogram_with_buckets_json(const latency_histogram& histogram) {
    json::object object = histogram_json(histogram);
    json::array buckets;
    histogram.for_each_bucket([&](const latency_histogram::bucket& bucket) {
        buckets.push_back(json::array{bucket.lower_ns, bucket.upper_ns, bucket.count});
    });
    object["buckets"] = std::move(buckets);
    return object;
}

json::object interval_json(const interval_stats& interval, double start_s) {
    json::object object;
    object["start_s"] = number(start_s);
    object["offered"] = interval.offered;
    object["sent"] = interval.sent;
    object["answered"] = total_count(interval.statuses);
    object["accepted"] = interval.accepted;
    object["statuses"] = statuses_json(interval.statuses);
    json::object latency;
    latency["count"] = interval.latency.count();
    latency["p50_ns"] = interval.latency.percentile(50).count();
    latency["p90_ns"] = interval.latency.percentile(90).count();
    latency["p99_ns"] = interval.latency.percentile(99).count();
    latency["max_ns"] = interval.latency.max().count();
    object["latency"] = std::move(latency);
    return object;
}

json::object step_json(const step_stats& step) {
    json::object object;
    object["rate"] = number(step.rate);
    object["duration_ns"] = step.duration.count();
    object["offered"] = step.offered;
    object["answered"] = step.answered;
    object["accepted"] = step.accepted;
    object["errors"] = step.errors;
    object["held"] = step.held;
    object["accepted_latency"] = histogram_json(step.accepted_latency);
    return object;
}

json::object verdict_json(const verdict& result) {
    json::object object;
    object["ok"] = result.ok();
    object["submissions"] = result.submissions;
    object["accepted_once"] = result.accepted_once;
    object["duplicates"] = result.duplicates;
    object["lost"] = result.lost;
    object["wrong_practice"] = result.wrong_practice;
    object["not_accepted"] = result.not_accepted;
    object["lookup_failed"] = result.lookup_failed;
    object["queued"] = result.queued;
    object["processing"] = result.processing;
    object["calculated"] = result.calculated;
    object["failed"] = result.failed;
    json::array violations;
    violations.reserve(result.violations.size());
    for (const violation& found : result.violations) {
        json::object entry;
        entry["kind"] = violation_name(found.kind);
        entry["practice"] = found.practice;
        entry["idempotency_key"] = found.idempotency_key;
        entry["detail"] = found.detail;
        violations.push_back(std::move(entry));
    }
    object["violations"] = std::move(violations);
    return object;
}

// ---------------------------------------------------------------------------------------------
// HTML.

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

// The charts' slots: each interval, or runs of `per_slot` intervals when there are more than
// max_chart_slots of them. Every interval counts its full length (the last one included).
struct chart_slots {
    std::vector<double> edges;                                // seconds
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // [first, last) intervals
};

chart_slots slots_of(const run_result& run) {
    chart_slots slots;
    const std::size_t intervals = run.intervals.size();
    if (intervals == 0) return slots;
    const double length_s = run.interval_length.count() > 0 ? seconds(run.interval_length) : 1.0;
    const std::size_t per_slot = (intervals + detail::max_chart_slots - 1) / detail::max_chart_slots;
    for (std::size_t first = 0; first < intervals; first += per_slot) {
        slots.edges.push_back(static_cast<double>(first) * length_s);
        slots.ranges.emplace_back(first, std::min(intervals, first + per_slot));
    }
    slots.edges.push_back(static_cast<double>(intervals) * length_s);
    return slots;
}

std::string rate_chart(const run_result& run, const chart_slots& slots) {
    std::vector<detail::chart_series> series{
        // Drawn accepted first and widest, so that a line on top of it shows as well.
        {"offered (first attempts)", "#555555", {}, true, 1.5},
        {"sent (with retries and copies)", "#1f77b4", {}, false, 1.8},
        {"accepted (2xx)", "#2ca02c", {}, false, 4},
    };
    for (std::size_t slot = 0; slot < slots.ranges.size(); ++slot) {
        const auto [first, last] = slots.ranges[slot];
        std::uint64_t offered = 0;
        std::uint64_t sent = 0;
        std::uint64_t accepted = 0;
        for (std::size_t index = first; index < last; ++index) {
            offered += run.intervals[index].offered;
            sent += run.intervals[index].sent;
            accepted += run.intervals[index].accepted;
        }
        const double width_s = slots.edges[slot + 1] - slots.edges[slot];
        series[0].values.emplace_back(static_cast<double>(offered) / width_s);
        series[1].values.emplace_back(static_cast<double>(sent) / width_s);
        series[2].values.emplace_back(static_cast<double>(accepted) / width_s);
    }
    detail::chart_spec spec;
    spec.title = "Offered and accepted rate";
    spec.y_title = "requests/s";
    return detail::render_chart(spec, slots.edges, series);
}

std::string status_chart(const run_result& run, const chart_slots& slots) {
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

    std::vector<detail::chart_series> series;
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
    detail::chart_spec spec;
    spec.title = "Status codes";
    spec.y_title = "answers/s";
    spec.stacked = true;
    return detail::render_chart(spec, slots.edges, series);
}

std::string latency_chart(const run_result& run, const chart_slots& slots) {
    std::vector<detail::chart_series> series{
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
    detail::chart_spec spec;
    spec.title = "Latency of all answers (from intended send time; log scale)";
    spec.y_title = "latency";
    spec.scale = detail::chart_scale::log10;
    spec.unit = detail::chart_value_unit::milliseconds;
    if (run.slo_p99_ms && *run.slo_p99_ms > 0) {
        spec.reference = *run.slo_p99_ms;
        spec.reference_label = "SLO p99 " + plain_number(*run.slo_p99_ms) + " ms";
    }
    return detail::render_chart(spec, slots.edges, series);
}

// A two-column table of names and values.
class html_rows {
public:
    void add(std::string_view name, std::string_view value, bool numeric = true) {
        rows_ += "<tr><th>" + detail::html_escape(name) + "</th><td" + (numeric ? " class=\"num\"" : "") + ">" +
                 detail::html_escape(value) + "</td></tr>\n";
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
        out += detail::html_escape(header[column]) + "</th>";
    }
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (std::size_t column = 0; column < row.size(); ++column) {
            out += column < text_columns ? "<td>" : "<td class=\"num\">";
            out += detail::html_escape(row[column]) + "</td>";
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

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string format_summary(const run_result& run, const std::optional<verdict>& checked) {
    std::string out = "sluice-loadtest report\n\nscenario\n";
    text_table scenario({false, false});
    scenario.add_row({"target", terminal_safe(run.target)});
    scenario.add_row({"schedule", terminal_safe(run.schedule_spec)});
    scenario.add_row({"mix", terminal_safe(run.behaviour_spec)});
    scenario.add_row({"practices", std::to_string(run.practices)});
    scenario.add_row({"connections", std::to_string(run.connections)});
    scenario.add_row({"threads", std::to_string(run.threads)});
    scenario.add_row({"started at", terminal_safe(run.started_at)});
    scenario.add_row({"elapsed", elapsed_text(run.elapsed)});
    scenario.render(out);

    out += "\ntotals\n";
    text_table totals({false, true, false});
    totals.add_row({"offered", std::to_string(run.offered), "first attempts"});
    totals.add_row({"sent", std::to_string(run.sent), "with retries and copies"});
    totals.add_row(
        {"answered", std::to_string(run.answered), rate_text(per_second(run.answered, run.elapsed)) + " req/s"});
    totals.add_row(
        {"accepted", std::to_string(run.accepted), rate_text(per_second(run.accepted, run.elapsed)) + " req/s (2xx)"});
    totals.add_row({"retries", std::to_string(run.retries), ""});
    totals.add_row({"max open connections", std::to_string(run.max_open_connections), ""});
    totals.render(out);

    out += "\nstatus codes\n";
    const std::uint64_t all_statuses = total_count(run.statuses);
    text_table statuses({false, true, true});
    statuses.add_row({"status", "count", "share"});
    for (const auto& [status, count] : run.statuses) {
        if (status != transport_error_status)
            statuses.add_row({status_text(status), std::to_string(count), share_text(count, all_statuses)});
    }
    if (const auto errors = run.statuses.find(transport_error_status); errors != run.statuses.end()) {
        statuses.add_row(
            {status_text(errors->first), std::to_string(errors->second), share_text(errors->second, all_statuses)});
    }
    if (run.statuses.empty()) statuses.add_row({"(none)", "0", "-"});
    statuses.render(out);

    out += "\nlatency (ms)\n";
    text_table latency({false, true, true, true, true, true, true, true});
    latency.add_row({"", "count", "p50", "p90", "p99", "p99.9", "p99.99", "max"});
    for (const named_histogram& named : histograms_of(run)) add_latency_row(latency, named.label, *named.histogram);
    latency.render(out);
    if (const std::uint64_t clamped = clamped_total(run); clamped > 0) {
        out += "  note: " + std::to_string(clamped) + " latencies were outside the histogram's range and clamped\n";
    }

    const submission_outcomes outcomes = count_outcomes(run.submissions);
    const auto records = static_cast<std::uint64_t>(run.submissions.size());
    out += "\nsubmissions\n";
    text_table submissions({false, true, true});
    submissions.add_row({"outcome", "count", "share"});
    submissions.add_row(
        {"accepted once", std::to_string(outcomes.accepted_once), share_text(outcomes.accepted_once, records)});
    submissions.add_row(
        {"duplicate ids", std::to_string(outcomes.duplicate_ids), share_text(outcomes.duplicate_ids, records)});
    submissions.add_row({"gave up", std::to_string(outcomes.gave_up), share_text(outcomes.gave_up, records)});
    submissions.add_row(
        {"never answered", std::to_string(outcomes.never_answered), share_text(outcomes.never_answered, records)});
    if (outcomes.unfinished > 0) {
        submissions.add_row({"no 2xx yet (retrying at the end)", std::to_string(outcomes.unfinished),
                             share_text(outcomes.unfinished, records)});
    }
    if (outcomes.accepted_without_id > 0) {
        submissions.add_row({"2xx without a submission_id", std::to_string(outcomes.accepted_without_id),
                             share_text(outcomes.accepted_without_id, records)});
    }
    submissions.add_row({"total", std::to_string(records), ""});
    submissions.render(out);

    if (!run.steps.empty()) {
        out += "\nsteps\n";
        text_table steps({true, true, true, true, true, true, false});
        steps.add_row({"rate/s", "offered", "answered", "accepted", "errors", "p99 accepted ms", "held"});
        for (const step_stats& step : run.steps) {
            steps.add_row({plain_number(step.rate), std::to_string(step.offered), std::to_string(step.answered),
                           std::to_string(step.accepted), std::to_string(step.errors),
                           step.accepted_latency.count() > 0 ? ms_text(step.accepted_latency.percentile(99)) : "-",
                           run.slo_p99_ms ? yes_no(step.held) : "-"});
        }
        steps.render(out);
    }
    if (const auto capacity = capacity_text(run)) out += "\n" + *capacity + "\n";

    if (checked) out += "\n" + format_verdict(*checked);
    return out;
}

std::string format_json(const run_result& run, const std::optional<verdict>& checked) {
    json::object document;

    json::object scenario;
    scenario["target"] = run.target;
    scenario["schedule"] = run.schedule_spec;
    scenario["mix"] = run.behaviour_spec;
    scenario["practices"] = run.practices;
    scenario["connections"] = run.connections;
    scenario["threads"] = run.threads;
    scenario["started_at"] = run.started_at;
    scenario["elapsed_ns"] = run.elapsed.count();
    scenario["elapsed_s"] = number(seconds(run.elapsed));
    scenario["interval_ns"] = run.interval_length.count();
    document["scenario"] = std::move(scenario);

    json::object totals;
    totals["offered"] = run.offered;
    totals["sent"] = run.sent;
    totals["answered"] = run.answered;
    totals["accepted"] = run.accepted;
    totals["retries"] = run.retries;
    totals["max_open_connections"] = run.max_open_connections;
    totals["answered_per_s"] = number(per_second(run.answered, run.elapsed));
    totals["accepted_per_s"] = number(per_second(run.accepted, run.elapsed));
    document["totals"] = std::move(totals);

    document["statuses"] = statuses_json(run.statuses);
    for (const named_histogram& named : histograms_of(run)) {
        document[named.key] = histogram_with_buckets_json(*named.histogram);
    }

    json::array intervals;
    intervals.reserve(run.intervals.size());
    const double length_s = seconds(run.interval_length);
    for (std::size_t index = 0; index < run.intervals.size(); ++index) {
        intervals.push_back(interval_json(run.intervals[index], static_cast<double>(index) * length_s));
    }
    document["intervals"] = std::move(intervals);

    json::array steps;
    for (const step_stats& step : run.steps) steps.push_back(step_json(step));
    document["steps"] = std::move(steps);
    document["capacity_rate"] = optional_number(run.capacity_rate);
    document["slo_p99_ms"] = optional_number(run.slo_p99_ms);

    const submission_outcomes outcomes = count_outcomes(run.submissions);
    json::object submissions;
    submissions["total"] = static_cast<std::uint64_t>(run.submissions.size());
    submissions["accepted_once"] = outcomes.accepted_once;
    submissions["duplicate_ids"] = outcomes.duplicate_ids;
    submissions["gave_up"] = outcomes.gave_up;
    submissions["never_answered"] = outcomes.never_answered;
    submissions["unfinished"] = outcomes.unfinished;
    submissions["accepted_without_id"] = outcomes.accepted_without_id;
    document["submissions"] = std::move(submissions);

    document["verdict"] = checked ? json::value(verdict_json(*checked)) : json::value(nullptr);
    return json::serialize(document);
}

std::string format_html(const run_result& run, const std::optional<verdict>& checked) {
    using detail::html_escape;
    std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    page += "<title>sluice-loadtest: " + html_escape(run.target) + "</title>\n<style>\n";
    page += page_css;
    page += detail::chart_css();
    page += "</style>\n</head>\n<body>\n<main>\n";

    page += "<h1>sluice-loadtest report</h1>\n<p class=\"sub\">" + html_escape(run.target) + " &middot; " +
            html_escape(run.schedule_spec) + " &middot; started " + html_escape(run.started_at) + " &middot; " +
            html_escape(elapsed_text(run.elapsed)) + "</p>\n";
    if (checked) {
        page += std::string("<div class=\"banner ") + (checked->ok() ? "ok" : "failed") + "\">" +
                html_escape(verdict_headline(*checked)) + "</div>\n";
    }

    // Scenario and totals side by side.
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
    page += "<div class=\"columns\">\n<section><h2>Scenario</h2>\n" + scenario.table() + "</section>\n";
    page += "<section><h2>Totals</h2>\n" + totals.table() + "</section>\n</div>\n";

    // Charts over time.
    const chart_slots slots = slots_of(run);
    page += "<h2>Over time</h2>\n";
    if (!slots.ranges.empty() && slots.ranges.front().second - slots.ranges.front().first > 1) {
        page += "<p class=\"note\">" + std::to_string(slots.ranges.front().second - slots.ranges.front().first) +
                " intervals per point (" + std::to_string(run.intervals.size()) + " intervals in all).</p>\n";
    }
    page += rate_chart(run, slots);
    page += status_chart(run, slots);
    page += latency_chart(run, slots);

    // Status codes and submissions side by side.
    const std::uint64_t all_statuses = total_count(run.statuses);
    std::vector<std::vector<std::string>> status_rows;
    for (const auto& [status, count] : run.statuses) {
        if (status != transport_error_status)
            status_rows.push_back({status_text(status), std::to_string(count), share_text(count, all_statuses)});
    }
    if (const auto errors = run.statuses.find(transport_error_status); errors != run.statuses.end()) {
        status_rows.push_back(
            {status_text(errors->first), std::to_string(errors->second), share_text(errors->second, all_statuses)});
    }
    if (status_rows.empty()) status_rows.push_back({"(none)", "0", "-"});
    const submission_outcomes outcomes = count_outcomes(run.submissions);
    const auto records = static_cast<std::uint64_t>(run.submissions.size());
    std::vector<std::vector<std::string>> outcome_rows{
        {"accepted once", std::to_string(outcomes.accepted_once), share_text(outcomes.accepted_once, records)},
        {"duplicate ids", std::to_string(outcomes.duplicate_ids), share_text(outcomes.duplicate_ids, records)},
        {"gave up", std::to_string(outcomes.gave_up), share_text(outcomes.gave_up, records)},
        {"never answered", std::to_string(outcomes.never_answered), share_text(outcomes.never_answered, records)},
    };
    if (outcomes.unfinished > 0) {
        outcome_rows.push_back({"no 2xx yet (retrying at the end)", std::to_string(outcomes.unfinished),
                                share_text(outcomes.unfinished, records)});
    }
    if (outcomes.accepted_without_id > 0) {
        outcome_rows.push_back({"2xx without a submission_id", std::to_string(outcomes.accepted_without_id),
                                share_text(outcomes.accepted_without_id, records)});
    }
    outcome_rows.push_back({"total", std::to_string(records), ""});
    page += "<div class=\"columns\">\n<section><h2>Status codes</h2>\n" +
            html_table({"status", "count", "share"}, status_rows) + "</section>\n";
    page += "<section><h2>Submissions</h2>\n" + html_table({"outcome", "count", "share"}, outcome_rows) +
            "</section>\n</div>\n";

    // Latency percentiles.
    std::vector<std::vector<std::string>> latency_rows;
    for (const named_histogram& named : histograms_of(run)) {
        const latency_histogram& histogram = *named.histogram;
        if (histogram.count() == 0) {
            latency_rows.push_back({named.label, "0", "-", "-", "-", "-", "-", "-", "-"});
            continue;
        }
        const latency_summary summary = histogram.summary();
        latency_rows.push_back({named.label, std::to_string(summary.count), ms_text(summary.mean), ms_text(summary.p50),
                                ms_text(summary.p90), ms_text(summary.p99), ms_text(summary.p999),
                                ms_text(summary.p9999), ms_text(summary.max)});
    }
    page += "<h2>Latency (ms)</h2>\n" +
            html_table({"", "count", "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"}, latency_rows);
    if (const std::uint64_t clamped = clamped_total(run); clamped > 0) {
        page += "<p class=\"note\">" + std::to_string(clamped) +
                " latencies were outside the histogram's range and clamped.</p>\n";
    }

    // Steps and capacity.
    if (!run.steps.empty()) {
        std::vector<std::vector<std::string>> step_rows;
        for (const step_stats& step : run.steps) {
            step_rows.push_back(
                {plain_number(step.rate), std::to_string(step.offered), std::to_string(step.answered),
                 std::to_string(step.accepted), std::to_string(step.errors),
                 step.accepted_latency.count() > 0 ? ms_text(step.accepted_latency.percentile(99)) : "-",
                 run.slo_p99_ms ? yes_no(step.held) : "-"});
        }
        page +=
            "<h2>Steps</h2>\n" +
            html_table({"rate/s", "offered", "answered", "accepted", "errors", "p99 accepted (ms)", "held"}, step_rows);
    }
    if (const auto capacity = capacity_text(run)) page += "<p class=\"capacity\">" + html_escape(*capacity) + "</p>\n";

    // The verdict.
    if (checked) {
        const verdict& result = *checked;
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
        page += "<h2>Verification</h2>\n<div class=\"columns\">\n<section>" + counts.table() +
                "</section>\n<section><h3>states of those accepted once</h3>\n" + states.table() +
                "</section>\n</div>\n";
        if (!result.violations.empty()) {
            constexpr std::size_t max_listed = 200;
            std::vector<std::vector<std::string>> rows;
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
    }
    page += "</main>\n</body>\n</html>\n";
    return page;
}

}  // namespace sluice::loadtest
