// A practice's latest admission per period and scheme (see latest.hpp).
#include "queue/latest.hpp"

#include "queue/keys.hpp"

namespace sluice::queue {

std::string latest_field(std::string_view period, std::string_view scheme) {
    std::string field(period);
    field += '/';
    field += scheme;
    return field;
}

command_call build_latest_call(std::string_view practice, const config::settings& settings) {
    return {{"HGETALL", practice_key(shard_of(practice, settings.redis.shards), practice)}};
}

latest_reading read_latest(const redis::reply& reply) {
    latest_reading out;
    if (!reply.is_array() || reply.elements.size() % 2 != 0) return out;
    for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
        const auto& field = reply.elements[i];
        const auto& id = reply.elements[i + 1];
        if (field.type != redis::reply::kind::string || id.type != redis::reply::kind::string) return {};
        // The practice's hash also holds the rate limit's "tat": only "<period>/<scheme>" fields name ids.
        if (field.str.find('/') != std::string::npos) out.ids[field.str] = id.str;
    }
    out.valid = true;
    return out;
}

std::optional<std::string_view> latest_id(const latest_reading& reading, std::string_view period,
                                          std::string_view scheme) {
    const auto it = reading.ids.find(latest_field(period, scheme));
    if (it == reading.ids.end()) return std::nullopt;
    return std::string_view(it->second);
}

}  // namespace sluice::queue
