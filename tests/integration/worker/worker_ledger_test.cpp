// The real sluice-worker with a ledger (ledger.url) against a real redis-server and a real
// PostgreSQL: every result is in PostgreSQL before its queue entry is acknowledged; PostgreSQL
// killed mid-drain stops the acknowledgements, and when it returns every submission ends
// calculated and recorded exactly once, with no attempt burned and nothing dead-lettered;
// results stay readable from PostgreSQL after their Redis records expire; --migrate-only; income
// protection: a 2024-25 QOF result carries the practice's 2023-24 points read from PostgreSQL, and
// a PostgreSQL that does not answer the read holds the calculation rather than dropping the
// protection.
#include "ledger/migrations.hpp"
#include "queue/consumer.hpp"
#include "queue/keys.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/postgres_environment.hpp"
#include "tests/support/redis_environment.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();
[[maybe_unused]] auto* const postgres_env = add_postgres_environment();

constexpr std::uint32_t shards = 4;

long long total_pending() {
    long long n = 0;
    for (std::uint32_t s = 0; s < shards; ++s) n += pending_count(redis(), queue::queue_key(s));
    return n;
}

std::set<std::string> calculated_in_redis(const std::vector<queued>& entries) {
    std::set<std::string> ids;
    for (const auto& q : entries) {
        const auto record = hash(redis(), q.status_key);
        const auto status = record.find("status");
        if (status != record.end() && status->second == "calculated") ids.insert(q.submission_id);
    }
    return ids;
}

std::vector<queued> enqueue_many(int n, std::chrono::seconds ttl = 3600s) {
    std::vector<queued> entries;
    const char* practices[] = {"A81001", "B82002", "C83003", "D84004", "E85005", "F86006"};
    for (int i = 0; i < n; ++i) {
        const std::string practice = practices[i % 6];
        entries.push_back(enqueue(redis(), shards, practice, valid_body(practice), ttl));
    }
    return entries;
}

class worker_ledger_test : public ::testing::Test {
protected:
    void SetUp() override { redis().command({"FLUSHALL"}); }

    worker_config config() const {
        worker_config c;
        c.shards = shards;
        c.concurrency = 16;
        c.claim_idle_ms = 500;
        c.max_attempts = 3;
        c.ledger_url = url_;
        return c;
    }

    std::string ledger_count(const std::string& where = "true") const {
        return postgres().scalar("SELECT count(*) FROM submissions WHERE " + where, url_);
    }

    std::string url_ = postgres().create_database();
};

TEST_F(worker_ledger_test, records_every_result_and_keeps_it_after_redis_forgets) {
    const auto entries = enqueue_many(60, std::chrono::seconds(4));
    worker_process worker(config());
    ASSERT_TRUE(eventually([&] { return calculated_in_redis(entries).size() == entries.size(); }, 20s)) << worker.log();
    EXPECT_EQ(ledger_count("status = 'calculated'"), "60");
    const auto& first = entries.front();
    const auto redis_result = hash(redis(), first.status_key).at("result");
    const auto row = postgres().query(
        "SELECT result, practice, period, scheme, idempotency_key, content_sha256, "
        "attempts FROM submissions WHERE submission_id = '" +
            first.submission_id + "'",
        url_);
    ASSERT_EQ(row.size(), 1u);
    EXPECT_EQ(row[0][0], redis_result);  // byte for byte what GET /v1/submissions/{id} serves
    EXPECT_EQ(row[0][1], first.practice);
    EXPECT_EQ(row[0][2], "2024-25");
    EXPECT_EQ(row[0][3], "QOF");
    EXPECT_EQ(row[0][4], "key-" + first.submission_id);
    EXPECT_EQ(row[0][6], "1");
    // The Redis records expire (idempotency.ttl_seconds); the system of record keeps them.
    ASSERT_TRUE(eventually([&] { return hash(redis(), first.status_key).empty(); }, 10s));
    EXPECT_EQ(ledger_count(), "60");
    EXPECT_EQ(
        postgres().scalar("SELECT result FROM submissions WHERE submission_id = '" + first.submission_id + "'", url_),
        redis_result);
}

