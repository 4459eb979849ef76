// queue/latest.hpp without Redis: the field, the call, and the strict reading of HGETALL's reply.
#include "queue/keys.hpp"
#include "queue/latest.hpp"
#include "tests/unit/queue/replies.hpp"

#include <gtest/gtest.h>

namespace sluice::queue {
namespace {

using test::array_reply;
using test::integer_reply;
using test::nil_reply;
using test::string_reply;

TEST(latest, field_and_call) {
    EXPECT_EQ(latest_field("2024-25", "QOF"), "2024-25/QOF");
    config::settings settings;
    settings.redis.shards = 16;
    const auto call = build_latest_call("A81001", settings);
    EXPECT_EQ(call.words, (std::vector<std::string>{"HGETALL", practice_key(shard_of("A81001", 16), "A81001")}));
    EXPECT_EQ(call.words[1], "sluice:{" + std::to_string(shard_of("A81001", 16)) + "}:practice:A81001");
}

TEST(latest, reads_the_ids_of_each_period_and_scheme) {
    const auto reading = read_latest(
        array_reply({string_reply("2024-25/QOF"), string_reply("3-aa"), string_reply("tat"),
                     string_reply("1743465492000000"), string_reply("2024-25/LDHC"), string_reply("3-bb")}));
    ASSERT_TRUE(reading.valid);
    EXPECT_EQ(reading.ids.size(), 2u);  // the practice's hash also holds the rate limit's tat: not an id
    EXPECT_EQ(latest_id(reading, "2024-25", "QOF"), "3-aa");
    EXPECT_EQ(latest_id(reading, "2024-25", "LDHC"), "3-bb");
    EXPECT_FALSE(latest_id(reading, "2023-24", "QOF"));
    EXPECT_FALSE(latest_id(reading, "2024-25", "CVD"));
}

TEST(latest, no_key_is_valid_and_names_nothing) {
    const auto reading = read_latest(array_reply({}));
    EXPECT_TRUE(reading.valid);
    EXPECT_TRUE(reading.ids.empty());
}

TEST(latest, anything_else_is_invalid) {
    EXPECT_FALSE(read_latest(nil_reply()).valid);
    EXPECT_FALSE(read_latest(string_reply("2024-25/QOF")).valid);
    EXPECT_FALSE(read_latest(array_reply({string_reply("2024-25/QOF")})).valid);  // odd
    EXPECT_FALSE(read_latest(array_reply({string_reply("2024-25/QOF"), integer_reply(3)})).valid);
    redis::reply error;
    error.type = redis::reply::kind::error;
    error.str = "WRONGTYPE";
    EXPECT_FALSE(read_latest(error).valid);
}

}  // namespace
}  // namespace sluice::queue
