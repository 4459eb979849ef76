// Outcome recording of one engine thread (client.hpp, "Counting"): what each request and each
// submission saw, as figures (totals, per-interval and per-step counts, latency histograms) and as
// submission records, and the merge of every thread's figures into the run_result at the end.
// Pure: times are given, nothing here touches a socket.
//
// A thread keeps its submissions by local index (submission i / threads, since it owns the i with
// i % threads == its index and they begin in order), each with its record (what the report and
// --verify read) and its state: the request bytes every copy and retry sends, until its last copy
// ended; how many copies are still going; whether a 2xx came yet. Both live in deques: they never
// move as more submissions begin, so the bytes being written stay put.
//
// Counting rules (run_result.hpp's invariants): an interval counts a first attempt at its intended
// time and everything else at the time it happened (a request when written, an answer when
// received); a transport error counts under status 0 with no latency; a submission's FIRST 2xx
// (whichever copy or retry brought it) counts once, as newly accepted, in the interval it came in.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadtest/behaviour.hpp"
#include "loadtest/detail/dispatch.hpp"
#include "loadtest/detail/request_bytes.hpp"
#include "loadtest/histogram.hpp"
#include "loadtest/progress.hpp"
#include "loadtest/run_result.hpp"
#include "loadtest/schedule.hpp"

namespace sluice::loadtest::detail {

// Everything one thread observed, merged into the run_result when the run ends.
struct thread_figures {
    std::uint64_t offered = 0, sent = 0, answered = 0, accepted = 0, newly_accepted = 0, retries = 0;
    std::array<std::uint64_t, 1000> statuses{};  // by code, 0 a transport error
    latency_histogram latency, accepted_latency, time_to_receipt;
    std::vector<interval_stats> intervals;
    std::vector<std::unique_ptr<step_stats>> steps;  // by step index; null where none of ours fell
    std::deque<submission_record> records;           // by local index
    steady_time last_answer{};
};

// A submission's state while its copies go on.
struct submission_state {
    request_bytes request;  // what every copy and retry sends; freed when the last copy ended
    steady_time first_intended{};
    std::uint8_t copies_left = 0;
    bool accepted = false;  // a 2xx came (to any copy)
};

class outcome_recorder {
public:
    // With `keep_steps` (a steps schedule) figures are also kept per step: the submission's
    // plan.step_index(), or the phase's step with `per_phase_steps` (find_capacity runs one step a
    // phase).
    outcome_recorder(const schedule& plan, std::uint64_t threads, std::chrono::nanoseconds interval_length,
                     bool keep_steps, bool per_phase_steps) noexcept
        : plan_(plan),
          threads_(threads),
          interval_length_(interval_length),
          keep_steps_(keep_steps),
          per_phase_steps_(per_phase_steps) {}

    // Intervals count from `run_start`; with per_phase_steps, answers count for `step`.
    void begin_phase(steady_time run_start, std::size_t step) noexcept {
        run_start_ = run_start;
        phase_step_ = step;
    }

    // Arrival i becomes submission i (arrivals begin in order): its record and state, with
    // `copies` copies going, offered at `intended`.
    submission_state& begin_submission(std::uint64_t i, std::string_view practice, std::string idempotency_key,
                                       client_behaviour behaviour, int copies, steady_time intended);
    submission_record& record(std::uint64_t submission) { return figures_.records[submission / threads_]; }
    submission_state& state(std::uint64_t submission) { return states_[submission / threads_]; }

    // A request starts (a retry or not), is written, or is sent once more on a fresh connection.
    void count_start(const pending& request);
    void count_written(steady_time now);
    void count_resend(const pending& request);

    // What came back for `request` at `now`: an HTTP status, or none for a transport error; for a
    // 2xx, the receipt's submission_id (empty if none was found).
    void record_answer(const pending& request, std::optional<int> status, std::string_view submission_id,
                       steady_time now);

    // A copy ends without a retry (its last decision `step`), or is dropped unsent (stop). When
    // it was the submission's last copy, the record says whether it gave up and the bytes go.
    void end_copy(std::uint64_t submission, next_step step);

    // The step's figures so far (find_capacity judges a finished phase's), if any.
    const step_stats* step(std::size_t index) const;

    // Totals so far, for the progress line.
    void fill(progress_snapshot& snapshot) const;

    thread_figures& figures() noexcept { return figures_; }

private:
    interval_stats& interval_at(steady_time when);
    step_stats* step_of(std::uint64_t submission);

    const schedule& plan_;
    const std::uint64_t threads_;
    const std::chrono::nanoseconds interval_length_;
    const bool keep_steps_;
    const bool per_phase_steps_;
    steady_time run_start_{};
    std::size_t phase_step_ = 0;

    thread_figures figures_;
    std::deque<submission_state> states_;  // by local index, as figures_.records
};

void merge_interval(interval_stats& into, const interval_stats& from);
void merge_step(step_stats& into, const step_stats& from);

// Adds every thread's totals, statuses, histograms and intervals into `result`, and moves their
// records into result.submissions in submission order (i is thread i % T's local i / T). Returns
// the last answer's time (steady_time{} when none came). Steps are the caller's (they depend on
// find_capacity's judgement).
steady_time merge_threads(run_result& result, const std::vector<thread_figures*>& threads);

}  // namespace sluice::loadtest::detail
