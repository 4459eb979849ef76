// Every error a client can cause maps to one problem type here (RFC 9457 problem documents).
//
// The type URI is "urn:sluice:problem:<slug>"; API.md promises only that it ends in the slug.
#pragma once

#include "gateway/response.hpp"

#include <string_view>

namespace sluice::gateway {

enum class problem {
    bad_request,             // 400: the HTTP message itself is malformed
    not_found,               // 404
    method_not_allowed,      // 405 (+ Allow)
    length_required,         // 411
    content_too_large,       // 413
    header_too_large,        // 431
    not_implemented,         // 501: a transfer coding we do not speak
    overloaded,              // 503 (+ Retry-After): more connections or work than the limits allow
    draining,                // 503: shutting down
    http_version,            // 505
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

}  // namespace sluice::gateway
