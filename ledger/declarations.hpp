// The sign-off half of the system of record (API.md "v1 additions"): declarations, commissioners'
// decisions and the idempotency records of both, as statements for ledger::client and typed rows
// read back from its results. Pure: builds statements and reads results; the gateway makes the
// calls (one call is one transaction, see client.hpp).
//
// The invariants live in the database (migrations/0001_system_of_record.sql), not in a check
// before a write:
// - one standing declaration per practice, period and scheme: the partial unique index
//   declarations_one_standing. A second INSERT while one awaits approval or is approved fails
//   with 23505 naming it (write_conflict::already_declared), however many arrive at once.
// - an idempotency record exists exactly when its write does: declare() and decide() insert it
//   in the same statement as the declaration or the decision (INSERT ... SELECT FROM the CTE that
//   wrote), so a rolled-back write leaves no record and a committed one always has its record.
// - a decision is made once: decide()'s UPDATE only matches a declaration still
//   awaiting-approval; a concurrent second decision waits for the first's row lock, then matches
//   nothing (decided() is false).
// Expired idempotency records (idempotency.ttl_seconds) are deleted in the same transaction before
// the insert, so a key may be used again once its record expired, as for submissions.
#pragma once

#include "ledger/client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ledger {

// Operations of idempotency_records (its CHECK constraint).
inline constexpr std::string_view declare_operation = "declare";
inline constexpr std::string_view decide_operation = "decide";

struct idempotency_record {
    std::string request_sha256;
    int response_status = 0;
    std::string response_body;
};

// The unexpired record of (organisation, operation, key), if any.
statement find_idempotency_record(std::string_view organisation, std::string_view operation, std::string_view key);
std::optional<idempotency_record> idempotency_record_from(const result& r);

// What an idempotency record will hold once its write commits.
struct idempotency_write {
    std::string organisation;  // the practice that declares, the commissioner that decides
    std::string key;
    std::string request_sha256;
    int response_status = 0;
    std::string response_body;
    std::uint64_t ttl_seconds = 0;
};

struct declaration_row {
    std::string declaration_id, submission_id, practice, commissioner, period, scheme, declared_by;
    std::string declared_at;          // RFC 3339 UTC, milliseconds
    std::string declared_key;         // declared_at to the microsecond: the list's sort key (cursors)
    std::string points, payment_gbp;  // exact decimals with two places: "412.37"
    std::string statement_sha256;
    std::string status;  // awaiting-approval | approved | rejected
    std::optional<std::string> decided_by, decided_at, reason;
};

// The columns declaration_rows() reads, for SELECTs of other files (`d` is the table's alias),
// each named with `prefix` first; and the row of such columns (nullopt when its id is NULL, as
// from a LEFT JOIN that found none).
std::string declaration_columns(std::string_view prefix = "");
std::optional<declaration_row> declaration_at(const result& r, std::size_t row, std::string_view prefix);

// A timestamptz column as the API prints it (RFC 3339 UTC, milliseconds), and to the microsecond
// without the zone (a cursor's sort key; read back with `$n::timestamp AT TIME ZONE 'UTC'`).
std::string api_time(std::string_view column);
std::string key_time(std::string_view column);

statement find_declaration(std::string_view declaration_id);
std::vector<declaration_row> declaration_rows(const result& r);

struct new_declaration {
    std::string declaration_id, submission_id, practice, commissioner, period, scheme, declared_by;
    std::string declared_at;  // RFC 3339
    std::string statement_sha256, points, payment_gbp;
};

// The declaration and its idempotency record, as one call (one transaction).
std::vector<statement> declare(const new_declaration& d, const idempotency_write& record);

enum class write_conflict {
    none,
    already_declared,  // declarations_one_standing
    key_taken,         // idempotency_records' primary key: the key was used meanwhile
    other,             // another refusal (see the result's sqlstate and message)
};
// For a call that failed with error::server_error.
write_conflict conflict_of(const std::vector<result>& results);

struct decision {
    std::string declaration_id;
    std::string status;  // approved | rejected
    std::string decided_by;
    std::string decided_at;  // RFC 3339
    std::optional<std::string> reason;
};

// The decision and its idempotency record, as one call. decided(results): the declaration was
// awaiting approval and is now decided by this call (else nothing was written).
std::vector<statement> decide(const decision& d, const idempotency_write& record);
bool decided(const std::vector<result>& results) noexcept;

// GET /v1/declarations: newest first (declared_at, then id, descending), at most `limit` + 1 rows
// (one more than a page: whether there is a next page).
struct declaration_filter {
    std::vector<std::string> practices;  // those the caller covers (one for a practice)
    std::string period;
    std::optional<std::string> status;
    std::uint32_t limit = 20;
    // The last row of the previous page: (declared_key, declaration_id).
    std::optional<std::pair<std::string, std::string>> after;
};
statement list_declarations(const declaration_filter& f);

// A text[] parameter: {A81001,B82002}. The elements must be codes (letters, digits, '-').
std::string text_array(const std::vector<std::string>& codes);

}  // namespace sluice::ledger
