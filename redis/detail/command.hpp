// Commands in the Redis protocol's request form (RESP: an array of bulk strings), built before
// an async call returns so that the caller's arguments need not outlive the call. Binary safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace sluice::redis::detail {

struct command {
    std::string resp;
    // EVALSHA only: where the numkeys element starts, so the same keys and arguments can be
    // re-sent as EVAL <source> after a NOSCRIPT reply. 0 for other commands.
    std::size_t tail = 0;
};

std::string format_command(std::span<const std::string_view> args);

// EVALSHA sha1 numkeys key... arg...
command format_evalsha(std::string_view sha1, std::span<const std::string_view> keys,
                       std::span<const std::string_view> args);

// The EVALSHA command `evalsha` rewritten as EVAL with the script's source.
std::string evalsha_to_eval(const command& evalsha, std::string_view source);

}  // namespace sluice::redis::detail
