// queue/dead_letter.hpp, the pure parts: which texts name dead letters (a submission id of a
// shard, or SHARD/ID), how a dead-letter stream entry is read, and how the replay script's
// replies are read (strictly: another shape is nullopt, never a guess).
#include "queue/dead_letter.hpp"

#include "queue/keys.hpp"

#include <gtest/gtest.h>

namespace {

using sluice::queue::parse_dead_letter;
using sluice::queue::parse_reference;
using sluice::queue::parse_replay_reply;
using sluice::queue::replay_outcome;
using sluice::redis::reply;

const std::string id7 = "7-0123456789abcdef0123456789abcdef";

reply text(std::string s) {
    reply r;
    r.type = reply::kind::string;
    r.str = std::move(s);
    return r;
}

reply array(std::vector<reply> elements) {
    reply r;
    r.type = reply::kind::array;
    r.elements = std::move(elements);
    return r;
}

TEST(DeadLetterReference, ASubmissionIdNamesItsShard) {
    const auto ref = parse_reference(id7, 16);
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->shard, 7u);
    EXPECT_EQ(ref->submission_id, id7);
    EXPECT_TRUE(ref->dead_letter_id.empty());
}

TEST(DeadLetterReference, ShardSlashStreamIdNamesOneDeadLetter) {
    const auto ref = parse_reference("3/1711929492345-0", 16);
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->shard, 3u);
    EXPECT_EQ(ref->dead_letter_id, "1711929492345-0");
    EXPECT_TRUE(ref->submission_id.empty());
}

TEST(DeadLetterReference, RefusesWhatNamesNothing) {
    for (const char* bad : {"", "7", "7/", "/1-0", "16/1-0", "x/1-0", "-1/1-0", "+1/1-0", "1/1", "1/1-", "1/-0",
                            "1/a-0", "1/1-0-0", "7-0123", "16-0123456789abcdef0123456789abcdef",
                            "7-0123456789ABCDEF0123456789abcdef", "07-0123456789abcdef0123456789abcdef"})
        EXPECT_FALSE(parse_reference(bad, 16)) << bad;
    EXPECT_FALSE(parse_reference(id7, 7)) << "shard 7 does not exist with 7 shards";
}

TEST(DeadLetterReference, ReferenceOfADeadLetterParsesBackToIt) {
    sluice::queue::dead_letter d;
    d.shard = 12;
    d.dead_letter_id = "1711929492345-17";
    const auto text = sluice::queue::reference_of(d);
    EXPECT_EQ(text, "12/1711929492345-17");
    const auto ref = parse_reference(text, 16);
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->shard, 12u);
    EXPECT_EQ(ref->dead_letter_id, d.dead_letter_id);
}

TEST(DeadLetterEntry, ReadsTheEntrysFieldsAndWhatTheFailureAppended) {
    const auto entry = array({text("1711929492345-0"), array({text("id"),          text(id7),
                                                              text("practice"),    text("A81001"),
                                                              text("sha256"),      text("ab"),
                                                              text("received_at"), text("2025-03-31T23:58:12.345Z"),
                                                              text("idem"),        text("key-1"),
                                                              text("body"),        text("{not json"),
                                                              text("entry_id"),    text("1711929400000-3"),
                                                              text("reason"),      text("malformed JSON: x"),
                                                              text("attempts"),    text("1"),
                                                              text("failed_at"),   text("2025-04-01T00:00:00.000Z"),
                                                              text("unknown"),     text("ignored")})});
    const auto d = parse_dead_letter(entry, 7);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->shard, 7u);
    EXPECT_EQ(d->dead_letter_id, "1711929492345-0");
    EXPECT_EQ(d->submission_id, id7);
    EXPECT_EQ(d->practice, "A81001");
    EXPECT_EQ(d->sha256, "ab");
    EXPECT_EQ(d->received_at, "2025-03-31T23:58:12.345Z");
    EXPECT_EQ(d->idempotency_key, "key-1");
    EXPECT_EQ(d->body, "{not json");
    EXPECT_EQ(d->queue_entry_id, "1711929400000-3");
    EXPECT_EQ(d->reason, "malformed JSON: x");
    EXPECT_EQ(d->attempts, "1");
    EXPECT_EQ(d->failed_at, "2025-04-01T00:00:00.000Z");
}

TEST(DeadLetterEntry, RefusesOtherShapes) {
    EXPECT_FALSE(parse_dead_letter(text("x"), 0));
    EXPECT_FALSE(parse_dead_letter(array({text("1-0")}), 0));
    EXPECT_FALSE(parse_dead_letter(array({text("1-0"), array({text("id")})}), 0)) << "odd field list";
    EXPECT_FALSE(parse_dead_letter(array({text("1-0"), text("id")}), 0));
    EXPECT_TRUE(parse_dead_letter(array({text("1-0"), array({})}), 0)) << "no fields is a dead letter without any";
}

TEST(ReplayReply, ReadsEveryOutcome) {
    auto r = parse_replay_reply(array({text("requeued"), text("5-0")}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->outcome, replay_outcome::requeued);
    EXPECT_EQ(r->new_entry_id, "5-0");
    r = parse_replay_reply(array({text("not_failed"), text("processing")}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->outcome, replay_outcome::not_failed);
    EXPECT_EQ(r->status, "processing");
    for (auto [word, outcome] : {std::pair{"not_found", replay_outcome::not_found},
                                 std::pair{"missing_record", replay_outcome::missing_record},
                                 std::pair{"already_calculated", replay_outcome::already_calculated}}) {
        r = parse_replay_reply(array({text(word), text("")}));
        ASSERT_TRUE(r) << word;
        EXPECT_EQ(r->outcome, outcome) << word;
        EXPECT_EQ(to_string(r->outcome), word);
    }
}

TEST(ReplayReply, RefusesOtherShapes) {
    EXPECT_FALSE(parse_replay_reply(text("requeued")));
    EXPECT_FALSE(parse_replay_reply(array({text("requeued")})));
    EXPECT_FALSE(parse_replay_reply(array({text("queued"), text("")})));
    reply number;
    number.type = reply::kind::integer;
    EXPECT_FALSE(parse_replay_reply(array({text("requeued"), number})));
}

}  // namespace
