// ratelimit/gcra.lua inside a real Redis against ratelimit::gcra_check in C++: the same sequences
// of request times must give identical decisions, tats, remaining, retry and reset values, both
// through a small driver around gcra.lua alone and through the real admission script (where the
// tat is read back from Redis).
#include "tests/integration/queue/admission_support.hpp"

#include "embedded/gcra_lua.hpp"
#include "queue/admission.hpp"
#include "queue/keys.hpp"
#include "ratelimit/gcra.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sluice::test {
namespace {

using ratelimit::gcra_decision;
using ratelimit::gcra_policy;

constexpr std::int64_t wall_clock_2025 = 1'743'465'492'000'000;
// Lua numbers are doubles: integers are exact below 2^53. Sequences stay well below it.
constexpr std::int64_t exact_limit = std::int64_t{1} << 53;

// ARGV: rate, burst, mode ("check" or "peek"), then request times. Charges (check mode) like the
// admission script does: only allowed requests store their tat.
constexpr std::string_view driver = R"lua(
local rate, burst, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local tat = nil
local out = {}
for i = 4, #ARGV do
  local now = tonumber(ARGV[i])
  local allowed, new_tat, remaining, retry_after, reset_after
  if mode == 'peek' then
    allowed, new_tat, remaining, retry_after, reset_after = gcra.peek(rate, burst, tat, now)
    -- peek never stores; advance with a check so the sequence has some state to look at
    local charged, charged_tat = gcra.check(rate, burst, tat, now)
    if charged then tat = charged_tat end
  else
    allowed, new_tat, remaining, retry_after, reset_after = gcra.check(rate, burst, tat, now)
    if allowed then tat = new_tat end
  end
  out[#out + 1] = {allowed and 1 or 0, gcra.encode(new_tat), remaining, retry_after, reset_after}
end
return out
)lua";

std::vector<gcra_decision> lua_decisions(const gcra_policy& policy, std::string_view mode,
                                         const std::vector<std::int64_t>& times) {
    std::vector<std::string> args{"EVAL",
                                  std::string(embedded::gcra_lua) + std::string(driver),
                                  "0",
                                  ratelimit::format_rate(policy.rate),
                                  std::to_string(policy.burst),
                                  std::string(mode)};
    for (const auto now : times) {
        args.push_back(std::to_string(now));
    }
    const redis_reply reply = redis().command(args);
    std::vector<gcra_decision> decisions;
    for (const auto& row : reply.as_array()) {
        const auto& fields = row.as_array();
        gcra_decision decision;
        decision.allowed = fields.at(0).as_integer() == 1;
        decision.tat_us = std::stoll(fields.at(1).as_string());
        decision.remaining = static_cast<std::uint32_t>(fields.at(2).as_integer());
        decision.retry_after_us = fields.at(3).as_integer();
        decision.reset_after_us = fields.at(4).as_integer();
        decisions.push_back(decision);
    }
    return decisions;
}

std::vector<gcra_decision> cpp_decisions(const gcra_policy& policy, std::string_view mode,
                                         const std::vector<std::int64_t>& times) {
    std::vector<gcra_decision> decisions;
    std::optional<std::int64_t> tat;
    for (const auto now : times) {
        if (mode == "peek") {
            decisions.push_back(ratelimit::gcra_peek(policy, tat, now));
            const auto charged = ratelimit::gcra_check(policy, tat, now);
            if (charged.allowed) {
                tat = charged.tat_us;
            }
        } else {
            decisions.push_back(ratelimit::gcra_check(policy, tat, now));
            if (decisions.back().allowed) {
                tat = decisions.back().tat_us;
            }
        }
    }
    return decisions;
}

// Bursts (several requests in the same microsecond), hammering (gaps well below T), pauses long
// enough to recover fully, and a few steps back in time.
std::vector<std::int64_t> request_times(const gcra_policy& policy, std::int64_t start, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    const std::int64_t interval = ratelimit::emission_interval_us(policy);
    std::vector<std::int64_t> times;
    std::int64_t now = start;
    for (int i = 0; i < 300; ++i) {
        const auto kind = random() % 10;
        if (kind < 3) {
            // same instant
        } else if (kind < 7) {
            now += static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(interval / 3 + 1));
        } else if (kind < 9) {
            now += static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(2 * interval + 1));
        } else if (random() % 4 == 0) {
            now = std::max<std::int64_t>(
                0, now - static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(interval + 1)));
        } else if (now + ratelimit::tolerance_us(policy) + interval < exact_limit / 2) {
            now += ratelimit::tolerance_us(policy) + interval;  // full recovery
        }
        times.push_back(now);
    }
    return times;
}

const std::vector<gcra_policy> policies = {
    {2.0, 10},           // API.md's default
    {1.0, 1},            //
    {3.0, 4},            // T = 333333.33 rounds down
    {6.0, 2},            // T = 166666.67 rounds up
    {0.7, 3},            // fractional
    {1.0 / 3.0, 2},      // a rate whose decimal form is long
    {0.001, 1'000'000},  // config's extremes: T = 1e9 µs, tau = 1e15 µs
    {1'000'000.0, 1},    // T = 1 µs
    {123.456, 17},
};

