// queue/consumer.hpp against a real redis-server: the consumer group, batched reads across
// shards, the start/finish/fail scripts (idempotence, TTL, delivery counting, dead letter),
// reclaiming a dead consumer's entries, trimming, lag, leaving.
//
// Each test flushes the shared server, runs its own io_context on the test thread with bounded
// waits (a hang fails the test), and writes entries exactly as queue/admission.lua does.
#include "queue/consumer.hpp"

#include "queue/keys.hpp"
#include "redis/router.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/redis_environment.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <set>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using sluice::queue::consumer;
using sluice::queue::consumer_options;
using sluice::queue::consumer_result;
using sluice::queue::fail_outcome;
using sluice::queue::finish_outcome;
using sluice::queue::queued_entry;
using sluice::queue::start_outcome;
using sluice::test::enqueue;
using sluice::test::hash;
using sluice::test::redis;
using sluice::test::valid_body;
using steady = std::chrono::steady_clock;

[[maybe_unused]] auto* const redis_env = sluice::test::add_redis_environment();

constexpr std::uint32_t shards = 3;
constexpr auto claim_idle = 100ms;
constexpr std::uint32_t max_attempts = 3;

class consumer_test : public ::testing::Test {
protected:
    void SetUp() override {
        redis().command({"FLUSHALL"});
        connect(commands);
        connect(blocking);
    }

    sluice::redis::client_options client_options(std::chrono::milliseconds timeout) const {
        sluice::redis::client_options o;
        o.host = redis().host();
        o.port = redis().port();
        o.timeout = timeout;
        return o;
    }

    consumer_options options(std::string name) const {
        consumer_options o;
        o.shards = shards;
        o.name = std::move(name);
        o.block = 100ms;
        o.claim_idle = claim_idle;
        o.max_attempts = max_attempts;
        return o;
    }

    template <typename Predicate>
    bool run_until(Predicate done, steady::duration limit) {
        const auto deadline = steady::now() + limit;
        while (!done()) {
            const auto now = steady::now();
            if (now >= deadline) return false;
            if (ioc.stopped()) ioc.restart();
            ioc.run_one_for(std::min<steady::duration>(deadline - now, 10ms));
        }
        return true;
    }

    void connect(sluice::redis::router& c) {
        c.start();
        ASSERT_TRUE(run_until([&] { return c.connected(); }, 5s)) << c.last_error();
    }

    // Runs one consumer call to completion (bounded); a call that does not complete fails the test.
    template <typename T>
    consumer_result<T> run(asio::awaitable<consumer_result<T>> call) {
        std::optional<consumer_result<T>> out;
        asio::co_spawn(ioc, std::move(call), [&](std::exception_ptr e, consumer_result<T> r) {
            if (e) std::rethrow_exception(e);
            out = std::move(r);
        });
        if (!run_until([&] { return out.has_value(); }, 5s)) {
            ADD_FAILURE() << "consumer call did not complete within 5 s";
            return {};
        }
        return *std::move(out);
    }

    // Lets time pass with the io_context running (for idle times).
    void wait(std::chrono::milliseconds d) {
        run_until([] { return false; }, d);
    }

    template <typename T>
    T ok(consumer_result<T> r) {
        EXPECT_TRUE(r.ok()) << r.ec.message() << " " << r.detail;
        return std::move(r.value);
    }

    std::string key(std::uint32_t shard) const { return sluice::queue::queue_key(shard); }

    asio::io_context ioc;
    sluice::redis::router commands{ioc, client_options(1s)};
    sluice::redis::router blocking{ioc, client_options(2s)};
};

// The pending entries of a shard: (id, consumer, deliveries).
struct pending_entry {
    std::string id;
    std::string consumer;
    long long deliveries = 0;
};
std::vector<pending_entry> pending(const std::string& queue_key) {
    std::vector<pending_entry> out;
    const auto reply = redis().command({"XPENDING", queue_key, "workers", "-", "+", "1000"});
    for (const auto& e : reply.as_array()) {
        const auto& p = e.as_array();
        out.push_back({p[0].as_string(), p[1].as_string(), p[3].as_integer()});
    }
    return out;
}

// --- the consumer group ----------------------------------------------------------------------------

