// The whole pipeline, as the worker issue asks: 2,000 submissions through a real gateway, Redis
// and two real workers, one of them SIGKILLed midway, plus planted poison entries. Every
// submission must end calculated (its result written once), nothing may stay pending, and the
// dead-letter streams must hold exactly the poison.
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/redis_environment.hpp"

#include "queue/keys.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <set>
#include <thread>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();

constexpr std::uint32_t shards = 4;

// Counts status records by status, in one server-side pass.
long long count_status(std::string_view status) {
    static const std::string script = R"(
        local n = 0
        for _, k in ipairs(redis.call('KEYS', 'sluice:*:sub:*')) do
            if redis.call('HGET', k, 'status') == ARGV[1] then n = n + 1 end
        end
        return n)";
    return redis().command({"EVAL", script, "0", std::string(status)}).as_integer();
}

TEST(Pipeline, TwoThousandSubmissionsTwoWorkersOneKilledEachCalculatedOnce) {
    redis().command({"FLUSHALL"});
    std::vector<test_credential> practices;
    std::string lines;
    for (int i = 0; i < 100; ++i) {
        char code[16];
        std::snprintf(code, sizeof code, "W%05d", i);
        practices.push_back(make_credential(code));
        lines += practices.back().line;
    }
    gateway_process gw({"[redis]\nshards = 4\n[ratelimit.per_practice]\nrate = 1000.0\nburst = 1000\n", 2, "", lines});
    worker_config wc;
    wc.shards = shards;
    wc.claim_idle_ms = 500;
    wc.max_attempts = 3;
    wc.concurrency = 32;
    worker_process doomed(wc);
    worker_process survivor(wc);

    // Two poison entries, queued as the gateway would but with bodies no worker can read.
    std::set<std::string> poison;
    poison.insert(enqueue(redis(), shards, "W00001", "{not json").submission_id);
    poison.insert(enqueue(redis(), shards, "W00002", R"({"practice":"W00002","period":"1999-00"})").submission_id);

    // 2,000 submissions, 20 per practice, from 8 keep-alive connections.
    std::atomic<int> accepted{0}, other{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t)
        clients.emplace_back([&, t] {
            raw_client c(gw.port());
            for (int n = t; n < 2000; n += 8) {
                const auto& who = practices[static_cast<std::size_t>(n % 100)];
                const std::string body = R"({"practice":")" + who.practice +
                                         R"(","period":"2024-25","scheme":"QOF","list_size":8123,"items":[{"code":"AF006","numerator":)" +
                                         std::to_string(50 + n % 90) +
                                         R"(,"denominator":140}],"registers":[{"condition":"AF","size":201}]})";
                const std::string headers = "Authorization: Bearer " + who.token + "\r\nIdempotency-Key: p" +
                                            std::to_string(n) + "\r\nContent-Type: application/json\r\n";
                if (!c.send(post_request("/v1/submissions", body, headers))) {
                    ++other;
                    return;
                }
                auto r = c.read_answer();
                if (r && r->status == 202) ++accepted;
                else ++other;
                if (n == 1000 + t) {  // midway through the load: one worker dies holding work
                    static std::atomic<bool> killed{false};
                    if (!killed.exchange(true)) doomed.send_signal(SIGKILL);
                }
            }
        });
    for (auto& c : clients) c.join();
    ASSERT_EQ(accepted.load(), 2000);
    ASSERT_EQ(other.load(), 0);
    EXPECT_EQ(doomed.wait_exit(5s), std::optional<int>(-SIGKILL));

    // The survivor finishes everything, reclaiming what the dead worker held.
    const bool done = eventually([&] { return count_status("calculated") == 2000; }, 60s);
    EXPECT_TRUE(done) << count_status("calculated") << " calculated; survivor log:\n" << survivor.log();
    EXPECT_TRUE(eventually([&] { return count_status("failed") == 2; }, 30s)) << survivor.log();

    long long pending = 0;
    std::set<std::string> dead_lettered;
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        pending += pending_count(redis(), queue::queue_key(shard));
        for (const auto& [id, fields] : stream(redis(), "sluice:{" + std::to_string(shard) + "}:dlq")) {
            dead_lettered.insert(fields.count("id") ? fields.at("id") : id);
            EXPECT_FALSE(fields.count("reason") == 0 || fields.at("reason").empty()) << id;
        }
    }
    EXPECT_EQ(pending, 0);
    EXPECT_EQ(dead_lettered, poison);

    // Each calculated record has its result once: the JSON the calculation writes.
    const auto subs = redis().command({"KEYS", "sluice:*:sub:*"});
    int with_result = 0;
    for (const auto& k : subs.as_array()) {
        const auto h = hash(redis(), k.as_string());
        if (h.count("status") && h.at("status") == "calculated") {
            ++with_result;
            EXPECT_TRUE(h.count("result") && h.at("result").find("\"payment_gbp\"") != std::string::npos) << k.as_string();
        }
    }
    EXPECT_EQ(with_result, 2000);

    // The practice sees it as calculated through the API.
    const auto& who = practices[0];
    const auto some_sub = redis().command({"EVAL",
                                           "for _, k in ipairs(redis.call('KEYS', 'sluice:*:sub:*')) do "
                                           "if redis.call('HGET', k, 'practice') == ARGV[1] then return redis.call('HGET', k, 'id') end end",
                                           "0", who.practice})
                              .as_string();
    raw_client c(gw.port());
    ASSERT_TRUE(c.send(get_request("/v1/submissions/" + some_sub, "Authorization: Bearer " + who.token + "\r\n")));
    auto status = c.read_answer();
    ASSERT_TRUE(status);
    EXPECT_EQ(status->status, 200);
    EXPECT_NE(status->body.find("\"status\":\"calculated\""), std::string::npos) << status->body;
    EXPECT_NE(status->body.find("\"result\":{"), std::string::npos) << status->body;
    // ...with the result as the worker wrote it, byte for byte: two decimals, never an exponent.
    const auto stored = hash(redis(), queue::submission_key(static_cast<std::uint32_t>(std::stoul(some_sub)), some_sub));
    ASSERT_TRUE(stored.count("result")) << some_sub;
    EXPECT_NE(status->body.find("\"result\":" + stored.at("result")), std::string::npos) << status->body;

    survivor.send_signal(SIGTERM);
    EXPECT_EQ(survivor.wait_exit(10s), std::optional<int>(0)) << survivor.log();
}

}  // namespace
}  // namespace sluice::test
