// Dead letters against a real redis-server: a failure no retry can mend is dead-lettered at its
// first delivery (queue/consumer.hpp, failure_kind::permanent); queue/dead_letter.hpp finds,
// lists, replays (once, and never a submission calculated meanwhile) and purges them; and the
// real sluice-admin binary does it for an operator beside real sluice-worker processes: a
// submission dead-lettered for a catalogue that lacked its period is replayed after the
// catalogue is corrected, and calculated once.
#include "queue/consumer.hpp"
#include "queue/dead_letter.hpp"
#include "queue/keys.hpp"
#include "redis/client.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/redis_environment.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#ifndef SLUICE_ADMIN_BINARY
#error "SLUICE_ADMIN_BINARY must be defined by the build"
#endif

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using sluice::queue::consumer_result;
using sluice::queue::dead_letter;
using sluice::queue::replay_outcome;
using sluice::test::enqueue;
using sluice::test::eventually;
using sluice::test::hash;
using sluice::test::queued;
using sluice::test::redis;
using sluice::test::stream;
using sluice::test::valid_body;
using steady = std::chrono::steady_clock;

[[maybe_unused]] auto* const redis_env = sluice::test::add_redis_environment();

constexpr std::uint32_t shards = 4;
constexpr auto settle = 30s;  // sanitizer builds are slow; every wait is bounded by it

long long xlen(const std::string& key) { return redis().command({"XLEN", key}).as_integer(); }

class dead_letter_test : public ::testing::Test {
protected:
    void SetUp() override {
        redis().command({"FLUSHALL"});
        client.start();
        ASSERT_TRUE(run_until([&] { return client.connected(); }, 5s)) << client.last_error();
        ASSERT_TRUE(run(consumer.create_groups()).ok());
    }

    static sluice::redis::client_options options() {
        sluice::redis::client_options o;
        o.host = redis().host();
        o.port = redis().port();
        o.timeout = 2s;
        return o;
    }

