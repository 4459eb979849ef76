// The real sluice-worker against a real redis-server: entries written as queue/admission.lua
// writes them become calculated with the calculation's exact result (and, for issue 16's rules,
// with figures written out to the penny); poison entries end in the
// dead-letter stream with status failed; a dead consumer's entries are reclaimed; SIGTERM with
// work in hand exits 0 and leaves nothing half-done; a SIGKILLed worker's entries are finished
// by another; /metrics shows the counters.
#include "catalogue/catalogue.hpp"
#include "queue/consumer.hpp"
#include "queue/keys.hpp"
#include "queue/submission.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/redis_environment.hpp"
#include "worker/calculation.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <set>

namespace {

using namespace std::chrono_literals;
using sluice::test::enqueue;
using sluice::test::eventually;
using sluice::test::hash;
using sluice::test::queued;
using sluice::test::redis;
using sluice::test::valid_body;
using sluice::test::worker_config;
using sluice::test::worker_process;

[[maybe_unused]] auto* const redis_env = sluice::test::add_redis_environment();

// Sanitizer builds are slow; every wait is bounded by these.
constexpr auto settle = 30s;

class worker_process_test : public ::testing::Test {
protected:
    void SetUp() override { redis().command({"FLUSHALL"}); }

    static std::string expected_result(const std::string& body) {
        static const auto catalogue = sluice::catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
        const auto parsed = sluice::queue::parse_submission(body, catalogue);
        EXPECT_TRUE(parsed.ok());
        return sluice::worker::result_json(sluice::worker::calculate(parsed.value(), *catalogue.period("2024-25")));
    }

    static std::string status(const queued& q) {
        const auto r = redis().command({"HGET", q.status_key, "status"});
        return r.is_nil() ? "(none)" : r.as_string();
    }

    static bool all_have_status(const std::vector<queued>& entries, std::string_view wanted) {
        return std::all_of(entries.begin(), entries.end(), [&](const queued& q) { return status(q) == wanted; });
    }

    static long long total_pending(std::uint32_t shards) {
        long long n = 0;
        for (std::uint32_t shard = 0; shard < shards; ++shard)
            n += sluice::test::pending_count(redis(), sluice::queue::queue_key(shard));
        return n;
    }

