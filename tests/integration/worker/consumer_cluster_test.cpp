// queue/consumer.hpp and the real sluice-worker on a Redis Cluster of 3 masters and 3 replicas
// (tests/support/redis_cluster.hpp), shared by every test of this binary: the consumer drains
// the shards of all three masters, a blocking read wakes for an entry on any shard, and the
// worker keeps calculating across a failover (a master killed with kill -9).
//
// Entries are written exactly as queue/admission.lua writes them (worker_test_support.hpp's
// enqueue), on the master of their shard. Each test uses a consumer group of its own, so the
// shards' streams may hold the entries of earlier tests. The failover test is declared last (the
// binary runs as one ctest test, in declaration order).
#include "queue/consumer.hpp"

#include "queue/keys.hpp"
#include "redis/router.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/redis_cluster.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <set>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using sluice::queue::consumer;
using sluice::queue::consumer_options;
using sluice::queue::consumer_result;
using sluice::queue::finish_outcome;
using sluice::queue::queued_entry;
using sluice::queue::start_outcome;
using sluice::test::cluster;
using sluice::test::enqueue;
using sluice::test::queued;
using sluice::test::redis_server;
using sluice::test::valid_body;
using steady = std::chrono::steady_clock;

[[maybe_unused]] auto* const cluster_env = sluice::test::add_redis_cluster_environment();

sluice::redis::client_options router_options(std::chrono::milliseconds timeout) {
    sluice::redis::client_options o;
    for (std::size_t i = 0; i < cluster().size(); ++i)
        o.cluster_seeds.push_back({cluster().node(i).host(), cluster().node(i).port()});
    o.host = o.cluster_seeds.front().host;
    o.port = o.cluster_seeds.front().port;
    o.timeout = timeout;
    o.backoff_initial = 10ms;
    o.backoff_max = 100ms;
    o.degraded_refresh = 50ms;
    return o;
}

// Queues an entry on `shard` on the shard's master (as admission.lua does).
queued enqueue_on(std::uint32_t shard, std::uint32_t shards, std::string_view practice = "A81001") {
    auto& master = cluster().master_of(sluice::queue::queue_key(shard));
    return enqueue(master, shards, practice, valid_body(practice), 3600s, shard);
}

// The entry's status on its master now ("" if it cannot be read: no master, or none answering).
std::string status_of(const queued& q) {
    try {
        const auto r = cluster().master_of(q.status_key).command({"HGET", q.status_key, "status"});
        return r.is_nil() ? "" : r.as_string();
    } catch (const sluice::test::redis_error&) {
        return "";
    }
}

class consumer_cluster_test : public ::testing::Test {
protected:
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

    void connect(sluice::redis::router& r) {
        r.start();
        ASSERT_TRUE(run_until(
            [&] {
                for (std::uint32_t shard = 0; shard < 16; ++shard)
                    if (!r.connected(sluice::queue::queue_key(shard))) return false;
                return true;
            },
            10s))
            << r.last_error();
    }

    template <typename T>
    consumer_result<T> run(asio::awaitable<consumer_result<T>> call) {
        std::optional<consumer_result<T>> out;
        asio::co_spawn(ioc, std::move(call), [&](std::exception_ptr e, consumer_result<T> r) {
            if (e) std::rethrow_exception(e);
            out = std::move(r);
        });
        if (!run_until([&] { return out.has_value(); }, 10s)) {
            ADD_FAILURE() << "consumer call did not complete within 10 s";
            return {};
        }
        return *std::move(out);
    }

    consumer_options options(std::string group, std::uint32_t shards) const {
        consumer_options o;
        o.shards = shards;
        o.group = std::move(group);
        o.name = "c1";
        o.block = 2s;
        o.cluster_block_slice = 50ms;
        o.claim_idle = 300ms;
        return o;
    }

    asio::io_context ioc;
    sluice::redis::router commands{ioc, router_options(2s)};
    sluice::redis::router blocking{ioc, router_options(4s)};
};