TEST_F(consumer_test, creates_the_group_on_every_shard_idempotently_at_id_zero) {
    // Queued before any worker ever ran: the group must start at 0, not $, to see it.
    const auto early = enqueue(redis(), shards, "A81001", valid_body(), 3600s, 1);
    consumer c(commands, blocking, options("c1"));

    EXPECT_EQ(ok(run(c.create_groups())), shards);
    EXPECT_EQ(ok(run(c.create_groups())), 0u) << "BUSYGROUP must count as success";
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto groups = redis().command({"XINFO", "GROUPS", key(shard)}).as_array();
        ASSERT_EQ(groups.size(), 1u) << "shard " << shard;
        const auto& g = groups[0].as_array();
        EXPECT_EQ(g[1].as_string(), "workers");
        EXPECT_EQ(g[7].as_string(), "0-0") << "last-delivered-id of shard " << shard;
    }
    const auto read = ok(run(c.read(10)));
    ASSERT_EQ(read.size(), 1u);
    EXPECT_EQ(read[0].entry_id, early.entry_id);
    EXPECT_EQ(read[0].shard, 1u);
}

TEST_F(consumer_test, reading_without_a_group_reports_no_group) {
    consumer c(commands, blocking, options("c1"));
    const auto r = run(c.read(1, false));
    EXPECT_EQ(r.ec, sluice::queue::consumer_error::no_group) << r.ec.message() << " " << r.detail;
}

// --- batched reads ---------------------------------------------------------------------------------

TEST_F(consumer_test, one_read_takes_a_batch_from_every_shard) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    std::vector<sluice::test::queued> queued;
    for (std::uint32_t shard = 0; shard < shards; ++shard)
        for (int i = 0; i < 3; ++i) queued.push_back(enqueue(redis(), shards, "A81001", valid_body(), 3600s, shard));

    const auto first = ok(run(c.read(2)));  // COUNT 2 per shard
    ASSERT_EQ(first.size(), 6u);
    std::map<std::uint32_t, int> per_shard;
    for (const auto& e : first) {
        ++per_shard[e.shard];
        // (Entry ids are per stream: two shards may well hold the same id.)
        const auto it = std::find_if(queued.begin(), queued.end(),
                                     [&](const auto& q) { return q.submission_id == e.submission_id; });
        ASSERT_NE(it, queued.end()) << e.submission_id;
        EXPECT_EQ(it->shard, e.shard);
        EXPECT_EQ(e.entry_id, it->entry_id);
        EXPECT_EQ(e.practice, "A81001");
        EXPECT_EQ(e.sha256, std::string(64, 'a'));
        EXPECT_EQ(e.received_at, "2025-03-31T23:58:12.345Z");
        EXPECT_EQ(e.body, valid_body());
        EXPECT_FALSE(e.deleted);
    }
    EXPECT_EQ(per_shard, (std::map<std::uint32_t, int>{{0, 2}, {1, 2}, {2, 2}}));

    EXPECT_EQ(ok(run(c.read(10))).size(), 3u) << "the rest, one per shard";
    const auto began = steady::now();
    EXPECT_TRUE(ok(run(c.read(10))).empty());
    EXPECT_GE(steady::now() - began, 90ms) << "an empty read waits for BLOCK";
    for (std::uint32_t shard = 0; shard < shards; ++shard)
        EXPECT_EQ(pending(key(shard)).size(), 3u) << "delivered = pending, shard " << shard;
}

// --- start / finish --------------------------------------------------------------------------------

TEST_F(consumer_test, start_marks_processing_with_the_delivery_count) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", valid_body());
    const auto read = ok(run(c.read(1)));
    ASSERT_EQ(read.size(), 1u);

    const auto started = ok(run(c.start(read[0])));
    EXPECT_EQ(started.outcome, start_outcome::started);
    EXPECT_EQ(started.deliveries, 1u);
    const auto record = hash(redis(), q.status_key);
    EXPECT_EQ(record.at("status"), "processing");
    EXPECT_EQ(record.at("attempts"), "1");
}