    // Practices spread over the shards: A81001, A81002, ...
    static std::string practice(int i) {
        std::string code = std::to_string(81001 + i);
        return "A" + code;
    }
};

TEST_F(worker_process_test, calculates_queued_entries_and_writes_the_exact_result) {
    worker_config config;
    std::vector<queued> entries;
    std::set<std::uint32_t> shards_used;
    for (int i = 0; i < 8; ++i) {
        entries.push_back(enqueue(redis(), config.shards, practice(i), valid_body(practice(i)), 1000s));
        shards_used.insert(entries.back().shard);
    }
    ASSERT_GE(shards_used.size(), 2u) << "the entries should span shards";

    worker_process w(config);
    ASSERT_TRUE(eventually([&] { return all_have_status(entries, "calculated"); }, settle)) << w.log();
    for (const auto& q : entries) {
        const auto record = hash(redis(), q.status_key);
        EXPECT_EQ(record.at("result"), expected_result(q.body)) << q.submission_id;
        EXPECT_EQ(record.at("attempts"), "1");
        EXPECT_FALSE(record.at("calculated_at").empty());
        EXPECT_EQ(record.count("error"), 0u);
        EXPECT_EQ(record.at("practice"), q.practice) << "the admission's fields stay";
        EXPECT_GT(redis().command({"TTL", q.status_key}).as_integer(), 900) << "TTL kept";
    }
    EXPECT_EQ(total_pending(config.shards), 0) << "every entry acknowledged";

    // Metrics: once per submission.
    EXPECT_TRUE(eventually([&] { return w.metric("sluice_worker_calculated_total") == 8.0; }, 5s));
    EXPECT_EQ(w.metric("sluice_worker_failed_total"), 0.0);
    EXPECT_EQ(w.metric("sluice_worker_calculation_seconds_count"), 8.0);
}

TEST_F(worker_process_test, applies_the_control_tables_flags_and_the_ldhc_cap_to_the_penny) {
    // Issue 16 items 4 to 6 through the real worker and the shipped catalogue, with the figures
    // written out (not recomputed by the calculation under test); 2024-25: £220.62 a point,
    // national average list 9,964.
    worker_config config;
    // Item 4: VI has no ZERO_REGISTER_FLAG, so a VI register of 0 changes nothing. VI001 116/120 =
    // 96.67%, above the upper 96%: 18.00 points; list 5000: £ = 18 x 220.62 x 5000/9964 =
    // £1992.753914 -> £1992.75.
    const auto vi = enqueue(redis(), config.shards, "A81001",
                            R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 5000,)"
                            R"( "items": [{"code": "VI001", "numerator": 116, "denominator": 120}],)"
                            R"( "registers": [{"condition": "VI", "size": 0}]})");
    // NDH has the flag: NDH register 0 makes NDH002 at 90/100 (18.00 points otherwise) earn 0.
    const auto ndh = enqueue(redis(), config.shards, "A81002",
                             R"({"practice": "A81002", "period": "2024-25", "scheme": "QOF", "list_size": 5000,)"
                             R"( "items": [{"code": "NDH002", "numerator": 90, "denominator": 100}],)"
                             R"( "registers": [{"condition": "NDH", "size": 0}]})");
    // Item 5: LDHC £140.00 a check, capped at the LD register: 40 checks, LD register 35: 35 x
    // £140.00 = £4900.00.
    const auto ldhc =
        enqueue(redis(), config.shards, "A81003",
                R"({"practice": "A81003", "period": "2024-25", "scheme": "LDHC", "list_size": 6000,)"
                R"( "items": [{"code": "CHECK", "count": 40}], "registers": [{"condition": "LD", "size": 35}]})");
    // Item 6: CHOL not prevalence-adjusted (NO_PREVALENCE_FLAG = 1): CHOL003 95/100 (upper 95%)
    // 14.00 points; list 5000: £ = 14 x 220.62 x 5000/9964 = £1549.919711 -> £1549.92.
    const auto chol = enqueue(redis(), config.shards, "A81004",
                              R"({"practice": "A81004", "period": "2024-25", "scheme": "QOF", "list_size": 5000,)"
                              R"( "items": [{"code": "CHOL003", "numerator": 95, "denominator": 100}]})");

    worker_process w(config);
    ASSERT_TRUE(eventually([&] { return all_have_status({vi, ndh, ldhc, chol}, "calculated"); }, settle)) << w.log();
    EXPECT_EQ(hash(redis(), vi.status_key).at("result"),
              R"({"points":18.00,"payment_gbp":1992.75,"indicators":[{"code":"VI001","achievement":0.9667,)"
              R"("points":18.00,"payment_gbp":1992.75,"notes":[]}],"services":[],"notes":[]})");
    EXPECT_EQ(
        hash(redis(), ndh.status_key).at("result"),
        R"({"points":0.00,"payment_gbp":0.00,"indicators":[{"code":"NDH002","achievement":0.9000,)"
        R"("points":0.00,"payment_gbp":0.00,"notes":["the NDH register is 0: no points are earnable for the group"]}],)"
        R"("services":[],"notes":[]})");
    EXPECT_EQ(hash(redis(), ldhc.status_key).at("result"),
              R"({"points":0.00,"payment_gbp":4900.00,"indicators":[],"services":[{"code":"CHECK","count":40,)"
              R"("paid_count":35,"payment_gbp":4900.00,"notes":["capped at the LD register (35): 35 of 40 paid"]}],)"
              R"("notes":[]})");
    EXPECT_EQ(hash(redis(), chol.status_key).at("result"),
              R"({"points":14.00,"payment_gbp":1549.92,"indicators":[{"code":"CHOL003","achievement":0.9500,)"
              R"("points":14.00,"payment_gbp":1549.92,"notes":["thresholds of CHOL003 (lower 70%, upper 95%) are )"
              R"(unconfirmed in the catalogue: points provisional"]}],"services":[],)"
              R"("notes":["CHOL: the catalogue marks its prevalence adjustment unconfirmed; not adjusted here"]})");
}

