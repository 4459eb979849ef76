// Problem documents (see problem.hpp).
#include "gateway/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace sluice::gateway {

problem_info describe(problem p) noexcept {
    switch (p) {
    case problem::bad_request: return {400, "bad-request", "Malformed HTTP request"};
    case problem::malformed_json: return {400, "malformed-json", "Body is not valid JSON"};
    case problem::bad_idempotency_key: return {400, "bad-idempotency-key", "Idempotency-Key missing or malformed"};
    case problem::invalid_query: return {400, "invalid-query", "Query parameters not valid"};
    case problem::not_permitted: return {403, "not-permitted", "Not permitted for this token's role"};
    case problem::not_calculated: return {409, "not-calculated", "Submission not calculated"};
    case problem::submission_superseded: return {409, "submission-superseded", "Submission superseded by a later one"};
    case problem::already_declared: return {409, "already-declared", "Already declared for this period and scheme"};
    case problem::statement_changed: return {409, "statement-changed", "Statement differs from the one reviewed"};
    case problem::period_closed: return {409, "period-closed", "Period closed for declarations"};
    case problem::already_decided: return {409, "already-decided", "Declaration already decided"};
    case problem::no_commissioner: return {409, "no-commissioner", "Practice has no commissioner"};
    case problem::invalid_declaration: return {422, "invalid-declaration", "Declaration is not valid"};
    case problem::invalid_decision: return {422, "invalid-decision", "Decision is not valid"};
    case problem::ledger_unavailable: return {503, "ledger-unavailable", "System of record unavailable"};
    case problem::unauthorized: return {401, "unauthorized", "Authentication required"};
    case problem::credential_expired: return {401, "credential-expired", "Credential expired"};
    case problem::forbidden: return {403, "forbidden", "Not this practice's to submit"};
    case problem::not_found: return {404, "not-found", "No such resource"};
    case problem::method_not_allowed: return {405, "method-not-allowed", "Method not allowed"};
    case problem::idempotency_key_in_use:
        return {409, "idempotency-key-in-use", "A request with this Idempotency-Key is in progress"};
    case problem::length_required: return {411, "length-required", "Length required"};
    case problem::content_too_large: return {413, "content-too-large", "Request body too large"};
    case problem::unsupported_media_type: return {415, "unsupported-media-type", "Body must be application/json"};
    case problem::invalid_submission: return {422, "invalid-submission", "Submission is not valid"};
    case problem::idempotency_key_reused:
        return {422, "idempotency-key-reused", "Idempotency-Key already used with another body"};
    case problem::rate_limited: return {429, "rate-limited", "Too many submissions from this practice"};
    case problem::too_many_failed_attempts:
        return {429, "too-many-failed-attempts", "Too many failed authentication attempts"};
    case problem::header_too_large: return {431, "header-too-large", "Request header too large"};
    case problem::not_implemented: return {501, "not-implemented", "Not implemented"};
    case problem::overloaded: return {503, "overloaded", "Gateway busy"};
    case problem::unavailable: return {503, "unavailable", "Submission store unavailable"};
    case problem::draining: return {503, "draining", "Gateway shutting down"};
    case problem::http_version: return {505, "http-version-not-supported", "HTTP version not supported"};
    }
    return {500, "internal", "Internal error"};
}

namespace {

boost::json::object problem_document(problem p, std::string_view detail) {
    const auto info = describe(p);
    std::string type = "urn:sluice:problem:";
    type.append(info.slug);
    boost::json::object doc;
    doc["type"] = type;
    doc["title"] = info.title;
    doc["status"] = info.status;
    doc["detail"] = detail;
    return doc;
}

void fill(response& r, problem p, const boost::json::object& doc) {
    r.status = describe(p).status;
    r.content_type = "application/problem+json";
    r.body = boost::json::serialize(doc);
}

}  // namespace

void make_problem(response& r, problem p, std::string_view detail) { fill(r, p, problem_document(p, detail)); }

void make_problem(response& r, problem p, std::string_view detail, const std::vector<field_fault>& errors) {
    auto doc = problem_document(p, detail);
    boost::json::array list;
    list.reserve(errors.size());
    for (const auto& e : errors) list.push_back(boost::json::object{{"pointer", e.pointer}, {"detail", e.detail}});
    doc["errors"] = std::move(list);
    fill(r, p, doc);
}

}  // namespace sluice::gateway
