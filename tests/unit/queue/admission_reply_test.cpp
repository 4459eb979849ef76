// queue/admission.hpp without Redis: the exact KEYS and ARGV of a call, and strict parsing of
// every reply shape (and of everything that is not one).
#include "queue/admission.hpp"
#include "queue/keys.hpp"

#include "tests/unit/queue/replies.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sluice::queue {
namespace {

using namespace test;

admission_request sample_request() {
    admission_request request;
    request.practice = "A81001";  // on shard 10 of 16
    request.idempotency_key = "key-1";
    request.body_sha256_hex = std::string(64, 'a');
    request.received_at = "2025-03-31T23:58:12.345Z";
    request.received_ms = 1'743'465'492'345;  // the same instant
    request.queue_payload = R"({"practice":"A81001"})";
    request.latest_field = "2024-25/QOF";
    return request;
}

TEST(build_admission_call, keys_and_argv_are_the_scripts_contract) {
    const config::settings settings;  // defaults: 16 shards, 2/s burst 10, 7 days, no replicas
    const auto call = build_admission_call(sample_request(), settings);
    EXPECT_EQ(call.shard, 10u);
    const std::string& id = call.submission_id;  // named by practice, key and time, in the practice's shard
    EXPECT_EQ(id, submission_id_for(10, "A81001", "key-1", 1'743'465'492'345));
    EXPECT_EQ(shard_of_submission_id(id, settings.redis.shards), std::optional<std::uint32_t>(10)) << id;
    EXPECT_EQ(call.keys, (std::vector<std::string>{"sluice:{10}:sub:" + id.substr(0, 3 + submission_record_hex_digits),
                                                   "sluice:{10}:practice:A81001", "sluice:{10}:q",
                                                   "sluice:{10}:idem:A81001:key-1"}));
    EXPECT_EQ(call.argv, (std::vector<std::string>{std::string(64, 'a'), id, "A81001", "2025-03-31T23:58:12.345Z",
                                                   R"({"practice":"A81001"})", "2", "10", "604800", "done", "", "2000",
                                                   "", "key-1", "2024-25/QOF"}));
    const auto keys = call.key_views();
    const auto argv = call.argv_views();
    ASSERT_EQ(keys.size(), 4u);
    ASSERT_EQ(argv.size(), 14u);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(keys[i], call.keys[i]);
        EXPECT_EQ(keys[i].data(), call.keys[i].data());  // views, not copies
    }
    for (std::size_t i = 0; i < argv.size(); ++i) {
        EXPECT_EQ(argv[i].data(), call.argv[i].data());
    }
}

TEST(build_admission_call, replicas_make_the_record_pending_and_tests_may_fix_the_clock) {
    config::settings settings;
    settings.durability.replicas = 2;
    settings.ratelimit.rate = 0.1;
    settings.ratelimit.burst = 3;
    settings.redis.timeout_ms = 500;
    auto request = sample_request();
    request.now_us = 1'743'465'492'000'000;
    const auto call = build_admission_call(std::move(request), settings);
    EXPECT_EQ(call.argv[5], "0.1");
    EXPECT_EQ(call.argv[6], "3");
    EXPECT_EQ(call.argv[8], "pending");
    EXPECT_EQ(call.argv[9], "1743465492000000");
    EXPECT_EQ(call.argv[10], "3000");                     // 4 calls of 500 ms + 1 s
    EXPECT_EQ(call.argv[4], R"({"practice":"A81001"})");  // moved in, intact
}

TEST(build_admission_call, the_same_practice_and_key_name_one_record_at_any_time) {
    const config::settings settings;
    std::set<std::string> records;
    for (const std::string practice : {"A81001", "B82005", "Y00001"}) {
        for (int i = 0; i < 100; ++i) {
            auto request = sample_request();
            request.practice = practice;
            request.idempotency_key = "key-" + std::to_string(i);
            auto again = request;
            again.received_ms += 1000 + i;  // a retry, a second and more later, on any gateway
            const auto call = build_admission_call(std::move(request), settings);
            const auto retry = build_admission_call(std::move(again), settings);
            EXPECT_EQ(shard_of_submission_id(call.submission_id, settings.redis.shards),
                      std::optional<std::uint32_t>(shard_of(practice, settings.redis.shards)));
            EXPECT_EQ(call.shard, shard_of(practice, settings.redis.shards));
            EXPECT_EQ(retry.keys[0], call.keys[0]);              // one record for the key
            EXPECT_NE(retry.submission_id, call.submission_id);  // a new id once that record has gone
            EXPECT_TRUE(records.insert(call.keys[0]).second) << call.keys[0];
        }
    }
}

