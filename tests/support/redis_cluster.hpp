// A private, real Redis Cluster for tests: `masters` masters with `replicas_per_master` replicas
// each (3 and 1 by default), every node a redis_server (redis_server.hpp) on a free loopback port
// with `cluster-enabled yes`, joined by `redis-cli --cluster create ... --cluster-yes`, stopped
// by pid when the object goes away.
//
// Set up for tests that kill masters: cluster-node-timeout is low (1000 ms by default) so a
// replica is promoted within a few seconds, cluster-require-full-coverage is "no" so the other
// masters keep serving while one master's slots have none (Redis's default, "yes", would answer
// CLUSTERDOWN on every node in that window), and cluster-replica-validity-factor is 0 so a
// replica always stands for election. Each node keeps its nodes.conf in its own directory, so
// a killed node started again (node(i).start()) rejoins, as a replica of its replacement.
//
// Invariants: the constructor returns only once the cluster is healthy (wait_until_healthy).
// Which nodes are masters is Redis's business and changes with failovers: ask (masters(),
// master_of()), never assume node(0) is one. The helpers read the cluster's state from the
// nodes themselves (CLUSTER NODES), never from what the fixture remembers.
//
// Create it from a thread that outlives it (see redis_server.hpp on PDEATHSIG), for instance
// with add_redis_cluster_environment(), which owns one cluster for a whole test binary.
#pragma once

#include "tests/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

struct redis_cluster_options {
    std::size_t masters = 3;
    std::size_t replicas_per_master = 1;
    std::chrono::milliseconds node_timeout{1000};  // cluster-node-timeout
    std::vector<std::string> extra_args;           // for every node, after ours
    std::chrono::milliseconds start_timeout{30'000};
};

// One line of CLUSTER NODES.
struct cluster_node_view {
    std::string id;
    std::uint16_t port = 0;
    bool master = false;
    bool failed = false;                                         // flagged fail or fail? by the node that was asked
    std::string master_id;                                       // a replica's master ("" for a master)
    std::vector<std::pair<std::uint16_t, std::uint16_t>> slots;  // served ranges (migration marks left out)
};

class redis_cluster {
public:
    // Starts every node, creates the cluster and waits until it is healthy; throws redis_error
    // (with the nodes' logs) if it cannot.
    explicit redis_cluster(redis_cluster_options options = {});
    ~redis_cluster();

    redis_cluster(const redis_cluster&) = delete;
    redis_cluster& operator=(const redis_cluster&) = delete;

    std::size_t size() const noexcept { return nodes_.size(); }
    redis_server& node(std::size_t i) { return *nodes_.at(i); }
    // "redis+cluster://127.0.0.1:P1,127.0.0.1:P2,..." with every node as a seed.
    std::string url() const;

    // CLUSTER NODES as seen by a running node (the first that answers).
    std::vector<cluster_node_view> view() const;
    std::string node_id(const redis_server& node) const;  // CLUSTER MYID
    // The running masters that serve slots, in the order of node().
    std::vector<redis_server*> masters();
    // The node whose CLUSTER NODES line says it serves `slot` (or `key`'s slot); throws if none.
    redis_server& master_of_slot(std::uint16_t slot);
    redis_server& master_of(std::string_view key);
    redis_server* replica_of(const redis_server& master);
    std::uint16_t slot_of(std::string_view key) const;  // CLUSTER KEYSLOT

    // A command on the master of `key`'s slot (fresh connection; error replies are returned).
    redis_reply command(std::string_view key, const std::vector<std::string>& args);

    // Every running node says cluster_state:ok, all running nodes agree who serves each slot,
    // every slot is served by a running master, and every running replica's link is up.
    // Throws redis_error saying what was still wrong when `timeout` passes.
    void wait_until_healthy(std::chrono::milliseconds timeout);

    // Moving a slot by hand, as redis-cli --cluster reshard does:
    // IMPORTING on `to`, MIGRATING on `from` ...
    void begin_slot_move(std::uint16_t slot, redis_server& from, redis_server& to);
    // ... MIGRATE of these keys (all of them when empty) ...
    void migrate_keys(std::uint16_t slot, redis_server& from, redis_server& to, std::vector<std::string> keys = {});
    // ... then every key left, and SETSLOT NODE on every running node; waits until healthy.
    void finish_slot_move(std::uint16_t slot, redis_server& from, redis_server& to);
    void move_slot(std::uint16_t slot, redis_server& from, redis_server& to);  // all three

    // The logs of every node (for failure messages).
    std::string logs() const;

private:
    redis_server& any_running() const;

    redis_cluster_options options_;
    std::vector<std::unique_ptr<redis_server>> nodes_;
};

// The GoogleTest environment that owns one redis_cluster for a test binary (as
// redis_environment.hpp does for one server): register it once, reach it with cluster(). If the
// cluster cannot start, SetUp reports a fatal failure with the reason and every test is skipped.
class redis_cluster_environment : public ::testing::Environment {
public:
    explicit redis_cluster_environment(redis_cluster_options options = {});

    void SetUp() override;
    void TearDown() override;

    redis_cluster& cluster();

private:
    redis_cluster_options options_;
    std::unique_ptr<redis_cluster> cluster_;
    std::string start_failure_;
};

redis_cluster_environment* add_redis_cluster_environment(redis_cluster_options options = {});

// The registered environment's cluster; throws redis_error when there is none.
redis_cluster& cluster();

}  // namespace sluice::test
