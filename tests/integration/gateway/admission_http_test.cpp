// POST /v1/submissions and GET /v1/submissions/{id} end to end: a real sluice-gateway process
// and a real redis-server. Every row of API.md's credential, idempotency and rate-limit rules,
// plus the issue's scenarios: one key hammered concurrently, 50 practices at full speed against
// their GCRA allowance, and Redis killed under load.
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/support/redis_environment.hpp"
#include "tests/support/redis_server.hpp"

#include "config/digest.hpp"
#include "credentials/credentials.hpp"
#include "queue/keys.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();

using clock = std::chrono::steady_clock;

long long stream_length(std::uint32_t shard) { return redis().command({"XLEN", queue::queue_key(shard)}).as_integer(); }

long long total_queued() {
    long long n = 0;
    for (std::uint32_t shard = 0; shard < 16; ++shard) n += stream_length(shard);
    return n;
}

class Admission : public ::testing::Test {
protected:
    void SetUp() override { redis().command({"FLUSHALL"}); }

    test_credential a = make_credential("A81001");
    test_credential b = make_credential("B82002");
};

TEST_F(Admission, AcceptsQueuesAndAnswersWithAReceipt) {
    gateway_process gw({"", 1, "", a.line + b.line});
    const auto body = qof_body(a.practice);
    auto r = ask(gw.port(), submit_request(a, "key-1", body));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    const auto id = json_string(r->body, "submission_id");
    const auto shard = queue::shard_of(a.practice, 16);
    EXPECT_EQ(queue::shard_of_submission_id(id, 16), std::optional<std::uint32_t>(shard)) << id;
    EXPECT_EQ(r->header("location"), "/v1/submissions/" + id);
    EXPECT_EQ(json_string(r->body, "status"), "queued");
    EXPECT_EQ(json_string(r->body, "practice"), a.practice);
    EXPECT_EQ(json_string(r->body, "status_url"), "/v1/submissions/" + id);
    EXPECT_EQ(json_string(r->body, "content_sha256"), config::to_hex(config::sha256(body)));
    EXPECT_EQ(json_string(r->body, "received_at").size(), 24u);  // 2025-03-31T23:58:12.345Z
    EXPECT_EQ(r->header("ratelimit-policy"), R"("practice";q=10;w=5)");
    EXPECT_EQ(r->header("ratelimit").rfind(R"("practice";r=9;t=)", 0), 0u) << r->header("ratelimit");
    EXPECT_FALSE(r->header("x-request-id").empty());
    EXPECT_TRUE(r->header("credential-expires").empty());  // a year away: beyond warn_days

    // Durably queued: one stream entry carrying the body as received, and the status record.
    EXPECT_EQ(stream_length(shard), 1);
    const auto entries = redis().command({"XRANGE", queue::queue_key(shard), "-", "+"});
    ASSERT_EQ(entries.as_array().size(), 1u);
    const auto& fields = entries.as_array()[0].as_array()[1].as_array();
    std::map<std::string, std::string> entry;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) entry[fields[i].as_string()] = fields[i + 1].as_string();
    EXPECT_EQ(entry["id"], id);
    EXPECT_EQ(entry["body"], body);
    EXPECT_EQ(redis().command({"HGET", queue::submission_key(shard, id), "status"}).as_string(), "queued");

    // The practice reads it back; another practice and unknown ids get 404.
    auto mine = ask(gw.port(), status_request(a, id));
    ASSERT_TRUE(mine);
    EXPECT_EQ(mine->status, 200) << mine->body;
    EXPECT_EQ(json_string(mine->body, "status"), "queued");
    EXPECT_EQ(json_string(mine->body, "submission_id"), id);
    EXPECT_EQ(json_string(mine->body, "content_sha256"), config::to_hex(config::sha256(body)));
    EXPECT_NE(mine->body.find("\"attempts\":0"), std::string::npos) << mine->body;
    EXPECT_FALSE(mine->header("ratelimit").empty());
    auto theirs = ask(gw.port(), status_request(b, id));
    ASSERT_TRUE(theirs);
    EXPECT_EQ(theirs->status, 404);
    EXPECT_TRUE(is_problem(*theirs, "not-found"));
    for (const std::string& bad : {std::to_string(shard) + "-" + std::string(32, 'f'), std::string("nonsense"),
                                   std::string("99999-") + std::string(32, '0')}) {
        auto unknown = ask(gw.port(), status_request(a, bad));
        ASSERT_TRUE(unknown);
        EXPECT_EQ(unknown->status, 404) << bad;
    }
}