TEST(build_completion_call, names_the_submissions_record_and_the_submission) {
    const config::settings settings;
    const std::string id = "10-0123456789abcdef01234567-0195ed9ec39";
    const auto call = build_completion_call("A81001", id, settings);
    EXPECT_EQ(call.shard, 10u);
    EXPECT_EQ(call.keys, std::vector<std::string>{"sluice:{10}:sub:10-0123456789abcdef01234567"});
    EXPECT_EQ(call.argv, std::vector<std::string>{id});
    EXPECT_EQ(pending_timeout_ms(settings), 2000u);
}

TEST(parse_admission_reply, accepted) {
    const auto result = parse_admission_reply(array_reply(
        {string_reply("accepted"), string_reply("1743465492345-0"), integer_reply(9), integer_reply(500000)}));
    EXPECT_EQ(result.outcome, admission_outcome::accepted);
    EXPECT_EQ(result.stream_entry_id, "1743465492345-0");
    EXPECT_EQ(result.remaining, 9u);
    EXPECT_EQ(result.reset_after_us, 500000);
    EXPECT_EQ(result.retry_after_us, 0);
}

TEST(parse_admission_reply, replay_of_a_record_names_its_id_and_time) {
    const auto result = parse_admission_reply(
        array_reply({string_reply("replay"), integer_reply(202), string_reply(""), string_reply("3-abc"),
                     integer_reply(4), integer_reply(7), string_reply("2025-03-31T23:58:12.345Z")}));
    EXPECT_EQ(result.outcome, admission_outcome::replayed);
    EXPECT_EQ(result.replay_status, 202);
    EXPECT_EQ(result.replay_body, "");
    EXPECT_EQ(result.replay_submission_id, "3-abc");
    EXPECT_EQ(result.replay_received_at, "2025-03-31T23:58:12.345Z");
    EXPECT_EQ(result.remaining, 4u);
    EXPECT_EQ(result.reset_after_us, 7);
}

TEST(parse_admission_reply, replay_of_a_legacy_record_carries_its_receipt) {
    const auto result = parse_admission_reply(
        array_reply({string_reply("replay"), integer_reply(202), string_reply(R"({"a":1})"), string_reply("3-abc"),
                     integer_reply(4), integer_reply(7), string_reply("")}));
    EXPECT_EQ(result.outcome, admission_outcome::replayed);
    EXPECT_EQ(result.replay_body, R"({"a":1})");
    EXPECT_EQ(result.replay_received_at, "");
}

TEST(parse_admission_reply, reused_in_use_limited) {
    auto result = parse_admission_reply(array_reply({string_reply("reused"), integer_reply(2), integer_reply(3)}));
    EXPECT_EQ(result.outcome, admission_outcome::reused);
    EXPECT_EQ(result.remaining, 2u);
    EXPECT_EQ(result.reset_after_us, 3);
    result = parse_admission_reply(array_reply({string_reply("in_use"), integer_reply(0), integer_reply(0)}));
    EXPECT_EQ(result.outcome, admission_outcome::in_use);
    result =
        parse_admission_reply(array_reply({string_reply("limited"), integer_reply(400000), integer_reply(1400000)}));
    EXPECT_EQ(result.outcome, admission_outcome::limited);
    EXPECT_EQ(result.retry_after_us, 400000);
    EXPECT_EQ(result.reset_after_us, 1400000);
    EXPECT_EQ(result.remaining, 0u);
}

