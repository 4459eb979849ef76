// The Prometheus text writer (see prometheus.hpp).
#include "metrics/prometheus.hpp"

#include <charconv>

namespace sluice::metrics {

namespace {

std::string_view type_name(metric_type type) noexcept {
    switch (type) {
        case metric_type::counter: return "counter";
        case metric_type::gauge: return "gauge";
        case metric_type::histogram: return "histogram";
    }
    return "untyped";
}

}  // namespace

template <typename T>
void prometheus_writer::number(T value) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec;  // 32 characters hold any integer or shortest double
    out_.append(buf, end);
}

void prometheus_writer::series(std::string_view name, std::string_view suffix, std::string_view labels) {
    out_.append(name).append(suffix);
    if (!labels.empty()) out_.append("{").append(labels).append("}");
    out_.push_back(' ');
}

void prometheus_writer::family(std::string_view name, metric_type type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type_name(type)).append("\n");
}

void prometheus_writer::sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    series(name, "", labels);
    number(value);
    out_.push_back('\n');
}

void prometheus_writer::sample(std::string_view name, std::string_view labels, std::int64_t value) {
    series(name, "", labels);
    number(value);
    out_.push_back('\n');
}

void prometheus_writer::sample(std::string_view name, std::string_view labels, double value) {
    series(name, "", labels);
    number(value);
    out_.push_back('\n');
}

void prometheus_writer::histogram(std::string_view name, std::string_view labels, const histogram_snapshot& h) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < h.buckets.size(); ++b) {
        cumulative += h.buckets[b];
        out_.append(name).append("_bucket{").append(labels);
        if (!labels.empty()) out_.push_back(',');
        out_.append("le=\"");
        if (b < h.bounds.size())
            number(h.bounds[b]);
        else
            out_.append("+Inf");
        out_.append("\"} ");
        number(cumulative);
        out_.push_back('\n');
    }
    series(name, "_sum", labels);
    number(h.sum_seconds());
    out_.push_back('\n');
    series(name, "_count", labels);
    number(h.count);
    out_.push_back('\n');
}

void prometheus_writer::counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, metric_type::counter, help);
    sample(name, "", value);
}

void prometheus_writer::gauge(std::string_view name, std::string_view help, std::int64_t value) {
    family(name, metric_type::gauge, help);
    sample(name, "", value);
}

}  // namespace sluice::metrics
