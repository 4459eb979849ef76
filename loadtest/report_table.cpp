// The terminal form of the report (report.hpp: format_summary): sections of aligned columns,
// every string from the run with its control characters replaced.
#include "loadtest/report.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadtest/detail/report_figures.hpp"

namespace sluice::loadtest {

namespace {

using namespace detail;

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

// A section: its heading, then its table.
void add_section(std::string& out, std::string_view heading, text_table& table) {
    out += '\n';
    out += heading;
    out += '\n';
    table.render(out);
}

void add_scenario(std::string& out, const run_result& run) {
    text_table scenario({false, false});
    scenario.add_row({"target", terminal_safe(run.target)});
    scenario.add_row({"schedule", terminal_safe(run.schedule_spec)});
    scenario.add_row({"mix", terminal_safe(run.behaviour_spec)});
    scenario.add_row({"practices", std::to_string(run.practices)});
    scenario.add_row({"connections", std::to_string(run.connections)});
    scenario.add_row({"threads", std::to_string(run.threads)});
    scenario.add_row({"started at", terminal_safe(run.started_at)});
    scenario.add_row({"elapsed", elapsed_text(run.elapsed)});
    add_section(out, "scenario", scenario);
}

void add_totals(std::string& out, const run_result& run) {
    text_table totals({false, true, false});
    totals.add_row({"offered", std::to_string(run.offered), "first attempts"});
    totals.add_row({"sent", std::to_string(run.sent), "with retries and copies"});
    totals.add_row(
        {"answered", std::to_string(run.answered), rate_text(per_second(run.answered, run.elapsed)) + " req/s"});
    totals.add_row(
        {"accepted", std::to_string(run.accepted), rate_text(per_second(run.accepted, run.elapsed)) + " req/s (2xx)"});
    totals.add_row({"retries", std::to_string(run.retries), ""});
    totals.add_row({"max open connections", std::to_string(run.max_open_connections), ""});
    add_section(out, "totals", totals);
}

// "at 85 s": where an interval starts.
std::string at_text(std::size_t interval, std::chrono::nanoseconds length) {
    return "at " + plain_number(static_cast<double>(interval) * seconds(length)) + " s";
}

void add_goodput(std::string& out, const run_result& run) {
    const surge_figures surge = surge_figures_of(run);
    text_table table({false, true, false});
    std::string goodput =
        rate_text(surge.goodput_per_s) + "/s overall, peak " + rate_text(surge.peak_goodput_per_s) + "/s";
    if (surge.peak_goodput_per_s > 0) goodput += " " + at_text(surge.peak_goodput_interval, run.interval_length);
    std::string shed = rate_text(surge.mean_shed_per_s) + "/s mean, peak " + rate_text(surge.peak_shed_per_s) + "/s";
    if (surge.peak_shed_per_s > 0) shed += " " + at_text(surge.peak_shed_interval, run.interval_length);
    table.add_row({"goodput: submissions accepted", std::to_string(surge.accepted_submissions), goodput});
    table.add_row({"shedding: 503 answers", std::to_string(surge.shed), shed});
    add_section(out, "goodput and shedding", table);
}

// Offered, goodput and 503s per second over the run, in at most max_over_time_rows rows.
constexpr std::size_t max_over_time_rows = 12;

void add_over_time(std::string& out, const run_result& run) {
    const time_slots slots = slots_of(run, max_over_time_rows);
    if (slots.ranges.empty()) return;
    text_table table({true, true, true, true, true});
    table.add_row({"from s", "to s", "offered/s", "goodput/s", "503/s"});
    for (std::size_t slot = 0; slot < slots.ranges.size(); ++slot) {
        table.add_row(
            {plain_number(slots.edges[slot]), plain_number(slots.edges[slot + 1]),
             rate_text(slot_rate(run, slots, slot, [](const interval_stats& i) { return i.offered; })),
             rate_text(slot_rate(run, slots, slot, [](const interval_stats& i) { return i.newly_accepted; })),
             rate_text(slot_rate(run, slots, slot, [](const interval_stats& i) { return shed_count(i.statuses); }))});
    }
    add_section(out, "over time (per second)", table);
}

// A table with a header row and `rows`; the first column text, the others numbers, unless
// `right_aligned` says otherwise.
void add_grid(std::string& out, std::string_view heading, std::vector<std::string> header, const table_rows& rows,
              std::vector<bool> right_aligned = {}) {
    if (right_aligned.empty()) {
        right_aligned.assign(header.size(), true);
        right_aligned[0] = false;
    }
    text_table table(std::move(right_aligned));
    table.add_row(std::move(header));
    for (const auto& row : rows) table.add_row(row);
    add_section(out, heading, table);
}

}  // namespace

std::string format_summary(const run_result& run, const std::optional<verdict>& checked) {
    std::string out = "sluice-loadtest report\n";
    add_scenario(out, run);
    add_totals(out, run);
    add_goodput(out, run);
    add_over_time(out, run);
    add_grid(out, "status codes", {"status", "count", "share"}, status_rows(run));
    add_grid(out, "latency (ms)", {"", "count", "p50", "p90", "p99", "p99.9", "p99.99", "max"},
             latency_rows(run, false));
    if (const std::uint64_t clamped = clamped_total(run); clamped > 0) {
        out += "  note: " + std::to_string(clamped) + " latencies were outside the histogram's range and clamped\n";
    }
    add_grid(out, "submissions", {"outcome", "count", "share"}, outcome_rows(run));
    if (!run.steps.empty()) {
        add_grid(out, "steps", {"rate/s", "offered", "answered", "accepted", "errors", "p99 accepted ms", "held"},
                 step_rows(run), {true, true, true, true, true, true, false});
    }
    if (const auto capacity = capacity_text(run)) out += "\n" + *capacity + "\n";
    if (checked) out += "\n" + format_verdict(*checked);
    return out;
}

}  // namespace sluice::loadtest
