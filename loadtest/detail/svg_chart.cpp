// See svg_chart.hpp. Geometry: a fixed 960 x 300 viewBox (the page scales it to its width),
// plot area inset by the margins below; coordinates are written with one decimal, and a step
// that repeats the previous one's height extends it instead of adding points.
#include "loadtest/detail/svg_chart.hpp"

#include "loadtest/detail/report_figures.hpp"  // print()

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <utility>

namespace sluice::loadtest::detail {

namespace {

constexpr double view_width = 960;
constexpr double view_height = 300;
constexpr double margin_left = 70;
constexpr double margin_right = 36;  // room for the last time label
constexpr double margin_top = 14;
constexpr double margin_bottom = 42;
constexpr double plot_left = margin_left;
constexpr double plot_right = view_width - margin_right;
constexpr double plot_top = margin_top;
constexpr double plot_bottom = view_height - margin_bottom;

// A coordinate, rounded to 0.1 px.
double snap(double coordinate) { return std::round(coordinate * 10) / 10; }
std::string coord(double coordinate) { return print("%.1f", snap(coordinate)); }

// A round step (1, 2 or 5 times a power of ten) of at least `raw`.
double nice_step(double raw) {
    if (!(raw > 0) || !std::isfinite(raw)) return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double factor : {1.0, 2.0, 5.0, 10.0}) {
        if (factor * magnitude >= raw * (1 - 1e-9)) return factor * magnitude;
    }
    return 10 * magnitude;
}

// "%g" with up to `digits` significant digits, without "-0".
std::string short_number(double value, int digits = 3) {
    if (std::abs(value) < 1e-12) return "0";
    return print("%.*g", digits, value);
}

std::string count_tick(double value) {
    if (value >= 1e6) return short_number(value / 1e6) + "M";
    if (value >= 1e4) return short_number(value / 1e3) + "k";
    return short_number(value, 4);
}

std::string milliseconds_tick(double value) {
    if (value <= 0) return "0";
    if (value < 1) return short_number(value * 1000) + " \xC2\xB5s";  // µs
    if (value < 1000) return short_number(value) + " ms";
    return short_number(value / 1000) + " s";
}

std::string y_tick(chart_value_unit unit, double value) {
    return unit == chart_value_unit::milliseconds ? milliseconds_tick(value) : count_tick(value);
}

// Time ticks: steps that read as time (15 s, 5 min, 1 h), labelled "h:mm:ss" or "m:ss" for
// runs of two minutes or more, plain seconds below.
struct time_axis {
    double step = 1;
    bool clock = false;  // labels as m:ss / h:mm:ss
    bool hours = false;
};

time_axis choose_time_axis(double span) {
    static constexpr std::array<double, 26> steps{0.001, 0.002, 0.005, 0.01, 0.02, 0.05,  0.1,   0.2,  0.5,
                                                  1,     2,     5,     10,   15,   30,    60,    120,  300,
                                                  600,   900,   1800,  3600, 7200, 10800, 21600, 43200};
    time_axis axis;
    axis.step = steps.back();
    for (const double step : steps) {
        if (span / step <= 10) {
            axis.step = step;
            break;
        }
    }
    if (span / axis.step > 10) axis.step = nice_step(span / 10);
    axis.clock = span >= 120;
    axis.hours = span >= 3600;
    return axis;
}

std::string time_tick(const time_axis& axis, double seconds) {
    if (!axis.clock) return short_number(seconds, 6);
    const auto whole = static_cast<long long>(std::llround(seconds));
    if (axis.hours) return print("%lld:%02lld:%02lld", whole / 3600, whole / 60 % 60, whole % 60);
    return print("%lld:%02lld", whole / 60, whole % 60);
}

// Maps a value to a y coordinate.
struct y_axis {
    chart_scale scale = chart_scale::linear;
    double low = 0;  // linear: 0; log10: a power of ten
    double high = 1;
    std::vector<double> ticks;

