// The gateway on a real Redis Cluster (redis.url = "redis+cluster://...", 3 masters and 3
// replicas started by tests/support/redis_cluster.hpp): admissions of many practices land on all
// three masters and are found again by status and replay; a representative subset of API.md's
// tables (receipt, replay, 422 reused key, 409 key in use, 400 bad key, 415, 422 bad body, 403,
// 401, 429 that leaves nothing behind, 404 for unknown ids and other practices' ids, among them
// ids of another shard); durability.replicas = 1 waiting on the master that took the write; and a
// master killed with kill -9: only its shards answer 503 (with Retry-After) until its replica is
// promoted, every other shard keeps answering 202. The last test kills a master; it runs last.
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/support/redis_cluster.hpp"

#include "credentials/credentials.hpp"
#include "queue/keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const cluster_env = add_redis_cluster_environment();

using clock = std::chrono::steady_clock;
constexpr std::uint32_t shards = 16;  // redis.shards' default

// Practice codes A80000, A80001, ...: `count` of them, with credentials.
std::vector<test_credential> practices(int count, int first = 0) {
    std::vector<test_credential> out;
    for (int i = first; i < first + count; ++i)
        out.push_back(make_credential("A8" + std::to_string(10000 + i).substr(1)));
    return out;
}

std::string credential_lines(const std::vector<test_credential>& who) {
    std::string lines;
    for (const auto& w : who) lines += w.line;
    return lines;
}

// The keys of one kind (e.g. "sub") held by one node, as KEYS sees them there.
std::size_t keys_on(redis_server& node, std::string_view kind) {
    return node.command({"KEYS", "sluice:{*}:" + std::string(kind) + ":*"}).as_array().size();
}

// ask() with a longer wait for the answer (WAIT for a replica on a busy machine).
std::optional<http_answer> ask_patiently(std::uint16_t port, const std::string& request) {
    raw_client client(port);
    if (!client.connected() || !client.send(request)) return std::nullopt;
    return client.read_answer(15s);
}

// A counter's value in /metrics' text (the sum over its lines), -1 if absent.
long long metric_value(const std::string& text, const std::string& name) {
    long long total = -1;
    std::size_t at = 0;
    while ((at = text.find("\n" + name, at)) != std::string::npos) {
        at += 1 + name.size();
        if (text[at] != ' ' && text[at] != '{') continue;
        const auto space = text.find(' ', at);
        total = std::max(total, 0LL) + std::stoll(text.substr(space + 1));
    }
    return total;
}

class gateway_cluster_test : public ::testing::Test {
protected:
    void SetUp() override {
        for (auto* master : cluster().masters()) master->command({"FLUSHALL"});
    }

    gateway_options options(std::string extra_toml, const std::vector<test_credential>& who, unsigned threads = 2) {
        gateway_options o;
        o.extra_toml = std::move(extra_toml);
        o.threads = threads;
        o.redis_url = cluster().url();
        o.credentials = credential_lines(who);
        return o;
    }
};

