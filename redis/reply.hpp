// A Redis reply as sluice code sees it: an owning copy of hiredis's redisReply, so callers never
// touch hiredis types (DESIGN.md: a module's headers do not expose another library's internals).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::redis {

struct reply {
    enum class kind : std::uint8_t { nil, integer, string, status, error, array };

    kind type = kind::nil;
    long long integer = 0;
    std::string str;  // string, status and error replies
    std::vector<reply> elements;
    // For the client's own replies: from the moment the command was written to the socket to the
    // moment its reply was read from it (our own event loop's delays before the write and after
    // the read are not in it). Zero when unknown.
    std::chrono::nanoseconds round_trip{0};

    bool is_nil() const noexcept { return type == kind::nil; }
    bool is_error() const noexcept { return type == kind::error; }
    bool is_string() const noexcept { return type == kind::string || type == kind::status; }
    bool is_integer() const noexcept { return type == kind::integer; }
    bool is_array() const noexcept { return type == kind::array; }
};

}  // namespace sluice::redis
