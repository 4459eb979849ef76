// Sign-off documents (see ledger_documents.hpp).
#include "gateway/detail/ledger_documents.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <cstdlib>

namespace sluice::gateway::detail {

namespace {

// A numeric text as a JSON number: PostgreSQL's numeric(…, 2) output is already one.
std::string number_or_null(const std::optional<std::string>& text) { return text && pence_of(*text) ? *text : "null"; }

void member(std::string& out, std::string_view name, std::string_view json_value) {
    if (out.size() > 1) out += ',';
    out += json_quoted(name);
    out += ':';
    out += json_value;
}

}  // namespace

std::string json_quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

std::optional<std::int64_t> pence_of(std::string_view d) noexcept {
    bool negative = false;
    if (!d.empty() && d.front() == '-') {
        negative = true;
        d.remove_prefix(1);
    }
    const auto dot = d.find('.');
    if (dot == std::string_view::npos || dot == 0 || d.size() - dot != 3 || dot > 15) return std::nullopt;
    std::int64_t value = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (i == dot) continue;
        if (d[i] < '0' || d[i] > '9') return std::nullopt;
        value = value * 10 + (d[i] - '0');
    }
    return negative ? -value : value;
}

std::string decimal_of(std::int64_t pence) {
    const bool negative = pence < 0;
    const auto magnitude = static_cast<std::uint64_t>(negative ? -(pence + 1) : pence) + (negative ? 1 : 0);
    std::string cents = std::to_string(magnitude % 100);
    if (cents.size() < 2) cents.insert(0, "0");
    return (negative ? "-" : "") + std::to_string(magnitude / 100) + "." + cents;
}

std::string declaration_document(const ledger::declaration_row& d) {
    std::string out = "{";
    member(out, "declaration_id", json_quoted(d.declaration_id));
    member(out, "submission_id", json_quoted(d.submission_id));
    member(out, "practice", json_quoted(d.practice));
    member(out, "commissioner", json_quoted(d.commissioner));
    member(out, "period", json_quoted(d.period));
    member(out, "scheme", json_quoted(d.scheme));
    member(out, "declared_by", json_quoted(d.declared_by));
    member(out, "declared_at", json_quoted(d.declared_at));
    member(out, "points", number_or_null(d.points));
    member(out, "payment_gbp", number_or_null(d.payment_gbp));
    member(out, "statement_sha256", json_quoted(d.statement_sha256));
    member(out, "status", json_quoted(d.status));
    if (d.decided_by) member(out, "decided_by", json_quoted(*d.decided_by));
    if (d.decided_at) member(out, "decided_at", json_quoted(*d.decided_at));
    if (d.reason) member(out, "reason", json_quoted(*d.reason));
    out += '}';
    return out;
}

std::string submission_document(const ledger::submission_row& s, bool with_current) {
    std::string out = "{";
    member(out, "submission_id", json_quoted(s.submission_id));
    member(out, "practice", json_quoted(s.practice));
    member(out, "received_at", json_quoted(s.received_at));
    member(out, "content_sha256", json_quoted(s.content_sha256));
    member(out, "status_url", json_quoted("/v1/submissions/" + s.submission_id));
    if (!s.period.empty()) member(out, "period", json_quoted(s.period));
    if (!s.scheme.empty()) member(out, "scheme", json_quoted(s.scheme));
    member(out, "status", json_quoted(s.status));
    const auto attempts = std::strtoul(s.attempts.c_str(), nullptr, 10);
    member(out, "attempts", std::to_string(attempts));
    if (with_current) member(out, "current", s.current ? "true" : "false");
    if (s.result) member(out, "result", *s.result);  // byte for byte: the statement's digest is over it
    if (s.error) member(out, "error", json_quoted(*s.error));
    out += '}';
    return out;
}

std::string payments_document(const ledger::payment_lines& lines) {
    const auto money = [](const std::optional<std::int64_t>& pence) {
        return pence ? decimal_of(*pence) : std::string("null");
    };
    // Ten-thousandths as a decimal fraction with two to four places: 8000 -> "0.80", 8125 -> "0.8125".
    const auto rate = [](std::int64_t units) {
        std::string digits = std::to_string(units % ledger::rate_scale);
        digits.insert(0, 4 - digits.size(), '0');
        while (digits.size() > 2 && digits.back() == '0') digits.pop_back();
        return std::to_string(units / ledger::rate_scale) + "." + digits;
    };
    std::string out = "{";
    member(out, "aspiration_based_on_period", json_quoted(lines.based_on_period));
    member(out, "aspiration_based_on_submission",
           lines.based_on_submission ? json_quoted(*lines.based_on_submission) : "null");
    member(out, "aspiration_based_on_gbp", money(lines.based_on_pence));
    member(out, "aspiration_rate", lines.aspiration_rate ? rate(*lines.aspiration_rate) : "null");
    member(out, "aspiration_gbp", decimal_of(lines.aspiration_pence));
    member(out, "aspiration_monthly_gbp", decimal_of(lines.monthly.monthly_pence));
    member(out, "aspiration_final_month_gbp", decimal_of(lines.monthly.final_month_pence));
    member(out, "achievement_value_gbp", money(lines.achievement_pence));
    member(out, "payment_due_gbp", money(lines.payment_due_pence));
    std::string notes = "[";
    for (const auto& note : lines.notes) {
        if (notes.size() > 1) notes += ',';
        notes += json_quoted(note);
    }
    member(out, "notes", notes + "]");
    out += '}';
    return out;
}

std::string_view scheme_state(std::optional<std::string_view> submission_status,
                              std::optional<std::string_view> declaration_status, bool on_current) noexcept {
    if (!submission_status) return "not-submitted";
    if (declaration_status) {
        if (*declaration_status == "awaiting-approval") return "declared";  // a standing declaration stands
        if (*declaration_status == "approved") return "approved";
        if (*declaration_status == "rejected" && on_current) return "rejected";
    }
    return *submission_status == "calculated" ? "calculated" : "submitted";
}

}  // namespace sluice::gateway::detail