TEST_F(gateway_cluster_test, admissions_of_many_practices_land_on_all_three_masters_and_are_found_again) {
    const auto who = practices(48);
    gateway_process gw(options("[ratelimit.per_practice]\nburst = 100\n", who));

    struct accepted {
        std::string id, body, location;
    };
    std::map<std::string, accepted> receipts;  // by practice
    std::set<std::uint32_t> shards_used;
    for (const auto& w : who) {
        const auto body = qof_body(w.practice);
        auto r = ask(gw.port(), submit_request(w, "key-1", body));
        ASSERT_TRUE(r) << w.practice;
        ASSERT_EQ(r->status, 202) << w.practice << " " << r->body << gw.log();
        const auto id = json_string(r->body, "submission_id");
        ASSERT_EQ(queue::shard_of_submission_id(id, shards), queue::shard_of(w.practice, shards)) << id;
        receipts[w.practice] = {id, r->body, r->header("location")};
        shards_used.insert(queue::shard_of(w.practice, shards));
    }
    EXPECT_EQ(shards_used.size(), shards) << "48 practices cover every shard";

    // Every record is on the master that serves its slot, and every master holds some.
    std::map<std::uint16_t, std::size_t> per_master;  // port -> status records
    std::size_t total = 0;
    for (auto* master : cluster().masters()) {
        per_master[master->port()] = keys_on(*master, "sub");
        total += per_master[master->port()];
        EXPECT_GT(per_master[master->port()], 0U) << "master " << master->port() << " got no admission";
        EXPECT_EQ(keys_on(*master, "idem"), 0U);  // one record per submission, no idempotency hash beside it
        EXPECT_GT(keys_on(*master, "practice"), 0U);
    }
    EXPECT_EQ(per_master.size(), 3U);
    EXPECT_EQ(total, who.size());
    for (const auto& w : who) {
        const auto key = queue::submission_key(queue::shard_of(w.practice, shards), receipts[w.practice].id);
        EXPECT_EQ(cluster().command(key, {"HGET", key, "status"}).as_string(), "queued") << key;
    }
    std::cout << "[ figures  ] status records per master:";
    for (const auto& [port, n] : per_master) std::cout << " " << port << "=" << n;
    std::cout << "\n";

    // Status and replay find them, whichever master they are on.
    for (const auto& w : who) {
        const auto& mine = receipts[w.practice];
        auto status = ask(gw.port(), status_request(w, mine.id));
        ASSERT_TRUE(status);
        EXPECT_EQ(status->status, 200) << status->body;
        EXPECT_EQ(json_string(status->body, "submission_id"), mine.id);
        EXPECT_EQ(json_string(status->body, "status"), "queued");
        EXPECT_FALSE(status->header("ratelimit").empty());
        auto replay = ask(gw.port(), submit_request(w, "key-1", qof_body(w.practice)));
        ASSERT_TRUE(replay);
        EXPECT_EQ(replay->status, 202) << replay->body;
        EXPECT_EQ(replay->body, mine.body);
        EXPECT_EQ(replay->header("idempotent-replayed"), "true");
        EXPECT_EQ(replay->header("location"), mine.location);
    }
    // Still one entry per practice: the replays queued nothing.
    long long queued = 0;
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto q = queue::queue_key(shard);
        queued += cluster().command(q, {"XLEN", q}).as_integer();
    }
    EXPECT_EQ(queued, static_cast<long long>(who.size()));
}