TEST(parse_admission_reply, expired) {
    EXPECT_EQ(parse_admission_reply(array_reply({string_reply("expired")})).outcome, admission_outcome::expired);
    EXPECT_EQ(parse_admission_reply(array_reply({string_reply("expired"), integer_reply(1)})).outcome,
              admission_outcome::invalid_reply);
}

TEST(parse_admission_reply, anything_else_is_invalid) {
    redis::reply error;
    error.type = redis::reply::kind::error;
    error.str = "NOSCRIPT No matching script. Please use EVAL.";
    auto result = parse_admission_reply(error);
    EXPECT_EQ(result.outcome, admission_outcome::invalid_reply);
    EXPECT_NE(result.error.find("NOSCRIPT"), std::string::npos);

    const std::vector<redis::reply> malformed = {
        redis::reply{},                   // nil
        integer_reply(1),                 //
        string_reply("accepted"),         // not an array
        array_reply({}),                  //
        array_reply({integer_reply(1)}),  //
        array_reply({string_reply("queued"), integer_reply(1), integer_reply(1)}),
        array_reply({string_reply("accepted"), string_reply("1-0"), integer_reply(9)}),
        array_reply({string_reply("accepted"), string_reply(""), integer_reply(9), integer_reply(1)}),
        array_reply({string_reply("accepted"), integer_reply(1), integer_reply(9), integer_reply(1)}),
        array_reply({string_reply("accepted"), string_reply("1-0"), integer_reply(-1), integer_reply(1)}),
        array_reply({string_reply("accepted"), string_reply("1-0"), integer_reply(1LL << 32), integer_reply(1)}),
        array_reply({string_reply("accepted"), string_reply("1-0"), string_reply("9"), integer_reply(1)}),
        array_reply(
            {string_reply("accepted"), string_reply("1-0"), integer_reply(9), integer_reply(1), integer_reply(1)}),
        array_reply({string_reply("replay"), integer_reply(202), string_reply("{}"), string_reply("1-x")}),
        array_reply({string_reply("replay"), integer_reply(202), string_reply("{}"), string_reply("1-x"),
                     integer_reply(1), integer_reply(1)}),  // no received_at
        array_reply({string_reply("replay"), integer_reply(42), string_reply("{}"), string_reply("1-x"),
                     integer_reply(1), integer_reply(1), string_reply("")}),
        array_reply({string_reply("replay"), string_reply("202"), string_reply("{}"), string_reply("1-x"),
                     integer_reply(1), integer_reply(1), string_reply("")}),
        array_reply({string_reply("replay"), integer_reply(202), string_reply(""), string_reply("1-x"),
                     integer_reply(1), integer_reply(1), string_reply("")}),  // neither receipt nor time
        array_reply({string_reply("replay"), integer_reply(202), string_reply(""), string_reply(""), integer_reply(1),
                     integer_reply(1), string_reply("2025-03-31T23:58:12.345Z")}),  // no id
        array_reply({string_reply("reused")}),
        array_reply({string_reply("in_use"), integer_reply(1), integer_reply(-5)}),
        array_reply({string_reply("limited"), integer_reply(0), integer_reply(1)}),  // retry 0 is not a limit
        array_reply({string_reply("limited"), integer_reply(5)}),
    };
    for (std::size_t i = 0; i < malformed.size(); ++i) {
        result = parse_admission_reply(malformed[i]);
        EXPECT_EQ(result.outcome, admission_outcome::invalid_reply) << "case " << i;
        EXPECT_FALSE(result.error.empty()) << "case " << i;
    }
}

TEST(admission_outcome, has_names) {
    EXPECT_EQ(to_string(admission_outcome::accepted), "accepted");
    EXPECT_EQ(to_string(admission_outcome::replayed), "replayed");
    EXPECT_EQ(to_string(admission_outcome::reused), "reused");
    EXPECT_EQ(to_string(admission_outcome::in_use), "in_use");
    EXPECT_EQ(to_string(admission_outcome::limited), "limited");
    EXPECT_EQ(to_string(admission_outcome::invalid_reply), "invalid_reply");
}

}  // namespace
}  // namespace sluice::queue
