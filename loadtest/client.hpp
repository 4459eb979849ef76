// The open-loop HTTP client of sluice-loadtest: sends POST /v1/submissions on a schedule
// (schedule.hpp) whatever the server does, and records what came back in a run_result.
//
// Open loop. Arrival i of the schedule is due at start + send_time(i). Per thread, one
// steady_timer wakes at the next due time and dispatches every due request onto an idle
// keep-alive connection; when none is idle, due requests wait, oldest intended time first, and
// their latency still counts from their intended time: a server that stalls shows up in the
// percentiles instead of slowing the generator down (no coordinated omission). Retries are
// requests too, due at decision time + the behaviour's delay (behaviour.hpp), measured from then.
// The timer wakes at most every 100 us (a wake-up costs tens of microseconds of system time), so
// requests due within 100 us go out together; the lateness counts in their latency.
//
// Submissions. Arrival i is submission i: practice tokens[i % P], its (i / P)-th submission
// (P practices, at most K = submissions_per_practice each), with Idempotency-Key
// "<run id>-<practice>-<n>" (the run id is random per run, so a re-run never replays) and a body
// from the body source, built once when it is first due and kept until its last copy finished:
// every retry and copy sends the same bytes. Its behaviour is assign_behaviours(mix, seed,
// count)[i]; a double-submit sends two copies at once on two connections, each copy then
// following next_action() on its own.
//
// Threads. --threads T io_contexts, each run by one thread and owning C/T connections and the
// submissions i with i % T == its index (shared-nothing: no lock on the request path); results
// are merged when the run ends. A coordinating thread (the caller's) starts the phases, collects
// progress snapshots the threads publish a few times a second, and merges.
//
// Connections. All C are opened before the schedule starts (at most connect_concurrency
// connects in flight per thread); a request takes the connection free the longest (round robin,
// so all of them carry traffic); a connection the server closes is reopened lazily, when a
// request needs it. A request that finds its reused connection (open before the request: kept
// alive, or opened before the run and idle since) closed before any byte of the answer came is
// sent once more on a fresh one (the race with a server's idle timeout; safe, since the
// Idempotency-Key makes POST retry-safe). A request without a complete answer within
// `timeout` (connect included) is a transport error (status 0), and its connection is closed;
// deadlines are swept every timeout / 10 (10 to 250 ms), so one fires up to that much late.
//
// Counting. answered and the latency histograms count HTTP answers only; a transport error is
// counted under status 0 in statuses (totals and intervals) and as a step's error, with no
// latency. sent counts every request written (copies, retries and the resend above included).
//
// Steps. For a `steps` schedule, each step's figures are kept apart (run_result.steps; an answer
// counts for the step of its submission). With find_capacity, each step runs alone: its arrivals
// on its own timeline, then every request of the step is waited for, then the step is judged
// (held: p99 of its 2xx latency <= slo_p99_ms and no error, 429s and transport errors included);
// the run stops at the first step that did not hold.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "loadtest/behaviour.hpp"
#include "loadtest/progress.hpp"
#include "loadtest/run_result.hpp"
#include "loadtest/schedule.hpp"
#include "loadtest/target.hpp"
#include "loadtest/tokens.hpp"

namespace sluice::loadtest {

// Which practice arrival i belongs to, and which of its submissions it is.
struct arrival_slot {
    std::size_t practice = 0;  // index into the tokens
    std::uint64_t n = 0;       // the practice's n-th submission, from 0
};
constexpr arrival_slot arrival_of(std::uint64_t i, std::size_t practices) noexcept {
    return {static_cast<std::size_t>(i % practices), i / practices};
}

// "<run id>-<practice>-<n>".
std::string idempotency_key(std::string_view run_id, std::string_view practice, std::uint64_t n);

// 16 random hex digits.
std::string new_run_id();

// Throws std::invalid_argument when the schedule sends more submissions than practices *
// submissions_per_practice (saying how many it sends and what to pass instead), or when a
// surge's practices= is above the number of practices.
void check_submissions_fit(const schedule& plan, std::size_t practices, std::uint64_t submissions_per_practice);

// Raises the soft RLIMIT_NOFILE to the hard limit and returns the descriptors needed for
// `connections` over `threads` threads. Throws std::invalid_argument ("--connections 30000 needs
// 30070 file descriptors; the hard limit is 20000 ...") when they cannot fit.
std::uint64_t ensure_descriptors(std::uint32_t connections, std::uint32_t threads);

// Appends the body of practice's n-th submission to `out`; called from the engine's threads at
// once, so it must be thread-safe (body_generator::append_body is).
using body_source = std::function<void(std::string& out, std::string_view practice, std::uint64_t n)>;

struct run_options {
    http_target target;
    schedule plan{constant_schedule{1, std::chrono::seconds{1}}};
    behaviour_mix mix;
    retry_limits limits;
    std::vector<practice_token> practices;
    std::uint64_t submissions_per_practice = 1;
    std::uint32_t connections = 1000;
    std::uint32_t threads = 1;
    std::uint64_t seed = 1;
    std::chrono::nanoseconds timeout = std::chrono::seconds{10};
    body_source body;
    std::string run_id;  // empty: new_run_id()

    bool find_capacity = false;  // requires a steps schedule
    double slo_p99_ms = 0;

    std::chrono::nanoseconds interval_length = std::chrono::seconds{1};
    std::uint32_t connect_concurrency = 256;  // per thread, while opening the connections

    // Called on the caller's thread about every progress_period while the run goes on.
    std::function<void(const progress_snapshot&)> on_progress;
    std::chrono::nanoseconds progress_period = std::chrono::milliseconds{250};
    // Set (from a signal handler, say) to stop early: nothing new is sent, pending retries are
    // dropped, requests in flight are waited for (up to the timeout), then the run ends.
    const std::atomic<bool>* stop = nullptr;
    // Start-up notes ("opened 9,990 of 10,000 connections: ..."), on the caller's thread.
    std::function<void(const std::string&)> on_note;
};

// Not a single connection to the target could be opened.
class connect_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Runs the scenario and returns what it observed. Throws std::invalid_argument for options that
// cannot run (as the checks above, a find_capacity without a steps schedule, no practices, no
// body source, zero connections or threads, more threads than connections) and connect_error.
run_result run(const run_options& options);

}  // namespace sluice::loadtest