TEST_F(Admission, IdempotencyTable) {
    gateway_process gw({"", 1, "", a.line});
    const auto body = qof_body(a.practice);
    auto first = ask(gw.port(), submit_request(a, "same-key", body));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 202);
    const auto shard = queue::shard_of(a.practice, 16);
    const auto tat = redis().command({"HGET", queue::practice_key(shard, a.practice), "tat"}).as_string();

    // Same key, same body: the first answer again, not queued again, not charged.
    auto replay = ask(gw.port(), submit_request(a, "same-key", body));
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->status, 202);
    EXPECT_EQ(replay->body, first->body);
    EXPECT_EQ(replay->header("idempotent-replayed"), "true");
    EXPECT_EQ(replay->header("location"), first->header("location"));
    EXPECT_EQ(stream_length(shard), 1);
    EXPECT_EQ(redis().command({"HGET", queue::practice_key(shard, a.practice), "tat"}).as_string(), tat);

    // Same key, another body: 422 idempotency-key-reused, nothing queued.
    auto reused = ask(gw.port(), submit_request(a, "same-key", qof_body(a.practice, 121)));
    ASSERT_TRUE(reused);
    EXPECT_EQ(reused->status, 422);
    EXPECT_TRUE(is_problem(*reused, "idempotency-key-reused")) << reused->body;
    EXPECT_EQ(stream_length(shard), 1);

    // First still in flight (a pending record, as with durability.replicas): 409, Retry-After: 1.
    const auto pending = queue::submission_key(shard, queue::submission_id_for(shard, a.practice, "pending-key", 0));
    redis().command({"HSET", pending, "practice", a.practice, "content_sha256", config::to_hex(config::sha256(body)),
                     "state", "pending", "id", "x", "pending_until", "99999999999999999"});
    auto in_use = ask(gw.port(), submit_request(a, "pending-key", body));
    ASSERT_TRUE(in_use);
    EXPECT_EQ(in_use->status, 409);
    EXPECT_TRUE(is_problem(*in_use, "idempotency-key-in-use")) << in_use->body;
    EXPECT_EQ(in_use->header("retry-after"), "1");

    // Key missing or malformed: 400.
    for (const std::string& key : {std::string(), std::string(256, 'k')}) {
        auto bad = ask(gw.port(), submit_request(a, key, body));
        ASSERT_TRUE(bad);
        EXPECT_EQ(bad->status, 400) << key.size();
        EXPECT_TRUE(is_problem(*bad, "bad-idempotency-key")) << bad->body;
        EXPECT_FALSE(bad->header("ratelimit-policy").empty());
    }
    auto control = ask(gw.port(), submit_request(a,
                                                 "has\x01"
                                                 "control",
                                                 body));
    ASSERT_TRUE(control);
    EXPECT_EQ(control->status, 400);
    EXPECT_EQ(stream_length(shard), 1);
}

TEST_F(Admission, CredentialsTable) {
    auto soon = make_credential("C83003", 5 * 24 * 3600);  // inside warn_days (30)
    auto expired = make_credential("D84004", -3600);
    gateway_process gw({"", 1, "", a.line + soon.line + expired.line});
    const auto body = qof_body(a.practice);

    auto none = ask(gw.port(),
                    post_request("/v1/submissions", body, "Idempotency-Key: k\r\nContent-Type: application/json\r\n"));
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    EXPECT_EQ(none->header("www-authenticate"), "Bearer");
    EXPECT_TRUE(is_problem(*none, "unauthorized"));

    test_credential forged = a;
    forged.token[5] = forged.token[5] == 'A' ? 'B' : 'A';
    auto wrong = ask(gw.port(), submit_request(forged, "k", body));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    EXPECT_EQ(wrong->header("www-authenticate"), "Bearer");

    auto old = ask(gw.port(), submit_request(expired, "k", qof_body(expired.practice)));
    ASSERT_TRUE(old);
    EXPECT_EQ(old->status, 401);
    EXPECT_TRUE(is_problem(*old, "credential-expired")) << old->body;
    const auto expired_at = expired.line.substr(expired.line.rfind(',') + 1, 20);
    EXPECT_NE(old->body.find(expired_at), std::string::npos) << old->body << " should say " << expired_at;

    auto warned = ask(gw.port(), submit_request(soon, "k", qof_body(soon.practice)));
    ASSERT_TRUE(warned);
    EXPECT_EQ(warned->status, 202) << warned->body;
    EXPECT_EQ(warned->header("credential-expires"), soon.line.substr(soon.line.rfind(',') + 1, 20));

    // Someone else's practice in the body: 403, nothing queued.
    auto other = ask(gw.port(), submit_request(a, "k2", qof_body("B82002")));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 403);
    EXPECT_TRUE(is_problem(*other, "forbidden"));
    EXPECT_EQ(total_queued(), 1);
}