TEST(gcra_parity, lua_check_equals_cpp_check) {
    std::uint64_t seed = 1;
    for (const auto& policy : policies) {
        for (const std::int64_t start : {std::int64_t{0}, wall_clock_2025, std::int64_t{4'000'000'000'000'000}}) {
            const auto times = request_times(policy, start, seed++);
            const auto expected = cpp_decisions(policy, "check", times);
            const auto actual = lua_decisions(policy, "check", times);
            ASSERT_EQ(actual.size(), expected.size());
            int denials = 0;
            for (std::size_t i = 0; i < times.size(); ++i) {
                ASSERT_EQ(actual[i], expected[i])
                    << "rate " << policy.rate << " burst " << policy.burst << " step " << i << " now " << times[i]
                    << ": lua allowed=" << actual[i].allowed << " tat=" << actual[i].tat_us
                    << " remaining=" << actual[i].remaining << " retry=" << actual[i].retry_after_us
                    << " reset=" << actual[i].reset_after_us << "; c++ allowed=" << expected[i].allowed
                    << " tat=" << expected[i].tat_us << " remaining=" << expected[i].remaining
                    << " retry=" << expected[i].retry_after_us << " reset=" << expected[i].reset_after_us;
                denials += expected[i].allowed ? 0 : 1;
            }
            if (policy.burst < 100) {
                EXPECT_GT(denials, 0) << "the sequence should exercise denials (rate " << policy.rate << ")";
            }
        }
    }
}

TEST(gcra_parity, lua_peek_equals_cpp_peek) {
    std::uint64_t seed = 1000;
    for (const auto& policy : policies) {
        const auto times = request_times(policy, wall_clock_2025, seed++);
        EXPECT_EQ(lua_decisions(policy, "peek", times), cpp_decisions(policy, "peek", times))
            << "rate " << policy.rate << " burst " << policy.burst;
    }
}

// Through the real admission script: each request is a new idempotency key; the decision, the
// numbers in the reply and the tat stored in Redis equal the C++ gcra_check's.
TEST(gcra_parity, admission_script_charges_exactly_like_gcra_check) {
    // Emission intervals of at least 0.5 s: the tat key's PEXPIRE runs on Redis's real clock while
    // the test's clock is simulated, so the key must outlive the real time between two steps.
    for (const auto& [rate, burst] : {std::pair{2.0, 3u}, std::pair{0.7, 2u}, std::pair{1.5, 1u}}) {
        ASSERT_EQ(redis().command({"FLUSHALL"}).as_string(), "OK");
        const config::settings settings = admission_settings(rate, burst);
        const gcra_policy policy{rate, burst};
        request_factory requests(settings);
        const std::int64_t interval = ratelimit::emission_interval_us(policy);
        // A burst, hammering while denied, a partial recovery, a full recovery.
        std::vector<std::int64_t> times;
        std::int64_t now = wall_clock_2025;
        for (int i = 0; i < 6; ++i) times.push_back(now);
        for (int i = 0; i < 6; ++i) times.push_back(now += interval / 4);
        for (int i = 0; i < 3; ++i) times.push_back(now += interval);
        times.push_back(now += ratelimit::tolerance_us(policy) + interval);
        for (int i = 0; i < 4; ++i) times.push_back(now);

        std::optional<std::int64_t> tat;
        const auto shard = queue::shard_of("A81001", settings.redis.shards);
        int accepted = 0;
        for (std::size_t i = 0; i < times.size(); ++i) {
            const auto expected = ratelimit::gcra_check(policy, tat, times[i]);
            const auto result = admit(redis(), requests.call("A81001", numbered("key-", i), "body", times[i]));
            if (expected.allowed) {
                ASSERT_EQ(result.outcome, queue::admission_outcome::accepted) << "rate " << rate << " step " << i;
                EXPECT_EQ(result.remaining, expected.remaining) << i;
                EXPECT_EQ(result.reset_after_us, expected.reset_after_us) << i;
                tat = expected.tat_us;
                ++accepted;
            } else {
                ASSERT_EQ(result.outcome, queue::admission_outcome::limited) << "rate " << rate << " step " << i;
                EXPECT_EQ(result.retry_after_us, expected.retry_after_us) << i;
                EXPECT_EQ(result.reset_after_us, expected.reset_after_us) << i;
            }
            EXPECT_EQ(redis().command({"HGET", queue::practice_key(shard, "A81001"), "tat"}).as_string(),
                      std::to_string(*tat))
                << i;
        }
        EXPECT_EQ(redis().command({"XLEN", queue::queue_key(shard)}).as_integer(), accepted);
    }
}

}  // namespace
}  // namespace sluice::test
