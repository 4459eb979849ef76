// redis/slot.hpp: CRC16/XMODEM and the hash-tag rule, against the Redis Cluster specification's
// own examples and values CLUSTER KEYSLOT gave on Redis 7.0 (the integration test compares
// thousands more against a live cluster).
#include "redis/slot.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using sluice::redis::crc16;
using sluice::redis::hashed_part;
using sluice::redis::key_slot;

TEST(crc16, matches_the_xmodem_check_value) {
    // The specification's reference: "123456789" gives 0x31C3.
    EXPECT_EQ(crc16("123456789"), 0x31C3);
    EXPECT_EQ(crc16(""), 0);
}

TEST(key_slot, matches_cluster_keyslot) {
    // CLUSTER KEYSLOT on Redis 7.0.15.
    EXPECT_EQ(key_slot("foo"), 12182);
    EXPECT_EQ(key_slot("123456789"), 12739);
    EXPECT_EQ(key_slot("sluice:{0}:q"), 13907);
    EXPECT_EQ(key_slot("sluice:{1}:q"), 9842);
    EXPECT_EQ(key_slot("sluice:{2}:q"), 5649);
    EXPECT_EQ(key_slot("sluice:{3}:q"), 1584);
    EXPECT_EQ(key_slot("sluice:{4}:q"), 14039);
    EXPECT_EQ(key_slot("sluice:{5}:q"), 9974);
}

TEST(key_slot, is_below_16384_for_every_key) {
    for (int i = 0; i < 100000; ++i) EXPECT_LT(key_slot("key:" + std::to_string(i)), 16384);
}

TEST(hash_tag, the_first_non_empty_braces_decide) {
    // The specification's examples.
    EXPECT_EQ(hashed_part("{user1000}.following"), "user1000");
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
    EXPECT_EQ(hashed_part("foo{}{bar}"), "foo{}{bar}");  // empty first tag: the whole key
    EXPECT_EQ(hashed_part("foo{{bar}}zap"), "{bar");     // from the first '{' to the first '}' after it
    EXPECT_EQ(hashed_part("foo{bar}{zap}"), "bar");      // only the first tag
    EXPECT_EQ(hashed_part("no tag"), "no tag");
    EXPECT_EQ(hashed_part("open{only"), "open{only");
    EXPECT_EQ(hashed_part("}closed{first"), "}closed{first");
}

TEST(hash_tag, a_client_chosen_suffix_cannot_move_a_sluice_key) {
    // An idempotency key is chosen by the client and may hold braces; ours come first.
    EXPECT_EQ(key_slot("sluice:{7}:idem:A81001:{evil}"), key_slot("sluice:{7}:q"));
    EXPECT_EQ(key_slot("sluice:{7}:sub:7-0123"), key_slot("{7}"));
}

}  // namespace