TEST_F(Admission, FailedAttemptsAreThrottledPerAddressWithoutLockingThePractice) {
    gateway_process gw({"", 1, "", a.line});
    test_credential forged = a;
    forged.token = credentials::new_token();
    int unauthorized = 0, throttled = 0;
    std::string retry_after;
    for (int i = 0; i < 15; ++i) {
        auto r = ask(gw.port(), submit_request(forged, "k", qof_body(a.practice)));
        ASSERT_TRUE(r);
        if (r->status == 401) ++unauthorized;
        if (r->status == 429) {
            ++throttled;
            EXPECT_TRUE(is_problem(*r, "too-many-failed-attempts")) << r->body;
            retry_after = r->header("retry-after");
        }
    }
    EXPECT_EQ(unauthorized, 10);  // the burst of failures allowed per address
    EXPECT_EQ(throttled, 5);
    EXPECT_FALSE(retry_after.empty());
    // The practice itself is not locked out: its valid token works from the same address at once.
    auto r = ask(gw.port(), submit_request(a, "k", qof_body(a.practice)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 202) << r->body;
}

TEST_F(Admission, BadBodiesAre400Or422WithPointers) {
    gateway_process gw({"[limits]\nmax_body_bytes = 4096\n", 1, "", a.line});
    auto wrong_type = ask(gw.port(), submit_request(a, "k", qof_body(a.practice), "text/plain"));
    ASSERT_TRUE(wrong_type);
    EXPECT_EQ(wrong_type->status, 415);
    EXPECT_TRUE(is_problem(*wrong_type, "unsupported-media-type"));

    auto malformed = ask(gw.port(), submit_request(a, "k", R"({"practice": "A81001",)"));
    ASSERT_TRUE(malformed);
    EXPECT_EQ(malformed->status, 400);
    EXPECT_TRUE(is_problem(*malformed, "malformed-json")) << malformed->body;

    auto body = qof_body(a.practice);
    body.replace(body.find("\"numerator\":120"), 15, "\"numerator\":999");  // above its denominator
    body.replace(body.find("HYP008"), 6, "NOPE01");                         // unknown code
    auto invalid = ask(gw.port(), submit_request(a, "k", body));
    ASSERT_TRUE(invalid);
    EXPECT_EQ(invalid->status, 422) << invalid->body;
    EXPECT_TRUE(is_problem(*invalid, "invalid-submission")) << invalid->body;
    EXPECT_NE(invalid->body.find(R"("pointer":"/items/0/numerator")"), std::string::npos) << invalid->body;
    EXPECT_NE(invalid->body.find(R"("pointer":"/items/1/code")"), std::string::npos) << invalid->body;
    EXPECT_FALSE(invalid->header("ratelimit").empty());

    auto big = ask(gw.port(), submit_request(a, "k", std::string(5000, ' ')));
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    EXPECT_EQ(total_queued(), 0);
}

TEST_F(Admission, OverTheRateLimitIs429AndLeavesNothingInRedis) {
    gateway_process gw({"[ratelimit.per_practice]\nrate = 0.2\nburst = 3\n", 1, "", a.line});
    const auto shard = queue::shard_of(a.practice, 16);
    for (int i = 0; i < 3; ++i) {
        auto r = ask(gw.port(), submit_request(a, "key-" + std::to_string(i), qof_body(a.practice, 100 + i)));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 202) << i;
    }
    const auto keys_before = redis().command({"DBSIZE"}).as_integer();
    auto limited = ask(gw.port(), submit_request(a, "key-3", qof_body(a.practice, 103)));
    ASSERT_TRUE(limited);
    EXPECT_EQ(limited->status, 429);
    EXPECT_TRUE(is_problem(*limited, "rate-limited")) << limited->body;
    const int retry_after = std::stoi(limited->header("retry-after"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 5);  // one emission interval at 0.2/s
    EXPECT_EQ(limited->header("ratelimit").rfind(R"("practice";r=0;)", 0), 0u) << limited->header("ratelimit");
    EXPECT_EQ(stream_length(shard), 3);
    EXPECT_EQ(redis().command({"DBSIZE"}).as_integer(), keys_before);
    EXPECT_TRUE(
        redis()
            .command({"EXISTS", queue::submission_key(shard, queue::submission_id_for(shard, a.practice, "key-3", 0))})
            .as_integer() == 0);
}

TEST_F(Admission, OneKeyHammeredConcurrentlyIsQueuedExactlyOnce) {
    gateway_process gw({"", 2, "", a.line});
    const auto body = qof_body(a.practice);
    std::mutex m;
    std::map<int, int> statuses;
    std::set<std::string> receipts;
    int bad_answers = 0;
    std::vector<std::thread> clients;
    for (int conn = 0; conn < 50; ++conn)
        clients.emplace_back([&] {
            raw_client c(gw.port());
            for (int i = 0; i < 4; ++i) {  // 50 connections x 4 = 200 requests
                if (!c.send(submit_request(a, "the-one-key", body))) break;
                auto r = c.read_answer();
                std::lock_guard lock(m);
                if (!r) {
                    ++bad_answers;
                    break;
                }
                ++statuses[r->status];
                if (r->status == 202)
                    receipts.insert(r->body);
                else if (r->status != 409)
                    ++bad_answers;
            }
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(bad_answers, 0);
    EXPECT_EQ(statuses[202] + statuses[409], 200);
    EXPECT_EQ(receipts.size(), 1u) << "every 202 must be the one receipt or its replay";
    EXPECT_EQ(total_queued(), 1);
}

TEST_F(Admission, EachPracticeGetsItsGcraAllowanceUnderHammering) {
    std::vector<test_credential> practices;
    std::string lines;
    for (int i = 0; i < 50; ++i) {
        char code[8];
        std::snprintf(code, sizeof code, "P%05d", 10000 + i);
        practices.push_back(make_credential(code));
        lines += practices.back().line;
    }
    gateway_process gw({"", 2, "", lines});
    constexpr double rate = 2.0;  // the defaults: 2/s, burst 10
    constexpr int burst = 10;
    constexpr auto duration = std::chrono::seconds(5);
    std::vector<int> accepted(practices.size(), 0);
    // The server's window of arrivals is only known within each request's round trip: it lies
    // between (last sent - first answered) and (last answered - first sent).
    std::vector<double> shortest_span(practices.size(), 0), longest_span(practices.size(), 0);
    std::atomic<int> unexpected{0};
    std::vector<std::thread> clients;
    for (std::size_t t = 0; t < 10; ++t)
        clients.emplace_back([&, t] {
            std::vector<std::unique_ptr<raw_client>> conns;
            struct window {
                clock::time_point first_sent{}, first_answered{}, last_sent{}, last_answered{};
            };
            std::vector<window> w(practices.size());
            for (std::size_t p = t; p < practices.size(); p += 10)
                conns.push_back(std::make_unique<raw_client>(gw.port()));
            const auto end = clock::now() + duration;
            int n = 0;
            while (clock::now() < end) {
                std::size_t slot = 0;
                for (std::size_t p = t; p < practices.size(); p += 10, ++slot) {
                    const auto sent = clock::now();
                    const auto& who = practices[p];
                    if (!conns[slot]->send(submit_request(who, "k" + std::to_string(n), qof_body(who.practice)))) {
                        ++unexpected;
                        return;
                    }
                    auto r = conns[slot]->read_answer();
                    const auto answered = clock::now();
                    if (w[p].first_sent == clock::time_point{}) w[p].first_sent = sent, w[p].first_answered = answered;
                    w[p].last_sent = sent;
                    w[p].last_answered = answered;
                    if (!r || (r->status != 202 && r->status != 429)) ++unexpected;
                    if (r && r->status == 202) ++accepted[p];
                }
                ++n;
            }
            for (std::size_t p = t; p < practices.size(); p += 10) {
                shortest_span[p] = std::chrono::duration<double>(w[p].last_sent - w[p].first_answered).count();
                longest_span[p] = std::chrono::duration<double>(w[p].last_answered - w[p].first_sent).count();
            }
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(unexpected.load(), 0);
    for (std::size_t p = 0; p < practices.size(); ++p) {
        // GCRA allowance over a window t: burst + rate * t; the count may be one below it (the
        // next emission falls just after the last arrival) and the window is known within the
        // round trips above.
        const double low = burst + rate * shortest_span[p] - 1.0;
        const double high = burst + rate * longest_span[p] + 1.0;
        EXPECT_GE(accepted[p], low - 1e-9) << practices[p].practice << " over " << shortest_span[p] << " s";
        EXPECT_LE(accepted[p], high + 1e-9) << practices[p].practice << " over " << longest_span[p] << " s";
        EXPECT_GE(accepted[p], burst + static_cast<int>(rate * 4.5)) << "the window must really be ~5 s";
    }
}

TEST_F(Admission, MetricsCountAdmissionsByOutcomeRedisRoundTripsAndQueueLength) {
    gateway_process gw({"", 1, "", a.line});
    ASSERT_EQ(ask(gw.port(), submit_request(a, "m1", qof_body(a.practice)))->status, 202);
    ASSERT_EQ(ask(gw.port(), submit_request(a, "m1", qof_body(a.practice)))->status, 202);  // replay
    ASSERT_EQ(ask(gw.port(), submit_request(a, "m1", qof_body(a.practice, 7)))->status, 422);
    ASSERT_EQ(ask(gw.port(), submit_request(a, "m2", "{"))->status, 400);
    test_credential nobody = make_credential("Z99999");
    ASSERT_EQ(ask(gw.port(), submit_request(nobody, "m3", qof_body(nobody.practice)))->status, 401);
    ASSERT_EQ(ask(gw.port(), submit_request(a, "m4", qof_body("B82002")))->status, 403);
    const auto shard = std::to_string(queue::shard_of(a.practice, 16));
    std::string text;
    const auto deadline = clock::now() + 3s;  // the queue length is sampled once a second
    while (clock::now() < deadline) {
        text = ask(gw.port(), get_request("/metrics"))->body;
        if (text.find("sluice_queue_length{shard=\"" + shard + "\"} 1\n") != std::string::npos) break;
        std::this_thread::sleep_for(100ms);
    }
    for (const auto* line :
         {"sluice_admissions_total{outcome=\"accepted\"} 1\n", "sluice_admissions_total{outcome=\"replayed\"} 1\n",
          "sluice_admissions_total{outcome=\"reused\"} 1\n", "sluice_admissions_total{outcome=\"invalid\"} 1\n",
          "sluice_admissions_total{outcome=\"unauthorized\"} 1\n", "sluice_admissions_total{outcome=\"forbidden\"} 1\n",
          "sluice_admissions_total{outcome=\"limited\"} 0\n", "sluice_admissions_total{outcome=\"shed\"} 0\n",
          "sluice_admissions_inflight 0\n", "sluice_http_requests_total{route=\"submit\",status=\"202\"} 2\n"})
        EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
    EXPECT_NE(text.find("sluice_queue_length{shard=\"" + shard + "\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("sluice_redis_round_trip_seconds_count "), std::string::npos);
    EXPECT_EQ(text.find("sluice_redis_round_trip_seconds_count 0\n"), std::string::npos) << text;
}

TEST_F(Admission, SighupReloadsCredentialsWithoutDroppingConnections) {
    gateway_process gw({"", 1, "", a.line});
    raw_client kept(gw.port());
    ASSERT_TRUE(kept.send(submit_request(b, "r1", qof_body(b.practice))));
    auto before = kept.read_answer();
    ASSERT_TRUE(before);
    EXPECT_EQ(before->status, 401);
    gw.rewrite_credentials(a.line + b.line);
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("reloaded configuration: 2 credential(s)", 3s)) << gw.log();
    ASSERT_TRUE(kept.send(submit_request(b, "r1", qof_body(b.practice))));
    auto after = kept.read_answer();
    ASSERT_TRUE(after) << "the connection was dropped by the reload";
    EXPECT_EQ(after->status, 202) << after->body;
    // A broken file is refused; the running table stays.
    gw.rewrite_credentials("not,a,credential\n");
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("reload refused", 3s)) << gw.log();
    auto still = ask(gw.port(), submit_request(b, "r2", qof_body(b.practice, 99)));
    ASSERT_TRUE(still);
    EXPECT_EQ(still->status, 202) << still->body;
}

// log.requests: one line per request with its request id, practice, route, status and latency, in
// the JSON format a log shipper reads; off (the default) the gateway writes no request line, and
// a SIGHUP turns it on without a restart.
TEST_F(Admission, RequestLogIsOffByDefaultAndOneJsonObjectPerRequestWhenOn) {
    gateway_process gw({"[log]\nformat = \"json\"\n", 1, "", a.line});
    auto r = ask(gw.port(), submit_request(a, "log-1", qof_body(a.practice)));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_EQ(gw.log().find("\"message\":\"request\""), std::string::npos) << "off by default: " << gw.log();
    EXPECT_NE(gw.log().find(R"("level":"info","program":"sluice-gateway","message":"allocator:)"), std::string::npos)
        << "operator lines are JSON too: " << gw.log();

    gw.rewrite_config("[log]\nformat = \"json\"\nrequests = true\n");
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("reloaded configuration", 3s)) << gw.log();
    raw_client c(gw.port());
    ASSERT_TRUE(c.send(submit_request(a, "log-2", qof_body(a.practice, 100))));
    auto accepted = c.read_answer();
    ASSERT_TRUE(accepted);
    ASSERT_EQ(accepted->status, 202) << accepted->body;
    const auto request_id = accepted->header("x-request-id");
    ASSERT_TRUE(c.send(get_request("/nowhere")));
    auto missing = c.read_answer();
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    const std::string submitted = R"("message":"request","request_id":")" + request_id +
                                  R"(","practice":"A81001","route":"submit","status":202,"latency_ms":)";
    ASSERT_TRUE(gw.wait_for_log(submitted, 3s)) << gw.log();
    ASSERT_TRUE(gw.wait_for_log(R"("practice":null,"route":"unmatched","status":404,"latency_ms":)", 3s)) << gw.log();
    // Every line of the log is one JSON object.
    std::istringstream lines(gw.log());
    for (std::string line; std::getline(lines, line);) {
        EXPECT_EQ(line.front(), '{') << line;
        EXPECT_EQ(line.back(), '}') << line;
    }
}

TEST_F(Admission, RedisDownMeans503AtOnceAndNotReady) {
    gateway_process gw({"", 1, "", a.line});
    auto ready = ask(gw.port(), get_request("/readyz"));
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200);

    redis().stop();
    // Readiness follows the connection; the first call after the loss may see it first.
    auto deadline = clock::now() + 3s;
    std::optional<http_answer> r;
    while (clock::now() < deadline) {
        const auto sent = clock::now();
        r = ask(gw.port(), submit_request(a, "k", qof_body(a.practice)));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 503) << r->body;
        EXPECT_LE(clock::now() - sent, 300ms);
        auto probe = ask(gw.port(), get_request("/readyz"));
        if (probe && probe->status == 503) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(is_problem(*r, "unavailable")) << r->body;
    const int retry_after = std::stoi(r->header("retry-after"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 2);
    // Every authenticated answer carries the rate-limit fields; with Redis down nothing is allowed
    // until Retry-After.
    EXPECT_FALSE(r->header("ratelimit-policy").empty());
    EXPECT_EQ(r->header("ratelimit"), "\"practice\";r=0;t=" + std::to_string(retry_after));
    auto not_ready = ask(gw.port(), get_request("/readyz"));
    ASSERT_TRUE(not_ready);
    EXPECT_EQ(not_ready->status, 503);

    // Redis had been down for a while, so the reconnect backoff is at its cap (300 ms): ready
    // again within about that once Redis answers (the issue's target: 0.5 s; 2.8 s before). The
    // bound here leaves room for a busy CI machine; the figure is printed.
    std::this_thread::sleep_for(1500ms);
    redis().start();  // returns once Redis answers PING
    const auto back = clock::now();
    deadline = back + 5s;
    int status = 0;
    while (clock::now() < deadline && status != 200) {
        if (auto p = ask(gw.port(), get_request("/readyz"))) status = p->status;
        if (status != 200) std::this_thread::sleep_for(10ms);
    }
    const auto recovery = clock::now() - back;
    EXPECT_EQ(status, 200) << "not ready again after Redis came back";
    std::printf("ready again %.0f ms after Redis answered\n",
                std::chrono::duration<double, std::milli>(recovery).count());
    EXPECT_LE(recovery, 1500ms);
    auto after = ask(gw.port(), submit_request(a, "k", qof_body(a.practice)));
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 202) << after->body;
}

// The value of one metric line ("name{labels} value"), -1 if absent.
long long metric_value(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
}

TEST_F(Admission, DurabilityReplicasWaitsForTheReplicaBefore202) {
    // A real replica of the test's redis-server (its first sync starts at once, not after 5 s).
    redis().command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"});
    redis_server_options replica_options;
    replica_options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(redis().port())};
    redis_server replica(replica_options);
    const auto link_deadline = clock::now() + 10s;
    while (clock::now() < link_deadline &&
           replica.command({"INFO", "replication"}).as_string().find("master_link_status:up") == std::string::npos)
        std::this_thread::sleep_for(50ms);
    ASSERT_NE(replica.command({"INFO", "replication"}).as_string().find("master_link_status:up"), std::string::npos);
    // The link being up on the replica's side is not enough: after the sync, Redis 7.0's master
    // streams writes to the replica only once the replica has acknowledged (REPLCONF ACK, sent
    // once a second), so a WAIT before then times out. Wait until the master sees the replica
    // acknowledge a write made after the sync. (WAIT itself cannot probe this here: each
    // command() is a new connection, and a connection that wrote nothing waits for nothing.)
    //
    // master_info(prefix): the number after `prefix` in the master's INFO replication, -1 if absent.
    const auto master_info = [&](const std::string& prefix) -> long long {
        const auto info = redis().command({"INFO", "replication"}).as_string();
        const auto at = info.find(prefix);
        return at == std::string::npos ? -1 : std::stoll(info.substr(at + prefix.size()));
    };
    const auto ack_deadline = clock::now() + 10s;
    bool acknowledged = false;
    while (!acknowledged && clock::now() < ack_deadline) {
        redis().command({"SET", "replica-probe", "1"});
        const auto written = master_info("master_repl_offset:");
        for (int i = 0; i < 40 && !acknowledged; ++i) {
            std::this_thread::sleep_for(50ms);
            acknowledged = master_info(",offset=") >= written;  // slave0:ip=...,state=online,offset=N
        }
    }
    redis().command({"DEL", "replica-probe"});
    ASSERT_TRUE(acknowledged) << "the replica never acknowledged a write";

    gateway_process gw(
        {"[durability]\nreplicas = 1\nwait_timeout_ms = 300\n[redis]\ntimeout_ms = 1000\n"
         "[ratelimit.per_practice]\nburst = 100\n",
         1, "", a.line + b.line});
    auto r = ask(gw.port(), submit_request(a, "k1", qof_body(a.practice)));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    // 202 came after WAIT: the replica already holds the status record and the queue entry.
    const auto id = json_string(r->body, "submission_id");
    const auto shard = queue::shard_of(a.practice, 16);
    EXPECT_EQ(replica.command({"EXISTS", queue::submission_key(shard, id)}).as_integer(), 1);
    EXPECT_EQ(replica.command({"XLEN", queue::queue_key(shard)}).as_integer(), 1);
    // ... and the idempotency record is done, so a retry replays rather than 409.
    auto replay = ask(gw.port(), submit_request(a, "k1", qof_body(a.practice)));
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->status, 202) << replay->body;
    EXPECT_EQ(replay->header("idempotent-replayed"), "true");

    // Concurrent admissions share WAITs (group commit): 40 requests written before any answer is
    // read are covered by far fewer than 40 WAITs.
    std::vector<std::unique_ptr<raw_client>> clients;
    for (int i = 0; i < 40; ++i) {
        const auto& who = i % 2 ? a : b;
        clients.push_back(std::make_unique<raw_client>(gw.port()));
        ASSERT_TRUE(clients.back()->send(submit_request(who, "c" + std::to_string(i), qof_body(who.practice, i))));
    }
    int accepted = 0;
    for (auto& client : clients) {
        auto answer = client->read_answer(5s);
        if (answer && answer->status == 202) ++accepted;
    }
    EXPECT_EQ(accepted, 40);
    auto metrics = ask(gw.port(), get_request("/metrics"))->body;
    const auto waits = metric_value(metrics, "sluice_replication_waits_total");
    EXPECT_GE(waits, 2);
    EXPECT_LT(waits, 1 + accepted / 2) << metrics;
    std::cout << "group commit: " << accepted + 1 << " admissions, " << waits << " WAITs\n";
    EXPECT_EQ(metric_value(metrics, "sluice_replication_shortfalls_total"), 0);

    // The replica stops answering: the 202 still comes, after WAIT's timeout, and is counted.
    replica.pause();
    const auto sent = clock::now();
    auto late = ask(gw.port(), submit_request(b, "late", qof_body(b.practice, 99)));
    const auto took = clock::now() - sent;
    replica.resume();
    ASSERT_TRUE(late);
    EXPECT_EQ(late->status, 202) << late->body;
    EXPECT_GE(took, 290ms);
    metrics = ask(gw.port(), get_request("/metrics"))->body;
    EXPECT_EQ(metric_value(metrics, "sluice_replication_shortfalls_total"), 1) << gw.log();
}