TEST_F(worker_ledger_test, postgres_killed_mid_drain_stops_acks_and_loses_and_doubles_nothing) {
    constexpr int n = 1500;
    const auto entries = enqueue_many(n);
    auto c = config();
    c.concurrency = 8;
    worker_process worker(c);
    ASSERT_TRUE(eventually([&] { return std::stoi(ledger_count()) >= 50; }, 20s)) << worker.log();
    postgres().kill();
    // While it is down: whatever Redis shows calculated (acknowledged) was recorded before.
    ::usleep(1'500'000);
    const auto acked_during_outage = calculated_in_redis(entries);
    ::usleep(1'000'000);
    EXPECT_EQ(calculated_in_redis(entries), acked_during_outage) << "acknowledged while PostgreSQL was down";
    EXPECT_LT(acked_during_outage.size(), entries.size());
    postgres().start();
    for (const auto& id : acked_during_outage) {
        ASSERT_EQ(postgres().scalar("SELECT count(*) FROM submissions WHERE submission_id = '" + id + "'", url_), "1")
            << id << " was acknowledged without its row";
    }
    ASSERT_TRUE(eventually([&] { return std::stoi(ledger_count()) == n && total_pending() == 0; }, 60s))
        << worker.log();
    EXPECT_EQ(calculated_in_redis(entries).size(), entries.size());
    EXPECT_EQ(ledger_count("status = 'calculated'"), std::to_string(n));
    // Every one read its (absent) 2023-24 record, outage or not: none was calculated without it.
    EXPECT_EQ(ledger_count("result LIKE '%income protection: no 2023-24 record for this practice%'"), std::to_string(n));
    for (std::uint32_t s = 0; s < shards; ++s) {
        EXPECT_TRUE(stream(redis(), queue::dead_letter_key(s)).empty()) << "nothing dead-lettered on shard " << s;
    }
    EXPECT_EQ(worker.metric("sluice_worker_ledger_recorded_total"), double(n));  // each written once
    EXPECT_EQ(worker.metric("sluice_worker_calculated_total"), double(n));
    EXPECT_GT(worker.metric("sluice_worker_ledger_errors_total").value_or(0), 0.0);
}

// Income protection (worker/calculation.hpp R7). 2023-24 for A81001: AF001 (AF register 201: 5.00),
// QI013 yes (27.00), QI014 yes (10.00), AF006 (not protected).
const std::string body_2023 =
    R"({"practice":"A81001","period":"2023-24","scheme":"QOF","list_size":8123,"items":[)"
    R"({"code":"AF001","numerator":0,"denominator":0},{"code":"QI013","numerator":1,"denominator":1},)"
    R"({"code":"QI014","numerator":1,"denominator":1},{"code":"AF006","numerator":120,"denominator":140}],)"
    R"("registers":[{"condition":"AF","size":201}]})";
// 2024-25 for A81001, list 8123 (CPI 8123/9964), £220.62 a point: QI013 answered no (0.00 on
// achievement), AF001 with AF register 150, AF006 120/140, QI014 left out.
const std::string body_2024 =
    R"({"practice":"A81001","period":"2024-25","scheme":"QOF","list_size":8123,"items":[)"
    R"({"code":"QI013","numerator":0,"denominator":1},{"code":"AF001","numerator":0,"denominator":0},)"
    R"({"code":"AF006","numerator":120,"denominator":140}],"registers":[{"condition":"AF","size":150}]})";

std::string result_of(const queued& q, const std::string& url) {
    return postgres().scalar("SELECT coalesce(result, error) FROM submissions WHERE submission_id = '" + q.submission_id +
                                 "'",
                             url);
}