TEST_F(gateway_cluster_test, the_api_tables_hold_on_a_cluster) {
    auto who = practices(40, 100);
    // Two practices of different shards, and two of the same shard, on whichever masters.
    const auto& a = who[0];
    const auto a_shard = queue::shard_of(a.practice, shards);
    const auto other_shard = std::find_if(who.begin(), who.end(), [&](const test_credential& w) {
        return queue::shard_of(w.practice, shards) != a_shard;
    });
    const auto same_shard = std::find_if(who.begin() + 1, who.end(), [&](const test_credential& w) {
        return queue::shard_of(w.practice, shards) == a_shard;
    });
    ASSERT_NE(other_shard, who.end());
    ASSERT_NE(same_shard, who.end());
    const auto& b = *other_shard;
    const auto& c = *same_shard;
    gateway_process gw(options("[ratelimit.per_practice]\nrate = 0.2\nburst = 3\n", who));

    const auto body = qof_body(a.practice);
    auto first = ask(gw.port(), submit_request(a, "same-key", body));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 202) << first->body << gw.log();
    EXPECT_EQ(first->header("ratelimit-policy"), R"("practice";q=3;w=15)");
    EXPECT_EQ(first->header("ratelimit").rfind(R"("practice";r=2;t=)", 0), 0u) << first->header("ratelimit");
    const auto id = json_string(first->body, "submission_id");

    // Replay: the first answer again. Another body with the key: 422.
    auto replay = ask(gw.port(), submit_request(a, "same-key", body));
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->status, 202);
    EXPECT_EQ(replay->body, first->body);
    EXPECT_EQ(replay->header("idempotent-replayed"), "true");
    auto reused = ask(gw.port(), submit_request(a, "same-key", qof_body(a.practice, 121)));
    ASSERT_TRUE(reused);
    EXPECT_EQ(reused->status, 422);
    EXPECT_TRUE(is_problem(*reused, "idempotency-key-reused")) << reused->body;

    // A pending record (the first request still in flight): 409 with Retry-After: 1.
    const auto pending =
        queue::submission_key(a_shard, queue::submission_id_for(a_shard, a.practice, "pending-key", 0));
    cluster().command(pending,
                      {"HSET", pending, "practice", a.practice, "content_sha256", config::to_hex(config::sha256(body)),
                       "state", "pending", "id", "x", "pending_until", "99999999999999999"});
    auto in_use = ask(gw.port(), submit_request(a, "pending-key", body));
    ASSERT_TRUE(in_use);
    EXPECT_EQ(in_use->status, 409);
    EXPECT_TRUE(is_problem(*in_use, "idempotency-key-in-use")) << in_use->body;
    EXPECT_EQ(in_use->header("retry-after"), "1");

    // Faults of the request: 400, 415, 422 with pointers, 403, 401; each with the practice's
    // rate state read from its master (RateLimit present).
    auto no_key = ask(gw.port(), submit_request(a, "", body));
    ASSERT_TRUE(no_key);
    EXPECT_EQ(no_key->status, 400);
    EXPECT_TRUE(is_problem(*no_key, "bad-idempotency-key"));
    EXPECT_FALSE(no_key->header("ratelimit").empty());
    auto media = ask(gw.port(), submit_request(a, "k-media", body, "text/plain"));
    ASSERT_TRUE(media);
    EXPECT_EQ(media->status, 415);
    EXPECT_FALSE(media->header("ratelimit").empty());
    auto invalid = ask(gw.port(), submit_request(a, "k-invalid", R"({"practice":")" + a.practice + R"("})"));
    ASSERT_TRUE(invalid);
    EXPECT_EQ(invalid->status, 422) << invalid->body;
    EXPECT_TRUE(is_problem(*invalid, "invalid-submission")) << invalid->body;
    EXPECT_FALSE(invalid->header("ratelimit").empty());
    auto forbidden = ask(gw.port(), submit_request(a, "k-forbidden", qof_body(b.practice)));
    ASSERT_TRUE(forbidden);
    EXPECT_EQ(forbidden->status, 403) << forbidden->body;
    auto stranger = ask(gw.port(), submit_request(test_credential{a.practice, "not-a-token", ""}, "k", body));
    ASSERT_TRUE(stranger);
    EXPECT_EQ(stranger->status, 401);

    // Status: the owner reads it; a practice of another shard and one of the same shard get 404,
    // as do unknown ids of this shard and of others.
    auto mine = ask(gw.port(), status_request(a, id));
    ASSERT_TRUE(mine);
    EXPECT_EQ(mine->status, 200) << mine->body;
    for (const auto* other : {&b, &c}) {
        auto theirs = ask(gw.port(), status_request(*other, id));
        ASSERT_TRUE(theirs);
        EXPECT_EQ(theirs->status, 404) << other->practice;
        EXPECT_TRUE(is_problem(*theirs, "not-found"));
        EXPECT_FALSE(theirs->header("ratelimit").empty());
    }
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        auto unknown = ask(gw.port(), status_request(a, std::to_string(shard) + "-" + std::string(32, 'f')));
        ASSERT_TRUE(unknown);
        EXPECT_EQ(unknown->status, 404) << shard;
    }

    // Over the rate: 429 with Retry-After, and nothing written on the practice's master.
    for (int i = 0; i < 2; ++i) {
        auto r = ask(gw.port(), submit_request(a, "rate-" + std::to_string(i), qof_body(a.practice, 100 + i)));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 202) << i << " " << r->body;
    }
    auto& master = cluster().master_of(queue::hash_tag(a_shard));
    const auto keys_before = master.command({"DBSIZE"}).as_integer();
    auto limited = ask(gw.port(), submit_request(a, "rate-2", qof_body(a.practice, 102)));
    ASSERT_TRUE(limited);
    EXPECT_EQ(limited->status, 429);
    EXPECT_TRUE(is_problem(*limited, "rate-limited")) << limited->body;
    EXPECT_GE(std::stoi(limited->header("retry-after")), 1);
    EXPECT_EQ(master.command({"DBSIZE"}).as_integer(), keys_before);
    const auto idem = queue::submission_key(a_shard, queue::submission_id_for(a_shard, a.practice, "rate-2", 0));
    EXPECT_EQ(cluster().command(idem, {"EXISTS", idem}).as_integer(), 0);
    // ... and the other practice, on its own shard, is not affected.
    auto other = ask(gw.port(), submit_request(b, "b-1", qof_body(b.practice)));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 202) << other->body;
}

