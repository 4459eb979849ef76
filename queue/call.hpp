// A ready-to-send Redis call that queue/ built: a script's KEYS and ARGV, or a command's words.
// The strings are owned here; the *_views() point into them for redis::client, so a call must
// outlive the async operation it is sent with (keep it in the coroutine's frame).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::queue {

// For redis::client::async_eval(script, key_views(), argv_views(), ...).
struct script_call {
    std::uint32_t shard = 0;  // every key carries this shard's hash tag
    std::vector<std::string> keys;
    std::vector<std::string> argv;

    std::vector<std::string_view> key_views() const { return {keys.begin(), keys.end()}; }
    std::vector<std::string_view> argv_views() const { return {argv.begin(), argv.end()}; }
};

// For redis::client::async_exec(views(), ...): "GET <key>", "XLEN <key>".
struct command_call {
    std::vector<std::string> words;

    std::vector<std::string_view> views() const { return {words.begin(), words.end()}; }
};

}  // namespace sluice::queue
