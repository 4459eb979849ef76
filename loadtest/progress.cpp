// Live progress lines (progress.hpp).
#include "loadtest/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <utility>
#include <vector>

namespace sluice::loadtest {
namespace {

std::string printf_string(const char* format, auto... values) {
    char text[64];
    const int length = std::snprintf(text, sizeof text, format, values...);
    return std::string(text, static_cast<std::size_t>(std::clamp(length, 0, static_cast<int>(sizeof text) - 1)));
}

std::string latency_text(std::chrono::nanoseconds latency) {
    const double ms = static_cast<double>(latency.count()) / 1e6;
    if (ms < 10) return printf_string("%.2fms", ms);
    if (ms < 1000) return printf_string("%.1fms", ms);
    return printf_string("%.2fs", ms / 1000);
}

}  // namespace

std::string format_progress_line(const progress_snapshot& snapshot, double rate, std::size_t max_statuses) {
    const double seconds = static_cast<double>(snapshot.elapsed.count()) / 1e9;
    std::string line = printf_string("%7.1fs  sent %" PRIu64 " (%.0f/s)", seconds, snapshot.sent, std::max(rate, 0.0));

    // The most frequent codes, shown in code order; the rest summed.
    std::vector<std::pair<int, std::uint64_t>> codes(snapshot.statuses.begin(), snapshot.statuses.end());
    std::erase_if(codes, [](const auto& entry) { return entry.second == 0; });
    std::uint64_t other = 0;
    if (codes.size() > max_statuses) {
        std::stable_sort(codes.begin(), codes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        for (std::size_t i = max_statuses; i < codes.size(); ++i) other += codes[i].second;
        codes.resize(max_statuses);
        std::sort(codes.begin(), codes.end());
    }
    line += " ";
    for (const auto& [code, count] : codes) line += printf_string(" %d:%" PRIu64, code, count);
    if (other > 0) line += printf_string(" other:%" PRIu64, other);
    if (codes.empty() && other == 0) line += " no answers yet";
    if (snapshot.latency.count() > 0) line += "  p99 " + latency_text(snapshot.latency.percentile(99));
    return line;
}

progress_mode choose_progress_mode(std::FILE* out, bool quiet) {
    if (quiet) return progress_mode::off;
    return ::isatty(::fileno(out)) ? progress_mode::live : progress_mode::plain;
}

progress_printer::progress_printer(std::FILE* out, progress_mode mode, std::chrono::nanoseconds interval)
    : out_(out), mode_(mode), interval_(std::max<std::chrono::nanoseconds>(interval, std::chrono::milliseconds{100})) {}

std::chrono::nanoseconds progress_printer::update_period() const noexcept {
    return mode_ == progress_mode::live ? std::chrono::nanoseconds{live_interval}
                                        : std::min<std::chrono::nanoseconds>(interval_, live_interval);
}

void progress_printer::update(const progress_snapshot& snapshot) {
    if (mode_ == progress_mode::off) return;
    const auto every = mode_ == progress_mode::live ? std::chrono::nanoseconds{live_interval} : interval_;
    if (last_printed_.count() >= 0 && snapshot.elapsed - last_printed_ < every) return;

    // The rate over the last second (live) or interval (plain): from the oldest sample in it.
    const auto window = mode_ == progress_mode::live ? std::chrono::nanoseconds{std::chrono::seconds{1}} : interval_;
    history_.push_back({snapshot.elapsed, snapshot.sent});
    while (history_.size() > 2 && snapshot.elapsed - history_[1].elapsed >= window) history_.pop_front();
    double rate = 0;
    if (history_.size() >= 2) {
        const auto& oldest = history_.front();
        const double seconds = static_cast<double>((snapshot.elapsed - oldest.elapsed).count()) / 1e9;
        if (seconds > 0) rate = static_cast<double>(snapshot.sent - oldest.sent) / seconds;
    } else if (snapshot.elapsed.count() > 0) {
        rate = static_cast<double>(snapshot.sent) / (static_cast<double>(snapshot.elapsed.count()) / 1e9);
    }
    last_printed_ = snapshot.elapsed;

    const auto line = format_progress_line(snapshot, rate);
    if (mode_ == progress_mode::live) {
        // Pad with spaces over what a longer previous line left on the terminal.
        const auto pad = last_width_ > line.size() ? last_width_ - line.size() : 0;
        std::fprintf(out_, "\r%s%*s", line.c_str(), static_cast<int>(pad), "");
        last_width_ = line.size();
    } else {
        std::fprintf(out_, "%s\n", line.c_str());
    }
    std::fflush(out_);
}

void progress_printer::finish() {
    if (mode_ == progress_mode::live && last_width_ > 0) {
        std::fputc('\n', out_);
        std::fflush(out_);
        last_width_ = 0;
    }
}

}  // namespace sluice::loadtest