    double to_y(double value) const {
        double fraction = 0;
        if (scale == chart_scale::linear) {
            fraction = value / high;
        } else if (value > 0) {
            fraction = (std::log10(value) - std::log10(low)) / (std::log10(high) - std::log10(low));
        }
        fraction = std::clamp(fraction, 0.0, 1.0);
        return plot_bottom - fraction * (plot_bottom - plot_top);
    }
};

y_axis linear_axis(double largest) {
    y_axis axis;
    if (!(largest > 0) || !std::isfinite(largest)) largest = 1;
    const double step = nice_step(largest / 5);
    const double steps = std::ceil(largest / step - 1e-9);
    axis.high = step * std::max(1.0, steps);
    for (double tick = 0; tick <= axis.high * (1 + 1e-9); tick += step) axis.ticks.push_back(tick);
    return axis;
}

y_axis log_axis(double smallest, double largest) {
    y_axis axis;
    axis.scale = chart_scale::log10;
    if (!(smallest > 0) || !std::isfinite(smallest)) smallest = 1;
    if (!(largest >= smallest) || !std::isfinite(largest)) largest = smallest;
    const double low_exponent = std::floor(std::log10(smallest));
    double high_exponent = std::ceil(std::log10(largest));
    if (high_exponent <= low_exponent) high_exponent = low_exponent + 1;
    axis.low = std::pow(10.0, low_exponent);
    axis.high = std::pow(10.0, high_exponent);
    const bool few_decades = high_exponent - low_exponent <= 2;
    for (double exponent = low_exponent; exponent <= high_exponent; ++exponent) {
        const double decade = std::pow(10.0, exponent);
        axis.ticks.push_back(decade);
        if (few_decades && exponent < high_exponent) {
            axis.ticks.push_back(2 * decade);
            axis.ticks.push_back(5 * decade);
        }
    }
    return axis;
}

using point = std::pair<double, double>;

// Appends a horizontal step from x0 to x1 at height y, extending the last one when it is at the
// same height and ends where this one starts.
void add_step(std::vector<point>& points, double x0, double x1, double y) {
    y = snap(y);
    if (!points.empty() && points.back().second == y && points.back().first == x0) {
        points.back().first = x1;
        return;
    }
    points.emplace_back(x0, y);
    points.emplace_back(x1, y);
}

std::string points_attribute(const std::vector<point>& points) {
    std::string out;
    out.reserve(points.size() * 12);
    for (const auto& [x, y] : points) {
        if (!out.empty()) out += ' ';
        out += coord(x);
        out += ',';
        out += coord(y);
    }
    return out;
}

void draw_lines(std::string& svg, const std::vector<double>& xs, const y_axis& axis, const chart_series& series) {
    std::vector<point> points;
    const auto flush = [&] {
        if (points.empty()) return;
        svg += "<polyline class=\"series\" fill=\"none\" stroke=\"" + series.colour + '"';
        if (series.dashed) svg += " stroke-dasharray=\"6 4\"";
        svg += " stroke-width=\"" + print("%.1f", series.width) + '"';
        svg += " points=\"" + points_attribute(points) + "\"/>\n";
        // A lone short step (one interval with answers among empty ones) would be a speck.
        if (points.size() == 2 && points[1].first - points[0].first < 4) {
            svg += "<circle class=\"dot\" fill=\"" + series.colour + "\" r=\"2\" cx=\"" +
                   coord((points[0].first + points[1].first) / 2) + "\" cy=\"" + coord(points[0].second) + "\"/>\n";
        }
        points.clear();
    };
    const std::size_t slots = std::min(series.values.size(), xs.size() - 1);
    for (std::size_t slot = 0; slot < slots; ++slot) {
        const std::optional<double>& value = series.values[slot];
        if (!value || !std::isfinite(*value)) {
            flush();
            continue;
        }
        add_step(points, snap(xs[slot]), snap(xs[slot + 1]), axis.to_y(*value));
    }
    flush();
}

void draw_stacked(std::string& svg, const std::vector<double>& xs, const y_axis& axis,
                  const std::vector<chart_series>& series) {
    const std::size_t slots = xs.size() - 1;
    std::vector<double> base(slots, 0.0);
    for (const chart_series& one : series) {
        std::vector<double> top = base;
        bool any = false;
        for (std::size_t slot = 0; slot < slots && slot < one.values.size(); ++slot) {
            const std::optional<double>& value = one.values[slot];
            if (value && std::isfinite(*value) && *value > 0) {
                top[slot] += *value;
                any = true;
            }
        }
        if (any) {
            std::vector<point> upper;
            std::vector<point> lower;
            for (std::size_t slot = 0; slot < slots; ++slot) {
                add_step(upper, snap(xs[slot]), snap(xs[slot + 1]), axis.to_y(top[slot]));
            }
            for (std::size_t slot = slots; slot-- > 0;) {
                add_step(lower, snap(xs[slot + 1]), snap(xs[slot]), axis.to_y(base[slot]));
            }
            upper.insert(upper.end(), lower.begin(), lower.end());
            svg += "<polygon class=\"area\" fill=\"" + one.colour + "\" points=\"" + points_attribute(upper) + "\"/>\n";
        }
        base = std::move(top);
    }
}

std::string legend(const chart_spec& spec, const std::vector<chart_series>& series) {
    std::string out = "<div class=\"legend\">";
    for (const chart_series& one : series) {
        const char* shape = spec.stacked ? "area" : (one.dashed ? "line dashed" : "line");
        out += "<span class=\"key\"><i class=\"";
        out += shape;
        out += "\" style=\"border-color:" + one.colour + (spec.stacked ? ";background:" + one.colour : "") + "\"></i>";
        out += html_escape(one.name) + "</span>";
    }
    if (spec.reference && *spec.reference > 0) {
        out += "<span class=\"key\"><i class=\"line dashed reference\"></i>" + html_escape(spec.reference_label) +
               "</span>";
    }
    out += "</div>\n";
    return out;
}

}  // namespace

