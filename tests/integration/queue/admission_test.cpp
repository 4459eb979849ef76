// The admission script against a real redis-server: every row of API.md's idempotency table
// (accepted, replayed, reused, in_use), what each writes (and that refusals write nothing), the
// rate limit inside the same atomic call, concurrency (exactly one queue entry per key), the
// replicas case (pending -> complete), EVALSHA, and bad arguments.
#include "tests/integration/queue/admission_support.hpp"

#include "queue/admission.hpp"
#include "queue/keys.hpp"
#include "queue/latest.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

using queue::admission_outcome;

constexpr std::int64_t t0 = 1'743'465'492'000'000;  // 2025-03-31T23:58:12Z in µs

std::map<std::string, std::string> hgetall(const redis_server& server, const std::string& key) {
    std::map<std::string, std::string> fields;
    const redis_reply reply = server.command({"HGETALL", key});
    const auto& flat = reply.as_array();
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        fields[flat[i].as_string()] = flat[i + 1].as_string();
    }
    return fields;
}

long long xlen(const redis_server& server, const std::string& key) {
    return server.command({"XLEN", key}).as_integer();
}

// Redis's count of writes (the "dirty" counter behind INFO persistence): any write command,
// even one that stores the same value again or only changes a TTL, moves it.
long long writes_so_far(const redis_server& server) {
    const std::string info = server.command({"INFO", "persistence"}).as_string();
    constexpr std::string_view field = "rdb_changes_since_last_save:";
    const auto at = info.find(field);
    if (at == std::string::npos) {
        throw redis_error("INFO persistence has no " + std::string(field));
    }
    return std::stoll(info.substr(at + field.size()));
}

// Everything a refusal must leave alone: every key, every value that matters, whether each key
// expires, and Redis's write counter.
struct snapshot {
    std::vector<std::string> keys;
    long long dbsize = 0;
    long long writes = 0;
    std::map<std::string, std::string> values;  // strings and hashes (flattened), stream lengths, TTL kinds

    bool operator==(const snapshot&) const = default;
};

snapshot take_snapshot(const redis_server& server) {
    snapshot taken;
    taken.keys = all_keys(server);
    taken.dbsize = server.command({"DBSIZE"}).as_integer();
    taken.writes = writes_so_far(server);
    for (const auto& key : taken.keys) {
        taken.values[key + "#expires"] = server.command({"PTTL", key}).as_integer() > 0 ? "yes" : "no";
        const std::string type = server.command({"TYPE", key}).as_string();
        if (type == "string") {
            taken.values[key] = server.command({"GET", key}).as_string();
        } else if (type == "hash") {
            for (const auto& [field, value] : hgetall(server, key)) {
                taken.values[key + "#" + field] = value;
            }
        } else if (type == "stream") {
            taken.values[key] = std::to_string(xlen(server, key));
            const redis_reply reply = server.command({"XREVRANGE", key, "+", "-", "COUNT", "1"});
            const auto& last = reply.as_array();
            taken.values[key + "#last"] = last.empty() ? "" : last[0].as_array()[0].as_string();
        }
    }
    return taken;
}

class admission : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(server().command({"FLUSHALL"}).as_string(), "OK"); }

    const redis_server& server() { return redis(); }

    config::settings settings_ = admission_settings();
    request_factory requests_{settings_};
};

