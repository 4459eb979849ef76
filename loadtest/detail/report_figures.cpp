// See report_figures.hpp.
#include "loadtest/detail/report_figures.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace sluice::loadtest::detail {

using std::chrono::nanoseconds;

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

double finite_or_zero(double value) { return std::isfinite(value) ? value : 0.0; }

std::string plain_number(double value) {
    value = finite_or_zero(value);
    std::string text = print("%.3f", value);
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text == "-0" ? "0" : text;
}

std::string rate_text(double per_s) { return print("%.1f", finite_or_zero(per_s)); }

std::string ms_text(nanoseconds duration) {
    const double ms = milliseconds(duration);
    const int decimals = ms < 10 ? 3 : ms < 100 ? 2 : ms < 1000 ? 1 : 0;
    return print("%.*f", decimals, ms);
}

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

std::optional<std::string> capacity_text(const run_result& run) {
    std::string condition;
    if (run.slo_p99_ms) condition = " p99 <= " + plain_number(*run.slo_p99_ms) + " ms";
    condition += " with no errors";
    if (run.capacity_rate) return "capacity: " + plain_number(*run.capacity_rate) + " req/s held" + condition;
    if (run.slo_p99_ms) return "capacity: no step held" + condition;
    return std::nullopt;
}

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

std::uint64_t shed_count(const std::map<int, std::uint64_t>& statuses) {
    const auto found = statuses.find(shed_status);
    return found == statuses.end() ? 0 : found->second;
}

double goodput_per_s(const interval_stats& interval, nanoseconds length) {
    return per_second(interval.newly_accepted, length);
}

double shed_per_s(const interval_stats& interval, nanoseconds length) {
    return per_second(shed_count(interval.statuses), length);
}

surge_figures surge_figures_of(const run_result& run) {
    surge_figures figures;
    figures.accepted_submissions = run.newly_accepted;
    figures.goodput_per_s = per_second(run.newly_accepted, run.elapsed);
    figures.shed = shed_count(run.statuses);
    figures.mean_shed_per_s = per_second(figures.shed, run.elapsed);
    for (std::size_t index = 0; index < run.intervals.size(); ++index) {
        const interval_stats& interval = run.intervals[index];
        if (const double goodput = goodput_per_s(interval, run.interval_length); goodput > figures.peak_goodput_per_s) {
            figures.peak_goodput_per_s = goodput;
            figures.peak_goodput_interval = index;
        }
        if (const double shed = shed_per_s(interval, run.interval_length); shed > figures.peak_shed_per_s) {
            figures.peak_shed_per_s = shed;
            figures.peak_shed_interval = index;
        }
    }
    return figures;
}

time_slots slots_of(const run_result& run, std::size_t max_slots) {
    time_slots slots;
    const std::size_t intervals = run.intervals.size();
    if (intervals == 0 || max_slots == 0) return slots;
    const double length_s = run.interval_length.count() > 0 ? seconds(run.interval_length) : 1.0;
    const std::size_t per_slot = (intervals + max_slots - 1) / max_slots;
    for (std::size_t first = 0; first < intervals; first += per_slot) {
        slots.edges.push_back(static_cast<double>(first) * length_s);
        slots.ranges.emplace_back(first, std::min(intervals, first + per_slot));
    }
    slots.edges.push_back(static_cast<double>(intervals) * length_s);
    return slots;
}

table_rows status_rows(const run_result& run) {
    const std::uint64_t all_statuses = total_count(run.statuses);
    table_rows rows;
    for (const auto& [status, count] : run.statuses) {
        if (status != transport_error_status)
            rows.push_back({status_text(status), std::to_string(count), share_text(count, all_statuses)});
    }
    if (const auto errors = run.statuses.find(transport_error_status); errors != run.statuses.end()) {
        rows.push_back(
            {status_text(errors->first), std::to_string(errors->second), share_text(errors->second, all_statuses)});
    }
    if (rows.empty()) rows.push_back({"(none)", "0", "-"});
    return rows;
}

table_rows outcome_rows(const run_result& run) {
    const submission_outcomes outcomes = count_outcomes(run.submissions);
    const auto records = static_cast<std::uint64_t>(run.submissions.size());
    const auto row = [&](const char* outcome, std::uint64_t count) {
        return std::vector<std::string>{outcome, std::to_string(count), share_text(count, records)};
    };
    table_rows rows{row("accepted once", outcomes.accepted_once), row("duplicate ids", outcomes.duplicate_ids),
                    row("gave up", outcomes.gave_up), row("never answered", outcomes.never_answered)};
    if (outcomes.unfinished > 0) rows.push_back(row("no 2xx yet (retrying at the end)", outcomes.unfinished));
    if (outcomes.accepted_without_id > 0)
        rows.push_back(row("2xx without a submission_id", outcomes.accepted_without_id));
    rows.push_back({"total", std::to_string(records), ""});
    return rows;
}

table_rows step_rows(const run_result& run) {
    table_rows rows;
    for (const step_stats& step : run.steps) {
        rows.push_back({plain_number(step.rate), std::to_string(step.offered), std::to_string(step.answered),
                        std::to_string(step.accepted), std::to_string(step.errors),
                        step.accepted_latency.count() > 0 ? ms_text(step.accepted_latency.percentile(99)) : "-",
                        run.slo_p99_ms ? yes_no(step.held) : "-"});
    }
    return rows;
}

table_rows latency_rows(const run_result& run, bool with_mean) {
    table_rows rows;
    for (const named_histogram& named : histograms_of(run)) {
        const latency_histogram& histogram = *named.histogram;
        std::vector<std::string> row{named.label};
        if (histogram.count() == 0) {
            row.resize(with_mean ? 9 : 8, "-");
            row[1] = "0";
        } else {
            const latency_summary summary = histogram.summary();
            row.push_back(std::to_string(summary.count));
            if (with_mean) row.push_back(ms_text(summary.mean));
            for (const auto value : {summary.p50, summary.p90, summary.p99, summary.p999, summary.p9999, summary.max})
                row.push_back(ms_text(value));
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace sluice::loadtest::detail
