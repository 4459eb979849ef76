// Every error a client can cause maps to one problem type here (RFC 9457 problem documents).
//
// The type URI is "urn:sluice:problem:<slug>"; API.md promises only that it ends in the slug.
#pragma once

#include "gateway/response.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sluice::gateway {

enum class problem {
    bad_request,               // 400: the HTTP message itself is malformed
    malformed_json,            // 400: the body is not JSON
    bad_idempotency_key,       // 400: Idempotency-Key missing or malformed
    invalid_query,             // 400: a query parameter missing or malformed (period, limit, cursor, ...)
    unauthorized,              // 401 (+ WWW-Authenticate): no token, or not one we issued
    credential_expired,        // 401: a token past its not_after
    forbidden,                 // 403: the body's practice is not the token's
    not_permitted,             // 403: the token's role may not do this (a commissioner declaring, ...)
    not_found,                 // 404
    method_not_allowed,        // 405 (+ Allow)
    idempotency_key_in_use,    // 409 (+ Retry-After: 1): the first request with this key is in flight
    not_calculated,            // 409: declaring a submission that is not calculated (yet, or failed)
    submission_superseded,     // 409: declaring a submission a later one replaced
    already_declared,          // 409: a declaration awaits approval or is approved for the practice, period, scheme
    statement_changed,         // 409: statement_sha256 is not the digest of the result served
    period_closed,             // 409: outside the period's declaration window (detail says the window)
    already_decided,           // 409: the declaration was approved or rejected already
    no_commissioner,           // 409: the organisations file names no commissioner for the practice
    length_required,           // 411
    content_too_large,         // 413
    unsupported_media_type,    // 415: not application/json
    invalid_submission,        // 422 (+ errors[]): well-formed JSON, wrong content
    invalid_declaration,       // 422 (+ errors[]): a declaration body with wrong content
    invalid_decision,          // 422 (+ errors[]): a decision body with wrong content
    idempotency_key_reused,    // 422: the key was used with another body
    rate_limited,              // 429 (+ Retry-After, RateLimit): the practice's rate
    too_many_failed_attempts,  // 429 (+ Retry-After): failed authentication from this address
    header_too_large,          // 431
    not_implemented,           // 501: a transfer coding we do not speak
    overloaded,                // 503 (+ Retry-After): more connections or work than the limits allow
    unavailable,               // 503 (+ Retry-After): Redis is unreachable or slower than its timeout
    draining,                  // 503: shutting down
    ledger_unavailable,        // 503 (+ Retry-After): PostgreSQL unreachable, its pool exhausted, or too slow
    http_version,              // 505
};

struct problem_info {
    unsigned status;
    std::string_view slug;
    std::string_view title;
};

problem_info describe(problem p) noexcept;

// Fills `r` (status, content type, body) with the problem document; `detail` says what happened
// to this request in words a practice system's developer can act on.
void make_problem(response& r, problem p, std::string_view detail);

// The same with `errors`: [{"pointer": ..., "detail": ...}] (JSON Pointers into the request body).
struct field_fault {
    std::string pointer;
    std::string detail;
};
void make_problem(response& r, problem p, std::string_view detail, const std::vector<field_fault>& errors);

}  // namespace sluice::gateway
