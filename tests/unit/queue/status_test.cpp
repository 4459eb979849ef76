// queue/status.hpp and queue/ratelimit_state.hpp without Redis: the status call's keys (and no
// call for an id this deployment does not mint), the status record's parse from the reply shapes
// status.lua gives, and the rate-limit peek's call and its reading of a tat.
#include "queue/keys.hpp"
#include "queue/ratelimit_state.hpp"
#include "queue/status.hpp"

#include "tests/unit/queue/replies.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace sluice::queue {
namespace {

using namespace test;

// HGETALL's flat array of a record.
redis::reply record_reply(std::initializer_list<std::pair<std::string, std::string>> fields) {
    redis::reply reply;
    reply.type = redis::reply::kind::array;
    for (const auto& [name, value] : fields) {
        reply.elements.push_back(string_reply(name));
        reply.elements.push_back(string_reply(value));
    }
    return reply;
}

const std::string id = "10-0123456789abcdef0123456789abcdef";

TEST(build_status_call, the_record_of_the_ids_shard_and_the_practices_rate_state) {
    const config::settings settings;  // 16 shards
    const auto call = build_status_call(id, "B82005", settings);
    ASSERT_TRUE(call);
    EXPECT_EQ(call->shard, 10u);
    EXPECT_EQ(call->keys,
              (std::vector<std::string>{"sluice:{10}:sub:" + id, practice_key(shard_of("B82005", 16), "B82005")}));
    EXPECT_TRUE(call->argv.empty());
}

TEST(build_status_call, no_call_for_an_id_this_deployment_does_not_mint) {
    const config::settings settings;
    for (const std::string& bad :
         {std::string("nonsense"), std::string("16-") + std::string(32, '0'),
          std::string("99999-") + std::string(32, '0'), std::string("3-") + std::string(31, 'f'),
          std::string("03-") + std::string(32, 'f'), std::string()})
        EXPECT_FALSE(build_status_call(bad, "A81001", settings)) << bad;
}

TEST(parse_status_reply, a_calculated_record_with_its_result_text_as_written) {
    const std::string result = R"({"points":24.97,"payment_gbp":4842.85})";
    const auto parsed = parse_status_reply(array_reply({record_reply({{"id", id},
                                                                      {"practice", "A81001"},
                                                                      {"status", "calculated"},
                                                                      {"attempts", "2"},
                                                                      {"received_at", "2025-03-31T23:58:12.345Z"},
                                                                      {"content_sha256", std::string(64, 'a')},
                                                                      {"result", result},
                                                                      {"calculated_at", "2025-03-31T23:58:13.000Z"}}),
                                                        string_reply("1743465492000000")}));
    ASSERT_TRUE(parsed.valid);
    ASSERT_TRUE(parsed.record);
    const auto& r = *parsed.record;
    EXPECT_EQ(r.practice, "A81001");
    EXPECT_EQ(r.status, "calculated");
    EXPECT_EQ(r.attempts, 2);
    EXPECT_EQ(r.received_at, "2025-03-31T23:58:12.345Z");
    EXPECT_EQ(r.content_sha256, std::string(64, 'a'));
    EXPECT_EQ(r.result, result);  // byte for byte, never re-serialised
    EXPECT_FALSE(r.error);
    EXPECT_EQ(parsed.tat_us, 1'743'465'492'000'000);
}

TEST(parse_status_reply, a_record_of_another_admission_with_the_same_key_is_none) {
    // The record of "10-<24 hex>-<time>" is named by its first part: the same practice and key,
    // used again once the asked-for submission's record expired, write the same record.
    const std::string asked = "10-0123456789abcdef01234567-195eea42f79";
    const std::string later = "10-0123456789abcdef01234567-1960a2b3c4d";
    const auto record = record_reply({{"id", later}, {"practice", "A81001"}, {"status", "queued"}});
    const auto other = parse_status_reply(array_reply({record, nil_reply()}), asked);
    EXPECT_TRUE(other.valid);
    EXPECT_FALSE(other.record);
    const auto same = parse_status_reply(array_reply({record, nil_reply()}), later);
    ASSERT_TRUE(same.record);
    EXPECT_EQ(same.record->status, "queued");
    EXPECT_TRUE(parse_status_reply(array_reply({record, nil_reply()})).record);  // no id given: not checked
}

TEST(parse_status_reply, a_failed_record_and_a_full_bucket) {
    const auto parsed = parse_status_reply(array_reply(
        {record_reply({{"practice", "A81001"}, {"status", "failed"}, {"attempts", "5"}, {"error", "unknown period"}}),
         nil_reply()}));
    ASSERT_TRUE(parsed.valid);
    ASSERT_TRUE(parsed.record);
    EXPECT_EQ(parsed.record->error, "unknown period");
    EXPECT_FALSE(parsed.record->result);
    EXPECT_FALSE(parsed.record->received_at);
    EXPECT_FALSE(parsed.tat_us);
}

TEST(parse_status_reply, no_record_is_valid_and_empty) {
    const auto parsed = parse_status_reply(array_reply({array_reply({}), string_reply("5")}));
    EXPECT_TRUE(parsed.valid);
    EXPECT_FALSE(parsed.record);
    EXPECT_EQ(parsed.tat_us, 5);
}

TEST(parse_status_reply, attempts_that_is_not_a_number_reads_as_zero) {
    const auto parsed = parse_status_reply(array_reply({record_reply({{"attempts", "x"}}), nil_reply()}));
    ASSERT_TRUE(parsed.record);
    EXPECT_EQ(parsed.record->attempts, 0);
    EXPECT_FALSE(parsed.record->practice);
}

// redis_reply_fuzz found "5x" read as 5: only a whole decimal number counts (status.hpp).
TEST(parse_status_reply, attempts_with_trailing_garbage_reads_as_zero) {
    for (const char* value : {"5x", "5 ", "1e3", "2.0"}) {
        const auto parsed = parse_status_reply(array_reply({record_reply({{"attempts", value}}), nil_reply()}));
        ASSERT_TRUE(parsed.record.has_value()) << value;
        EXPECT_EQ(parsed.record->attempts, 0) << value;
    }
}

TEST(parse_status_reply, other_shapes_are_not_valid) {
    redis::reply error;
    error.type = redis::reply::kind::error;
    error.str = "NOSCRIPT";
    for (const auto& reply :
         {error, nil_reply(), string_reply("x"), array_reply({}), array_reply({record_reply({})}),
          array_reply({string_reply("x"), nil_reply()}), array_reply({record_reply({}), nil_reply(), nil_reply()})})
        EXPECT_FALSE(parse_status_reply(reply).valid);
}

TEST(ratelimit_peek, gets_the_practices_key) {
    const config::settings settings;
    const auto call = build_ratelimit_peek_call("A81001", settings);
    EXPECT_EQ(call.words, (std::vector<std::string>{"HGET", "sluice:{10}:practice:A81001", "tat"}));
    const auto views = call.views();
    ASSERT_EQ(views.size(), 3u);
    EXPECT_EQ(views[1].data(), call.words[1].data());
}

TEST(ratelimit_peek, reads_a_tat_none_or_nothing_valid) {
    EXPECT_EQ(read_tat(string_reply("1743465492000000")).tat_us, 1'743'465'492'000'000);
    EXPECT_TRUE(read_tat(string_reply("1743465492000000")).valid);
    EXPECT_TRUE(read_tat(nil_reply()).valid);
    EXPECT_FALSE(read_tat(nil_reply()).tat_us);
    EXPECT_TRUE(read_tat(string_reply("12x")).valid);  // not a number: as if absent
    EXPECT_FALSE(read_tat(string_reply("12x")).tat_us);
    EXPECT_FALSE(read_tat(integer_reply(12)).valid);
    EXPECT_FALSE(read_tat(array_reply({})).valid);
}

TEST(ratelimit_peek, the_state_is_the_configured_gcra_uncharged) {
    config::settings settings;
    settings.ratelimit.rate = 2.0;  // one every 500 ms
    settings.ratelimit.burst = 3;
    const std::int64_t now = 1'000'000'000;
    const auto full = ratelimit_state(std::nullopt, settings, now);
    EXPECT_EQ(full.remaining, 3u);
    EXPECT_EQ(full.reset_after_us, 0);
    const auto used_one = ratelimit_state(now + 500'000, settings, now);  // tat half a second ahead
    EXPECT_EQ(used_one.remaining, 2u);
    EXPECT_EQ(used_one.reset_after_us, 500'000);
}

}  // namespace
}  // namespace sluice::queue
