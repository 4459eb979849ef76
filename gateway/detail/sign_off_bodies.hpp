// The bodies of POST /v1/declarations and POST /v1/declarations/{id}/decision (API.md), parsed
// and validated (internal to gateway/), pure: bytes in, a typed body or the faults out. Fuzzed
// (tests/fuzz/sign_off_body_fuzz.cpp).
//
//   declaration  {"submission_id": "...", "declared_by": "...", "statement_sha256": "64 hex"}
//   decision     {"decision": "approved" | "rejected", "decided_by": "...", "reason": "..."}
//
// Not JSON (or not an object): malformed (400). Otherwise every fault found is one error with its
// JSON Pointer (422): a member missing, of the wrong type, out of its bounds, or unknown.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::gateway::detail {

inline constexpr std::size_t max_submission_id_length = 128;
inline constexpr std::size_t max_name_length = 200;     // declared_by, decided_by
inline constexpr std::size_t max_reason_length = 2000;  // a rejection's reason

struct body_error {
    std::string pointer;  // "/statement_sha256"
    std::string detail;
};

struct body_fault {
    bool malformed = false;  // not a JSON object: 400
    std::string detail;
    std::vector<body_error> errors;  // 422
};

struct declaration_body {
    std::string submission_id;
    std::string declared_by;
    std::string statement_sha256;  // lower-case hex
};

struct decision_body {
    std::string decision;  // approved | rejected
    std::string decided_by;
    std::optional<std::string> reason;
};

template <typename Body>
struct parsed_body {
    std::optional<Body> body;  // set when valid
    body_fault fault;
};

parsed_body<declaration_body> parse_declaration_body(std::string_view bytes);
parsed_body<decision_body> parse_decision_body(std::string_view bytes);

}  // namespace sluice::gateway::detail
