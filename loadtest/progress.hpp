// Live progress of a sluice-loadtest run. On a terminal, one line rewritten in place ('\r') about
// every 250 ms; otherwise (a pipe, a CI log) a plain line every --progress-interval (default 5 s).
// Each line: elapsed time, requests sent and the send rate over the last interval, answers by
// status code (0: transport error) and the p99 latency of every answer so far (measured from the
// intended send times, like the report).
//
// The engine (client.hpp) hands over a merged snapshot from its coordinating thread; the printer
// keeps no reference to the engine. format_progress_line is pure and unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <string>

#include "loadtest/histogram.hpp"

namespace sluice::loadtest {

// The run so far, summed over the engine's threads.
struct progress_snapshot {
    std::chrono::nanoseconds elapsed{0};    // since the schedule's start
    std::uint64_t offered = 0;              // first attempts taken from the schedule
    std::uint64_t sent = 0;                 // requests written, retries included
    std::uint64_t answered = 0;             // HTTP answers
    std::uint64_t accepted = 0;             // 2xx
    std::map<int, std::uint64_t> statuses;  // 0: transport error
    latency_histogram latency;              // every answer so far
};

// "  12.3s  sent 12345 (1002/s)  202:12000 503:300 0:2  p99 12.4ms". `rate` is requests sent per
// second over the last interval. At most `max_statuses` status codes are shown (the most frequent,
// in code order), the rest summed as "other:N".
std::string format_progress_line(const progress_snapshot& snapshot, double rate, std::size_t max_statuses = 6);

enum class progress_mode {
    off,    // --quiet
    live,   // a terminal: one line, rewritten
    plain,  // not a terminal: a line per interval
};

// live when `out` is a terminal, plain otherwise, off when quiet.
progress_mode choose_progress_mode(std::FILE* out, bool quiet);

class progress_printer {
public:
    // `interval`: how often a plain line is printed (live lines come every live_interval).
    progress_printer(std::FILE* out, progress_mode mode, std::chrono::nanoseconds interval);

    static constexpr std::chrono::milliseconds live_interval{250};

    // How often the engine should call update().
    std::chrono::nanoseconds update_period() const noexcept;

    // Prints when a line is due. The rate is taken over the last second (live) or the last
    // interval (plain).
    void update(const progress_snapshot& snapshot);
    // Ends the live line (so what follows starts on a fresh line); prints nothing otherwise.
    void finish();

private:
    struct sample {
        std::chrono::nanoseconds elapsed;
        std::uint64_t sent;
    };

    std::FILE* out_;
    progress_mode mode_;
    std::chrono::nanoseconds interval_;
    std::deque<sample> history_;  // recent (elapsed, sent), for the rate
    std::chrono::nanoseconds last_printed_{-1};
    std::size_t last_width_ = 0;  // of the live line, to blank what a shorter line leaves
};

}  // namespace sluice::loadtest