    static sluice::queue::consumer_options consumer_options() {
        sluice::queue::consumer_options o;
        o.shards = shards;
        o.name = "test-consumer";
        o.max_attempts = 5;
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

    template <typename T>
    consumer_result<T> run(asio::awaitable<consumer_result<T>> call) {
        std::optional<consumer_result<T>> out;
        asio::co_spawn(ioc, std::move(call), [&](std::exception_ptr e, consumer_result<T> r) {
            if (e) std::rethrow_exception(e);
            out = std::move(r);
        });
        if (!run_until([&] { return out.has_value(); }, 5s)) {
            ADD_FAILURE() << "call did not complete within 5 s";
            return {};
        }
        return *std::move(out);
    }

    template <typename T>
    T ok(consumer_result<T> r) {
        EXPECT_TRUE(r.ok()) << r.ec.message() << " " << r.detail;
        return std::move(r.value);
    }

    // Delivers the entry to the test's consumer and fails it as a worker does for a body that is
    // not JSON: permanently, so consumer_fail.lua dead-letters it at once. The entry must be the
    // only one queued and not yet delivered (the read takes every new entry).
    dead_letter dead_lettered(const queued& q) {
        const auto delivered = ok(run(consumer.read(100, false)));
        const auto it = std::find_if(delivered.begin(), delivered.end(),
                                     [&](const auto& e) { return e.submission_id == q.submission_id; });
        EXPECT_NE(it, delivered.end());
        if (it == delivered.end()) return {};
        EXPECT_EQ(ok(run(consumer.start(*it))).outcome, sluice::queue::start_outcome::started);
        const auto failed = ok(run(consumer.fail(*it, "malformed JSON: test", "2025-04-01T00:00:00.000Z",
                                                 sluice::queue::failure_kind::permanent)));
        EXPECT_EQ(failed.outcome, sluice::queue::fail_outcome::dead_lettered);
        EXPECT_EQ(failed.deliveries, 1u) << "a permanent failure is not retried";
        const auto found = ok(run(dlq.find({q.shard, q.submission_id, ""})));
        EXPECT_EQ(found.size(), 1u);
        return found.empty() ? dead_letter{} : found.front();
    }

    asio::io_context ioc;
    sluice::redis::router client{ioc, options()};
    sluice::queue::consumer consumer{client, client, consumer_options()};
    sluice::queue::dead_letters dlq{client, shards};
};

TEST_F(dead_letter_test, a_permanent_failure_is_dead_lettered_at_its_first_delivery) {
    const auto q = enqueue(redis(), shards, "A81001", "{not json", 1000s);
    const auto d = dead_lettered(q);
    EXPECT_EQ(d.submission_id, q.submission_id);
    EXPECT_EQ(d.queue_entry_id, q.entry_id);
    EXPECT_EQ(d.body, "{not json");
    EXPECT_EQ(d.attempts, "1");
    EXPECT_EQ(d.reason, "malformed JSON: test");
    const auto record = hash(redis(), q.status_key);
    EXPECT_EQ(record.at("status"), "failed");
    EXPECT_EQ(record.at("attempts"), "1");
    EXPECT_EQ(sluice::test::pending_count(redis(), sluice::queue::queue_key(q.shard)), 0) << "acknowledged";
}

TEST_F(dead_letter_test, replay_queues_a_failed_submission_once_and_removes_its_dead_letter) {
    const auto q = enqueue(redis(), shards, "A81001", valid_body("A81001"), 1000s);
    const auto d = dead_lettered(q);
    const auto queue_key = sluice::queue::queue_key(q.shard);
    const auto dlq_key = sluice::queue::dead_letter_key(q.shard);
    const auto queue_before = xlen(queue_key);
    const auto record_before = hash(redis(), q.status_key);

    // A dry run decides and writes nothing.
    auto r = ok(run(dlq.replay(d, true, "2025-04-02T00:00:00.000Z")));
    EXPECT_EQ(r.outcome, replay_outcome::requeued);
    EXPECT_TRUE(r.new_entry_id.empty());
    EXPECT_EQ(xlen(queue_key), queue_before);
    EXPECT_EQ(xlen(dlq_key), 1);
    EXPECT_EQ(hash(redis(), q.status_key), record_before);

    r = ok(run(dlq.replay(d, false, "2025-04-02T00:00:00.000Z")));
    EXPECT_EQ(r.outcome, replay_outcome::requeued);
    ASSERT_FALSE(r.new_entry_id.empty());
    EXPECT_EQ(xlen(dlq_key), 0) << "the dead letter is gone";
    EXPECT_EQ(xlen(queue_key), queue_before + 1);
    const auto entries = stream(redis(), queue_key);
    const auto& [new_id, fields] = entries.back();
    EXPECT_EQ(new_id, r.new_entry_id);
    const std::map<std::string, std::string> original{{"id", q.submission_id},
                                                      {"practice", q.practice},
                                                      {"sha256", std::string(64, 'a')},
                                                      {"received_at", "2025-03-31T23:58:12.345Z"},
                                                      {"idem", "key-" + q.submission_id},
                                                      {"body", q.body}};
    EXPECT_EQ(fields, original) << "the entry as admission.lua queued it, nothing the failure appended";
    const auto record = hash(redis(), q.status_key);
    EXPECT_EQ(record.at("status"), "queued");
    EXPECT_EQ(record.at("attempts"), "0");
    EXPECT_EQ(record.at("entry_id"), r.new_entry_id);
    EXPECT_EQ(record.at("replayed_at"), "2025-04-02T00:00:00.000Z");
    EXPECT_EQ(record.count("error") + record.count("failed_at"), 0u);
    EXPECT_GT(redis().command({"TTL", q.status_key}).as_integer(), 900) << "TTL kept";

    // A second replay of the same dead letter finds nothing; the queue holds one copy.
    EXPECT_EQ(ok(run(dlq.replay(d, false, "2025-04-02T00:00:01.000Z"))).outcome, replay_outcome::not_found);
    EXPECT_EQ(xlen(queue_key), queue_before + 1);

    // The worker's scripts take it from there: delivered, started, calculated once.
    const auto delivered = ok(run(consumer.read(100, false)));
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].entry_id, r.new_entry_id);
    EXPECT_EQ(ok(run(consumer.start(delivered[0]))).outcome, sluice::queue::start_outcome::started);
    EXPECT_EQ(ok(run(consumer.finish(delivered[0], "{}", "2025-04-02T00:00:02.000Z"))),
              sluice::queue::finish_outcome::calculated);
}

TEST_F(dead_letter_test, replay_of_a_submission_calculated_meanwhile_writes_nothing) {
    const auto q = enqueue(redis(), shards, "A81001", valid_body("A81001"), 1000s);
    const auto d = dead_lettered(q);
    // Another delivery won after all (a worker that had it and finished late).
    redis().command({"HSET", q.status_key, "status", "calculated", "result", "{\"points\":1.00}"});
    const auto record = hash(redis(), q.status_key);
    const auto queue_len = xlen(sluice::queue::queue_key(q.shard));

    for (const bool dry_run : {true, false}) {
        EXPECT_EQ(ok(run(dlq.replay(d, dry_run, "2025-04-02T00:00:00.000Z"))).outcome,
                  replay_outcome::already_calculated);
        EXPECT_EQ(hash(redis(), q.status_key), record) << "the result is untouched";
        EXPECT_EQ(xlen(sluice::queue::queue_key(q.shard)), queue_len) << "nothing queued";
        EXPECT_EQ(xlen(sluice::queue::dead_letter_key(q.shard)), 1) << "left for purge";
    }
}

