// redis::router against a real Redis Cluster of 3 masters and 3 replicas (tests/support/
// redis_cluster.hpp), shared by every test of this binary: routing by hash slot, one connection
// per master, scripts on every master, MOVED after a slot moved, ASK and TRYAGAIN during a
// migration, CLUSTERDOWN, WAIT on the key's master, and a master killed with kill -9.
//
// Each test runs its own io_context on the test thread with bounded waits (a hang fails the test
// instead of stalling the binary), uses keys of its own, and leaves the cluster healthy: 3
// masters serving every slot, each with a replica. The failover test runs last (it is declared
// last; the binary runs as one ctest test, in declaration order).
#include "redis/router.hpp"

#include "redis/slot.hpp"
#include "tests/support/redis_cluster.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;
using sluice::redis::client_options;
using sluice::redis::error;
using sluice::redis::reply;
using sluice::redis::router;
using sluice::redis::script;
using sluice::test::cluster;
using sluice::test::redis_server;
using steady = std::chrono::steady_clock;

[[maybe_unused]] auto* const cluster_env = sluice::test::add_redis_cluster_environment();

std::string address(const redis_server& node) { return node.host() + ":" + std::to_string(node.port()); }

// INFO commandstats calls of one command on one node (0 if never called).
long long calls_of(const redis_server& node, const std::string& command) {
    const auto info = node.command({"INFO", "commandstats"}).as_string();
    const std::string field = "cmdstat_" + command + ":calls=";
    const auto at = info.find(field);
    return at == std::string::npos ? 0 : std::stoll(info.substr(at + field.size()));
}

long long connections_received(const redis_server& node) {
    const auto info = node.command({"INFO", "stats"}).as_string();
    const std::string field = "total_connections_received:";
    return std::stoll(info.substr(info.find(field) + field.size()));
}

