// The checks of a request's header values that API.md fixes (internal to gateway/). Pure: values
// in, verdicts out, unit-tested without a socket.
#pragma once

#include <optional>
#include <string_view>

namespace sluice::gateway::detail {

// Idempotency-Key: 1 to 255 printable ASCII characters.
bool valid_idempotency_key(std::string_view key) noexcept;

// Content-Type: application/json (any case), with or without parameters (charset=utf-8), spaces or
// tabs allowed before the ";" (RFC 9110 OWS).
bool is_json_content_type(std::string_view content_type) noexcept;

// Authorization: "Bearer <token>" (scheme in any case); the token, or nothing when the value is
// not a bearer credential. The token may be empty ("Bearer " followed by spaces).
std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept;

// X-Request-Id: echoed when the client sent a sensible one (1 to 128 characters of
// [A-Za-z0-9-_.:/+=]); otherwise the gateway makes its own.
bool acceptable_request_id(std::string_view id) noexcept;

}  // namespace sluice::gateway::detail
