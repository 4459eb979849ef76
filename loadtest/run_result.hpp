// What one run of sluice-loadtest observed: the figures the client (client.hpp) records and the
// report (report.hpp) and the verification (verify.hpp) read. Plain values, no I/O.
//
// Invariants the client keeps:
//   - every latency is measured from the request's INTENDED send time (schedule.hpp for a first
//     attempt, decision time + retry delay for a retry), never from when it was written, so a
//     stalled server shows up in the percentiles (no coordinated omission);
//   - totals equal the sums over intervals (statuses, sent, offered, accepted, newly_accepted) and
//     the histograms' counts equal the number of answered requests they cover;
//   - a submission is newly accepted once, at its FIRST 2xx (whichever copy or retry brought it):
//     newly_accepted is the number of submission records with a time to receipt, and the count of
//     the time_to_receipt histogram. Its rate is the goodput: submissions that got through, per
//     second, where accepted counts every 2xx (replays and second copies too);
//   - transport errors (refused, reset, timed out, unparseable answer) are counted under status 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loadtest/behaviour.hpp"
#include "loadtest/histogram.hpp"

namespace sluice::loadtest {

// Status 0 in a status map: no HTTP answer (transport error or per-request timeout).
inline constexpr int transport_error_status = 0;

// One slice of the run (interval_length long, the i-th starting at i * interval_length).
struct interval_stats {
    std::uint64_t offered = 0;              // first attempts whose intended send time falls in the interval
    std::uint64_t sent = 0;                 // requests written in it, retries and second copies included
    std::uint64_t accepted = 0;             // 2xx answers received in it (new or replayed)
    std::uint64_t newly_accepted = 0;       // submissions whose first 2xx was received in it
    std::map<int, std::uint64_t> statuses;  // answers received in it, by status (0: transport error)
    latency_histogram latency;              // every answer received in it (by receive time)
};

// One step of a `steps` schedule or of --find-capacity.
struct step_stats {
    double rate = 0;  // intended requests/s
    std::chrono::nanoseconds duration{0};
    std::uint64_t offered = 0;
    std::uint64_t answered = 0;
    std::uint64_t accepted = 0;  // 2xx
    std::uint64_t errors = 0;    // non-2xx answers and transport errors
    latency_histogram accepted_latency;
    // find-capacity: whether this step kept p99(accepted) <= the SLO with no errors.
    bool held = false;
};

// One practice's signed-off submission: what every request made for it saw. The verification
// needs these; the report counts them.
struct submission_record {
    std::string practice;         // "A81001"
    std::string idempotency_key;  // the same on every request for this submission
    client_behaviour behaviour = client_behaviour::polite;
    std::uint32_t requests = 0;  // requests sent for it, copies and retries included
    // Distinct submission_id values seen in 2xx answers (receipts and replays), in first-seen
    // order. Exactly one for a submission accepted once; two or more is a duplicate.
    std::vector<std::string> submission_ids;
    std::optional<int> last_status;  // the last answer (0: transport error), none if never answered
    bool gave_up = false;            // the behaviour stopped retrying without a 2xx
    // From the first intended send to the first 2xx: how long the practice waited for its receipt.
    std::optional<std::chrono::nanoseconds> time_to_receipt;
};

struct run_result {
    // The scenario, for the report's header.
    std::string target;          // "http://127.0.0.1:8080"
    std::string schedule_spec;   // schedule::spec()
    std::string behaviour_spec;  // format_behaviour_mix()
    std::uint64_t practices = 0;
    std::uint32_t connections = 0;
    std::uint32_t threads = 0;
    std::string started_at;  // RFC 3339 UTC, milliseconds

    std::chrono::nanoseconds elapsed{0};  // from the schedule's start to the last answer
    std::chrono::nanoseconds interval_length = std::chrono::seconds{1};

    // Totals.
    std::uint64_t offered = 0;               // the schedule's count (first attempts)
    std::uint64_t sent = 0;                  // every request written
    std::uint64_t answered = 0;              // HTTP answers received
    std::uint64_t accepted = 0;              // 2xx answers
    std::uint64_t newly_accepted = 0;        // submissions accepted (each one's first 2xx)
    std::uint64_t retries = 0;               // requests sent because a behaviour retried
    std::uint32_t max_open_connections = 0;  // the most connections open at once
    std::map<int, std::uint64_t> statuses;   // by status (0: transport error)

    latency_histogram latency;           // every answer
    latency_histogram accepted_latency;  // 2xx answers only
    latency_histogram time_to_receipt;   // per submission, first intended send to first 2xx

    std::vector<interval_stats> intervals;
    std::vector<step_stats> steps;  // steps schedules and --find-capacity; empty otherwise
    // --find-capacity: the highest step rate that held (none if the first step broke the SLO).
    std::optional<double> capacity_rate;
    std::optional<double> slo_p99_ms;

    std::vector<submission_record> submissions;
};

}  // namespace sluice::loadtest