TEST_F(worker_process_test, poison_entries_end_in_the_dead_letter_stream_with_status_failed) {
    worker_config config;
    config.claim_idle_ms = 200;
    config.max_attempts = 3;
    const auto unparsable = enqueue(redis(), config.shards, "A81001", "{\"practice\":", 1000s);
    std::string unknown_period_body = valid_body("A81002");
    unknown_period_body.replace(unknown_period_body.find("2024-25"), 7, "1999-00");
    const auto unknown_period = enqueue(redis(), config.shards, "A81002", unknown_period_body, 1000s);
    const auto no_record = enqueue(redis(), config.shards, "A81003", valid_body("A81003"), 1000s);
    redis().command({"DEL", no_record.status_key});
    const auto good = enqueue(redis(), config.shards, "A81004", valid_body("A81004"), 1000s);

    worker_process w(config);
    auto dead_lettered = [&](const queued& q) {
        for (const auto& [id, f] : sluice::test::stream(redis(), sluice::queue::dead_letter_key(q.shard)))
            if (f.count("entry_id") && f.at("entry_id") == q.entry_id) return true;
        return false;
    };
    ASSERT_TRUE(eventually(
        [&] { return dead_lettered(unparsable) && dead_lettered(unknown_period) && dead_lettered(no_record); }, settle))
        << w.log();
    EXPECT_EQ(status(good), "calculated") << "a poison entry does not hold up the others";

    // Bytes that are not JSON can never be calculated: dead-lettered at the first delivery. An
    // unknown period may be known to another worker's catalogue: retried up to max_attempts.
    for (const auto* q : {&unparsable, &unknown_period}) {
        const auto record = hash(redis(), q->status_key);
        EXPECT_EQ(record.at("status"), "failed");
        EXPECT_EQ(record.at("attempts"), q == &unparsable ? "1" : "3");
        EXPECT_GT(redis().command({"TTL", q->status_key}).as_integer(), 900) << "TTL kept";
    }
    EXPECT_NE(hash(redis(), unparsable.status_key).at("error").find("malformed JSON"), std::string::npos);
    EXPECT_NE(hash(redis(), unknown_period.status_key).at("error").find("1999-00"), std::string::npos);
    EXPECT_EQ(redis().command({"EXISTS", no_record.status_key}).as_integer(), 0) << "never re-created";

    for (const auto* q : {&unparsable, &unknown_period, &no_record}) {
        const auto dlq = sluice::test::stream(redis(), sluice::queue::dead_letter_key(q->shard));
        const auto it =
            std::find_if(dlq.begin(), dlq.end(), [&](const auto& e) { return e.second.at("entry_id") == q->entry_id; });
        ASSERT_NE(it, dlq.end());
        const auto& f = it->second;
        EXPECT_EQ(f.at("id"), q->submission_id);
        EXPECT_EQ(f.at("practice"), q->practice);
        EXPECT_EQ(f.at("body"), q->body);
        EXPECT_EQ(f.at("attempts"), q == &unknown_period ? "3" : "1") << "a failure no retry mends is not retried";
        EXPECT_FALSE(f.at("reason").empty());
        EXPECT_EQ(std::count_if(dlq.begin(), dlq.end(),
                                [&](const auto& e) { return e.second.at("entry_id") == q->entry_id; }),
                  1)
            << "dead-lettered once";
    }
    EXPECT_NE(sluice::test::stream(redis(), sluice::queue::dead_letter_key(no_record.shard))
                  .back()
                  .second.at("reason")
                  .find("no status record"),
              std::string::npos);
    EXPECT_TRUE(eventually([&] { return total_pending(config.shards) == 0; }, 5s));
    EXPECT_TRUE(eventually([&] { return w.metric("sluice_worker_dead_lettered_total") == 3.0; }, 5s));
    EXPECT_EQ(w.metric("sluice_worker_failed_total"), 5.0)
        << "three attempts for the unknown period, one for each other";
    EXPECT_GE(w.metric("sluice_worker_reclaimed_total").value_or(0), 2.0) << "attempts 2 and 3 came by reclaim";
    EXPECT_EQ(w.metric("sluice_worker_calculated_total"), 1.0);
}