TEST_F(consumer_test, finish_writes_the_result_once_acknowledges_and_keeps_the_ttl) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", valid_body(), 1000s);
    const auto read = ok(run(c.read(1)));
    ASSERT_EQ(read.size(), 1u);
    ASSERT_EQ(ok(run(c.start(read[0]))).outcome, start_outcome::started);

    EXPECT_EQ(ok(run(c.finish(read[0], R"({"points":1})", "2025-04-01T00:00:00.000Z"))), finish_outcome::calculated);
    auto record = hash(redis(), q.status_key);
    EXPECT_EQ(record.at("status"), "calculated");
    EXPECT_EQ(record.at("result"), R"({"points":1})");
    EXPECT_EQ(record.at("calculated_at"), "2025-04-01T00:00:00.000Z");
    EXPECT_EQ(record.at("attempts"), "1");
    EXPECT_EQ(record.at("receipt"), R"({"submission_id":")" + q.submission_id + R"(","status":"queued"})");
    const auto ttl = redis().command({"PTTL", q.status_key}).as_integer();
    EXPECT_GT(ttl, 990'000) << "the record keeps its TTL";
    EXPECT_LE(ttl, 1'000'000);
    EXPECT_TRUE(pending(key(q.shard)).empty()) << "acknowledged with the result";

    // The same submission finished again (another delivery, another worker): nothing changes.
    EXPECT_EQ(ok(run(c.finish(read[0], R"({"points":2})", "2025-04-02T00:00:00.000Z"))), finish_outcome::duplicate);
    record = hash(redis(), q.status_key);
    EXPECT_EQ(record.at("result"), R"({"points":1})");
    EXPECT_EQ(record.at("calculated_at"), "2025-04-01T00:00:00.000Z");
    EXPECT_GT(redis().command({"PTTL", q.status_key}).as_integer(), 990'000);
    EXPECT_EQ(ok(run(c.start(read[0]))).outcome, start_outcome::not_pending);
}

TEST_F(consumer_test, a_redelivered_entry_whose_submission_is_calculated_is_acknowledged_by_start) {
    consumer dead(commands, blocking, options("dead"));
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", valid_body());
    ASSERT_EQ(ok(run(dead.read(1))).size(), 1u);
    // Another delivery has calculated the submission meanwhile (written here directly: through the
    // finish script the result and the acknowledgement are one step).
    redis().command({"HSET", q.status_key, "status", "calculated", "result", "{}"});
    wait(claim_idle + 20ms);
    const auto claimed = ok(run(c.reclaim(q.shard)));
    ASSERT_EQ(claimed.size(), 1u);
    const auto started = ok(run(c.start(claimed[0])));
    EXPECT_EQ(started.outcome, start_outcome::already_calculated);
    EXPECT_EQ(started.deliveries, 2u);
    EXPECT_TRUE(pending(key(q.shard)).empty());
    EXPECT_EQ(hash(redis(), q.status_key).at("result"), "{}");
}

TEST_F(consumer_test, a_missing_status_record_is_never_created_and_the_entry_stays_pending) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", valid_body());
    redis().command({"DEL", q.status_key});
    const auto read = ok(run(c.read(1)));
    ASSERT_EQ(read.size(), 1u);

    EXPECT_EQ(ok(run(c.start(read[0]))).outcome, start_outcome::missing_record);
    EXPECT_EQ(ok(run(c.finish(read[0], "{}", "2025-04-01T00:00:00.000Z"))), finish_outcome::missing_record);
    EXPECT_EQ(redis().command({"EXISTS", q.status_key}).as_integer(), 0);
    EXPECT_EQ(pending(key(q.shard)).size(), 1u) << "not acknowledged: it fails like any poison entry";
    EXPECT_EQ(ok(run(c.fail(read[0], "no record", "t"))).outcome, fail_outcome::will_retry);
    EXPECT_EQ(redis().command({"EXISTS", q.status_key}).as_integer(), 0);
}

TEST_F(consumer_test, an_entry_without_a_valid_id_of_its_shard_is_invalid) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    // An id of shard 2 in shard 0's stream.
    redis().command(
        {"XADD", key(0), "*", "id", "2-0123456789abcdef0123456789abcdef", "practice", "A81001", "body", "{}"});
    redis().command({"XADD", key(0), "*", "practice", "A81001", "body", "{}"});  // no id at all
    const auto read = ok(run(c.read(10)));
    ASSERT_EQ(read.size(), 2u);
    for (const auto& e : read) {
        EXPECT_FALSE(sluice::queue::status_key_of(e, shards).has_value());
        EXPECT_EQ(ok(run(c.start(e))).outcome, start_outcome::invalid_entry);
        EXPECT_EQ(ok(run(c.fail(e, "invalid entry", "t"))).outcome, fail_outcome::will_retry);
    }
    EXPECT_EQ(redis().command({"KEYS", "sluice:*:sub:*"}).as_array().size(), 0u) << "no record created";
}