TEST_F(admission, new_key_is_queued_with_one_record_and_the_practices_state) {
    const auto request = requests_.make("A81001", "key-1", R"({"practice":"A81001"})");  // Redis's clock
    const auto call = requests_.build(request);
    const auto result = admit(server(), call);

    ASSERT_EQ(result.outcome, admission_outcome::accepted) << result.error;
    EXPECT_FALSE(result.stream_entry_id.empty());
    EXPECT_EQ(result.remaining, 2u);  // burst 3, one used
    EXPECT_EQ(result.reset_after_us, 500'000);

    const std::string& submission = call.keys[0];
    const std::string& practice_state = call.keys[1];
    const std::string& queue_stream = call.keys[2];
    // Three keys, the legacy idempotency record (read only) not among them.
    EXPECT_EQ(all_keys(server()), (std::vector<std::string>{practice_state, queue_stream, submission}));

    // One stream entry, with the fields the worker reads.
    ASSERT_EQ(xlen(server(), queue_stream), 1);
    const redis_reply range = server().command({"XRANGE", queue_stream, "-", "+"});
    const auto& entries = range.as_array();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].as_array()[0].as_string(), result.stream_entry_id);
    const auto& flat = entries[0].as_array()[1].as_array();
    std::map<std::string, std::string> fields;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        fields[flat[i].as_string()] = flat[i + 1].as_string();
    }
    EXPECT_EQ(fields, (std::map<std::string, std::string>{{"id", call.submission_id},
                                                          {"practice", "A81001"},
                                                          {"sha256", request.body_sha256_hex},
                                                          {"received_at", request.received_at},
                                                          {"idem", request.idempotency_key},
                                                          {"body", request.queue_payload}}));

    // The one record: what GET /v1/submissions/{id} reads and what a retry with the key is
    // answered from, with one expiry.
    EXPECT_EQ(hgetall(server(), submission),
              (std::map<std::string, std::string>{{"id", call.submission_id},
                                                  {"practice", "A81001"},
                                                  {"status", "queued"},
                                                  {"attempts", "0"},
                                                  {"received_at", request.received_at},
                                                  {"content_sha256", request.body_sha256_hex},
                                                  {"state", "done"}}));
    const auto submission_ttl = server().command({"TTL", submission}).as_integer();
    EXPECT_GT(submission_ttl, 3590);
    EXPECT_LE(submission_ttl, 3600);

    // The practice's state: the tat (no latest field was sent), kept as long as the records.
    EXPECT_EQ(hgetall(server(), practice_state).size(), 1u);
    const std::string tat = server().command({"HGET", practice_state, "tat"}).as_string();
    EXPECT_EQ(tat.find_first_not_of("0123456789"), std::string::npos) << tat;
    const auto practice_ttl = server().command({"TTL", practice_state}).as_integer();
    EXPECT_GT(practice_ttl, 3590);
    EXPECT_LE(practice_ttl, 3600);

    // The stream itself has no expiry (entries leave only when acknowledged and trimmed).
    EXPECT_EQ(server().command({"TTL", queue_stream}).as_integer(), -1);
}

// With a latest field (the gateway always sends one) the admitted id becomes the practice's latest
// for that period and scheme, with the records' TTL; a replay changes nothing.
TEST_F(admission, the_latest_admission_per_period_and_scheme_is_recorded) {
    auto admit_with = [&](std::string_view key, std::string_view body, std::string_view scheme) {
        auto request = requests_.make("A81001", key, body);
        request.latest_field = queue::latest_field("2024-25", scheme);
        auto call = requests_.build(request);
        const auto result = admit(server(), call);
        return std::make_pair(call, result);
    };
    const auto [first, first_result] = admit_with("key-1", R"({"n":1})", "QOF");
    ASSERT_EQ(first_result.outcome, admission_outcome::accepted) << first_result.error;
    const std::string latest = first.keys[1];
    EXPECT_EQ(latest, queue::practice_key(first.shard, "A81001"));
    auto ids = [&] {
        auto fields = hgetall(server(), latest);
        EXPECT_EQ(fields.erase("tat"), 1u);  // the rate limit's, beside the ids
        return fields;
    };
    EXPECT_EQ(ids(), (std::map<std::string, std::string>{{"2024-25/QOF", first.submission_id}}));
    const auto ttl = server().command({"TTL", latest}).as_integer();
    EXPECT_GT(ttl, 3590);
    EXPECT_LE(ttl, 3600);

    const auto [ldhc, ldhc_result] = admit_with("key-2", R"({"n":2})", "LDHC");
    ASSERT_EQ(ldhc_result.outcome, admission_outcome::accepted) << ldhc_result.error;
    const auto [second, second_result] = admit_with("key-3", R"({"n":3})", "QOF");
    ASSERT_EQ(second_result.outcome, admission_outcome::accepted) << second_result.error;
    const std::map<std::string, std::string> expected = {{"2024-25/QOF", second.submission_id},
                                                         {"2024-25/LDHC", ldhc.submission_id}};
    EXPECT_EQ(ids(), expected);

    // A replay of the first admits nothing and leaves the latest alone.
    const auto [replay, replay_result] = admit_with("key-1", R"({"n":1})", "QOF");
    EXPECT_EQ(replay_result.outcome, admission_outcome::replayed);
    EXPECT_EQ(ids(), expected);

    // As the gateway reads it.
    const auto reading = queue::read_latest(to_reply(server().command({"HGETALL", latest})));
    ASSERT_TRUE(reading.valid);
    EXPECT_EQ(queue::latest_id(reading, "2024-25", "QOF"), second.submission_id);
}