TEST_F(consumer_cluster_test, drains_the_shards_of_all_three_masters) {
    constexpr std::uint32_t shards = 16;
    connect(commands);
    connect(blocking);
    consumer c(commands, blocking, options("drain", shards));
    c.register_scripts(commands);
    const auto created = run(c.create_groups());
    ASSERT_TRUE(created) << created.ec.message() << " " << created.detail;

    std::vector<queued> entries;
    std::set<std::string> masters;
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        for (int i = 0; i < 4; ++i) entries.push_back(enqueue_on(shard, shards));
        masters.insert(commands.node_of(sluice::queue::queue_key(shard)));
    }
    EXPECT_EQ(masters.size(), 3U) << "16 shards spread over the three masters";

    // The group starts at 0, so it also sees what earlier tests of this binary queued: those are
    // finished too, but only ours are counted.
    std::set<std::string> ours, finished;
    for (const auto& q : entries) ours.insert(q.submission_id);
    const auto deadline = steady::now() + 30s;
    while (finished.size() < ours.size() && steady::now() < deadline) {
        const auto got = run(c.read(8));
        ASSERT_TRUE(got) << got.ec.message() << " " << got.detail;
        for (const auto& entry : got.value) {
            const bool mine = ours.count(entry.submission_id) == 1;
            const auto started = run(c.start(entry));
            ASSERT_TRUE(started) << started.ec.message() << " " << started.detail;
            if (mine) {
                ASSERT_EQ(started.value.outcome, start_outcome::started);
            }
            const auto done = run(c.finish(entry, R"({"points":1})", "2025-03-31T23:59:00.000Z"));
            ASSERT_TRUE(done) << done.ec.message() << " " << done.detail;
            if (!mine) continue;
            EXPECT_EQ(done.value, finish_outcome::calculated);
            finished.insert(entry.submission_id);
        }
    }
    ASSERT_EQ(finished.size(), ours.size());
    for (const auto& q : entries) EXPECT_EQ(status_of(q), "calculated") << q.submission_id;
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto lag = run(c.lag(shard));
        ASSERT_TRUE(lag) << lag.ec.message() << " " << lag.detail;
        EXPECT_EQ(lag.value.pending, 0U) << "shard " << shard;
    }
}

TEST_F(consumer_cluster_test, a_blocking_read_wakes_for_an_entry_on_any_shard) {
    constexpr std::uint32_t shards = 16;
    connect(commands);
    connect(blocking);
    consumer c(commands, blocking, options("wake", shards));
    // Created at "$": the entries of earlier tests are not this group's business.
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto key = sluice::queue::queue_key(shard);
        const auto r = cluster().master_of(key).command({"XGROUP", "CREATE", key, "wake", "$", "MKSTREAM"});
        ASSERT_FALSE(r.is_error()) << r.str;
    }
    for (const std::uint32_t shard : {3U, 10U, 14U}) {
        std::optional<consumer_result<std::vector<queued_entry>>> got;
        asio::co_spawn(ioc, c.read(4), [&](std::exception_ptr e, consumer_result<std::vector<queued_entry>> r) {
            if (e) std::rethrow_exception(e);
            got = std::move(r);
        });
        run_until([] { return false; }, 150ms);  // the read is blocking by now
        ASSERT_FALSE(got.has_value()) << "returned before anything was queued";
        const auto q = enqueue_on(shard, shards);
        ASSERT_TRUE(run_until([&] { return got.has_value(); }, 10s));
        ASSERT_TRUE(*got) << got->ec.message() << " " << got->detail;
        // Not the end of the 2 s block with nothing: the entry itself.
        ASSERT_EQ(got->value.size(), 1U) << "shard " << shard;
        EXPECT_EQ(got->value[0].submission_id, q.submission_id);
        EXPECT_EQ(got->value[0].shard, shard);
    }
}

TEST_F(consumer_cluster_test, the_worker_calculates_the_entries_of_every_master) {
    sluice::test::worker_config config;
    config.shards = 12;
    config.claim_idle_ms = 300;
    config.redis_url = cluster().url();
    sluice::test::worker_process w(config);
    std::vector<queued> entries;
    for (std::uint32_t shard = 0; shard < config.shards; ++shard)
        for (int i = 0; i < 2; ++i) entries.push_back(enqueue_on(shard, config.shards, "A8100" + std::to_string(i)));
    const auto all_calculated = [&] {
        return std::all_of(entries.begin(), entries.end(),
                           [](const queued& q) { return status_of(q) == "calculated"; });
    };
    EXPECT_TRUE(sluice::test::eventually(all_calculated, 30s)) << w.log();
    w.send_signal(SIGTERM);
    EXPECT_EQ(w.wait_exit(10s), 0) << w.log();
}