TEST_F(worker_process_test, reclaims_the_entries_a_dead_consumer_held) {
    worker_config config;
    config.claim_idle_ms = 200;
    std::vector<queued> entries;
    for (int i = 0; i < 6; ++i)
        entries.push_back(enqueue(redis(), config.shards, practice(i), valid_body(practice(i))));
    // A worker that read them all and died: they are pending under its name.
    for (std::uint32_t shard = 0; shard < config.shards; ++shard) {
        redis().command({"XGROUP", "CREATE", sluice::queue::queue_key(shard), "workers", "0", "MKSTREAM"});
        redis().command({"XREADGROUP", "GROUP", "workers", "dead-worker", "COUNT", "100", "STREAMS",
                         sluice::queue::queue_key(shard), ">"});
    }
    ASSERT_EQ(total_pending(config.shards), 6);

    worker_process w(config);
    ASSERT_TRUE(eventually([&] { return all_have_status(entries, "calculated"); }, settle)) << w.log();
    for (const auto& q : entries) {
        EXPECT_EQ(hash(redis(), q.status_key).at("attempts"), "2") << "the second delivery";
        EXPECT_EQ(hash(redis(), q.status_key).at("result"), expected_result(q.body));
    }
    EXPECT_EQ(total_pending(config.shards), 0);
    EXPECT_TRUE(eventually([&] { return w.metric("sluice_worker_reclaimed_total") == 6.0; }, 5s));
    EXPECT_EQ(w.metric("sluice_worker_calculated_total"), 6.0);
}

TEST_F(worker_process_test, sigterm_with_work_in_hand_finishes_it_and_exits_zero) {
    worker_config config;
    config.concurrency = 32;
    config.claim_idle_ms = 60'000;  // nothing may depend on a reclaim here
    constexpr int count = 3000;
    std::vector<queued> entries;
    entries.reserve(count);
    for (int i = 0; i < count; ++i)
        entries.push_back(enqueue(redis(), config.shards, practice(i % 50), valid_body(practice(i % 50))));

    {
        worker_process first(config);
        ASSERT_TRUE(
            eventually([&] { return status(entries.front()) != "queued" || total_pending(config.shards) > 0; }, settle))
            << first.log();
        first.send_signal(SIGTERM);
        const auto code = first.wait_exit(settle);
        ASSERT_TRUE(code.has_value()) << "did not exit; log: " << first.log();
        EXPECT_EQ(*code, 0) << first.log();
        EXPECT_NE(first.log().find("drained"), std::string::npos);

        // Nothing half-done: what it read it finished (calculated and acknowledged); the rest was
        // never delivered (queued, attempts 0), so it is left whole for the others.
        std::size_t calculated = 0;
        for (const auto& q : entries) {
            const auto record = hash(redis(), q.status_key);
            if (record.at("status") == "calculated") {
                ++calculated;
                EXPECT_EQ(record.at("attempts"), "1");
            } else {
                ASSERT_EQ(record.at("status"), "queued") << q.submission_id;
                EXPECT_EQ(record.at("attempts"), "0");
            }
        }
        EXPECT_EQ(total_pending(config.shards), 0) << "it held nothing back";
        for (std::uint32_t shard = 0; shard < config.shards; ++shard)
            EXPECT_EQ(
                redis().command({"XINFO", "CONSUMERS", sluice::queue::queue_key(shard), "workers"}).as_array().size(),
                0u)
                << "it left the group of shard " << shard;
        EXPECT_GT(calculated, 0u);
        if (calculated == entries.size()) GTEST_SKIP() << "the worker finished everything before SIGTERM arrived";
    }

    worker_process second(config);
    ASSERT_TRUE(eventually([&] { return all_have_status(entries, "calculated"); }, settle)) << second.log();
    for (const auto& q : entries) EXPECT_EQ(hash(redis(), q.status_key).at("attempts"), "1") << "no entry redelivered";
    EXPECT_EQ(total_pending(config.shards), 0);
}