TEST_F(dead_letter_test, replay_refuses_an_expired_record_and_a_submission_queued_again) {
    const auto a = enqueue(redis(), shards, "A81001", valid_body("A81001"), 1000s);
    const auto da = dead_lettered(a);
    const auto b = enqueue(redis(), shards, "A81002", valid_body("A81002"), 1000s);
    const auto db = dead_lettered(b);
    redis().command({"DEL", a.status_key});
    redis().command({"HSET", b.status_key, "status", "queued"});
    const auto queue_a = xlen(sluice::queue::queue_key(a.shard));
    const auto queue_b = xlen(sluice::queue::queue_key(b.shard));

    EXPECT_EQ(ok(run(dlq.replay(da, false, "t"))).outcome, replay_outcome::missing_record);
    EXPECT_EQ(redis().command({"EXISTS", a.status_key}).as_integer(), 0) << "a record is never created";
    const auto r = ok(run(dlq.replay(db, false, "t")));
    EXPECT_EQ(r.outcome, replay_outcome::not_failed);
    EXPECT_EQ(r.status, "queued");
    EXPECT_EQ(xlen(sluice::queue::queue_key(a.shard)), queue_a);
    EXPECT_EQ(xlen(sluice::queue::queue_key(b.shard)), queue_b);

    dead_letter no_id = da;
    no_id.submission_id = "not-an-id";
    EXPECT_EQ(ok(run(dlq.replay(no_id, false, "t"))).outcome, replay_outcome::no_submission_id);
}

TEST_F(dead_letter_test, purge_removes_only_the_named_dead_letter_and_list_pages_in_order) {
    std::vector<dead_letter> letters;
    std::vector<queued> entries;
    // Five practices of one shard.
    for (int i = 0; entries.size() < 5; ++i) {
        char code[16];
        std::snprintf(code, sizeof code, "B%05d", i);
        if (sluice::queue::shard_of(code, shards) != 1) continue;
        entries.push_back(enqueue(redis(), shards, code, "{not json", 1000s));
        letters.push_back(dead_lettered(entries.back()));
    }

    EXPECT_EQ(ok(run(dlq.count(1))), 5u);
    EXPECT_EQ(ok(run(dlq.count(0))), 0u);
    const auto first = ok(run(dlq.list(1, 2)));
    ASSERT_EQ(first.size(), 2u);
    const auto second = ok(run(dlq.list(1, 2, first.back().dead_letter_id)));
    ASSERT_EQ(second.size(), 2u);
    const auto third = ok(run(dlq.list(1, 2, second.back().dead_letter_id)));
    ASSERT_EQ(third.size(), 1u);
    std::vector<std::string> listed;
    for (const auto* page : {&first, &second, &third})
        for (const auto& d : *page) listed.push_back(d.submission_id);
    std::vector<std::string> queued_ids;
    for (const auto& q : entries) queued_ids.push_back(q.submission_id);
    EXPECT_EQ(listed, queued_ids) << "oldest first, no gaps, no repeats";

    EXPECT_TRUE(ok(run(dlq.purge(1, letters[2].dead_letter_id, true))));
    EXPECT_EQ(ok(run(dlq.count(1))), 5u) << "a dry run removes nothing";
    EXPECT_TRUE(ok(run(dlq.purge(1, letters[2].dead_letter_id, false))));
    EXPECT_EQ(ok(run(dlq.count(1))), 4u);
    EXPECT_FALSE(ok(run(dlq.purge(1, letters[2].dead_letter_id, false)))) << "gone already";
    EXPECT_TRUE(ok(run(dlq.find({1, "", letters[2].dead_letter_id}))).empty());
    EXPECT_EQ(ok(run(dlq.find({1, "", letters[3].dead_letter_id}))).size(), 1u);
    EXPECT_EQ(hash(redis(), entries[2].status_key).at("status"), "failed") << "purge leaves the record";
}

// ---- the binary, as an operator runs it -------------------------------------------------------