std::string_view chart_css() noexcept {
    return R"(figure.chart{margin:18px 0 26px}
figure.chart figcaption{font-weight:600;font-size:15px;margin-bottom:2px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:#333;margin:2px 0 4px 70px}
.legend .key{display:inline-flex;align-items:center;gap:6px}
.legend i{display:inline-block;width:22px;height:0;border-top:3px solid #888}
.legend i.dashed{border-top-style:dashed}
.legend i.area{height:11px;border:0}
.legend i.reference{border-top:2px dashed #333}
figure.chart svg{display:block;width:100%;height:auto;background:#fff}
figure.chart svg text{font-size:12px;fill:#444}
figure.chart svg text.title{font-size:12.5px;fill:#222}
figure.chart svg text.empty{font-size:16px;fill:#999}
figure.chart svg text.reference{fill:#333}
figure.chart .grid{stroke:#e6e6e6;stroke-width:1}
figure.chart .axis{stroke:#777;stroke-width:1}
figure.chart polyline.series{stroke-linejoin:round}
figure.chart line.reference{stroke:#333;stroke-width:1.3;stroke-dasharray:10 3 2 3}
figure.chart .area{stroke:none;fill-opacity:.9}
)";
}

std::string render_chart(const chart_spec& spec, const std::vector<double>& slot_edges,
                         const std::vector<chart_series>& series) {
    const std::size_t slots = slot_edges.size() < 2 ? 0 : slot_edges.size() - 1;

    // The range of the values (sums of them when stacked).
    double smallest_positive = 0;
    double largest = 0;
    bool any_value = false;
    std::vector<double> sums(slots, 0.0);
    for (const chart_series& one : series) {
        for (std::size_t slot = 0; slot < slots && slot < one.values.size(); ++slot) {
            const std::optional<double>& value = one.values[slot];
            if (!value || !std::isfinite(*value)) continue;
            any_value = true;
            sums[slot] += std::max(0.0, *value);
            largest = std::max(largest, *value);
            if (*value > 0 && (smallest_positive == 0 || *value < smallest_positive)) smallest_positive = *value;
        }
    }
    if (spec.stacked) {
        for (const double sum : sums) largest = std::max(largest, sum);
    }
    const bool has_reference = spec.reference && std::isfinite(*spec.reference) && *spec.reference > 0;
    if (has_reference) {
        largest = std::max(largest, *spec.reference);
        if (smallest_positive == 0 || *spec.reference < smallest_positive) smallest_positive = *spec.reference;
    }
    const y_axis axis = spec.scale == chart_scale::log10 ? log_axis(smallest_positive, largest) : linear_axis(largest);

    const double t0 = slots > 0 ? slot_edges.front() : 0;
    double t1 = slots > 0 ? slot_edges.back() : 1;
    if (!(t1 > t0)) t1 = t0 + 1;
    const auto to_x = [&](double t) { return plot_left + (t - t0) / (t1 - t0) * (plot_right - plot_left); };
    const time_axis time = choose_time_axis(t1 - t0);

    std::string svg = "<figure class=\"chart\">\n<figcaption>" + html_escape(spec.title) + "</figcaption>\n";
    svg += legend(spec, series);
    svg += "<svg viewBox=\"0 0 " + coord(view_width) + ' ' + coord(view_height) + "\" role=\"img\" aria-label=\"" +
           html_escape(spec.title) + "\">\n";

    const bool empty = slots == 0 || !any_value;
    // Horizontal grid and y labels (none on an empty chart: there is no scale to read).
    for (const double tick : empty ? std::vector<double>{} : axis.ticks) {
        const std::string y = coord(axis.to_y(tick));
        svg += "<line class=\"grid\" x1=\"" + coord(plot_left) + "\" x2=\"" + coord(plot_right) + "\" y1=\"" + y +
               "\" y2=\"" + y + "\"/>";
        svg += "<text class=\"tick\" text-anchor=\"end\" x=\"" + coord(plot_left - 6) + "\" y=\"" + y +
               "\" dy=\"0.32em\">" + html_escape(y_tick(spec.unit, tick)) + "</text>\n";
    }
    // x ticks and labels.
    const double first_tick = std::ceil(t0 / time.step - 1e-9) * time.step;
    for (double tick = first_tick; !empty && tick <= t1 + time.step * 1e-9; tick += time.step) {
        const std::string x = coord(to_x(tick));
        svg += "<line class=\"axis\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + coord(plot_bottom) + "\" y2=\"" +
               coord(plot_bottom + 5) + "\"/>";
        svg += "<text class=\"tick\" text-anchor=\"middle\" x=\"" + x + "\" y=\"" + coord(plot_bottom + 18) + "\">" +
               time_tick(time, tick) + "</text>\n";
    }
    svg += "<line class=\"axis\" x1=\"" + coord(plot_left) + "\" x2=\"" + coord(plot_right) + "\" y1=\"" +
           coord(plot_bottom) + "\" y2=\"" + coord(plot_bottom) + "\"/>\n";
    svg += "<text class=\"title\" text-anchor=\"middle\" x=\"" + coord((plot_left + plot_right) / 2) + "\" y=\"" +
           coord(view_height - 6) + "\">" +
           (time.hours   ? "time since start (h:mm:ss)"
            : time.clock ? "time since start (m:ss)"
                         : "time since start (s)") +
           "</text>\n";
    const std::string y_title_y = coord((plot_top + plot_bottom) / 2);
    svg += "<text class=\"title\" text-anchor=\"middle\" transform=\"translate(14," + y_title_y + ") rotate(-90)\">" +
           html_escape(spec.y_title) + "</text>\n";

    if (empty) {
        svg += "<text class=\"empty\" text-anchor=\"middle\" x=\"" + coord((plot_left + plot_right) / 2) + "\" y=\"" +
               coord((plot_top + plot_bottom) / 2) + "\">no data</text>\n";
    } else {
        std::vector<double> xs(slot_edges.size());
        std::transform(slot_edges.begin(), slot_edges.end(), xs.begin(), to_x);
        if (spec.stacked) {
            draw_stacked(svg, xs, axis, series);
        } else {
            // The first series listed is drawn last, on top of the others.
            for (auto one = series.rbegin(); one != series.rend(); ++one) draw_lines(svg, xs, axis, *one);
        }
    }
    if (has_reference && !empty) {
        const std::string y = coord(axis.to_y(*spec.reference));
        svg += "<line class=\"reference\" x1=\"" + coord(plot_left) + "\" x2=\"" + coord(plot_right) + "\" y1=\"" + y +
               "\" y2=\"" + y + "\"/>";
        svg += "<text class=\"reference\" text-anchor=\"end\" x=\"" + coord(plot_right - 4) + "\" y=\"" + y +
               "\" dy=\"-0.4em\">" + html_escape(spec.reference_label) + "</text>\n";
    }
    svg += "</svg>\n</figure>\n";
    return svg;
}

}  // namespace sluice::loadtest::detail