// --- reclaim ---------------------------------------------------------------------------------------

TEST_F(consumer_test, reclaims_a_dead_consumers_entries_after_claim_idle_following_the_cursor) {
    consumer dead(commands, blocking, options("dead"));
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    std::set<std::string> ids;
    for (int i = 0; i < 25; ++i) ids.insert(enqueue(redis(), shards, "A81001", valid_body(), 3600s, 1).entry_id);
    ASSERT_EQ(ok(run(dead.read(100))).size(), 25u);

    EXPECT_TRUE(ok(run(c.reclaim(1, 4))).empty()) << "not idle long enough yet";
    wait(claim_idle + 20ms);

    // One page holds at most COUNT entries and a cursor to continue from.
    const auto page = ok(run(c.claim_page(1, "0-0", 4)));
    EXPECT_EQ(page.entries.size(), 4u);
    EXPECT_NE(page.next_cursor, "0-0");

    const auto rest = ok(run(c.reclaim(1, 4)));  // pages of 4 until the cursor is 0-0
    std::set<std::string> claimed;
    for (const auto& e : page.entries) claimed.insert(e.entry_id);
    for (const auto& e : rest) claimed.insert(e.entry_id);
    EXPECT_EQ(claimed, ids);
    for (const auto& p : pending(key(1))) {
        EXPECT_EQ(p.consumer, "c1");
        EXPECT_EQ(p.deliveries, 2);
    }

    const auto started = ok(run(c.start(rest.front())));
    EXPECT_EQ(started.outcome, start_outcome::started);
    EXPECT_EQ(started.deliveries, 2u);
    EXPECT_EQ(hash(redis(), sluice::queue::submission_key(1, rest.front().submission_id)).at("attempts"), "2");

    // The dead consumer comes back to life too late: its start sees the entry is no longer its own.
    EXPECT_EQ(ok(run(dead.start(rest.front()))).outcome, start_outcome::not_owner);
}

// --- delivery counting and dead letter -------------------------------------------------------------

TEST_F(consumer_test, a_poison_entry_is_retried_then_dead_lettered_after_max_attempts_with_its_reason) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", "not json", 1000s);
    const std::string dlq = sluice::queue::dead_letter_key(q.shard);

    auto delivered = ok(run(c.read(1)));
    for (std::uint32_t attempt = 1; attempt <= max_attempts; ++attempt) {
        ASSERT_EQ(delivered.size(), 1u) << "attempt " << attempt;
        const auto started = ok(run(c.start(delivered[0])));
        EXPECT_EQ(started.outcome, start_outcome::started);
        EXPECT_EQ(started.deliveries, attempt);
        EXPECT_EQ(hash(redis(), q.status_key).at("status"), "processing");
        const auto failed = ok(run(c.fail(delivered[0], "malformed JSON: attempt " + std::to_string(attempt), "t")));
        EXPECT_EQ(failed.deliveries, attempt);
        if (attempt < max_attempts) {
            EXPECT_EQ(failed.outcome, fail_outcome::will_retry);
            const auto record = hash(redis(), q.status_key);
            EXPECT_EQ(record.at("status"), "queued");
            EXPECT_EQ(record.at("attempts"), std::to_string(attempt));
            EXPECT_EQ(record.at("last_error"), "malformed JSON: attempt " + std::to_string(attempt));
            EXPECT_EQ(record.count("error"), 0u);
            EXPECT_EQ(redis().command({"XLEN", dlq}).as_integer(), 0);
            EXPECT_EQ(pending(key(q.shard)).size(), 1u) << "a failed attempt is not acknowledged";
            EXPECT_TRUE(ok(run(c.reclaim(q.shard))).empty()) << "redelivered only after claim_idle";
            wait(claim_idle + 20ms);
            delivered = ok(run(c.reclaim(q.shard)));
        } else {
            EXPECT_EQ(failed.outcome, fail_outcome::dead_lettered);
        }
    }

    const auto dead = sluice::test::stream(redis(), dlq);
    ASSERT_EQ(dead.size(), 1u);
    const auto& f = dead[0].second;
    EXPECT_EQ(f.at("id"), q.submission_id);
    EXPECT_EQ(f.at("practice"), "A81001");
    EXPECT_EQ(f.at("sha256"), std::string(64, 'a'));
    EXPECT_EQ(f.at("received_at"), "2025-03-31T23:58:12.345Z");
    EXPECT_EQ(f.at("body"), "not json");
    EXPECT_EQ(f.at("entry_id"), q.entry_id);
    EXPECT_EQ(f.at("reason"), "malformed JSON: attempt 3");
    EXPECT_EQ(f.at("attempts"), "3");
    EXPECT_TRUE(pending(key(q.shard)).empty());
    const auto record = hash(redis(), q.status_key);
    EXPECT_EQ(record.at("status"), "failed");
    EXPECT_EQ(record.at("error"), "malformed JSON: attempt 3");
    EXPECT_EQ(record.at("attempts"), "3");
    EXPECT_GT(redis().command({"PTTL", q.status_key}).as_integer(), 990'000) << "TTL kept";

    // Failing it again (a late duplicate) dead-letters nothing twice.
    EXPECT_EQ(ok(run(c.fail(delivered[0], "again", "t"))).outcome, fail_outcome::not_pending);
    EXPECT_EQ(redis().command({"XLEN", dlq}).as_integer(), 1);
}