TEST_F(Admission, BeyondTheInFlightBoundIsShedAtOnce) {
    // After "warm", practice a has a submission in: its next ones are repeats, which may use 80% of
    // the in-flight room (admission_control.hpp): 2 of 3.
    gateway_process gw({"[limits]\nmax_inflight_per_thread = 3\n[redis]\ntimeout_ms = 1000\n", 1, "", a.line});
    ASSERT_EQ(ask(gw.port(), submit_request(a, "warm", qof_body(a.practice)))->status, 202);
    redis().pause();  // Redis stops answering: admissions wait up to timeout_ms
    std::vector<std::unique_ptr<raw_client>> waiting;
    for (int i = 0; i < 2; ++i) {
        waiting.push_back(std::make_unique<raw_client>(gw.port()));
        ASSERT_TRUE(waiting.back()->send(submit_request(a, "w" + std::to_string(i), qof_body(a.practice, 100 + i))));
    }
    std::this_thread::sleep_for(200ms);
    const auto sent = clock::now();
    auto shed = ask(gw.port(), submit_request(a, "third", qof_body(a.practice, 110)));
    const auto took = clock::now() - sent;
    ASSERT_TRUE(shed);
    EXPECT_EQ(shed->status, 503);
    EXPECT_TRUE(is_problem(*shed, "overloaded")) << shed->body;
    EXPECT_EQ(shed->header("ratelimit"), "\"practice\";r=0;t=" + shed->header("retry-after"));
    EXPECT_LT(took, 200ms);
    for (auto& c : waiting) {
        auto r = c->read_answer(3s);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 503) << r->body;  // timed out waiting for the paused Redis
        EXPECT_TRUE(is_problem(*r, "unavailable")) << r->body;
    }
    redis().resume();
    // Redis now runs what was waiting in its socket: the scripts answered 503 must not queue.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(total_queued(), 1) << "a submission answered 503 was queued after all";
}