class redis_cluster_test : public ::testing::Test {
protected:
    client_options options() const {
        client_options o;
        for (std::size_t i = 0; i < cluster().size(); ++i) {
            auto& n = cluster().node(i);
            o.cluster_seeds.push_back({n.host(), n.port()});
        }
        o.host = o.cluster_seeds.front().host;
        o.port = o.cluster_seeds.front().port;
        o.timeout = 2s;  // generous: these tests are about routing, not about a busy machine's latency
        o.liveness = 3s;
        o.backoff_initial = 10ms;
        o.backoff_max = 100ms;
        o.degraded_refresh = 50ms;
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

    void connect(router& r) {
        std::vector<std::string> one_tag_per_master;
        for (auto* m : cluster().masters()) one_tag_per_master.push_back(tag_of(*m));
        r.start();
        // Connected to every master: each key's calls can be served.
        ASSERT_TRUE(run_until(
            [&] {
                return r.connected() && std::all_of(one_tag_per_master.begin(), one_tag_per_master.end(),
                                                    [&](const std::string& tag) { return r.connected(tag); });
            },
            10s))
            << r.last_error();
    }

    std::pair<error_code, reply> exec(router& r, std::string_view key, std::vector<std::string> args) {
        std::vector<std::string_view> views(args.begin(), args.end());
        std::optional<std::pair<error_code, reply>> result;
        r.async_exec(key, std::span<const std::string_view>(views),
                     [&](error_code ec, reply rep) { result.emplace(ec, std::move(rep)); });
        if (!run_until([&] { return result.has_value(); }, 10s)) {
            ADD_FAILURE() << "call did not complete within 10 s";
            return {};
        }
        return *std::move(result);
    }

    std::pair<error_code, reply> eval(router& r, const script& s, std::vector<std::string> keys,
                                      std::vector<std::string> args = {}) {
        std::vector<std::string_view> key_views(keys.begin(), keys.end()), arg_views(args.begin(), args.end());
        std::optional<std::pair<error_code, reply>> result;
        r.async_eval(s, key_views, arg_views, [&](error_code ec, reply rep) { result.emplace(ec, std::move(rep)); });
        if (!run_until([&] { return result.has_value(); }, 10s)) {
            ADD_FAILURE() << "eval did not complete within 10 s";
            return {};
        }
        return *std::move(result);
    }

    // A hash tag ("{N}") whose slot the given master serves now.
    static std::string tag_of(redis_server& master) {
        for (int n = 0; n < 10000; ++n) {
            const std::string tag = "{" + std::to_string(n) + "}";
            if (&cluster().master_of_slot(sluice::redis::key_slot(tag)) == &master) return tag;
        }
        throw std::runtime_error("no tag for " + address(master));
    }

    // Some masters' tags at once (one CLUSTER NODES per call, not per tag).
    static std::map<redis_server*, std::vector<std::string>> tags_by_master(int tags) {
        const auto view = cluster().view();
        std::map<redis_server*, std::vector<std::string>> out;
        for (int n = 0; n < tags; ++n) {
            const std::string tag = "{" + std::to_string(n) + "}";
            const auto slot = sluice::redis::key_slot(tag);
            for (const auto& v : view) {
                if (!v.master || v.failed) continue;
                if (!std::any_of(v.slots.begin(), v.slots.end(),
                                 [&](const auto& r) { return r.first <= slot && slot <= r.second; }))
                    continue;
                for (std::size_t i = 0; i < cluster().size(); ++i)
                    if (cluster().node(i).port() == v.port) out[&cluster().node(i)].push_back(tag);
            }
        }
        return out;
    }

    asio::io_context ioc;
};

// ---- routing ---------------------------------------------------------------------------------

TEST_F(redis_cluster_test, the_slot_function_agrees_with_cluster_keyslot) {
    auto& node = *cluster().masters().front();
    std::mt19937 random(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int i = 0; i < 300; ++i) {
        std::string key = "sluice:{" + std::to_string(i) + "}:q";
        if (i % 3 == 1) {  // arbitrary bytes, braces included, for the tag rule
            key.clear();
            for (int j = 0; j < 12; ++j) key.push_back(static_cast<char>(byte(random)));
        }
        EXPECT_EQ(sluice::redis::key_slot(key), node.command({"CLUSTER", "KEYSLOT", key}).as_integer()) << i;
    }
}

TEST_F(redis_cluster_test, keys_of_many_tags_land_on_their_masters_on_one_connection_each) {
    const auto masters = cluster().masters();
    std::vector<std::string> keys;
    for (int shard = 0; shard < 64; ++shard) keys.push_back("sluice:{" + std::to_string(shard) + "}:routing");
    std::vector<std::string> one_key_per_master;
    for (auto* m : masters) one_key_per_master.push_back("routing:" + tag_of(*m));

    // Nothing but the router talks to the masters between the two counts of connections.
    std::map<const redis_server*, long long> connections_before;
    for (auto* m : masters) connections_before[m] = connections_received(*m);
    router r(ioc, options());
    r.start();
    ASSERT_TRUE(run_until(
        [&] {
            return std::all_of(one_key_per_master.begin(), one_key_per_master.end(),
                               [&](const std::string& k) { return r.connected(k); });
        },
        10s))
        << r.last_error();
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto [ec, rep] = exec(r, keys[i], {"SET", keys[i], "v" + std::to_string(i)});
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_EQ(rep.str, "OK") << rep.str;
    }
    // One pipelined connection per master (a seed that is a master keeps its connection as that
    // master's). The +1 is the INFO call's own connection.
    for (const auto& [m, before] : connections_before) EXPECT_LE(connections_received(*m) - before, 2) << address(*m);

    std::set<std::string> masters_used;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto& owner = cluster().master_of(keys[i]);
        EXPECT_EQ(owner.command({"GET", keys[i]}).as_string(), "v" + std::to_string(i)) << keys[i];
        EXPECT_EQ(r.node_of(keys[i]), address(owner)) << keys[i];
        masters_used.insert(address(owner));
    }
    EXPECT_EQ(masters_used.size(), 3U);
    EXPECT_EQ(r.counters().moved, 0U);
}

TEST_F(redis_cluster_test, calls_complete_with_not_connected_before_start_and_stopped_after_stop) {
    router r(ioc, options());
    auto [ec, rep] = exec(r, "{0}", {"PING"});
    EXPECT_EQ(ec, error::not_connected);
    connect(r);
    r.stop();
    std::tie(ec, rep) = exec(r, "{0}", {"PING"});
    EXPECT_EQ(ec, error::stopped);
}

