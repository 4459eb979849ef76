// redis/cluster_topology.hpp: the replies are built in the shapes Redis 7.0 sends (copied from a
// live 3-master, 3-replica cluster, including one just after a failover), then bent one way at
// a time.
#include "redis/cluster_topology.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace {

using sluice::redis::classify_error;
using sluice::redis::cluster_error_kind;
using sluice::redis::endpoint;
using sluice::redis::parse_cluster_shards;
using sluice::redis::parse_cluster_slots;
using sluice::redis::parse_redirection;
using sluice::redis::redirection;
using sluice::redis::reply;
using sluice::redis::slot_range;

reply str(std::string s) {
    reply r;
    r.type = reply::kind::string;
    r.str = std::move(s);
    return r;
}

reply num(long long n) {
    reply r;
    r.type = reply::kind::integer;
    r.integer = n;
    return r;
}

reply nil() { return {}; }

reply arr(std::initializer_list<reply> elements) {
    reply r;
    r.type = reply::kind::array;
    r.elements = elements;
    return r;
}

// One node of CLUSTER SHARDS, as Redis 7.0 renders it in RESP2.
reply shard_node(const std::string& id, long long port, const std::string& ip, const std::string& endpoint,
                 const std::string& role, const std::string& health = "online") {
    return arr({str("id"), str(id), str("port"), num(port), str("ip"), str(ip), str("endpoint"), str(endpoint),
                str("role"), str(role), str("replication-offset"), num(14), str("health"), str(health)});
}

reply shard(reply slots, reply nodes) { return arr({str("slots"), std::move(slots), str("nodes"), std::move(nodes)}); }

const std::string id_a(40, 'a'), id_b(40, 'b'), id_c(40, 'c'), id_d(40, 'd'), id_e(40, 'e'), id_f(40, 'f');

// Just after a failover: 17105 took 5461-10922 over from 17102, which is listed with no slots.
reply shards_after_failover() {
    return arr({
        shard(arr({num(0), num(5460)}), arr({shard_node(id_a, 17101, "127.0.0.1", "127.0.0.1", "master"),
                                             shard_node(id_d, 17104, "127.0.0.1", "127.0.0.1", "replica")})),
        shard(arr({num(5461), num(10922)}), arr({shard_node(id_e, 17105, "127.0.0.1", "127.0.0.1", "master")})),
        shard(arr({}), arr({shard_node(id_b, 17102, "127.0.0.1", "127.0.0.1", "master", "fail")})),
        shard(arr({num(10923), num(16383)}), arr({shard_node(id_c, 17103, "127.0.0.1", "127.0.0.1", "master"),
                                                  shard_node(id_f, 17106, "127.0.0.1", "127.0.0.1", "replica")})),
    });
}

TEST(cluster_shards, gives_each_masters_ranges_and_skips_a_failed_master_without_slots) {
    std::string problem;
    const auto t = parse_cluster_shards(shards_after_failover(), problem);
    ASSERT_TRUE(t) << problem;
    ASSERT_EQ(t->ranges.size(), 3U);
    EXPECT_EQ(t->ranges[0], (slot_range{0, 5460, endpoint{"127.0.0.1", 17101}, id_a}));
    EXPECT_EQ(t->ranges[1], (slot_range{5461, 10922, endpoint{"127.0.0.1", 17105}, id_e}));
    EXPECT_EQ(t->ranges[2], (slot_range{10923, 16383, endpoint{"127.0.0.1", 17103}, id_c}));
}

TEST(cluster_shards, several_ranges_of_one_shard) {
    std::string problem;
    const auto t =
        parse_cluster_shards(arr({shard(arr({num(0), num(99), num(1584), num(1584), num(200), num(300)}),
                                        arr({shard_node(id_d, 7001, "10.0.0.4", "10.0.0.4", "replica"),
                                             shard_node(id_a, 7000, "10.0.0.1", "redis-a.internal", "master")}))}),
                             problem);
    ASSERT_TRUE(t) << problem;
    ASSERT_EQ(t->ranges.size(), 3U);
    EXPECT_EQ(t->ranges[1],
              (slot_range{1584, 1584, endpoint{"redis-a.internal", 7000}, id_a}));  // the endpoint, not the ip
    EXPECT_EQ(t->ranges[2].first, 200);
    EXPECT_EQ(t->ranges[2].last, 300);
}

TEST(cluster_shards, endpoint_rules) {
    std::string problem;
    // "": the node that answered (host left empty for the router to fill in); "?": unknown, skipped.
    auto t = parse_cluster_shards(
        arr({shard(arr({num(0), num(10)}), arr({shard_node(id_a, 7000, "10.0.0.1", "", "master")})),
             shard(arr({num(11), num(20)}), arr({shard_node(id_b, 7001, "10.0.0.2", "?", "master")}))}),
        problem);
    ASSERT_TRUE(t) << problem;
    ASSERT_EQ(t->ranges.size(), 1U);
    EXPECT_EQ(t->ranges[0].master, (endpoint{"", 7000}));

    // No "endpoint" field at all: the ip.
    t = parse_cluster_shards(
        arr({shard(arr({num(0), num(10)}), arr({arr({str("id"), str(id_a), str("port"), num(7000), str("ip"),
                                                     str("10.0.0.1"), str("role"), str("master")})}))}),
        problem);
    ASSERT_TRUE(t) << problem;
    EXPECT_EQ(t->ranges.at(0).master, (endpoint{"10.0.0.1", 7000}));
}