struct admin_run {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

admin_run run_admin(const std::string& args, const std::string& redis_url = redis().url()) {
    const std::string command = "SLUICE_REDIS_URL='" + redis_url + "' SLUICE_REDIS_SHARDS=" + std::to_string(shards) +
                                " timeout 60 " + SLUICE_ADMIN_BINARY + " " + args + " 2>&1";
    admin_run out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return out;
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.output.append(chunk, n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(sluice_admin, an_operator_corrects_the_catalogue_and_replays_the_dead_letter_once) {
    redis().command({"FLUSHALL"});
    // The catalogue the first worker runs with lacks 2024-25: its submissions fail every attempt.
    const auto partial =
        std::filesystem::temp_directory_path() / ("sluice-partial-catalogue-" + std::to_string(::getpid()));
    std::filesystem::create_directories(partial);
    std::filesystem::copy_file(std::filesystem::path(SLUICE_CATALOGUE_DIR) / "2023-24.toml", partial / "2023-24.toml",
                               std::filesystem::copy_options::overwrite_existing);
    sluice::test::worker_config config;
    config.shards = shards;
    config.claim_idle_ms = 200;
    config.max_attempts = 2;
    config.catalogue_dir = partial.string();

    const auto good = enqueue(redis(), shards, "A81001", valid_body("A81001"), 1000s);
    const auto broken = enqueue(redis(), shards, "A81002", "{\"practice\":", 1000s);
    auto failed = [](const queued& q) {
        const auto r = redis().command({"HGET", q.status_key, "status"});
        return !r.is_nil() && r.as_string() == "failed";
    };
    {
        sluice::test::worker_process w(config);
        ASSERT_TRUE(eventually([&] { return failed(good) && failed(broken); }, settle)) << w.log();
        w.send_signal(SIGTERM);
        EXPECT_EQ(w.wait_exit(10s), std::optional<int>(0));
    }
    EXPECT_EQ(hash(redis(), good.status_key).at("attempts"), "2") << "a catalogue fault is retried";
    EXPECT_EQ(hash(redis(), broken.status_key).at("attempts"), "1") << "bytes that are not JSON are not";

    auto listed = run_admin("dlq list");
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    EXPECT_TRUE(contains(listed.output, good.submission_id)) << listed.output;
    EXPECT_TRUE(contains(listed.output, broken.submission_id)) << listed.output;
    EXPECT_TRUE(contains(listed.output, "unknown period")) << listed.output;
    EXPECT_TRUE(contains(listed.output, "2 dead letter(s)\n")) << listed.output;

    const auto shown = run_admin("dlq show " + good.submission_id);
    EXPECT_EQ(shown.exit_code, 0) << shown.output;
    EXPECT_TRUE(contains(shown.output, "body: " + good.body + "\n")) << shown.output;

    const auto dry = run_admin("dlq replay --dry-run " + good.submission_id);
    EXPECT_EQ(dry.exit_code, 0) << dry.output;
    EXPECT_TRUE(contains(dry.output, "would be requeued")) << dry.output;
    EXPECT_EQ(hash(redis(), good.status_key).at("status"), "failed") << "a dry run writes nothing";

    // The catalogue corrected (the full one), a worker started with it, the dead letter replayed.
    config.catalogue_dir.clear();
    sluice::test::worker_process fixed(config);
    const auto replayed = run_admin("dlq replay " + good.submission_id);
    EXPECT_EQ(replayed.exit_code, 0) << replayed.output;
    EXPECT_TRUE(contains(replayed.output, "requeued as queue entry")) << replayed.output;
    EXPECT_TRUE(contains(replayed.output, "1 of 1 dead letter(s) requeued")) << replayed.output;
    ASSERT_TRUE(eventually(
        [&] {
            const auto r = redis().command({"HGET", good.status_key, "status"});
            return !r.is_nil() && r.as_string() == "calculated";
        },
        settle))
        << fixed.log();
    EXPECT_TRUE(eventually([&] { return fixed.metric("sluice_worker_calculated_total") == 1.0; }, 5s));

    const auto again = run_admin("dlq replay " + good.submission_id);
    EXPECT_EQ(again.exit_code, 1) << again.output;
    EXPECT_TRUE(contains(again.output, "no dead letter " + good.submission_id)) << again.output;

    // What is left: the one that can never be calculated. Purge it.
    const auto purged = run_admin("dlq purge --all");
    EXPECT_EQ(purged.exit_code, 0) << purged.output;
    EXPECT_TRUE(contains(purged.output, broken.submission_id + "): purged")) << purged.output;
    listed = run_admin("dlq list");
    EXPECT_TRUE(contains(listed.output, "0 dead letter(s)\n")) << listed.output;
    EXPECT_EQ(fixed.metric("sluice_worker_calculated_total"), 1.0) << "calculated exactly once";
    std::filesystem::remove_all(partial);
}

TEST(sluice_admin, usage_errors_exit_2_and_an_unreachable_redis_exits_3) {
    auto r = run_admin("dlq frobnicate");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "unknown dlq command \"frobnicate\"")) << r.output;
    r = run_admin("dlq list --shard 4");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "redis.shards is 4")) << r.output;
    r = run_admin("dlq show 9/1-0");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "neither a submission id nor SHARD/ID")) << r.output;
    // A port nobody listens on (the test server's, plus one, is not ours; 1 is never a Redis).
    r = run_admin("dlq list", "redis://127.0.0.1:1");
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "cannot reach Redis")) << r.output;
}

}  // namespace
