// The rate-limit peek (see ratelimit_state.hpp).
#include "queue/ratelimit_state.hpp"

#include "queue/keys.hpp"

#include <charconv>

namespace sluice::queue {

command_call build_ratelimit_peek_call(std::string_view practice, const config::settings& settings) {
    return {{"HGET", practice_key(shard_of(practice, settings.redis.shards), practice), "tat"}};
}

tat_reading read_tat(const redis::reply& reply) {
    if (reply.is_nil()) return {true, std::nullopt};
    if (!reply.is_string()) return {};
    std::int64_t tat = 0;
    const char* end = reply.str.data() + reply.str.size();
    const auto [at, ec] = std::from_chars(reply.str.data(), end, tat);
    if (ec != std::errc() || at != end) return {true, std::nullopt};
    return {true, tat};
}

ratelimit::gcra_decision ratelimit_state(std::optional<std::int64_t> tat_us, const config::settings& settings,
                                         std::int64_t now_us) {
    const ratelimit::gcra_policy policy{settings.ratelimit.rate, settings.ratelimit.burst};
    return ratelimit::gcra_peek(policy, tat_us, now_us);
}

}  // namespace sluice::queue
