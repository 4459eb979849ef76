// HTML building blocks of the loadtest report (report_html.cpp): escaping, and charts over time drawn
// as inline SVG with an HTML caption and legend, so that the page needs no script, font or image.
//
// A chart's x axis is time in seconds, cut into slots (an interval of the run, or several merged
// when the run is long: report_html.cpp keeps at most max_chart_slots). Every series has one value per
// slot, or none (a gap); values are drawn as steps, flat across their slot, which is what a count
// per interval is, and which shows a run of one interval as well as one of thousands. The SVG
// grows with the number of slots and series, never with the number of requests.
#pragma once

#include "config/html.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::loadtest::detail {

using config::html_escape;  // config/html.hpp

// The style sheet of the charts' classes (figure.chart, .legend, .grid, .series, ...), for the
// page's <style>.
std::string_view chart_css() noexcept;

// A chart wider than this many slots draws more than one step per pixel.
inline constexpr std::size_t max_chart_slots = 1000;

struct chart_series {
    std::string name;                           // the legend's text (plain text: escaped here)
    std::string colour;                         // a CSS colour, from the report's own palette (not escaped)
    std::vector<std::optional<double>> values;  // one per slot; none: nothing to draw there
    bool dashed = false;
    double width = 1.8;  // the line's stroke width (lines only)
};

enum class chart_scale {
    linear,  // from 0 to a round number above the largest value
    log10,   // decades around the positive values; values <= 0 sit on the bottom edge
};

enum class chart_value_unit {
    count,         // ticks as plain numbers ("250", "1.5k")
    milliseconds,  // ticks as durations ("0.5 ms", "20 ms", "2 s")
};

struct chart_spec {
    std::string title;    // the caption (plain text)
    std::string y_title;  // along the y axis ("req/s")
    chart_scale scale = chart_scale::linear;
    chart_value_unit unit = chart_value_unit::count;
    bool stacked = false;  // stacked areas (series in order, bottom up) instead of lines
    // A horizontal dashed line (the SLO), drawn when set and positive.
    std::optional<double> reference;
    std::string reference_label;
};

// One <figure>: caption, HTML legend and exactly one <svg>. `slot_edges` are the slots' bounds in
// seconds since the start (slots + 1 of them, increasing); with no slots, or no value to draw, the
// chart is an empty frame that says "no data".
std::string render_chart(const chart_spec& spec, const std::vector<double>& slot_edges,
                         const std::vector<chart_series>& series);

}  // namespace sluice::loadtest::detail
