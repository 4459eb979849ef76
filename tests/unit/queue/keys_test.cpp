// queue/keys.hpp: the key layout of DESIGN.md, pinned shard values (a change to shard_of would
// move data: it must fail here, loudly), and the strict submission id format.
#include "queue/admission.hpp"
#include "queue/keys.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

namespace sluice::queue {
namespace {

const std::string hex32 = "0123456789abcdef0123456789abcdef";
const std::string expected_record_hex = "825709327260beb474c8cfc2";

TEST(shard_of, fnv1a_64_is_the_standard_function) {
    // Published FNV-1a 64 test vectors.
    EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

// DO NOT CHANGE THESE VALUES. They decide which shard (stream, Redis Cluster slot) holds every
// practice's queue entries and records; changing shard_of strands existing data.
TEST(shard_of, values_are_pinned_forever) {
    EXPECT_EQ(fnv1a_64("A81001"), 0x1cb7c2ff73d8739aULL);
    EXPECT_EQ(shard_of("A81001", 16), 10u);
    EXPECT_EQ(shard_of("A81002", 16), 7u);
    EXPECT_EQ(shard_of("B82005", 16), 6u);
    EXPECT_EQ(shard_of("Y00001", 16), 15u);
    EXPECT_EQ(shard_of("P84001", 16), 14u);
    EXPECT_EQ(shard_of("M85063", 16), 6u);
    EXPECT_EQ(shard_of("A81001", 64), 26u);
    EXPECT_EQ(shard_of("A81001", 16384), 13210u);
    EXPECT_EQ(shard_of("A81001", 1), 0u);
    EXPECT_EQ(shard_of("A81001", 0), 0u);  // taken as one shard
}

TEST(shard_of, spreads_practices_over_the_shards) {
    std::vector<int> per_shard(16);
    for (int i = 0; i < 16'000; ++i) {
        char code[8];
        std::snprintf(code, sizeof code, "%c%05d", 'A' + i % 26, i);
        ++per_shard[shard_of(code, 16)];
    }
    for (const int count : per_shard) {
        EXPECT_GT(count, 800);
        EXPECT_LT(count, 1200);
    }
}

TEST(keys, layout_is_exactly_designs) {
    EXPECT_EQ(hash_tag(7), "{7}");
    EXPECT_EQ(idem_key(7, "A81001", "9b2c6a8e-0d4f"), "sluice:{7}:idem:A81001:9b2c6a8e-0d4f");
    EXPECT_EQ(practice_key(7, "A81001"), "sluice:{7}:practice:A81001");
    EXPECT_EQ(queue_key(7), "sluice:{7}:q");
    EXPECT_EQ(submission_key(7, "7-" + hex32), "sluice:{7}:sub:7-" + hex32);  // legacy: the whole id
    EXPECT_EQ(submission_key(7, "7-0123456789abcdef01234567-0195ed9ec39"), "sluice:{7}:sub:7-0123456789abcdef01234567");
    EXPECT_EQ(queue_key(16383), "sluice:{16383}:q");
}

// The string form of "one slot per call": Redis hashes the part between the first '{' and the
// next '}', which in every key of a call is the shard's tag (cluster_test.cpp asks Redis too).
TEST(keys, every_key_of_a_call_carries_the_shards_tag_first) {
    config::settings settings;
    for (const std::string practice : {"A81001", "B82005", "Y00001"}) {
        for (const std::string idempotency_key : {"k", "{x}", "}{", "a:b{c}"}) {
            admission_request request;
            request.practice = practice;
            request.idempotency_key = idempotency_key;
            const auto call = build_admission_call(request, settings);
            const std::string tag = hash_tag(call.shard);
            for (const auto& key : call.keys) {
                const auto open = key.find('{');
                const auto close = key.find('}', open);
                ASSERT_NE(close, std::string::npos) << key;
                EXPECT_EQ(key.substr(open, close - open + 1), tag) << key;
            }
        }
    }
}

TEST(submission_id, encodes_the_shard_and_128_random_bits) {
    EXPECT_EQ(new_submission_id(7, 0x0123456789abcdefULL, 0xfedcba9876543210ULL), "7-0123456789abcdeffedcba9876543210");
    EXPECT_EQ(new_submission_id(0, 0, 0), "0-00000000000000000000000000000000");
    std::mt19937_64 random(11);
    const auto a = new_submission_id(3, random);
    const auto b = new_submission_id(3, random);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.size(), 2 + submission_id_hex_digits);
    for (std::uint32_t shard = 0; shard < 16; ++shard) {
        EXPECT_EQ(shard_of_submission_id(new_submission_id(shard, random), 16), shard);
    }
    EXPECT_EQ(shard_of_submission_id(new_submission_id(16383, random), 16384), 16383u);
}

// SHA-256 of "sluice submission record\n6:A81001key-1" (sha256sum agrees), its first 24 hex
// digits; 1743465492345 ms is 0x195eea42f79 (2025-03-31T23:58:12.345Z).
TEST(submission_id, names_the_record_by_practice_and_key_and_the_admission_by_its_time) {
    const std::string id = submission_id_for(10, "A81001", "key-1", 1'743'465'492'345);
    EXPECT_EQ(id, "10-" + expected_record_hex + "-195eea42f79");
    EXPECT_EQ(shard_of_submission_id(id, 16), 10u);
    EXPECT_EQ(submission_key(10, id), "sluice:{10}:sub:10-" + expected_record_hex);
    // Another key, another practice, the practice's length: another record.
    EXPECT_NE(submission_id_for(10, "A81001", "key-2", 1'743'465'492'345).substr(0, 27), id.substr(0, 27));
    EXPECT_NE(submission_id_for(10, "A8100", "1key-1", 1'743'465'492'345).substr(0, 27), id.substr(0, 27));
    // The time is taken modulo 2^44 ms and written in 11 digits.
    EXPECT_EQ(submission_id_for(0, "A81001", "key-1", 0).substr(27), "00000000000");
    EXPECT_EQ(submission_id_for(0, "A81001", "key-1", (1LL << 44) + 5).substr(26), "-00000000005");
}

TEST(submission_id, anything_malformed_is_rejected) {
    EXPECT_EQ(shard_of_submission_id("7-0123456789abcdef01234567-0195ed9ec39", 16), 7u);
    EXPECT_EQ(shard_of_submission_id("7-" + hex32, 16), 7u);
    EXPECT_EQ(shard_of_submission_id("0-" + hex32, 16), 0u);
    EXPECT_EQ(shard_of_submission_id("15-" + hex32, 16), 15u);
    const std::vector<std::string> malformed = {
        "",
        "7",
        "7-",
        "-" + hex32,
        "16-" + hex32,                         // shard out of range
        "07-" + hex32,                         // leading zero
        "+7-" + hex32,                         //
        " 7-" + hex32,                         //
        "7 -" + hex32,                         //
        "7_" + hex32,                          //
        "7--" + hex32.substr(1),               //
        "7-" + hex32.substr(1),                // 31 digits
        "7-" + hex32 + "0",                    // 33 digits
        "7-" + hex32 + "\n",                   //
        "7-0123456789ABCDEF0123456789abcdef",  // upper case
        "7-0123456789abcdeg0123456789abcdef",  // not hex
        "7-" + hex32.substr(0, 16) + "-" + hex32.substr(17),
        "4294967296-" + hex32,   // beyond uint32
        "99999999999-" + hex32,  //
        std::string("7-") + hex32.substr(0, 31) + '\0',
        "../7-" + hex32,
        "7-0123456789abcdef01234567-0195ed9ec3",    // 10 time digits
        "7-0123456789abcdef01234567-0195ed9ec399",  // 12
        "7-0123456789abcdef0123456-70195ed9ec39",   // the dash one early
        "7-0123456789abcdef01234567_0195ed9ec39",   //
        "7-0123456789abcdef01234567-0195ED9EC39",   // upper case
        "7-0123456789abcdef01234567-0195ed9ec3-",   //
    };
    for (const auto& id : malformed) {
        EXPECT_EQ(shard_of_submission_id(id, 16), std::nullopt) << '"' << id << '"';
    }
    EXPECT_EQ(shard_of_submission_id("0-" + hex32, 0), 0u);  // shards 0 is taken as 1
    EXPECT_EQ(shard_of_submission_id("1-" + hex32, 0), std::nullopt);
}

}  // namespace
}  // namespace sluice::queue
