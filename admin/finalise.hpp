// sluice-admin finalise --period P: the year-end, two-pass calculation of a period (issue 16
// item 1; qof-reference.md §1.3 "APDF — current definition"; calculation.hpp R6, decisions 15-18).
//
//   pass 1  national prevalence per prevalence-adjusted group = Σ registers / Σ list sizes over the
//           current calculated QOF submissions that carry the group's register (one aggregate in
//           PostgreSQL over submission_registers, which the worker writes with each result);
//           recorded exactly (the sums) in national_prevalence with the period in period_finals
//   pass 2  every current calculated submission of the period (any scheme) recalculated by
//           worker::calculate with a copy of the period's catalogue carrying those fractions, from
//           its own stored body; the result written to final_results (never to submissions)
//
// Properties, each with a test (tests/integration/admin/finalise_test.cpp):
// - Idempotent. A run that finds the sums already recorded keeps the generation and writes only
//   what is missing: a second run writes nothing and changes no figure.
// - Resumable. period_finals.state is 'finalising' from the moment a new national prevalence is
//   recorded until every submission has its final result ('final'); recalculated counts the rows
//   written so far. Each batch of final results commits with that count, so a run killed at any
//   point leaves complete batches, and the next run (same sums, same generation) does the rest.
// - Streaming. Pass 2 pages through the submissions in (practice, scheme) order, keyset
//   pagination, `batch` rows a page, the next page fetched while this one is calculated and the
//   last one written (pipelined on one connection): memory is about three pages of bodies and
//   results, whatever the size of the period.
// - A submission that arrives later (decision 18) is provisional on its statement until finalise
//   runs again; that run recomputes pass 1 and, if the sums changed, starts a new generation
//   (state 'finalising', everything recalculated).
// - One run at a time per period (a session advisory lock); another is refused, not queued.
//
// The pure halves (prevalence from totals, one submission's recalculation) are here for unit
// tests; finalise() is the I/O.
#pragma once

#include "catalogue/catalogue.hpp"
#include "worker/calculation.hpp"
#include "ledger/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::admin {

// Pass 1's sums for one group, as PostgreSQL adds them (numeric text: they may be large).
struct group_totals {
    std::string group;
    std::string register_total;   // Σ register sizes
    std::string list_size_total;  // Σ list sizes of the same submissions
    std::int64_t practices = 0;   // submissions summed
};

// One group's final national prevalence.
struct national_figure {
    std::string group;
    catalogue::prevalence_fraction fraction;
    std::int64_t practices = 0;
    bool operator==(const national_figure&) const = default;
};

// The final national prevalence of every group of `period` marked prevalence_adjusted, from pass
// 1's totals (a group without totals: 0 / 0, decision 16; totals of groups not adjusted are
// ignored). Sorted by group. Throws std::runtime_error naming the group when a total is not a
// whole number below 2^63.
std::vector<national_figure> national_prevalences(const catalogue::period_catalogue& period,
                                                  const std::vector<group_totals>& totals);

// registers / list_sizes as a decimal with `places` decimals, rounded half up, for people:
// prevalence_text({220, 10000}, 6) == "0.022000". "0" when list_sizes is 0.
std::string prevalence_text(const catalogue::prevalence_fraction& f, int places);

// One current submission as pass 2 reads it.
struct stored_submission {
    std::string submission_id, practice, scheme;
    std::string content_sha256;  // the receipt's
    std::string body;            // submission_inputs.body
};

// Its final calculation: the result JSON and its totals as exact decimals, or why there is none.
struct final_result {
    std::string result_json, points, payment_gbp;
    std::string failure;  // non-empty: not calculated (the body does not match or parse)
};

// THE recalculation of one submission (calculation.hpp decision 17): the stored body checked
// against its content_sha256, parsed as the worker parses it, calculated with `final_period` (the
// period's catalogue with_final_prevalence) and `inputs`: for a QOF submission of a period with
// income protection, the practice's record of the protection period (R7), read as the worker
// reads it (ledger::protection_lookup, worker::protection_inputs), so the final result keeps the
// protected points the provisional one had.
final_result recalculate(const stored_submission& s, const catalogue::catalogue& catalogue,
                         const catalogue::period_catalogue& final_period,
                         const worker::calculation_inputs& inputs = {});

// A PostgreSQL text[] literal of arbitrary strings (each element quoted, '"' and '\' escaped).
std::string quoted_text_array(const std::vector<std::string>& values);

struct finalise_options {
    std::string period;
    std::size_t batch = 500;  // submissions per page and per committed batch
};

struct finalise_report {
    int generation = 0;
    bool new_generation = false;  // the sums differed from those recorded (or none were)
    std::vector<national_figure> prevalences;
    std::int64_t submissions = 0;     // current calculated submissions of the period
    std::int64_t recalculated = 0;    // final results written by this run
    std::int64_t unchanged = 0;       // already final for this generation: left alone
    std::vector<std::string> failed;  // "submission: why" for those that could not be recalculated
};

// Why finalise did not finish (the period stays as the last committed batch left it).
struct finalise_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// PostgreSQL failed or refused a call (sluice-admin exits 4 rather than 1).
struct finalise_ledger_error : finalise_error {
    using finalise_error::finalise_error;
};

// Runs the whole finalisation on `ledger` (started, connected; its timeout bounds each page).
// `progress` is told each committed batch's running count. Throws finalise_error (refused: inputs
// missing, another run holds the period, a total out of range) or ledger failures as
// finalise_error with PostgreSQL's message.
boost::asio::awaitable<finalise_report> finalise(ledger::client& ledger, const catalogue::catalogue& catalogue,
                                                 finalise_options options,
                                                 std::function<void(std::int64_t done)> progress = {});

// What sluice-admin prints at the end.
std::string report_text(const std::string& period, const finalise_report& r);

}  // namespace sluice::admin