// The 2024-25 result with A81001's 2023-24 record (submission `prior`):
//   QI013   27.00 (protected; 0.00 earned) x 220.62 x 8123/9964 = £4856.1427... -> £4856.14
//   AF001    5.00 (protected; 5.00 earned) x 220.62 x (150/9964)/0.021 = £790.7800... -> £790.78
//   AF006   12 x (120/140 - 40%)/50% = 10.97 (not protected) x 220.62 x (150/9964)/0.021 = £1734.96
//   QI014   10.00 (protected, not in the body: decision 22) x 220.62 x 8123/9964 = £1798.5716... -> £1798.57
//   total   52.97 points, £9180.45
void expect_protected_2024_result(const std::string& result, const std::string& prior) {
    EXPECT_NE(result.find(R"({"points":52.97,"payment_gbp":9180.45,)"), std::string::npos) << result;
    EXPECT_NE(result.find(R"({"code":"QI013","achievement":0.0000,"points":27.00,"payment_gbp":4856.14,)"
                          R"("notes":["answered no (numerator 0): no points","income-protected: points fixed at the )"
                          R"(practice's 2023-24 points (27.00, )"
                          R"(submission )" + prior + R"x(); this submission's achievement would earn 0.00"]})x"),
              std::string::npos)
        << result;
    EXPECT_NE(result.find(R"({"code":"AF001","achievement":null,"points":5.00,"payment_gbp":790.78,)"), std::string::npos)
        << result;
    EXPECT_NE(result.find(R"({"code":"AF006","achievement":0.8571,"points":10.97,"payment_gbp":1734.96,"notes":[]})"),
              std::string::npos)
        << result;
    EXPECT_NE(result.find(R"({"code":"QI014","achievement":null,"points":10.00,"payment_gbp":1798.57,)"
                          R"("notes":["income-protected: not in this submission; points fixed at the practice's )"
                          R"(2023-24 points (10.00, submission )" + prior + R"x()"]})x"),
              std::string::npos)
        << result;
}

TEST_F(worker_ledger_test, income_protection_carries_the_2023_24_points_from_postgres) {
    worker_process worker(config());
    const auto prior = enqueue(redis(), shards, "A81001", body_2023);
    ASSERT_TRUE(eventually([&] { return ledger_count("status = 'calculated'") == "1"; }, 20s)) << worker.log();
    // 2023-24 (£213.43, 9,639): AF001 5.00, QI013 27.00, QI014 10.00, AF006 10.97 = 52.97 points.
    EXPECT_NE(result_of(prior, url_).find(R"({"points":52.97,"payment_gbp":10039.48,)"), std::string::npos)
        << result_of(prior, url_);

    const auto protected_2024 = enqueue(redis(), shards, "A81001", body_2024);
    // B82002 has no 2023-24 record: its protected indicators earn on achievement, said (decision 20).
    std::string body_b = body_2024;
    body_b.replace(body_b.find("A81001"), 6, "B82002");
    const auto unprotected_2024 = enqueue(redis(), shards, "B82002", body_b);
    ASSERT_TRUE(eventually([&] { return ledger_count("status = 'calculated'") == "3"; }, 20s)) << worker.log();

    const auto result = result_of(protected_2024, url_);
    expect_protected_2024_result(result, prior.submission_id);
    EXPECT_EQ(hash(redis(), protected_2024.status_key).at("result"), result);  // as GET /v1/submissions/{id} serves

    // B82002: QI013 0.00, AF001 5.00 (£790.78), AF006 10.97 (£1734.96); no QI014 added.
    const auto other = result_of(unprotected_2024, url_);
    EXPECT_NE(other.find(R"({"points":15.97,"payment_gbp":2525.74,)"), std::string::npos) << other;
    EXPECT_NE(other.find(R"("income protection: no 2023-24 record for this practice (no current calculated QOF )"
                         R"(submission of 2023-24 in the ledger): its income-protected indicators earn on this )"
                         R"(submission's achievement, not protected")"),
              std::string::npos)
        << other;
    EXPECT_NE(other.find(R"({"code":"QI013","achievement":0.0000,"points":0.00,"payment_gbp":0.00,"notes":[)"
                         R"("answered no (numerator 0): no points","income-protected at the practice's 2023-24 points, )"
                         R"(but there is no 2023-24 record for this practice: these points are from this )"
                         R"(submission's achievement, not protected"]})"),
              std::string::npos)
        << other;
    EXPECT_EQ(other.find("QI014"), std::string::npos) << other;
}