TEST_F(gateway_cluster_test, durability_replicas_waits_on_the_master_that_took_the_write) {
    const auto who = practices(24, 200);
    gateway_process gw(
        options("[durability]\nreplicas = 1\nwait_timeout_ms = 2000\n[redis]\ntimeout_ms = 4000\n"
                "[ratelimit.per_practice]\nburst = 100\n",
                who));
    std::set<std::uint16_t> masters_used;
    for (const auto& w : who) {
        auto r = ask_patiently(gw.port(), submit_request(w, "k1", qof_body(w.practice)));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 202) << r->body << gw.log();
        // 202 came after WAIT on the key's master: its replica already holds the status record.
        // (KEYS needs no READONLY on a replica; a keyed read would be redirected.)
        const auto id = json_string(r->body, "submission_id");
        const auto key = queue::submission_key(queue::shard_of(w.practice, shards), id);
        auto& master = cluster().master_of(key);
        masters_used.insert(master.port());
        auto* replica = cluster().replica_of(master);
        ASSERT_NE(replica, nullptr);
        EXPECT_EQ(replica->command({"KEYS", key}).as_array().size(), 1U)
            << key << " is not on the replica of " << master.port();
        // ... and the idempotency record is done: a retry replays rather than 409.
        auto again = ask_patiently(gw.port(), submit_request(w, "k1", qof_body(w.practice)));
        ASSERT_TRUE(again);
        EXPECT_EQ(again->status, 202) << again->body;
        EXPECT_EQ(again->header("idempotent-replayed"), "true");
    }
    EXPECT_EQ(masters_used.size(), 3U);
    const auto metrics = ask(gw.port(), get_request("/metrics"))->body;
    EXPECT_EQ(metric_value(metrics, "sluice_replication_shortfalls_total"), 0) << metrics;
}

// Last: it kills a master (and puts the cluster back together afterwards).
TEST_F(gateway_cluster_test, a_killed_master_makes_only_its_shards_answer_503_until_its_replica_is_promoted) {
    const auto who = practices(48, 300);
    gateway_process gw(
        options("[ratelimit.per_practice]\nrate = 1000\nburst = 1000\n[redis]\ntimeout_ms = 3000\n", who));

    // The victim: the master of the first practice's shard. Its practices and the others'.
    auto& victim = cluster().master_of(queue::hash_tag(queue::shard_of(who[0].practice, shards)));
    std::vector<const test_credential*> on_victim, elsewhere;
    for (const auto& w : who)
        (&cluster().master_of(queue::hash_tag(queue::shard_of(w.practice, shards))) == &victim ? on_victim : elsewhere)
            .push_back(&w);
    ASSERT_FALSE(on_victim.empty());
    ASSERT_FALSE(elsewhere.empty());
    for (const auto& w : who) {
        auto r = ask(gw.port(), submit_request(w, "warm", qof_body(w.practice)));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 202) << r->body;
    }

    victim.kill();
    const auto killed = clock::now();
    std::optional<clock::time_point> first_503, recovered;
    int victim_503 = 0, other_answers = 0, round = 0;
    std::map<int, int> other_statuses;
    // (Each request a new key and a body that varies, its AF006 numerator at most its denominator.)
    while (!recovered && clock::now() - killed < 40s) {
        ++round;
        // One request of a victim practice, then one of another master's practice.
        const auto& v = *on_victim[round % on_victim.size()];
        auto r = ask(gw.port(), submit_request(v, "after-" + std::to_string(round), qof_body(v.practice, round % 141)));
        ASSERT_TRUE(r) << "no answer from the gateway";
        if (r->status == 503) {
            ++victim_503;
            if (!first_503) first_503 = clock::now();
            EXPECT_FALSE(r->header("retry-after").empty());
            EXPECT_TRUE(is_problem(*r, "unavailable") || is_problem(*r, "overloaded")) << r->body;
        } else {
            ASSERT_EQ(r->status, 202) << r->body;
            if (first_503) recovered = clock::now();  // served by the promoted replica
        }
        const auto& o = *elsewhere[round % elsewhere.size()];
        auto s = ask(gw.port(), submit_request(o, "other-" + std::to_string(round), qof_body(o.practice, round % 141)));
        ASSERT_TRUE(s);
        ++other_statuses[s->status];
        ++other_answers;
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(first_503) << "the killed master's shards never answered 503" << gw.log();
    ASSERT_TRUE(recovered) << "the killed master's shards never came back within 40 s" << gw.log();
    EXPECT_EQ(other_statuses[202], other_answers) << "the other masters' shards must keep answering 202";
    const auto ms = [](clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    std::cout << "[ figures  ] gateway on a cluster, cluster-node-timeout 1000 ms: the killed master's shards answered "
              << victim_503 << " requests 503 over " << ms(*recovered - killed)
              << " ms (kill -9 to the first 202 from the promoted replica); the other shards answered "
              << other_statuses[202] << "/" << other_answers << " 202\n";

    victim.start();
    cluster().wait_until_healthy(30s);
}

}  // namespace
}  // namespace sluice::test