TEST_F(redis_cluster_test, a_seed_that_is_down_is_passed_over) {
    auto o = options();
    // A port nobody listens on first: refused at once, and the next seed is asked.
    o.cluster_seeds.insert(o.cluster_seeds.begin(), {"127.0.0.1", 1});
    router r(ioc, o);
    connect(r);
    const auto [ec, rep] = exec(r, "{1}", {"PING"});
    EXPECT_FALSE(ec) << ec.message();
}

TEST_F(redis_cluster_test, scripts_are_loaded_on_every_master_and_noscript_falls_back_on_that_node) {
    const script incr("return redis.call('INCR', KEYS[1])");
    router r(ioc, options());
    r.register_script(incr);
    connect(r);
    const auto masters = cluster().masters();
    for (auto* m : masters) {
        EXPECT_EQ(m->command({"SCRIPT", "EXISTS", incr.sha1()}).as_array().at(0).as_integer(), 1) << address(*m);
    }
    for (const auto& [m, tags] : tags_by_master(30)) {
        for (const auto& tag : tags) {
            const auto [ec, rep] = eval(r, incr, {"scripts:" + tag});
            ASSERT_FALSE(ec) << ec.message();
            EXPECT_TRUE(rep.is_integer()) << rep.str;
        }
    }
    // One master forgets it: its calls fall back to EVAL there, the others never notice.
    auto& forgetful = *masters.front();
    ASSERT_EQ(forgetful.command({"SCRIPT", "FLUSH"}).as_string(), "OK");
    const auto evals_before = calls_of(forgetful, "eval");
    const auto [ec, rep] = eval(r, incr, {"scripts:" + tag_of(forgetful)});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(rep.is_integer()) << rep.str;
    EXPECT_EQ(calls_of(forgetful, "eval"), evals_before + 1);
    EXPECT_EQ(forgetful.command({"SCRIPT", "EXISTS", incr.sha1()}).as_array().at(0).as_integer(), 1);
}

TEST_F(redis_cluster_test, wait_goes_to_the_master_that_took_the_write) {
    router r(ioc, options());
    connect(r);
    for (auto* m : cluster().masters()) {
        std::map<const redis_server*, long long> waits_before;
        for (auto* other : cluster().masters()) waits_before[other] = calls_of(*other, "wait");
        const auto key = "durable:" + tag_of(*m);
        auto [ec, rep] = exec(r, key, {"SET", key, "1"});
        ASSERT_FALSE(ec) << ec.message();
        std::tie(ec, rep) = exec(r, key, {"WAIT", "1", "1000"});
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(rep.integer, 1) << "the master's one replica acknowledged";
        for (auto* other : cluster().masters()) {
            EXPECT_EQ(calls_of(*other, "wait") - waits_before[other], other == m ? 1 : 0) << address(*other);
        }
    }
}

// ---- resharding ------------------------------------------------------------------------------

TEST_F(redis_cluster_test, a_moved_slot_is_followed_with_one_retry_and_mapped_at_once) {
    auto o = options();
    o.topology_refresh = std::chrono::hours(1);  // no periodic refresh may learn of the move first
    router r(ioc, o);
    connect(r);
    const std::string key = "{moving}:k";
    ASSERT_FALSE(exec(r, key, {"SET", key, "before"}).first);
    const auto slot = sluice::redis::key_slot(key);
    auto& from = cluster().master_of_slot(slot);
    auto masters = cluster().masters();
    auto& to = **std::find_if(masters.begin(), masters.end(), [&](auto* m) { return m != &from; });
    cluster().move_slot(slot, from, to);

    const auto moved_before = r.counters().moved;
    const auto [ec, rep] = exec(r, key, {"GET", key});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(rep.str, "before");
    EXPECT_EQ(r.counters().moved, moved_before + 1);
    EXPECT_EQ(r.node_of(key), address(to));  // mapped by the MOVED itself, before any refresh
    // The next call goes straight there.
    ASSERT_FALSE(exec(r, key, {"SET", key, "after"}).first);
    EXPECT_EQ(r.counters().moved, moved_before + 1);
    EXPECT_EQ(to.command({"GET", key}).as_string(), "after");
}

