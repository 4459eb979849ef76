// Admission script calls and replies (see admission.hpp for the contract). The scripts themselves
// are embedded at build time from ratelimit/gcra.lua, queue/admission.lua and queue/complete.lua.
#include "queue/admission.hpp"

#include "queue/keys.hpp"
#include "ratelimit/gcra.hpp"

#include "embedded/admission_lua.hpp"
#include "embedded/complete_lua.hpp"

#include <limits>
#include <utility>

namespace sluice::queue {

namespace {

constexpr std::string_view state_done = "done";
constexpr std::string_view state_pending = "pending";

// Margin of pending_timeout_ms beyond the per-call timeouts.
constexpr std::uint64_t pending_margin_ms = 1000;
// admission (1) + WAIT (1) + completion (1) calls, plus one of slack.
constexpr std::uint64_t pending_timeout_calls = 4;

// The reply element at `index` as a non-negative integer no larger than `limit`.
std::optional<std::int64_t> integer_at(const redis::reply& reply, std::size_t index, std::int64_t limit) {
    if (index >= reply.elements.size()) {
        return std::nullopt;
    }
    const redis::reply& element = reply.elements[index];
    if (!element.is_integer() || element.integer < 0 || element.integer > limit) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(element.integer);
}

const std::string* string_at(const redis::reply& reply, std::size_t index) {
    if (index >= reply.elements.size() || reply.elements[index].type != redis::reply::kind::string) {
        return nullptr;
    }
    return &reply.elements[index].str;
}

admission_result invalid(std::string why) {
    admission_result result;
    result.outcome = admission_outcome::invalid_reply;
    result.error = std::move(why);
    return result;
}

constexpr std::int64_t max_remaining = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t max_micros = std::numeric_limits<std::int64_t>::max();

// remaining and reset_after_us at `index` and index + 1; false if malformed.
bool read_limit_state(const redis::reply& reply, std::size_t index, admission_result& result) {
    const auto remaining = integer_at(reply, index, max_remaining);
    const auto reset_after = integer_at(reply, index + 1, max_micros);
    if (!remaining || !reset_after) {
        return false;
    }
    result.remaining = static_cast<std::uint32_t>(*remaining);
    result.reset_after_us = *reset_after;
    return true;
}

}  // namespace

std::string_view admission_script_source() noexcept { return embedded::admission_lua; }

std::string_view complete_script_source() noexcept { return embedded::complete_lua; }

std::uint64_t pending_timeout_ms(const config::settings& settings) noexcept {
    return pending_timeout_calls * settings.redis.timeout_ms + pending_margin_ms;
}

admission_call build_admission_call(admission_request request, const config::settings& settings) {
    admission_call call;
    call.shard = shard_of(request.practice, settings.redis.shards);
    call.submission_id = submission_id_for(call.shard, request.practice, request.idempotency_key, request.received_ms);

    call.keys.reserve(4);
    call.keys.push_back(submission_key(call.shard, call.submission_id));
    call.keys.push_back(practice_key(call.shard, request.practice));
    call.keys.push_back(queue_key(call.shard));
    call.keys.push_back(idem_key(call.shard, request.practice, request.idempotency_key));

    const ratelimit::gcra_policy policy{settings.ratelimit.rate, settings.ratelimit.burst};
    call.argv.reserve(14);
    call.argv.push_back(std::move(request.body_sha256_hex));
    call.argv.push_back(call.submission_id);
    call.argv.push_back(std::move(request.practice));
    call.argv.push_back(std::move(request.received_at));
    call.argv.push_back(std::move(request.queue_payload));
    call.argv.push_back(ratelimit::format_rate(policy.rate));
    call.argv.push_back(std::to_string(policy.burst));
    call.argv.push_back(std::to_string(settings.idempotency.ttl_seconds));
    call.argv.emplace_back(settings.durability.replicas > 0 ? state_pending : state_done);
    call.argv.push_back(request.now_us ? std::to_string(*request.now_us) : std::string());
    call.argv.push_back(std::to_string(pending_timeout_ms(settings)));
    call.argv.push_back(request.deadline_us ? std::to_string(*request.deadline_us) : std::string());
    call.argv.push_back(std::move(request.idempotency_key));  // ARGV 13, queued as field "idem"
    call.argv.push_back(std::move(request.latest_field));     // ARGV 14
    return call;
}

script_call build_completion_call(std::string_view practice, std::string_view submission_id,
                                  const config::settings& settings) {
    script_call call;
    call.shard = shard_of(practice, settings.redis.shards);
    call.keys.push_back(submission_key(call.shard, submission_id));
    call.argv.emplace_back(submission_id);
    return call;
}

std::string_view to_string(admission_outcome outcome) noexcept {
    switch (outcome) {
    case admission_outcome::accepted: return "accepted";
    case admission_outcome::replayed: return "replayed";
    case admission_outcome::reused: return "reused";
    case admission_outcome::in_use: return "in_use";
    case admission_outcome::limited: return "limited";
    case admission_outcome::expired: return "expired";
    case admission_outcome::invalid_reply: return "invalid_reply";
    }
    return "invalid_reply";
}

admission_result parse_admission_reply(const redis::reply& reply) {
    if (reply.is_error()) {
        return invalid("redis error: " + reply.str);
    }
    if (!reply.is_array() || reply.elements.empty()) {
        return invalid("not an admission reply (expected an array)");
    }
    const std::string* tag = string_at(reply, 0);
    if (tag == nullptr) {
        return invalid("not an admission reply (no outcome string first)");
    }
    const std::size_t size = reply.elements.size();
    admission_result result;

    if (*tag == "accepted") {
        const std::string* entry_id = string_at(reply, 1);
        if (size != 4 || entry_id == nullptr || entry_id->empty() || !read_limit_state(reply, 2, result)) {
            return invalid("malformed accepted reply");
        }
        result.outcome = admission_outcome::accepted;
        result.stream_entry_id = *entry_id;
        return result;
    }
    if (*tag == "replay") {
        const auto status = integer_at(reply, 1, 599);
        const std::string* body = string_at(reply, 2);
        const std::string* id = string_at(reply, 3);
        const std::string* received_at = string_at(reply, 6);
        // A merged record's replay names its id and time (the receipt is rebuilt from them); a
        // legacy one carries its receipt.
        if (size != 7 || !status || *status < 100 || body == nullptr || id == nullptr || id->empty() ||
            received_at == nullptr || (body->empty() && received_at->empty()) || !read_limit_state(reply, 4, result)) {
            return invalid("malformed replay reply");
        }
        result.outcome = admission_outcome::replayed;
        result.replay_status = static_cast<int>(*status);
        result.replay_body = *body;
        result.replay_submission_id = *id;
        result.replay_received_at = *received_at;
        return result;
    }
    if (*tag == "reused" || *tag == "in_use") {
        if (size != 3 || !read_limit_state(reply, 1, result)) {
            return invalid("malformed " + *tag + " reply");
        }
        result.outcome = *tag == "reused" ? admission_outcome::reused : admission_outcome::in_use;
        return result;
    }
    if (*tag == "limited") {
        const auto retry_after = integer_at(reply, 1, max_micros);
        const auto reset_after = integer_at(reply, 2, max_micros);
        if (size != 3 || !retry_after || *retry_after == 0 || !reset_after) {
            return invalid("malformed limited reply");
        }
        result.outcome = admission_outcome::limited;
        result.remaining = 0;
        result.retry_after_us = *retry_after;
        result.reset_after_us = *reset_after;
        return result;
    }
    if (*tag == "expired") {
        if (size != 1) return invalid("malformed expired reply");
        result.outcome = admission_outcome::expired;
        return result;
    }
    return invalid("unknown admission outcome \"" + *tag + "\"");
}

}  // namespace sluice::queue