TEST_F(Admission, RedisKilledUnderLoadGivesOnly202Or503AndNoHalfWrittenRecords) {
    // This test needs the shipped persistence (AOF): its own server with ops/redis.conf.
    redis_server_options options;
    options.config_file = SLUICE_OPS_REDIS_CONF;
    redis_server durable(options);
    std::vector<test_credential> practices;
    std::string lines;
    for (int i = 0; i < 20; ++i) {
        char code[8];
        std::snprintf(code, sizeof code, "K%05d", 20000 + i);
        practices.push_back(make_credential(code));
        lines += practices.back().line;
    }
    gateway_process gw({"[ratelimit.per_practice]\nrate = 1000.0\nburst = 1000\n", 2, durable.url(), lines});
    std::atomic<bool> stop{false};
    std::atomic<int> accepted{0}, shed{0}, other{0};
    std::atomic<long long> slowest_ms{0};
    std::mutex odd_mutex;
    std::map<std::string, int> odd;  // what the "other" answers were
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t)
        clients.emplace_back([&, t] {
            int n = 0;
            while (!stop) {
                const auto& who = practices[static_cast<std::size_t>((t + n) % 20)];
                raw_client c(gw.port());
                const auto sent = clock::now();
                if (!c.send(submit_request(who, "t" + std::to_string(t) + "-" + std::to_string(n++),
                                           qof_body(who.practice))))
                    continue;
                auto r = c.read_answer(2s);
                const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - sent).count();
                long long prev = slowest_ms;
                while (ms > prev && !slowest_ms.compare_exchange_weak(prev, ms)) {
                }
                if (r && r->status == 202)
                    ++accepted;
                else if (r && r->status == 503)
                    ++shed;
                else {
                    ++other;
                    std::lock_guard lock(odd_mutex);
                    ++odd[r ? std::to_string(r->status) + " " + r->body
                            : "no answer after " + std::to_string(ms) + " ms"];
                }
            }
        });
    std::this_thread::sleep_for(1s);
    durable.kill();  // SIGKILL mid-load
    std::this_thread::sleep_for(1s);
    stop = true;
    for (auto& t : clients) t.join();
    EXPECT_EQ(other.load(), 0) << [&] {
        std::string all;
        for (const auto& [what, n] : odd) all += std::to_string(n) + " x " + what + "\n";
        return all + "gateway log:\n" + gw.log();
    }();
    EXPECT_GT(accepted.load(), 0);
    EXPECT_GT(shed.load(), 0);
    EXPECT_LE(slowest_ms.load(), 250 + 50) << "an answer took longer than redis.timeout_ms + 50 ms";

    // After a restart from the AOF: every queue entry has its status and idempotency records,
    // and every status record its queue entry. Nothing is half-written.
    durable.start();
    std::set<std::string> queued, recorded;
    for (std::uint32_t shard = 0; shard < 16; ++shard) {
        const auto entries = durable.command({"XRANGE", queue::queue_key(shard), "-", "+"});
        for (const auto& e : entries.as_array()) {
            const auto& f = e.as_array()[1].as_array();
            std::string id, practice;
            for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
                if (f[i].as_string() == "id") id = f[i + 1].as_string();
            }
            queued.insert(id);
        }
    }
    const auto subs = durable.command({"KEYS", "sluice:*:sub:*"});
    for (const auto& k : subs.as_array()) {
        const auto id = durable.command({"HGET", k.as_string(), "id"}).as_string();
        recorded.insert(id);
    }
    EXPECT_EQ(queued, recorded);
    EXPECT_EQ(subs.as_array().size(), queued.size());  // one record per submission, and no other
    EXPECT_TRUE(durable.command({"KEYS", "sluice:*:idem:*"}).as_array().empty());
}

}  // namespace
}  // namespace sluice::test
