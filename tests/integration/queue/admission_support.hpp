// What the admission tests share: the conversion from the test client's reply to the production
// reply type, running a script call with EVAL, and realistic requests.
#pragma once

#include "config/config.hpp"
#include "queue/admission.hpp"
#include "redis/reply.hpp"
#include "tests/support/redis_environment.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

// test::redis_reply (hiredis via the test helper) -> redis::reply (what the gateway's client gives).
redis::reply to_reply(const redis_reply& reply);

// EVAL <script> <numkeys> KEYS... ARGV... on `server`.
redis_reply eval(const redis_server& server, std::string_view script, const queue::script_call& call);

// EVAL of the admission script, parsed as the gateway would.
queue::admission_result admit(const redis_server& server, const queue::admission_call& call);

// Defaults, but a small burst (tests run out of it quickly) and a one-hour TTL.
config::settings admission_settings(double rate = 2.0, std::uint32_t burst = 3);

// 64 lowercase hex digits standing in for the SHA-256 of `body` (the script only compares it).
std::string fake_sha256(std::string_view body);

// Complete requests and their calls as the gateway builds them: an id named by practice, key and
// a received time (each request a millisecond after the last, from a start the seed picks), the
// body.
class request_factory {
public:
    explicit request_factory(const config::settings& settings, std::uint64_t seed = 1);

    queue::admission_request make(std::string_view practice, std::string_view idempotency_key, std::string_view body,
                                  std::optional<std::int64_t> now_us = std::nullopt);
    // queue::build_admission_call(request, settings).
    queue::admission_call build(const queue::admission_request& request);
    // make() then build().
    queue::admission_call call(std::string_view practice, std::string_view idempotency_key, std::string_view body,
                               std::optional<std::int64_t> now_us = std::nullopt);

private:
    const config::settings& settings_;
    std::int64_t next_ms_;
};

// prefix + decimal n, e.g. numbered("key-", 3) == "key-3". (Appends: GCC 12 at -O3 warns
// falsely (-Wrestrict) about "literal" + std::to_string(n).)
std::string numbered(std::string_view prefix, long long n);

// Every key in the server, sorted.
std::vector<std::string> all_keys(const redis_server& server);

}  // namespace sluice::test