TEST_F(worker_process_test, entries_of_a_sigkilled_worker_are_finished_by_another_exactly_once) {
    worker_config config;
    config.claim_idle_ms = 300;
    constexpr int count = 2000;
    std::vector<queued> entries;
    entries.reserve(count);
    for (int i = 0; i < count; ++i)
        entries.push_back(enqueue(redis(), config.shards, practice(i % 50), valid_body(practice(i % 50))));

    worker_process a(config);
    worker_process b(config);
    ASSERT_TRUE(
        eventually([&] { return total_pending(config.shards) > 0 || status(entries.back()) == "calculated"; }, settle));
    a.send_signal(SIGKILL);
    EXPECT_EQ(a.wait_exit(5s), -SIGKILL);

    ASSERT_TRUE(eventually([&] { return all_have_status(entries, "calculated"); }, settle)) << b.log();
    EXPECT_TRUE(eventually([&] { return total_pending(config.shards) == 0; }, 5s));
    for (const auto& q : entries) EXPECT_EQ(hash(redis(), q.status_key).at("result"), expected_result(q.body));
    // The survivor counted only the results it wrote first (never one the dead worker wrote).
    const auto by_b = b.metric("sluice_worker_calculated_total").value_or(-1);
    EXPECT_GT(by_b, 0);
    EXPECT_LE(by_b, count);
}

TEST_F(worker_process_test, metrics_endpoint_serves_get_metrics_only) {
    worker_config config;
    enqueue(redis(), config.shards, "A81001", valid_body());
    worker_process w(config);
    ASSERT_TRUE(eventually([&] { return w.metric("sluice_worker_calculated_total") == 1.0; }, settle)) << w.log();

    const auto answer = w.http("GET", "/metrics");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << answer;
    for (const char* name :
         {"sluice_worker_calculated_total", "sluice_worker_failed_total", "sluice_worker_reclaimed_total",
          "sluice_worker_dead_lettered_total", "sluice_worker_calculation_seconds_bucket{le=\"+Inf\"} 1"})
        EXPECT_NE(answer.find(name), std::string::npos) << name;
    EXPECT_NE(answer.find("# TYPE sluice_worker_calculation_seconds histogram"), std::string::npos);
    // Lag per shard, sampled every second.
    EXPECT_TRUE(eventually(
        [&] {
            const auto text = w.http("GET", "/metrics");
            for (std::uint32_t shard = 0; shard < config.shards; ++shard)
                if (text.find("sluice_worker_queue_lag{shard=\"" + std::to_string(shard) + "\"} 0") ==
                    std::string::npos)
                    return false;
            return true;
        },
        5s));

    EXPECT_EQ(w.http("GET", "/").rfind("HTTP/1.1 404", 0), 0u);
    EXPECT_EQ(w.http("GET", "/metricsx").rfind("HTTP/1.1 404", 0), 0u);
    EXPECT_EQ(w.http("POST", "/metrics").rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(worker_process_test, lag_metric_counts_entries_not_yet_acknowledged) {
    worker_config config;
    config.shards = 1;
    config.claim_idle_ms = 600'000;  // a dead consumer's entries stay pending for this test's life
    const auto key = sluice::queue::queue_key(0);
    for (int i = 0; i < 2; ++i) enqueue(redis(), config.shards, "A81001", valid_body());
    redis().command({"XGROUP", "CREATE", key, "workers", "0", "MKSTREAM"});
    redis().command({"XREADGROUP", "GROUP", "workers", "dead-worker", "COUNT", "100", "STREAMS", key, ">"});
    const auto fresh = enqueue(redis(), config.shards, "A81001", valid_body());

    worker_process w(config);
    ASSERT_TRUE(eventually([&] { return status(fresh) == "calculated"; }, settle)) << w.log();
    EXPECT_TRUE(eventually(
        [&] {
            const auto text = w.http("GET", "/metrics");
            return text.find("sluice_worker_queue_lag{shard=\"0\"} 2\n") != std::string::npos &&
                   text.find("sluice_worker_queue_pending{shard=\"0\"} 2\n") != std::string::npos;
        },
        5s))
        << w.http("GET", "/metrics");
}

TEST_F(worker_process_test, a_bad_catalogue_directory_is_a_configuration_error) {
    worker_config config;
    config.catalogue_dir = "/nonexistent/catalogue";
    worker_process w(config, false);
    EXPECT_EQ(w.wait_exit(10s), 2);
    EXPECT_NE(w.log().find("catalogue"), std::string::npos) << w.log();
}

}  // namespace