TEST_F(redis_cluster_test, ask_during_a_migration_is_followed_and_tryagain_is_its_own_error) {
    const script get("return redis.call('GET', KEYS[1])");
    router r(ioc, options());
    r.register_script(get);
    connect(r);
    const std::string moved_key = "{asking}:a", staying_key = "{asking}:b";
    ASSERT_FALSE(exec(r, moved_key, {"SET", moved_key, "A"}).first);
    ASSERT_FALSE(exec(r, staying_key, {"SET", staying_key, "B"}).first);
    const auto slot = sluice::redis::key_slot(moved_key);
    auto& from = cluster().master_of_slot(slot);
    auto masters = cluster().masters();
    auto& to = **std::find_if(masters.begin(), masters.end(), [&](auto* m) { return m != &from; });
    cluster().begin_slot_move(slot, from, to);
    cluster().migrate_keys(slot, from, to, {moved_key});

    const auto asked_before = r.counters().asked;
    auto [ec, rep] = exec(r, moved_key, {"GET", moved_key});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(rep.str, "A");
    EXPECT_EQ(r.counters().asked, asked_before + 1);
    EXPECT_EQ(r.node_of(moved_key), address(from)) << "ASK does not change the map";

    std::tie(ec, rep) = exec(r, staying_key, {"GET", staying_key});  // still on the source
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(rep.str, "B");

    // A script goes to the importing node as EVAL after ASKING.
    std::tie(ec, rep) = eval(r, get, {moved_key});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(rep.str, "A");
    EXPECT_EQ(r.counters().asked, asked_before + 2);

    // Two keys, one on each side of the migration: TRYAGAIN, as an error of its own.
    const auto try_again_before = r.counters().try_again;
    std::tie(ec, rep) = exec(r, moved_key, {"MGET", moved_key, staying_key});
    EXPECT_EQ(ec, error::try_again) << ec.message() << " " << rep.str;
    EXPECT_EQ(r.counters().try_again, try_again_before + 1);

    cluster().finish_slot_move(slot, from, to);
    std::tie(ec, rep) = exec(r, moved_key, {"MGET", moved_key, staying_key});
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(rep.elements.size(), 2U);
    EXPECT_EQ(rep.elements[0].str, "A");
    EXPECT_EQ(rep.elements[1].str, "B");
}

TEST_F(redis_cluster_test, clusterdown_is_its_own_error_and_the_slot_comes_back) {
    router r(ioc, options());
    connect(r);
    const std::string key = "{down}:k";
    ASSERT_FALSE(exec(r, key, {"SET", key, "x"}).first);
    const auto slot = std::to_string(sluice::redis::key_slot(key));
    auto& owner = cluster().master_of(key);
    ASSERT_EQ(owner.command({"CLUSTER", "DELSLOTS", slot}).as_string(), "OK");

    const auto down_before = r.counters().cluster_down;
    const auto [ec, rep] = exec(r, key, {"GET", key});
    EXPECT_EQ(ec, error::cluster_down) << ec.message() << " " << rep.str;
    EXPECT_GT(r.counters().cluster_down, down_before);

    ASSERT_EQ(owner.command({"CLUSTER", "ADDSLOTS", slot}).as_string(), "OK");
    cluster().wait_until_healthy(20s);
    // Served again once the router has seen the slot's master again (its degraded refresh).
    std::pair<error_code, reply> last;
    ASSERT_TRUE(run_until(
        [&] {
            last = exec(r, key, {"GET", key});
            return !last.first && last.second.str == "x";
        },
        10s))
        << last.first.message() << " " << last.second.str;
}

// ---- failover (last: it kills a master) ----------------------------------------------------------

