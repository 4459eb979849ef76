// The JSON documents of the sign-off endpoints (internal to gateway/), pure: rows of the system
// of record (ledger/declarations.hpp, ledger/statements.hpp) in, response bodies out.
//
// Money and points are written as PostgreSQL's numeric text, exactly two decimals ("4842.85",
// "0.00"), never through a double (API.md "Money and numbers"); sums are made in integer pence.
// A submission's `result` is embedded byte for byte as the worker wrote it, so the SHA-256 of the
// bytes of `result` in these documents is what statement_sha256 is checked against.
#pragma once

#include "ledger/declarations.hpp"
#include "ledger/payments.hpp"
#include "ledger/statements.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::gateway::detail {

// A JSON string literal of `text`.
std::string json_quoted(std::string_view text);

// One page of a list: {"<member>":[document(row)...],"next_cursor":cursor_of(last row) or null}.
// `rows` holds up to limit + 1 rows (the one more says there is a next page); it is cut to limit.
template <class Row, class Document, class Cursor>
std::string list_page(std::string_view member, std::vector<Row>& rows, std::uint32_t limit, Document document,
                      Cursor cursor_of) {
    const bool more = rows.size() > limit;
    if (more) rows.resize(limit);
    std::string body = "{" + json_quoted(member) + ":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i > 0) body += ',';
        body += document(rows[i]);
    }
    body += "],\"next_cursor\":";
    body += more ? json_quoted(cursor_of(rows.back())) : "null";
    body += '}';
    return body;
}

// "1234.56" -> 123456 pence; nullopt for anything but an optional '-', digits and exactly two decimals.
std::optional<std::int64_t> pence_of(std::string_view decimal) noexcept;
// 123456 -> "1234.56".
std::string decimal_of(std::int64_t pence);

// The declaration as API.md shows it (decided_by, decided_at and reason once decided).
std::string declaration_document(const ledger::declaration_row& d);

// A submission: the receipt fields, status, attempts, result or error, and `current` when asked.
std::string submission_document(const ledger::submission_row& s, bool with_current);

// The QOF scheme's "payments" member of a statement (ledger/payments.hpp; README.md, "Payment
// lines"): every amount a JSON number with exactly two decimals (null when not known), the rate
// with two to four ("0.80"), then the notes.
// {"aspiration_based_on_period":"2023-24","aspiration_based_on_submission":"3-...",
//  "aspiration_based_on_gbp":50000.00,"aspiration_rate":0.80,"aspiration_gbp":41347.51,
//  "aspiration_monthly_gbp":3445.63,"aspiration_final_month_gbp":3445.58,
//  "achievement_value_gbp":40000.00,"payment_due_gbp":-1347.51,"notes":[...]}
std::string payments_document(const ledger::payment_lines& lines);

// A scheme's state in a statement (API.md): not-submitted | submitted | calculated | declared |
// approved | rejected. `submission_status`: the current submission's (calculated | failed), none
// when nothing was recorded; `declaration_status`: the latest declaration's; `on_current`: whether
// that declaration is of the current submission (a rejection of an earlier one no longer counts).
std::string_view scheme_state(std::optional<std::string_view> submission_status,
                              std::optional<std::string_view> declaration_status, bool on_current) noexcept;

}  // namespace sluice::gateway::detail
