// Shared helpers of the admission tests (see admission_support.hpp). This file also registers the
// binary's one redis-server.
#include "tests/integration/queue/admission_support.hpp"

#include "queue/keys.hpp"

#include <algorithm>
#include <cstdio>

namespace sluice::test {

namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();

}  // namespace

redis::reply to_reply(const redis_reply& reply) {
    redis::reply converted;
    switch (reply.type) {
    case redis_reply::kind::string: converted.type = redis::reply::kind::string; break;
    case redis_reply::kind::status: converted.type = redis::reply::kind::status; break;
    case redis_reply::kind::error: converted.type = redis::reply::kind::error; break;
    case redis_reply::kind::integer: converted.type = redis::reply::kind::integer; break;
    case redis_reply::kind::nil: converted.type = redis::reply::kind::nil; break;
    case redis_reply::kind::array: converted.type = redis::reply::kind::array; break;
    }
    converted.integer = reply.integer;
    converted.str = reply.str;
    for (const auto& element : reply.elements) {
        converted.elements.push_back(to_reply(element));
    }
    return converted;
}

redis_reply eval(const redis_server& server, std::string_view script, const queue::script_call& call) {
    std::vector<std::string> args{"EVAL", std::string(script), std::to_string(call.keys.size())};
    args.insert(args.end(), call.keys.begin(), call.keys.end());
    args.insert(args.end(), call.argv.begin(), call.argv.end());
    return server.command(args);
}

queue::admission_result admit(const redis_server& server, const queue::admission_call& call) {
    return queue::parse_admission_reply(to_reply(eval(server, queue::admission_script_source(), call)));
}

config::settings admission_settings(double rate, std::uint32_t burst) {
    config::settings settings;
    settings.ratelimit.rate = rate;
    settings.ratelimit.burst = burst;
    settings.idempotency.ttl_seconds = 3600;
    return settings;
}

std::string fake_sha256(std::string_view body) {
    std::string hex;
    std::uint64_t state = queue::fnv1a_64(body);
    for (int i = 0; i < 4; ++i) {
        char chunk[17];
        std::snprintf(chunk, sizeof chunk, "%016llx", static_cast<unsigned long long>(state));
        hex += chunk;
        state = queue::fnv1a_64(hex);
    }
    return hex;
}

request_factory::request_factory(const config::settings& settings, std::uint64_t seed)
    : settings_(settings), next_ms_(1'743'465'492'345 + static_cast<std::int64_t>(seed % 1'000'000) * 1'000'000) {}

queue::admission_request request_factory::make(std::string_view practice, std::string_view idempotency_key,
                                               std::string_view body, std::optional<std::int64_t> now_us) {
    queue::admission_request request;
    request.practice = practice;
    request.idempotency_key = idempotency_key;
    request.body_sha256_hex = fake_sha256(body);
    request.received_at = "2025-03-31T23:58:12.345Z";
    request.received_ms = next_ms_++;
    request.queue_payload = body;
    request.now_us = now_us;
    return request;
}

queue::admission_call request_factory::build(const queue::admission_request& request) {
    return queue::build_admission_call(request, settings_);
}

queue::admission_call request_factory::call(std::string_view practice, std::string_view idempotency_key,
                                            std::string_view body, std::optional<std::int64_t> now_us) {
    return build(make(practice, idempotency_key, body, now_us));
}

std::string numbered(std::string_view prefix, long long n) {
    std::string text(prefix);
    text += std::to_string(n);
    return text;
}

std::vector<std::string> all_keys(const redis_server& server) {
    std::vector<std::string> keys;
    const redis_reply reply = server.command({"KEYS", "*"});
    for (const auto& key : reply.as_array()) {
        keys.push_back(key.as_string());
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

}  // namespace sluice::test
