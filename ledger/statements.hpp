// Reading the system of record for the gateway (API.md "v1 additions"): submissions (one, a
// practice's list, by Idempotency-Key), the statement of a practice for a period, and the
// operators' outstanding list. Pure: statements for ledger::client, and typed rows from results.
//
// `current` (API.md) is computed, never stored: a submission is current when no other submission
// of its practice, period and scheme was received later (ties broken by id, as the view
// current_submissions does), so a later submission supersedes an earlier one without rewriting it.
#pragma once

#include "ledger/client.hpp"
#include "ledger/declarations.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ledger {

struct submission_row {
    std::string submission_id, practice, period, scheme;
    std::optional<std::string> idempotency_key;
    std::string received_at;   // RFC 3339 UTC, milliseconds: the receipt's
    std::string received_key;  // to the microsecond: the list's sort key (cursors)
    std::string content_sha256;
    std::string status;  // calculated | failed
    std::string attempts;
    std::optional<std::string> result;  // the result JSON, byte for byte as served
    std::optional<std::string> points, payment_gbp, error;
    bool current = false;
};

// One submission by id (any practice: the caller checks whose it is).
statement find_submission(std::string_view submission_id);
// The latest submission of `practice` admitted with this Idempotency-Key.
statement find_submission_by_key(std::string_view practice, std::string_view idempotency_key);
std::vector<submission_row> submission_rows(const result& r);

// GET /v1/submissions: a practice's, newest first (received_at, then id, descending), at most
// limit + 1 rows.
struct submission_filter {
    std::string practice, period;
    std::optional<std::string> scheme;
    std::uint32_t limit = 20;
    std::optional<std::pair<std::string, std::string>> after;  // (received_key, submission_id)
};
statement list_submissions(const submission_filter& f);

// A current submission's final calculation (migration 0002, admin/finalise.hpp): present only
// when its period is final (period_finals.state 'final') and the final result is of this
// submission and of the period's generation of national prevalence.
struct final_figures {
    std::string result;  // the final result JSON
    std::string points, payment_gbp;
};

// A practice's statement for a period: per scheme it has submitted, its current submission, its
// final calculation if the period is final, and the latest declaration of that scheme (none: the
// declaration fields are empty).
struct statement_row {
    submission_row submission;
    std::optional<final_figures> final_result;
    std::optional<declaration_row> declaration;
};
statement practice_statement(std::string_view practice, std::string_view period);
std::vector<statement_row> statement_rows(const result& r);

// The status page's figure: declarations made since 00:00 UTC, over every practice (one row, one
// column "n"; the index on declared_at answers it).
statement declarations_today();
std::optional<std::int64_t> declarations_today_count(const result& r);

// GET /v1/admin/outstanding: per practice of `practices` and scheme, the current submission's
// status and the latest declaration's status (if any) for the period.
struct outstanding_row {
    std::string practice, scheme, submission_status;
    std::optional<std::string> declaration_status;
};
statement outstanding(std::string_view period, const std::vector<std::string>& practices);
std::vector<outstanding_row> outstanding_rows(const result& r);

}  // namespace sluice::ledger
