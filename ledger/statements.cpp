// Reading submissions, statements and the outstanding list (see statements.hpp).
#include "ledger/statements.hpp"

#include "ledger/detail/keyset_page.hpp"

namespace sluice::ledger {

namespace {

// The columns submission_rows() reads; `s` is the submissions table's alias.
const std::string& submission_columns() {
    static const std::string text =
        "s.submission_id, s.practice, s.period, s.scheme, s.idempotency_key, " + api_time("s.received_at") +
        " AS received_at, " + key_time("s.received_at") +
        " AS received_key, s.content_sha256, s.status, s.attempts::text AS attempts, s.result, s.points::text AS "
        "points, s.payment_gbp::text AS payment_gbp, s.error, "
        "NOT EXISTS (SELECT 1 FROM submissions later WHERE later.practice = s.practice AND later.period = s.period "
        "AND later.scheme = s.scheme AND (later.received_at, later.submission_id) > (s.received_at, s.submission_id)) "
        "AS current";
    return text;
}

std::string text_of(const result& r, std::size_t row, std::string_view column) {
    return r.value(row, column).value_or("");
}

submission_row submission_at(const result& r, std::size_t i) {
    submission_row s;
    s.submission_id = text_of(r, i, "submission_id");
    s.practice = text_of(r, i, "practice");
    s.period = text_of(r, i, "period");
    s.scheme = text_of(r, i, "scheme");
    s.idempotency_key = r.value(i, "idempotency_key");
    s.received_at = text_of(r, i, "received_at");
    s.received_key = text_of(r, i, "received_key");
    s.content_sha256 = text_of(r, i, "content_sha256");
    s.status = text_of(r, i, "status");
    s.attempts = text_of(r, i, "attempts");
    s.result = r.value(i, "result");
    s.points = r.value(i, "points");
    s.payment_gbp = r.value(i, "payment_gbp");
    s.error = r.value(i, "error");
    s.current = text_of(r, i, "current") == "t";
    return s;
}

}  // namespace

statement find_submission(std::string_view submission_id) {
    return {"SELECT " + submission_columns() + " FROM submissions s WHERE s.submission_id = $1",
            {std::string(submission_id)},
            "sluice_find_submission"};
}

statement find_submission_by_key(std::string_view practice, std::string_view idempotency_key) {
    return {"SELECT " + submission_columns() +
                " FROM submissions s WHERE s.practice = $1 AND s.idempotency_key = $2 "
                "ORDER BY s.received_at DESC, s.submission_id DESC LIMIT 1",
            {std::string(practice), std::string(idempotency_key)},
            "sluice_find_submission_by_key"};
}

std::vector<submission_row> submission_rows(const result& r) {
    std::vector<submission_row> out;
    out.reserve(r.rows.size());
    for (std::size_t i = 0; i < r.rows.size(); ++i) out.push_back(submission_at(r, i));
    return out;
}

statement list_submissions(const submission_filter& f) {
    statement s;
    s.sql = "SELECT " + submission_columns() + " FROM submissions s WHERE s.practice = $1 AND s.period = $2";
    s.params = {f.practice, f.period};
    if (f.scheme) {
        s.params.push_back(*f.scheme);
        s.sql += " AND s.scheme = $" + std::to_string(s.params.size());
    }
    detail::append_keyset_page(s, "s.received_at", "s.submission_id", f.after, f.limit);
    return s;
}

statement practice_statement(std::string_view practice, std::string_view period) {
    return {"SELECT " + submission_columns() + ", " + declaration_columns("d_") +
                ", fr.final_result, fr.final_points, fr.final_payment_gbp"
                " FROM (SELECT DISTINCT ON (scheme) * FROM submissions WHERE practice = $1 AND period = $2 "
                "ORDER BY scheme, received_at DESC, submission_id DESC) s "
                "LEFT JOIN LATERAL (SELECT * FROM declarations x WHERE x.practice = s.practice AND x.period = s.period "
                "AND x.scheme = s.scheme ORDER BY x.declared_at DESC, x.declaration_id DESC LIMIT 1) d ON true "
                "LEFT JOIN LATERAL (SELECT f.result AS final_result, f.points::text AS final_points, "
                "f.payment_gbp::text AS final_payment_gbp FROM final_results f JOIN period_finals pf "
                "ON pf.period = f.period AND pf.state = 'final' AND pf.generation = f.generation "
                "WHERE f.period = s.period AND f.practice = s.practice AND f.scheme = s.scheme "
                "AND f.submission_id = s.submission_id) fr ON true "
                "ORDER BY s.scheme",
            {std::string(practice), std::string(period)},
            "sluice_practice_statement_final"};
}

std::vector<statement_row> statement_rows(const result& r) {
    std::vector<statement_row> out;
    for (std::size_t i = 0; i < r.rows.size(); ++i) {
        statement_row row;
        row.submission = submission_at(r, i);
        if (auto result = r.value(i, "final_result"))
            row.final_result =
                final_figures{std::move(*result), text_of(r, i, "final_points"), text_of(r, i, "final_payment_gbp")};
        row.declaration = declaration_at(r, i, "d_");
        out.push_back(std::move(row));
    }
    return out;
}

statement declarations_today() {
    return {
        "SELECT count(*) AS n FROM declarations "
        "WHERE declared_at >= (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')",
        {},
        "sluice_declarations_today"};
}

std::optional<std::int64_t> declarations_today_count(const result& r) {
    const auto v = r.value(0, "n");
    if (!v || v->empty()) return std::nullopt;
    std::int64_t n = 0;
    for (const char ch : *v) {
        if (ch < '0' || ch > '9') return std::nullopt;
        n = n * 10 + (ch - '0');
    }
    return n;
}

statement outstanding(std::string_view period, const std::vector<std::string>& practices) {
    return {
        "SELECT s.practice, s.scheme, s.status AS submission_status, d.status AS declaration_status "
        "FROM (SELECT DISTINCT ON (practice, scheme) practice, scheme, status FROM submissions "
        "WHERE period = $1 AND practice = ANY($2::text[]) "
        "ORDER BY practice, scheme, received_at DESC, submission_id DESC) s "
        "LEFT JOIN LATERAL (SELECT x.status FROM declarations x WHERE x.practice = s.practice AND x.period = $1 "
        "AND x.scheme = s.scheme ORDER BY x.declared_at DESC, x.declaration_id DESC LIMIT 1) d ON true "
        "ORDER BY s.practice, s.scheme",
        {std::string(period), text_array(practices)},
        "sluice_outstanding"};
}

std::vector<outstanding_row> outstanding_rows(const result& r) {
    std::vector<outstanding_row> out;
    for (std::size_t i = 0; i < r.rows.size(); ++i)
        out.push_back({text_of(r, i, "practice"), text_of(r, i, "scheme"), text_of(r, i, "submission_status"),
                       r.value(i, "declaration_status")});
    return out;
}

}  // namespace sluice::ledger
