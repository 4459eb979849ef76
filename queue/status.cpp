// The status call and the status record's parse (see status.hpp).
#include "queue/status.hpp"

#include "queue/keys.hpp"
#include "queue/ratelimit_state.hpp"

#include "embedded/status_lua.hpp"

#include <charconv>

namespace sluice::queue {

std::string_view status_script_source() noexcept { return embedded::status_lua; }

std::optional<script_call> build_status_call(std::string_view submission_id, std::string_view practice,
                                             const config::settings& settings) {
    const auto shards = settings.redis.shards;
    const auto shard = shard_of_submission_id(submission_id, shards);
    if (!shard) return std::nullopt;
    script_call call;
    call.shard = *shard;
    call.keys.push_back(submission_key(*shard, submission_id));
    call.keys.push_back(practice_key(shard_of(practice, shards), practice));
    return call;
}

status_reply parse_status_reply(const redis::reply& reply, std::string_view submission_id) {
    status_reply parsed;
    if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_array()) return parsed;
    parsed.valid = true;
    parsed.tat_us = read_tat(reply.elements[1]).tat_us;

    const auto& fields = reply.elements[0].elements;
    if (fields.empty()) return parsed;  // HGETALL of a missing key
    status_record record;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        const std::string& name = fields[i].str;
        const std::string& value = fields[i + 1].str;
        if (name == "id") {
            if (!submission_id.empty() && value != submission_id) return parsed;  // another admission's
        } else if (name == "practice") {
            record.practice = value;
        } else if (name == "status") {
            record.status = value;
        } else if (name == "attempts") {
            // The scripts write a decimal integer; anything else ("5x" too) reads as 0.
            long long attempts = 0;
            const char* end = value.data() + value.size();
            const auto [at, ec] = std::from_chars(value.data(), end, attempts);
            record.attempts = ec == std::errc() && at == end ? attempts : 0;
        } else if (name == "received_at") {
            record.received_at = value;
        } else if (name == "content_sha256") {
            record.content_sha256 = value;
        } else if (name == "result") {
            record.result = value;
        } else if (name == "error") {
            record.error = value;
        }
    }
    parsed.record = std::move(record);
    return parsed;
}

}  // namespace sluice::queue