// Calls every few milliseconds to a key on each master; one master is killed with kill -9. The
// calls of the other masters' slots must all succeed throughout; the victim's fail from the kill
// until its replica is promoted and found, then succeed again. How long that takes is printed
// (it depends on cluster-node-timeout, 1000 ms here, and the election), not asserted.
TEST_F(redis_cluster_test, a_killed_master_fails_only_its_own_slots_until_its_replica_takes_over) {
    router r(ioc, options());
    std::vector<bool> connection_changes;
    r.on_connection_change([&](bool up) { connection_changes.push_back(up); });
    connect(r);
    connection_changes.clear();

    const auto by_master = tags_by_master(60);
    ASSERT_EQ(by_master.size(), 3U);
    redis_server* victim = by_master.begin()->first;
    ASSERT_NE(cluster().replica_of(*victim), nullptr);
    const std::string victim_key = "failover:" + by_master.at(victim).front();
    std::vector<std::string> other_keys;
    for (const auto& [m, tags] : by_master)
        if (m != victim)
            for (std::size_t i = 0; i < 3 && i < tags.size(); ++i) other_keys.push_back("failover:" + tags[i]);

    struct outcome {
        steady::time_point sent;
        error_code ec;
        std::string error_reply;
    };
    std::vector<outcome> victim_calls, other_calls;
    std::size_t outstanding = 0;
    const auto send = [&](const std::string& key, std::vector<outcome>& into) {
        ++outstanding;
        const std::string_view args[] = {"INCR", key};
        r.async_exec(key, args, [&into, &outstanding, sent = steady::now()](error_code ec, reply rep) {
            --outstanding;
            into.push_back({sent, ec, rep.is_error() ? rep.str : std::string()});
        });
    };

    const auto started = steady::now();
    std::optional<steady::time_point> killed, first_victim_failure, recovered;
    std::size_t victim_failures = 0;
    const auto victim_ok = [](const outcome& o) { return !o.ec && o.error_reply.empty(); };
    while (steady::now() - started < 40s) {
        send(victim_key, victim_calls);
        for (const auto& k : other_keys) send(k, other_calls);
        const auto next = steady::now() + 5ms;
        run_until([&] { return steady::now() >= next; }, 1s);
        if (!killed && steady::now() - started > 300ms) {
            victim->kill();
            killed = steady::now();
        }
        if (killed) {
            for (const auto& o : victim_calls) {
                if (o.sent < *killed) continue;
                if (!victim_ok(o)) {
                    if (!first_victim_failure) first_victim_failure = o.sent;
                } else if (first_victim_failure && !recovered) {
                    recovered = o.sent;
                }
            }
            victim_failures = static_cast<std::size_t>(std::count_if(victim_calls.begin(), victim_calls.end(),
                                                                     [&](const outcome& o) { return !victim_ok(o); }));
            if (recovered && steady::now() - *recovered > 300ms) break;
        }
    }
    ASSERT_TRUE(run_until([&] { return outstanding == 0; }, 10s));

    std::map<std::string, int> other_failures;
    for (const auto& o : other_calls)
        if (o.ec || !o.error_reply.empty()) ++other_failures[o.ec ? o.ec.message() : o.error_reply];
    EXPECT_TRUE(other_failures.empty()) << other_failures.size() << " kinds of failure on the other masters, e.g. "
                                        << other_failures.begin()->first;
    EXPECT_GT(other_calls.size(), 100U);
    ASSERT_TRUE(killed);
    ASSERT_TRUE(first_victim_failure) << "the killed master's calls never failed";
    ASSERT_TRUE(recovered) << "the killed master's slots never came back within 40 s; last error: " << r.last_error();
    // After the recovery every call of the victim's slots succeeded.
    for (const auto& o : victim_calls) {
        if (o.sent > *recovered + 100ms) {
            EXPECT_TRUE(victim_ok(o)) << o.ec.message() << o.error_reply;
        }
    }
    // One master down never made the router as a whole disconnected.
    EXPECT_TRUE(std::find(connection_changes.begin(), connection_changes.end(), false) == connection_changes.end());

    std::map<std::string, int> victim_errors;
    for (const auto& o : victim_calls)
        if (!victim_ok(o)) ++victim_errors[o.ec ? o.ec.message() : o.error_reply];
    const auto ms = [](steady::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    std::cout << "[ figures  ] failover with cluster-node-timeout 1000 ms: the killed master's slots failed for "
              << ms(*recovered - *killed) << " ms (kill -9 to the first call answered by the promoted replica; "
              << "first failure " << ms(*first_victim_failure - *killed) << " ms after the kill); " << victim_failures
              << " of " << victim_calls.size() << " calls to it failed (";
    for (const auto& [what, count] : victim_errors) std::cout << count << " x " << what << "; ";
    std::cout << "); the other masters: " << other_calls.size()
              << " calls, 0 failed; router counters: " << r.counters().topology_refreshes << " topology refreshes, "
              << r.counters().topology_changes << " changes\n";

    // Put the cluster back: the killed node rejoins as a replica of its replacement.
    victim->start();
    cluster().wait_until_healthy(30s);
}

}  // namespace