TEST_F(worker_ledger_test, income_protection_read_waits_out_an_unanswering_postgres) {
    // claim_idle_ms well above the hold: this is about the read's retries, not about reclaims
    // (an entry held longer than claim_idle_ms is delivered again, as with any slow write).
    auto c = config();
    c.claim_idle_ms = 30000;
    worker_process worker(c);
    const auto prior = enqueue(redis(), shards, "A81001", body_2023);
    ASSERT_TRUE(eventually([&] { return ledger_count("status = 'calculated'") == "1"; }, 20s)) << worker.log();
    // Another session holds the submissions table (ACCESS EXCLUSIVE) for 4 s: the read of the
    // 2023-24 points gets no answer, times out (ledger timeout_ms 1000) and is retried, again and
    // again, with the 2024-25 entry held. (A lock rather than SIGSTOP: PostgreSQL's backends are
    // session leaders of their own, so stopping the postmaster's group leaves them answering.)
    std::thread holder([&] {
        postgres().query("BEGIN; LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;", url_);
    });
    const bool locked = eventually(
        [&] {
            return postgres().scalar("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                     "WHERE c.relname = 'submissions' AND l.mode = 'AccessExclusiveLock' AND l.granted",
                                     url_) == "1";
        },
        3s);
    const auto held = enqueue(redis(), shards, "A81001", body_2024);
    const bool read_failed = locked && eventually([&] { return worker.log().find("(income protection)") != std::string::npos; }, 3500ms);
    // Not calculated without its protection meanwhile, and nothing failed or dead-lettered.
    const auto status_while_locked = hash(redis(), held.status_key).at("status");
    holder.join();
    ASSERT_TRUE(locked) << "the lock was never granted";
    EXPECT_TRUE(read_failed) << worker.log();
    EXPECT_NE(status_while_locked, "calculated");
    ASSERT_TRUE(eventually([&] { return ledger_count("status = 'calculated'") == "2"; }, 30s)) << worker.log();
    ASSERT_TRUE(eventually([&] { return total_pending() == 0; }, 10s)) << worker.log();
    // Calculated once PostgreSQL answered, with the 2023-24 points.
    expect_protected_2024_result(result_of(held, url_), prior.submission_id);
    EXPECT_EQ(hash(redis(), held.status_key).at("status"), "calculated");
    EXPECT_GT(worker.metric("sluice_worker_ledger_errors_total").value_or(0), 0.0);
    for (std::uint32_t s = 0; s < shards; ++s) EXPECT_TRUE(stream(redis(), queue::dead_letter_key(s)).empty());
}

TEST_F(worker_ledger_test, migrate_only_applies_the_schema_and_exits) {
    worker_config c = config();
    c.ledger_url = postgres().create_database();
    // A worker that never reaches Redis: --migrate-only does not need it.
    c.redis_url = "redis://127.0.0.1:1";
    const auto dir = std::filesystem::path(::testing::TempDir()) / ("migrate-only-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream toml(dir / "sluice.toml");
        toml << "[redis]\nurl = \"" << c.redis_url << "\"\n[ledger]\nurl = \"" << c.ledger_url << "\"\n";
    }
    child_process migrate(child_options{SLUICE_WORKER_BINARY,
                                        {"--config", (dir / "sluice.toml").string(), "--migrate-only"},
                                        dir / "worker.log",
                                        {},
                                        {"SLUICE_LEDGER_URL", "SLUICE_REDIS_URL"}});
    EXPECT_EQ(migrate.wait_exit(30s), 0) << migrate.log();
    EXPECT_EQ(postgres().scalar("SELECT max(version) FROM schema_migrations", c.ledger_url),
              std::to_string(ledger::migrations().back().version));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::test
