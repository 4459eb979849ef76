// The real sluice-worker with a ledger (ledger.url) against a real redis-server and a real
// PostgreSQL: every result is in PostgreSQL before its queue entry is acknowledged; PostgreSQL
// killed mid-drain stops the acknowledgements, and when it returns every submission ends
// calculated and recorded exactly once, with no attempt burned and nothing dead-lettered;
// results stay readable from PostgreSQL after their Redis records expire; --migrate-only.
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
    for (std::uint32_t s = 0; s < shards; ++s) {
        EXPECT_TRUE(stream(redis(), queue::dead_letter_key(s)).empty()) << "nothing dead-lettered on shard " << s;
    }
    EXPECT_EQ(worker.metric("sluice_worker_ledger_recorded_total"), double(n));  // each written once
    EXPECT_EQ(worker.metric("sluice_worker_calculated_total"), double(n));
    EXPECT_GT(worker.metric("sluice_worker_ledger_errors_total").value_or(0), 0.0);
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