// Last: it kills a master. Entries are queued every few milliseconds on every shard; one master
// is killed with kill -9 (after its replica has caught up, so the entries already queued on it
// survive the failover). The worker must keep calculating the other masters' entries while the
// victim's shards have no master, and every entry queued must end calculated.
TEST_F(consumer_cluster_test, the_worker_keeps_going_across_a_failover) {
    sluice::test::worker_config config;
    config.shards = 12;
    config.claim_idle_ms = 300;
    config.redis_url = cluster().url();
    sluice::test::worker_process w(config);

    const auto victim_key = sluice::queue::queue_key(0);
    redis_server* victim = &cluster().master_of(victim_key);
    redis_server* replica = cluster().replica_of(*victim);
    ASSERT_NE(replica, nullptr);
    std::map<std::uint32_t, bool> on_victim;
    for (std::uint32_t shard = 0; shard < config.shards; ++shard)
        on_victim[shard] = &cluster().master_of(sluice::queue::queue_key(shard)) == victim;

    struct queued_at {
        queued entry;
        steady::time_point when;
    };
    std::vector<queued_at> entries;
    std::uint32_t next_shard = 0;
    // One entry on the next shard (skipping the victim's when told); false if its master refused.
    const auto queue_next = [&](bool victim_too) {
        const auto shard = next_shard++ % config.shards;
        if (on_victim[shard] && !victim_too) return true;
        try {
            entries.push_back({enqueue_on(shard, config.shards), steady::now()});
            return true;
        } catch (const sluice::test::redis_error&) {
            return false;  // its master is gone (the victim, before the promotion is known)
        }
    };

    for (int i = 0; i < 60; ++i) {
        queue_next(true);
        ::usleep(10'000);
    }
    // The victim's replica has everything queued on it so far.
    const auto offset = [](redis_server& node, const char* field) {
        const auto info = node.command({"INFO", "replication"}).as_string();
        const auto at = info.find(field);
        return at == std::string::npos ? -1LL : std::stoll(info.substr(at + std::strlen(field)));
    };
    ASSERT_TRUE(sluice::test::eventually(
        [&] { return offset(*replica, "slave_repl_offset:") >= offset(*victim, "master_repl_offset:"); }, 10s));
    victim->kill();
    const auto killed = steady::now();

    // Queue on every shard until the victim's shards take entries again (on the promoted replica).
    std::optional<steady::time_point> victim_back;
    std::size_t refused = 0;
    while (!victim_back && steady::now() - killed < 30s) {
        const auto shard = next_shard % config.shards;
        const bool taken = queue_next(true);
        if (!taken) ++refused;
        if (taken && on_victim[shard]) victim_back = steady::now();
        ::usleep(10'000);
    }
    ASSERT_TRUE(victim_back) << "the victim's shards took no entry within 30 s of the kill";
    // While the victim's shards had no master, the others' entries were calculated.
    std::size_t calculated_during_outage = 0;
    for (const auto& e : entries)
        if (e.when > killed && !on_victim[e.entry.shard] && status_of(e.entry) == "calculated")
            ++calculated_during_outage;
    EXPECT_GT(calculated_during_outage, 0U) << w.log();

    for (int i = 0; i < 30; ++i) {
        queue_next(true);
        ::usleep(10'000);
    }
    const auto all_calculated = [&] {
        return std::all_of(entries.begin(), entries.end(),
                           [](const queued_at& e) { return status_of(e.entry) == "calculated"; });
    };
    EXPECT_TRUE(sluice::test::eventually(all_calculated, 30s)) << w.log();
    const auto ms = [](steady::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    std::cout << "[ figures  ] worker across a failover: " << entries.size() << " entries queued, all calculated; "
              << "the killed master's shards took entries again " << ms(*victim_back - killed) << " ms after kill -9 ("
              << refused << " enqueues refused meanwhile); " << calculated_during_outage
              << " other shards' entries were calculated during that time\n";

    w.send_signal(SIGTERM);
    EXPECT_EQ(w.wait_exit(10s), 0) << w.log();
    victim->start();
    cluster().wait_until_healthy(30s);
}

}  // namespace
