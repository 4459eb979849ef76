// The one Prometheus text writer (exposition format 0.0.4) of every sluice process: the gateway's
// /metrics and the worker's. A family is its "# HELP" and "# TYPE" lines followed by its samples;
// a sample is `name{labels} value` (no braces without labels); a histogram is its cumulative
// `_bucket{...,le="..."}` samples ending with +Inf, then `_sum` (seconds) and `_count`.
//
// Numbers are written with std::to_chars: integers exactly, doubles in the shortest form that
// reads back the same ("0.00025", "1", "1e-05"). Labels are given already formatted
// (`route="submit",status="202"`); their values are ours (never a client's bytes), so nothing is
// escaped. Writes into the caller's string: a scrape reserves once and appends.
#pragma once

#include "metrics/histogram.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::metrics {

enum class metric_type { counter, gauge, histogram };

class prometheus_writer {
public:
    explicit prometheus_writer(std::string& out) : out_(out) {}

    // "# HELP name help" and "# TYPE name type".
    void family(std::string_view name, metric_type type, std::string_view help);

    // `name{labels} value`, or `name value` when labels is empty.
    void sample(std::string_view name, std::string_view labels, std::uint64_t value);
    void sample(std::string_view name, std::string_view labels, std::int64_t value);
    void sample(std::string_view name, std::string_view labels, double value);

    // A histogram's series: name_bucket (cumulative, one per bound and +Inf), name_sum, name_count.
    void histogram(std::string_view name, std::string_view labels, const histogram_snapshot& h);

    // A family of one unlabelled sample.
    void counter(std::string_view name, std::string_view help, std::uint64_t value);
    void gauge(std::string_view name, std::string_view help, std::int64_t value);

private:
    template <typename T>
    void number(T value);
    void series(std::string_view name, std::string_view suffix, std::string_view labels);

    std::string& out_;
};

}  // namespace sluice::metrics