TEST_F(consumer_test, deliveries_beyond_max_attempts_without_a_verdict_are_exhausted) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", valid_body());
    // Workers that die holding it: one read, then claims by other dead consumers.
    consumer first(commands, blocking, options("dead-0"));
    ASSERT_EQ(ok(run(first.read(1))).size(), 1u);
    for (std::uint32_t i = 1; i < max_attempts; ++i) {
        wait(claim_idle + 20ms);
        consumer next(commands, blocking, options("dead-" + std::to_string(i)));
        ASSERT_EQ(ok(run(next.reclaim(q.shard))).size(), 1u);
    }
    wait(claim_idle + 20ms);
    const auto claimed = ok(run(c.reclaim(q.shard)));
    ASSERT_EQ(claimed.size(), 1u);

    const auto started = ok(run(c.start(claimed[0])));
    EXPECT_EQ(started.outcome, start_outcome::exhausted);
    EXPECT_EQ(started.deliveries, max_attempts + 1);
    EXPECT_EQ(hash(redis(), q.status_key).at("status"), "queued") << "exhausted writes nothing";
    const auto failed = ok(run(c.fail(claimed[0], "gave up", "t")));
    EXPECT_EQ(failed.outcome, fail_outcome::dead_lettered);
    EXPECT_EQ(failed.deliveries, max_attempts + 1);
    EXPECT_EQ(hash(redis(), q.status_key).at("status"), "failed");
    EXPECT_EQ(redis().command({"XLEN", sluice::queue::dead_letter_key(q.shard)}).as_integer(), 1);
}

// --- trimming --------------------------------------------------------------------------------------

