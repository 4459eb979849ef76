// Declarations, decisions and their idempotency records (see declarations.hpp).
#include "ledger/declarations.hpp"

#include "ledger/detail/keyset_page.hpp"

namespace sluice::ledger {

namespace {

std::string columns(std::string_view prefix = "") {
    const std::string p(prefix);
    return "d.declaration_id AS " + p + "declaration_id, d.submission_id AS " + p + "submission_id, d.practice AS " +
           p + "practice, d.commissioner AS " + p + "commissioner, d.period AS " + p + "period, d.scheme AS " + p +
           "scheme, d.declared_by AS " + p + "declared_by, " + api_time("d.declared_at") + " AS " + p +
           "declared_at, " + key_time("d.declared_at") + " AS " + p + "declared_key, d.points::text AS " + p +
           "points, d.payment_gbp::text AS " + p + "payment_gbp, d.statement_sha256 AS " + p +
           "statement_sha256, d.status AS " + p + "status, d.decided_by AS " + p + "decided_by, " +
           api_time("d.decided_at") + " AS " + p + "decided_at, d.reason AS " + p + "reason";
}

constexpr std::string_view delete_expired_sql =
    "DELETE FROM idempotency_records WHERE organisation = $1 AND operation = $2 AND idempotency_key = $3 "
    "AND expires_at <= now()";

statement delete_expired(const idempotency_write& record, std::string_view operation) {
    return {std::string(delete_expired_sql), {record.organisation, std::string(operation), record.key}, {}};
}

std::string text_of(const result& r, std::size_t row, std::string_view column) {
    return r.value(row, column).value_or("");
}

}  // namespace

std::string api_time(std::string_view column) {
    return "to_char(" + std::string(column) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

std::string key_time(std::string_view column) {
    return "to_char(" + std::string(column) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')";
}

std::string declaration_columns(std::string_view prefix) { return columns(prefix); }

statement find_idempotency_record(std::string_view organisation, std::string_view operation, std::string_view key) {
    return {
        "SELECT request_sha256, response_status::text AS response_status, response_body FROM idempotency_records "
        "WHERE organisation = $1 AND operation = $2 AND idempotency_key = $3 AND expires_at > now()",
        {std::string(organisation), std::string(operation), std::string(key)},
        "sluice_find_idempotency_record"};
}

std::optional<idempotency_record> idempotency_record_from(const result& r) {
    if (r.rows.empty()) return std::nullopt;
    idempotency_record out;
    out.request_sha256 = text_of(r, 0, "request_sha256");
    out.response_status = std::atoi(text_of(r, 0, "response_status").c_str());
    out.response_body = text_of(r, 0, "response_body");
    return out;
}

statement find_declaration(std::string_view declaration_id) {
    return {"SELECT " + columns() + " FROM declarations d WHERE d.declaration_id = $1",
            {std::string(declaration_id)},
            "sluice_find_declaration"};
}

std::optional<declaration_row> declaration_at(const result& r, std::size_t i, std::string_view prefix) {
    const std::string p(prefix);
    const auto id = r.value(i, p + "declaration_id");
    if (!id) return std::nullopt;
    declaration_row d;
    d.declaration_id = *id;
    d.submission_id = text_of(r, i, p + "submission_id");
    d.practice = text_of(r, i, p + "practice");
    d.commissioner = text_of(r, i, p + "commissioner");
    d.period = text_of(r, i, p + "period");
    d.scheme = text_of(r, i, p + "scheme");
    d.declared_by = text_of(r, i, p + "declared_by");
    d.declared_at = text_of(r, i, p + "declared_at");
    d.declared_key = text_of(r, i, p + "declared_key");
    d.points = text_of(r, i, p + "points");
    d.payment_gbp = text_of(r, i, p + "payment_gbp");
    d.statement_sha256 = text_of(r, i, p + "statement_sha256");
    d.status = text_of(r, i, p + "status");
    d.decided_by = r.value(i, p + "decided_by");
    d.decided_at = r.value(i, p + "decided_at");
    d.reason = r.value(i, p + "reason");
    return d;
}

std::vector<declaration_row> declaration_rows(const result& r) {
    std::vector<declaration_row> out;
    out.reserve(r.rows.size());
    for (std::size_t i = 0; i < r.rows.size(); ++i)
        if (auto d = declaration_at(r, i, "")) out.push_back(std::move(*d));
    return out;
}

std::vector<statement> declare(const new_declaration& d, const idempotency_write& record) {
    std::vector<statement> out;
    out.push_back(delete_expired(record, declare_operation));
    out.push_back(
        {"WITH d AS (INSERT INTO declarations (declaration_id, submission_id, practice, commissioner, period, scheme, "
         "declared_by, declared_at, statement_sha256, points, payment_gbp) "
         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9, $10::numeric, $11::numeric) "
         "RETURNING declaration_id) "
         "INSERT INTO idempotency_records (organisation, operation, idempotency_key, request_sha256, response_status, "
         "response_body, declaration_id, expires_at) "
         "SELECT $3, 'declare', $12, $13, $14::smallint, $15, d.declaration_id, now() + $16::bigint * interval '1 "
         "second' FROM d RETURNING declaration_id",
         {d.declaration_id, d.submission_id, d.practice, d.commissioner, d.period, d.scheme, d.declared_by,
          d.declared_at, d.statement_sha256, d.points, d.payment_gbp, record.key, record.request_sha256,
          std::to_string(record.response_status), record.response_body, std::to_string(record.ttl_seconds)},
         "sluice_declare"});
    return out;
}

write_conflict conflict_of(const std::vector<result>& results) {
    for (const auto& r : results) {
        if (r.sqlstate.empty()) continue;
        if (r.sqlstate != "23505") return write_conflict::other;
        if (r.message.find("declarations_one_standing") != std::string::npos) return write_conflict::already_declared;
        if (r.message.find("idempotency_records_pkey") != std::string::npos) return write_conflict::key_taken;
        return write_conflict::other;
    }
    return write_conflict::none;
}

std::vector<statement> decide(const decision& d, const idempotency_write& record) {
    std::vector<statement> out;
    out.push_back(delete_expired(record, decide_operation));
    out.push_back(
        {"WITH d AS (UPDATE declarations SET status = $2, decided_by = $3, decided_at = $4::timestamptz, "
         "reason = $5 WHERE declaration_id = $1 AND status = 'awaiting-approval' RETURNING declaration_id) "
         "INSERT INTO idempotency_records (organisation, operation, idempotency_key, request_sha256, "
         "response_status, response_body, declaration_id, expires_at) "
         "SELECT $6, 'decide', $7, $8, $9::smallint, $10, d.declaration_id, now() + $11::bigint * interval "
         "'1 second' FROM d RETURNING declaration_id",
         {d.declaration_id, d.status, d.decided_by, d.decided_at, d.reason, record.organisation, record.key,
          record.request_sha256, std::to_string(record.response_status), record.response_body,
          std::to_string(record.ttl_seconds)},
         "sluice_decide"});
    return out;
}

bool decided(const std::vector<result>& results) noexcept { return !results.empty() && !results.back().rows.empty(); }

std::string text_array(const std::vector<std::string>& codes) {
    std::string out = "{";
    for (std::size_t i = 0; i < codes.size(); ++i) {
        if (i > 0) out += ',';
        out += codes[i];
    }
    out += '}';
    return out;
}

statement list_declarations(const declaration_filter& f) {
    statement s;
    s.sql = "SELECT " + columns() + " FROM declarations d WHERE d.practice = ANY($1::text[]) AND d.period = $2";
    s.params = {text_array(f.practices), f.period};
    if (f.status) {
        s.params.push_back(*f.status);
        s.sql += " AND d.status = $" + std::to_string(s.params.size());
    }
    detail::append_keyset_page(s, "d.declared_at", "d.declaration_id", f.after, f.limit);
    return s;
}

}  // namespace sluice::ledger
