// --verify for the journey: what the practices were told against what the system of record
// (PostgreSQL's declarations table) holds.
//
//   told 201 for its declaration  exactly one row for the practice and period, the declaration id
//                                 it was told, of its submission, with the statement digest it
//                                 sent and the points and payment it read in the result (and the
//                                 201 repeated); awaiting approval unless a decision was sent
//   a decision told 200           the row's status is that decision
//   a decision told 4xx/5xx       the row is still awaiting approval
//   a decision with no answer     either is allowed (it may have landed): counted as unknown
//   a declaration with no answer  zero rows, or one row that is right as above: counted as unknown,
//                                 landed or not
//   told anything else, or never declared (not calculated in time, not accepted)
//                                 no row at all: a row here is a declaration the tool does not know
//
// judge_journey() is pure and unit-tested; fetch_declarations() is the libpq read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loadtest/journey.hpp"

namespace sluice::loadtest {

// One row of the declarations table, as read.
struct declaration_row {
    std::string declaration_id;
    std::string practice;
    std::string submission_id;
    std::string status;                         // awaiting-approval, approved, rejected
    std::optional<std::int64_t> points;         // hundredths; nullopt if the text did not read
    std::optional<std::int64_t> payment_pence;  // likewise
    std::string statement_sha256;
};

enum class journey_violation_kind : std::uint8_t {
    missing,                // told 201, no row
    extra,                  // rows the tool does not know (another id, or any row for a practice not told 201)
    wrong_figures,          // the row's points, payment, submission or digest differ from what was declared
    not_standing,           // told 201 and no decision sent for it, but the row is decided
    decision_not_recorded,  // a decision told 200 whose row has another status
    decided_anyway,         // a decision refused (4xx/5xx) whose row is decided
};
std::string_view journey_violation_name(journey_violation_kind kind) noexcept;

struct journey_violation {
    journey_violation_kind kind = journey_violation_kind::missing;
    std::string practice;
    std::string detail;
};

struct journey_verdict {
    std::uint64_t practices = 0;             // practices judged
    std::uint64_t declared_201 = 0;          // told 201
    std::uint64_t standing_verified = 0;     // told 201 and found exactly as declared
    std::uint64_t decisions_200 = 0;         // decisions told 200
    std::uint64_t decisions_recorded = 0;    // ... found recorded
    std::uint64_t unknown_declarations = 0;  // declarations with no answer
    std::uint64_t unknown_landed = 0;        // ... of which a row was found
    std::uint64_t unknown_decisions = 0;     // decisions with no answer
    std::uint64_t refused = 0;               // told anything else (or not declared) and no row: as it should be
    std::vector<journey_violation> violations;

    bool ok() const noexcept { return violations.empty(); }
};

// Pure: every practice of `practices` (the run's, whether or not it got as far as declaring) is
// judged against `rows` (the declarations table for the run's period and practices).
journey_verdict judge_journey(const std::vector<std::string>& practices, const std::vector<journey_record>& records,
                              const std::vector<declaration_row>& rows);

// "journey verify: OK: 50 declarations told 201 stand exactly as declared, 20 of 20 decisions
// recorded, 0 unknown" or "journey verify: FAILED: ...", then the first violations, one a line.
std::string format_journey_verdict(const journey_verdict& verdict, std::size_t max_listed = 20);

// The declarations of `practices` for `period`, read with libpq from the database at `url`
// (a libpq connection string or postgresql:// URL). Throws std::runtime_error naming the database
// error when it cannot connect or the query fails.
std::vector<declaration_row> fetch_declarations(const std::string& url, const std::string& period,
                                                const std::vector<std::string>& practices);

}  // namespace sluice::loadtest