TEST_F(consumer_test, trimming_removes_acknowledged_entries_only) {
    consumer c(commands, blocking, options("c1"));
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) ids.push_back(enqueue(redis(), shards, "A81001", valid_body(), 3600s, 0).entry_id);
    auto ids_in_stream = [&] {
        std::vector<std::string> out;
        for (const auto& [id, fields] : sluice::test::stream(redis(), key(0))) out.push_back(id);
        return out;
    };
    auto tail = [&](std::size_t from) {
        return std::vector<std::string>(ids.begin() + static_cast<long>(from), ids.end());
    };

    EXPECT_EQ(ok(run(c.trim(0))).removed, 0u) << "no group: nothing is known to be acknowledged";
    EXPECT_EQ(ids_in_stream(), ids);

    ok(run(c.create_groups()));
    EXPECT_EQ(ok(run(c.trim(0))).removed, 0u) << "nothing delivered yet";
    ASSERT_EQ(ok(run(c.read(4))).size(), 4u);  // ids 0..3 pending; 4, 5 undelivered
    EXPECT_EQ(ok(run(c.trim(0))).removed, 0u) << "delivered but unacknowledged";
    for (const int i : {0, 1, 3}) redis().command({"XACK", key(0), "workers", ids[static_cast<std::size_t>(i)]});

    auto trimmed = ok(run(c.trim(0)));
    EXPECT_EQ(trimmed.removed, 2u);
    EXPECT_EQ(trimmed.min_id, ids[2]) << "the oldest pending entry";
    EXPECT_EQ(ids_in_stream(), tail(2)) << "3 was acknowledged but lies after the pending 2";

    redis().command({"XACK", key(0), "workers", ids[2]});
    trimmed = ok(run(c.trim(0)));
    EXPECT_EQ(trimmed.removed, 2u);
    EXPECT_EQ(trimmed.min_id, ids[4]) << "the first undelivered entry";
    EXPECT_EQ(ids_in_stream(), tail(4));

    ASSERT_EQ(ok(run(c.read(10))).size(), 2u);
    EXPECT_EQ(ok(run(c.trim(0))).removed, 0u);
    for (const int i : {4, 5}) redis().command({"XACK", key(0), "workers", ids[static_cast<std::size_t>(i)]});
    EXPECT_EQ(ok(run(c.trim(0))).removed, 2u);
    EXPECT_EQ(redis().command({"XLEN", key(0)}).as_integer(), 0) << "everything acknowledged: nothing kept";

    const auto late = enqueue(redis(), shards, "A81001", valid_body(), 3600s, 0).entry_id;
    EXPECT_EQ(ok(run(c.trim(0))).removed, 0u);
    EXPECT_EQ(ids_in_stream(), std::vector<std::string>{late}) << "undelivered entries stay";

    // Another group that has read nothing holds everything back.
    ASSERT_EQ(ok(run(c.read(10))).size(), 1u);
    redis().command({"XACK", key(0), "workers", late});
    redis().command({"XGROUP", "CREATE", key(0), "audit", "0"});
    EXPECT_EQ(ok(run(c.trim(0))).removed, 0u);
    EXPECT_EQ(ids_in_stream(), std::vector<std::string>{late});
}

TEST_F(consumer_test, trimming_forgets_idle_consumers_that_hold_nothing) {
    auto o = options("c1");
    o.forget_idle = 50ms;
    consumer c(commands, blocking, o);
    consumer holder(commands, blocking, options("holder"));
    consumer gone(commands, blocking, options("gone"));
    ok(run(c.create_groups()));
    enqueue(redis(), shards, "A81001", valid_body(), 3600s, 0);
    enqueue(redis(), shards, "A81001", valid_body(), 3600s, 0);
    ASSERT_EQ(ok(run(holder.read(1))).size(), 1u);
    const auto taken = ok(run(gone.read(1)));
    ASSERT_EQ(taken.size(), 1u);
    redis().command({"XACK", key(0), "workers", taken[0].entry_id});  // it finished and died: holds nothing
    wait(100ms);
    EXPECT_EQ(ok(run(c.trim(0))).forgotten_consumers, 1u);
    std::set<std::string> names;
    const auto consumers = redis().command({"XINFO", "CONSUMERS", key(0), "workers"});
    for (const auto& consumer_info : consumers.as_array()) names.insert(consumer_info.as_array()[1].as_string());
    EXPECT_EQ(names, std::set<std::string>{"holder"}) << "a consumer holding an entry is kept";
}

// --- lag and leaving -------------------------------------------------------------------------------

TEST_F(consumer_test, lag_counts_pending_and_undelivered_entries) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    for (int i = 0; i < 3; ++i) enqueue(redis(), shards, "A81001", valid_body(), 3600s, 2);
    ASSERT_EQ(ok(run(c.read(1))).size(), 1u);
    const auto lag = ok(run(c.lag(2)));
    EXPECT_EQ(lag.pending, 1u);
    ASSERT_TRUE(lag.undelivered.has_value());
    EXPECT_EQ(*lag.undelivered, 2u);
    EXPECT_EQ(ok(run(c.lag(0))).pending, 0u);
}

TEST_F(consumer_test, leaving_removes_the_consumer_only_when_it_holds_nothing) {
    consumer c(commands, blocking, options("c1"));
    ok(run(c.create_groups()));
    const auto q = enqueue(redis(), shards, "A81001", valid_body(), 3600s, 0);
    ASSERT_EQ(ok(run(c.read(1))).size(), 1u);
    EXPECT_FALSE(ok(run(c.leave(0)))) << "it holds an entry";
    EXPECT_EQ(pending(key(0)).size(), 1u);
    redis().command({"XACK", key(0), "workers", q.entry_id});
    EXPECT_TRUE(ok(run(c.leave(0))));
    EXPECT_EQ(redis().command({"XINFO", "CONSUMERS", key(0), "workers"}).as_array().size(), 0u);
}

}  // namespace