TEST_F(admission, same_key_same_body_replays_the_first_answer_without_queueing_or_charging) {
    const auto first_call = requests_.call("A81001", "key-1", "body", t0);
    ASSERT_EQ(admit(server(), first_call).outcome, admission_outcome::accepted);
    const snapshot before = take_snapshot(server());

    for (int retry = 0; retry < 5; ++retry) {
        const auto call = requests_.call("A81001", "key-1", "body", t0 + retry * 1'000);
        ASSERT_NE(call.submission_id, first_call.submission_id);  // each retry is a later admission...
        ASSERT_EQ(call.keys[0], first_call.keys[0]);              // ...of the same record
        const auto result = admit(server(), call);
        ASSERT_EQ(result.outcome, admission_outcome::replayed) << result.error;
        EXPECT_EQ(result.replay_status, 202);
        EXPECT_EQ(result.replay_body, "");  // the gateway rebuilds the receipt from these two:
        EXPECT_EQ(result.replay_submission_id, first_call.submission_id);  // ...and gets the first one
        EXPECT_EQ(result.replay_received_at, "2025-03-31T23:58:12.345Z");
        // Not charged: still 2 left of burst 3 (only the first request counted).
        EXPECT_EQ(result.remaining, 2u);
        EXPECT_EQ(result.reset_after_us, 500'000 - retry * 1'000);
    }
    // Nothing written: same keys, same tat, still one stream entry.
    EXPECT_EQ(take_snapshot(server()), before);
}

TEST_F(admission, replay_is_answered_even_when_the_practice_is_over_its_limit) {
    const auto first = requests_.call("A81001", "key-1", "body", t0);
    ASSERT_EQ(admit(server(), first).outcome, admission_outcome::accepted);
    for (int i = 2; i <= 3; ++i) {
        const auto other = requests_.make("A81001", numbered("key-", i), "body", t0);
        ASSERT_EQ(admit(server(), requests_.build(other)).outcome, admission_outcome::accepted);
    }
    const auto over = requests_.make("A81001", "key-4", "body", t0);
    ASSERT_EQ(admit(server(), requests_.build(over)).outcome, admission_outcome::limited);

    const auto result = admit(server(), requests_.call("A81001", "key-1", "body", t0));
    ASSERT_EQ(result.outcome, admission_outcome::replayed);
    EXPECT_EQ(result.replay_submission_id, first.submission_id);
    EXPECT_EQ(result.remaining, 0u);
    EXPECT_EQ(result.reset_after_us, 1'500'000);
}

TEST_F(admission, same_key_different_body_is_reused_and_writes_nothing) {
    ASSERT_EQ(admit(server(), requests_.call("A81001", "key-1", "body", t0)).outcome, admission_outcome::accepted);
    const snapshot before = take_snapshot(server());
    const auto result = admit(server(), requests_.call("A81001", "key-1", "other body", t0));
    EXPECT_EQ(result.outcome, admission_outcome::reused);
    EXPECT_EQ(result.remaining, 2u);
    EXPECT_EQ(result.reset_after_us, 500'000);
    EXPECT_EQ(take_snapshot(server()), before);
}

TEST_F(admission, idempotency_keys_are_scoped_to_the_practice) {
    const auto a = requests_.make("A81001", "same-key", "body", t0);
    const auto b = requests_.make("A81002", "same-key", "body", t0);
    EXPECT_EQ(admit(server(), requests_.build(a)).outcome, admission_outcome::accepted);
    EXPECT_EQ(admit(server(), requests_.build(b)).outcome, admission_outcome::accepted);
}

TEST_F(admission, pending_until_completed_then_replayed) {
    settings_.durability.replicas = 1;
    const auto call = requests_.call("A81001", "key-1", "body", t0);
    ASSERT_EQ(admit(server(), call).outcome, admission_outcome::accepted);
    auto record = hgetall(server(), call.keys[0]);
    EXPECT_EQ(record["state"], "pending");
    EXPECT_EQ(record["pending_until"], std::to_string(t0 + 2'000'000));  // pending_timeout_ms = 2000

    const snapshot before = take_snapshot(server());
    const auto in_use = admit(server(), requests_.call("A81001", "key-1", "body", t0 + 10));
    EXPECT_EQ(in_use.outcome, admission_outcome::in_use);
    EXPECT_EQ(in_use.remaining, 2u);
    EXPECT_EQ(in_use.reset_after_us, 500'000 - 10);
    // A different body is still reused (the digest is checked first).
    EXPECT_EQ(admit(server(), requests_.call("A81001", "key-1", "other", t0)).outcome, admission_outcome::reused);
    EXPECT_EQ(take_snapshot(server()), before);

    // After WAIT: complete. The TTL stays; pending_until goes.
    const auto completion = queue::build_completion_call("A81001", call.submission_id, settings_);
    ASSERT_EQ(completion.keys, std::vector<std::string>{call.keys[0]});
    EXPECT_EQ(eval(server(), queue::complete_script_source(), completion).as_integer(), 1);
    record = hgetall(server(), call.keys[0]);
    EXPECT_EQ(record["state"], "done");
    EXPECT_EQ(record.count("pending_until"), 0u);
    EXPECT_GT(server().command({"TTL", call.keys[0]}).as_integer(), 3590);
    EXPECT_EQ(eval(server(), queue::complete_script_source(), completion).as_integer(), 0);  // already done

    const auto replay = admit(server(), requests_.call("A81001", "key-1", "body", t0 + 20));
    EXPECT_EQ(replay.outcome, admission_outcome::replayed);
    EXPECT_EQ(replay.replay_submission_id, call.submission_id);
    EXPECT_EQ(xlen(server(), call.keys[2]), 1);
}

TEST_F(admission, completion_leaves_other_records_alone) {
    settings_.durability.replicas = 1;
    const auto call = requests_.call("A81001", "key-1", "body", t0);
    ASSERT_EQ(admit(server(), call).outcome, admission_outcome::accepted);
    // Another admission of the same record (the key used again later), or an id with no record:
    // nothing to do, and nothing created.
    const std::string later =
        call.submission_id.substr(0, call.submission_id.size() - 1) + (call.submission_id.back() == '0' ? "1" : "0");
    const auto other = queue::build_completion_call("A81001", later, settings_);
    ASSERT_EQ(other.keys, std::vector<std::string>{call.keys[0]});
    EXPECT_EQ(eval(server(), queue::complete_script_source(), other).as_integer(), 0);
    EXPECT_EQ(hgetall(server(), call.keys[0])["state"], "pending");
    const auto none = queue::build_completion_call(
        "A81001", queue::submission_id_for(call.shard, "A81001", "no-such-key", 1), settings_);
    EXPECT_EQ(eval(server(), queue::complete_script_source(), none).as_integer(), 0);
    EXPECT_EQ(server().command({"EXISTS", none.keys[0]}).as_integer(), 0);
}

TEST_F(admission, a_pending_record_of_a_crashed_gateway_replays_after_the_pending_timeout) {
    settings_.durability.replicas = 1;
    const auto first = requests_.call("A81001", "key-1", "body", t0);
    ASSERT_EQ(admit(server(), first).outcome, admission_outcome::accepted);
    const std::int64_t timeout_us = static_cast<std::int64_t>(queue::pending_timeout_ms(settings_)) * 1'000;
    const auto early_retry = requests_.make("A81001", "key-1", "body", t0 + timeout_us - 1);
    const auto early = admit(server(), requests_.build(early_retry));
    EXPECT_EQ(early.outcome, admission_outcome::in_use);
    const auto late = admit(server(), requests_.call("A81001", "key-1", "body", t0 + timeout_us));
    EXPECT_EQ(late.outcome, admission_outcome::replayed);
    EXPECT_EQ(late.replay_submission_id, first.submission_id);
}

TEST_F(admission, a_limited_request_writes_nothing_at_all) {
    for (int i = 1; i <= 3; ++i) {
        const auto request = requests_.make("A81001", numbered("key-", i), numbered("body ", i), t0);
        ASSERT_EQ(admit(server(), requests_.build(request)).outcome, admission_outcome::accepted);
    }
    const snapshot before = take_snapshot(server());
    ASSERT_EQ(before.dbsize, 1 + 1 + 3);  // the practice's hash, the stream, 3 records

    const auto request = requests_.make("A81001", "key-4", "body 4", t0 + 100'000);
    const auto call = requests_.build(request);
    const auto result = admit(server(), call);
    ASSERT_EQ(result.outcome, admission_outcome::limited);
    EXPECT_EQ(result.remaining, 0u);
    EXPECT_EQ(result.retry_after_us, 400'000);
    EXPECT_EQ(result.reset_after_us, 1'400'000);

    EXPECT_EQ(take_snapshot(server()), before);
    EXPECT_EQ(server().command({"EXISTS", call.keys[0]}).as_integer(), 0);
    EXPECT_EQ(server().command({"EXISTS", call.keys[3]}).as_integer(), 0);

    // A retry after Retry-After is admitted.
    const auto later = requests_.make("A81001", "key-4", "body 4", t0 + 100'000 + result.retry_after_us);
    EXPECT_EQ(admit(server(), requests_.build(later)).outcome, admission_outcome::accepted);
}

TEST_F(admission, run_after_its_deadline_it_is_expired_and_writes_nothing) {
    // A stalled Redis that catches up runs scripts the gateway already answered 503 for.
    auto late = requests_.make("A81001", "key-1", "body 1", t0);
    late.deadline_us = t0 - 1;
    const snapshot before = take_snapshot(server());
    const auto call = requests_.build(late);
    EXPECT_EQ(admit(server(), call).outcome, admission_outcome::expired);
    EXPECT_EQ(take_snapshot(server()), before);

    // At its deadline it still runs; a replay after the deadline is expired too (the gateway
    // answered 503 and the client retries with the same key).
    auto on_time = requests_.make("A81001", "key-1", "body 1", t0);
    on_time.deadline_us = t0;
    EXPECT_EQ(admit(server(), requests_.build(on_time)).outcome, admission_outcome::accepted);
    auto retry = requests_.make("A81001", "key-1", "body 1", t0 + 10);
    retry.deadline_us = t0 + 9;
    EXPECT_EQ(admit(server(), requests_.build(retry)).outcome, admission_outcome::expired);
    EXPECT_EQ(xlen(server(), queue::queue_key(call.shard)), 1);
}

TEST_F(admission, another_practice_is_not_limited_by_a_busy_one) {
    for (int i = 0; i < 5; ++i) {
        (void)admit(server(), requests_.call("A81001", numbered("k", i), "body", t0));
    }
    EXPECT_EQ(admit(server(), requests_.call("A81001", "k9", "body", t0)).outcome, admission_outcome::limited);
    EXPECT_EQ(admit(server(), requests_.call("B82005", "k9", "body", t0)).outcome, admission_outcome::accepted);
}

TEST_F(admission, concurrent_retries_queue_exactly_once) {
    constexpr int threads = 12;
    constexpr int attempts = 5;
    std::atomic<int> accepted{0};
    std::atomic<int> replayed{0};
    std::atomic<int> other{0};
    std::vector<std::string> ids(threads * attempts);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            request_factory requests(settings_, 100 + static_cast<std::uint64_t>(t));
            for (int a = 0; a < attempts; ++a) {
                const auto result = admit(server(), requests.call("A81001", "retry-storm", "body"));
                if (result.outcome == admission_outcome::accepted) {
                    ++accepted;
                } else if (result.outcome == admission_outcome::replayed) {
                    ++replayed;
                    ids[static_cast<std::size_t>(t * attempts + a)] = result.replay_submission_id;
                } else {
                    ++other;
                }
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
    EXPECT_EQ(accepted.load(), 1);
    EXPECT_EQ(replayed.load(), threads * attempts - 1);
    EXPECT_EQ(other.load(), 0);
    const auto shard = queue::shard_of("A81001", settings_.redis.shards);
    EXPECT_EQ(xlen(server(), queue::queue_key(shard)), 1);
    const auto record = queue::submission_key(shard, queue::submission_id_for(shard, "A81001", "retry-storm", 0));
    const auto stored_id = hgetall(server(), record)["id"];
    EXPECT_FALSE(stored_id.empty());
    for (const auto& id : ids) {
        if (!id.empty()) {
            EXPECT_EQ(id, stored_id);
        }
    }
}

TEST_F(admission, runs_by_sha_after_script_load) {
    const std::string sha =
        server().command({"SCRIPT", "LOAD", std::string(queue::admission_script_source())}).as_string();
    ASSERT_EQ(sha.size(), 40u);
    const auto call = requests_.call("A81001", "key-1", "body", t0);
    std::vector<std::string> args{"EVALSHA", sha, "4"};
    args.insert(args.end(), call.keys.begin(), call.keys.end());
    args.insert(args.end(), call.argv.begin(), call.argv.end());
    EXPECT_EQ(queue::parse_admission_reply(to_reply(server().command(args))).outcome, admission_outcome::accepted);
    EXPECT_EQ(server().command({"SCRIPT", "LOAD", std::string(queue::complete_script_source())}).as_string().size(),
              40u);
}

TEST_F(admission, bad_arguments_are_an_error_and_write_nothing) {
    auto call = requests_.call("A81001", "key-1", "body", t0);
    const std::vector<std::pair<std::size_t, std::string>> faults = {
        {5, "fast"}, {5, "0"}, {6, "-1"}, {6, "2.5"}, {7, "0"}, {8, "maybe"}, {9, "yesterday"}, {10, "-5"}, {0, ""}};
    for (const auto& [index, value] : faults) {
        auto bad = call;
        bad.argv[index] = value;
        const auto result = admit(server(), bad);
        EXPECT_EQ(result.outcome, admission_outcome::invalid_reply) << index << "=" << value;
        EXPECT_NE(result.error.find("sluice admission"), std::string::npos) << result.error;
    }
    auto missing_key = call;
    missing_key.keys.pop_back();
    EXPECT_EQ(admit(server(), missing_key).outcome, admission_outcome::invalid_reply);
    EXPECT_EQ(server().command({"DBSIZE"}).as_integer(), 0);
}

// A record is named by 96 bits of SHA-256 over practice and key, so another practice's record
// under the name cannot be asked for: forge one. It is neither answered from nor overwritten.
TEST_F(admission, a_record_of_another_practice_is_never_answered_nor_overwritten) {
    const auto first = requests_.call("A81001", "key-1", "body", t0);
    ASSERT_EQ(admit(server(), first).outcome, admission_outcome::accepted);
    auto clash = requests_.make("A81002", "key-1", "body", t0);
    auto forged = requests_.build(clash);
    forged.keys[0] = first.keys[0];
    const snapshot before = take_snapshot(server());
    const auto result = admit(server(), forged);
    EXPECT_EQ(result.outcome, admission_outcome::invalid_reply);
    EXPECT_NE(result.error.find("another practice"), std::string::npos) << result.error;
    EXPECT_EQ(take_snapshot(server()), before);
}

// Records written before they were merged (an idempotency hash holding the receipt, keyed by
// practice and key): a retry across the upgrade replays the first answer, or is reused, and
// queues nothing.
TEST_F(admission, a_legacy_idempotency_record_still_answers_its_key) {
    const auto call = requests_.call("A81001", "key-1", "body", t0);
    const std::string legacy_id = "10-0123456789abcdef0123456789abcdef";
    const std::string receipt = R"({"submission_id":")" + legacy_id + R"("})";
    server().command({"HSET", call.keys[3], "sha256", fake_sha256("body"), "state", "done", "status", "202", "body",
                      receipt, "id", legacy_id});
    const snapshot before = take_snapshot(server());
    const auto replay = admit(server(), call);
    ASSERT_EQ(replay.outcome, admission_outcome::replayed) << replay.error;
    EXPECT_EQ(replay.replay_body, receipt);
    EXPECT_EQ(replay.replay_submission_id, legacy_id);
    EXPECT_EQ(replay.replay_received_at, "");
    EXPECT_EQ(admit(server(), requests_.call("A81001", "key-1", "other body", t0)).outcome, admission_outcome::reused);
    EXPECT_EQ(take_snapshot(server()), before);
    // Another key of the practice is admitted as usual.
    EXPECT_EQ(admit(server(), requests_.call("A81001", "key-2", "body", t0)).outcome, admission_outcome::accepted);
}

TEST(admission_script, is_gcra_then_admission_and_complete_stands_alone) {
    const std::string_view admission = queue::admission_script_source();
    const auto gcra_at = admission.find("-- ==== gcra.lua ====\n");
    const auto admission_at = admission.find("-- ==== admission.lua ====\n");
    EXPECT_EQ(gcra_at, 0u);
    ASSERT_NE(admission_at, std::string_view::npos);
    EXPECT_GT(admission_at, gcra_at);
    // The queue append lets Redis pick the entry id and never trims (no MAXLEN/MINID).
    EXPECT_NE(admission.find("redis.call('XADD', queue_key, '*',"), std::string_view::npos);
    const std::string_view complete = queue::complete_script_source();
    EXPECT_EQ(complete.find("-- ==== complete.lua ====\n"), 0u);
    EXPECT_EQ(complete.find("gcra"), std::string_view::npos);
}

}  // namespace
}  // namespace sluice::test