TEST(cluster_shards, refuses_replies_of_another_shape) {
    const auto refused = [](const reply& r) {
        std::string problem;
        const auto t = parse_cluster_shards(r, problem);
        EXPECT_FALSE(t);
        EXPECT_FALSE(problem.empty());
    };
    refused(str("OK"));
    refused(arr({arr({str("slots"), arr({num(0), num(10)})})}));                                        // no nodes
    refused(arr({shard(arr({num(0)}), arr({shard_node(id_a, 7000, "h", "h", "master")}))}));            // odd slot list
    refused(arr({shard(arr({num(0), num(10)}), arr({shard_node(id_d, 7000, "h", "h", "replica")}))}));  // no master
    refused(arr({shard(arr({num(0), num(16384)}), arr({shard_node(id_a, 7000, "h", "h", "master")}))}));
    refused(arr({shard(arr({num(10), num(0)}), arr({shard_node(id_a, 7000, "h", "h", "master")}))}));
    refused(arr({shard(arr({num(0), num(10)}), arr({shard_node(id_a, 0, "h", "h", "master")}))}));  // port 0
    refused(arr({shard(arr({num(0), num(10)}), arr({arr({str("role"), str("master")})}))}));  // no port (TLS only)
}

TEST(cluster_slots, gives_each_ranges_master) {
    std::string problem;
    const auto t = parse_cluster_slots(
        arr({arr({num(0), num(5460), arr({str("127.0.0.1"), num(17101), str(id_a), arr({})}),
                  arr({str("127.0.0.1"), num(17104), str(id_d), arr({})})}),
             arr({num(5461), num(10922), arr({str("127.0.0.1"), num(17102), str(id_b), arr({})})}),
             arr({num(10923), num(16383), arr({nil(), num(17103)})}),                           // NULL: the node asked
             arr({num(16000), num(16001), arr({str("?"), num(17109), str(id_f), arr({})})})}),  // unknown: skipped
        problem);
    ASSERT_TRUE(t) << problem;
    ASSERT_EQ(t->ranges.size(), 3U);
    EXPECT_EQ(t->ranges[0], (slot_range{0, 5460, endpoint{"127.0.0.1", 17101}, id_a}));
    EXPECT_EQ(t->ranges[1], (slot_range{5461, 10922, endpoint{"127.0.0.1", 17102}, id_b}));
    EXPECT_EQ(t->ranges[2], (slot_range{10923, 16383, endpoint{"", 17103}, ""}));
}

TEST(cluster_slots, refuses_replies_of_another_shape) {
    const auto refused = [](const reply& r) {
        std::string problem;
        EXPECT_FALSE(parse_cluster_slots(r, problem));
        EXPECT_FALSE(problem.empty());
    };
    refused(nil());
    refused(arr({arr({num(0), num(10)})}));                                // no master
    refused(arr({arr({num(0), num(10), arr({str("h")})})}));               // no port
    refused(arr({arr({num(-1), num(10), arr({str("h"), num(7000)})})}));   // slot out of range
    refused(arr({arr({str("0"), num(10), arr({str("h"), num(7000)})})}));  // not integers
}

TEST(cluster_errors, are_told_apart_by_their_first_word) {
    EXPECT_EQ(classify_error("MOVED 3999 127.0.0.1:6381"), cluster_error_kind::moved);
    EXPECT_EQ(classify_error("ASK 3999 127.0.0.1:6381"), cluster_error_kind::ask);
    EXPECT_EQ(classify_error("TRYAGAIN Multiple keys request during rehashing of slot"), cluster_error_kind::try_again);
    EXPECT_EQ(classify_error("CLUSTERDOWN Hash slot not served"), cluster_error_kind::cluster_down);
    EXPECT_EQ(classify_error("CLUSTERDOWN The cluster is down"), cluster_error_kind::cluster_down);
    EXPECT_EQ(classify_error("NOSCRIPT No matching script. Please use EVAL."), cluster_error_kind::no_script);
    EXPECT_EQ(classify_error("ERR wrong number of arguments"), cluster_error_kind::other);
    EXPECT_EQ(classify_error("CROSSSLOT Keys in request don't hash to the same slot"), cluster_error_kind::other);
    EXPECT_EQ(classify_error("MOVEDX 1 h:1"), cluster_error_kind::other);
    EXPECT_EQ(classify_error(""), cluster_error_kind::other);
}

TEST(redirection, moved_and_ask) {
    EXPECT_EQ(parse_redirection("MOVED 3999 127.0.0.1:6381"), (redirection{false, 3999, endpoint{"127.0.0.1", 6381}}));
    EXPECT_EQ(parse_redirection("ASK 0 redis-b.internal:7001"),
              (redirection{true, 0, endpoint{"redis-b.internal", 7001}}));
    EXPECT_EQ(parse_redirection("MOVED 16383 ::1:6380"), (redirection{false, 16383, endpoint{"::1", 6380}}));
    EXPECT_EQ(parse_redirection("MOVED 1 [::1]:6380"), (redirection{false, 1, endpoint{"::1", 6380}}));
    EXPECT_EQ(parse_redirection("MOVED 1 :6380"), (redirection{false, 1, endpoint{"", 6380}}));  // the node asked
}

TEST(redirection, anything_else_is_not_one) {
    for (const char* text : {"MOVED", "MOVED 3999", "MOVED 3999 127.0.0.1", "MOVED 16384 h:1", "MOVED -1 h:1",
                             "MOVED x h:1", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:port", "ASK 1 h:1 extra",
                             "TRYAGAIN 1 h:1", "ERR MOVED 1 h:1", "moved 1 h:1"}) {
        EXPECT_FALSE(parse_redirection(text)) << text;
    }
}

}  // namespace
