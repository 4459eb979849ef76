// The JSON form of the report (report.hpp: format_json), serialised by Boost.JSON: every figure
// of the run, histograms with their buckets, intervals with their rates and percentiles, and the
// verdict. Numbers that are whole stay integers; a figure that is absent is null.
#include "loadtest/report.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "loadtest/detail/report_figures.hpp"

namespace sluice::loadtest {

namespace {

using namespace detail;
namespace json = boost::json;

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

json::object interval_json(const interval_stats& interval, double start_s, std::chrono::nanoseconds length) {
    json::object object;
    object["start_s"] = number(start_s);
    object["offered"] = interval.offered;
    object["sent"] = interval.sent;
    object["answered"] = total_count(interval.statuses);
    object["accepted"] = interval.accepted;
    object["newly_accepted"] = interval.newly_accepted;
    object["goodput_per_s"] = number(goodput_per_s(interval, length));
    object["http_503_per_s"] = number(shed_per_s(interval, length));
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

json::object scenario_json(const run_result& run) {
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
    return scenario;
}

json::object totals_json(const run_result& run) {
    json::object totals;
    totals["offered"] = run.offered;
    totals["sent"] = run.sent;
    totals["answered"] = run.answered;
    totals["accepted"] = run.accepted;
    totals["retries"] = run.retries;
    totals["max_open_connections"] = run.max_open_connections;
    totals["answered_per_s"] = number(per_second(run.answered, run.elapsed));
    totals["accepted_per_s"] = number(per_second(run.accepted, run.elapsed));
    const surge_figures surge = surge_figures_of(run);
    totals["newly_accepted"] = surge.accepted_submissions;
    totals["goodput_per_s"] = number(surge.goodput_per_s);
    totals["peak_goodput_per_s"] = number(surge.peak_goodput_per_s);
    totals["http_503"] = surge.shed;
    totals["mean_http_503_per_s"] = number(surge.mean_shed_per_s);
    totals["peak_http_503_per_s"] = number(surge.peak_shed_per_s);
    return totals;
}

json::array intervals_json(const run_result& run) {
    json::array intervals;
    intervals.reserve(run.intervals.size());
    const double length_s = seconds(run.interval_length);
    for (std::size_t index = 0; index < run.intervals.size(); ++index) {
        intervals.push_back(
            interval_json(run.intervals[index], static_cast<double>(index) * length_s, run.interval_length));
    }
    return intervals;
}

// The per-submission records are counted by outcome, not listed.
json::object submissions_json(const run_result& run) {
    const submission_outcomes outcomes = count_outcomes(run.submissions);
    json::object submissions;
    submissions["total"] = static_cast<std::uint64_t>(run.submissions.size());
    submissions["accepted_once"] = outcomes.accepted_once;
    submissions["duplicate_ids"] = outcomes.duplicate_ids;
    submissions["gave_up"] = outcomes.gave_up;
    submissions["never_answered"] = outcomes.never_answered;
    submissions["unfinished"] = outcomes.unfinished;
    submissions["accepted_without_id"] = outcomes.accepted_without_id;
    return submissions;
}

}  // namespace

std::string format_json(const run_result& run, const std::optional<verdict>& checked) {
    json::object document;
    document["scenario"] = scenario_json(run);
    document["totals"] = totals_json(run);
    document["statuses"] = statuses_json(run.statuses);
    for (const named_histogram& named : histograms_of(run)) {
        document[named.key] = histogram_with_buckets_json(*named.histogram);
    }
    document["intervals"] = intervals_json(run);
    json::array steps;
    for (const step_stats& step : run.steps) steps.push_back(step_json(step));
    document["steps"] = std::move(steps);
    document["capacity_rate"] = optional_number(run.capacity_rate);
    document["slo_p99_ms"] = optional_number(run.slo_p99_ms);
    document["submissions"] = submissions_json(run);
    document["verdict"] = checked ? json::value(verdict_json(*checked)) : json::value(nullptr);
    return json::serialize(document);
}

}  // namespace sluice::loadtest
