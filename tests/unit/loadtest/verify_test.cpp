// judge() and format_verdict() of loadtest/verify.hpp on constructed records and lookups: every
// kind of violation, each submission named at most once per kind, the states of the submissions
// accepted once, and what the verdict line says.
#include "loadtest/verify.hpp"

#include <gtest/gtest.h>

namespace sluice::loadtest {
namespace {

submission_record record(std::string practice, std::vector<std::string> ids, std::uint32_t requests = 1) {
    submission_record r;
    r.idempotency_key = "run1-" + practice + "-0";
    r.practice = std::move(practice);
    r.submission_ids = std::move(ids);
    r.requests = requests;
    if (!r.submission_ids.empty()) r.last_status = 202;
    return r;
}

status_lookup found(std::string id, std::string practice, std::string state = "queued") {
    return {std::move(id), 200, std::move(state), std::move(practice)};
}

status_lookup answered(std::string id, int http_status) { return {std::move(id), http_status, "", ""}; }

std::map<std::string, status_lookup> by_id(std::vector<status_lookup> lookups) {
    std::map<std::string, status_lookup> out;
    for (auto& l : lookups) out.emplace(l.submission_id, std::move(l));
    return out;
}

TEST(VerifyJudge, AcceptedOnceIsOk) {
    const auto v = judge({record("A81001", {"S-1"}), record("A81002", {"S-2"})},
                         by_id({found("S-1", "A81001"), found("S-2", "A81002", "calculated")}));
    EXPECT_TRUE(v.ok());
    EXPECT_EQ(v.submissions, 2u);
    EXPECT_EQ(v.accepted_once, 2u);
    EXPECT_EQ(v.queued, 1u);
    EXPECT_EQ(v.calculated, 1u);
    EXPECT_EQ(v.duplicates + v.lost + v.wrong_practice + v.not_accepted + v.lookup_failed, 0u);
    EXPECT_TRUE(v.violations.empty());
}

TEST(VerifyJudge, NoRecordsIsOk) {
    const auto v = judge({}, {});
    EXPECT_TRUE(v.ok());
    EXPECT_EQ(v.submissions, 0u);
}

TEST(VerifyJudge, TwoIdsForOneKeyIsADuplicate) {
    const auto v =
        judge({record("A81001", {"S-1", "S-2"}, 2)}, by_id({found("S-1", "A81001"), found("S-2", "A81001")}));
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.duplicates, 1u);
    EXPECT_EQ(v.accepted_once, 0u);
    EXPECT_EQ(v.queued, 0u) << "states count only submissions accepted once";
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].kind, violation_kind::duplicate);
    EXPECT_EQ(v.violations[0].practice, "A81001");
    EXPECT_EQ(v.violations[0].idempotency_key, "run1-A81001-0");
    EXPECT_NE(v.violations[0].detail.find("S-1"), std::string::npos);
    EXPECT_NE(v.violations[0].detail.find("S-2"), std::string::npos);
}

TEST(VerifyJudge, ThreeIdsAreOneDuplicateViolation) {
    const auto v = judge({record("A81001", {"S-1", "S-2", "S-3"}, 3)},
                         by_id({found("S-1", "A81001"), found("S-2", "A81001"), found("S-3", "A81001")}));
    EXPECT_EQ(v.duplicates, 1u);
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_NE(v.violations[0].detail.find("S-3"), std::string::npos);
}

TEST(VerifyJudge, UnknownIdIsLost) {
    const auto v = judge({record("A81001", {"S-1"}), record("A81002", {"S-2"})},
                         by_id({answered("S-1", 404), found("S-2", "A81002")}));
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.lost, 1u);
    EXPECT_EQ(v.accepted_once, 1u);
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].kind, violation_kind::lost);
    EXPECT_EQ(v.violations[0].practice, "A81001");
    EXPECT_NE(v.violations[0].detail.find("404"), std::string::npos);
    EXPECT_NE(v.violations[0].detail.find("S-1"), std::string::npos);
}

TEST(VerifyJudge, OtherPracticeIsWrongPractice) {
    const auto v = judge({record("A81001", {"S-1"})}, by_id({found("S-1", "B82002")}));
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.wrong_practice, 1u);
    EXPECT_EQ(v.accepted_once, 0u);
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].kind, violation_kind::wrong_practice);
    EXPECT_NE(v.violations[0].detail.find("B82002"), std::string::npos);
}

TEST(VerifyJudge, No2xxIsNotAccepted) {
    auto r = record("A81001", {}, 8);
    r.last_status = 503;
    r.gave_up = true;
    auto t = record("A81002", {}, 3);
    t.last_status = transport_error_status;
    const auto v = judge({r, t}, {});
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.not_accepted, 2u);
    EXPECT_EQ(v.lost, 0u);
    EXPECT_EQ(v.lookup_failed, 0u);
    ASSERT_EQ(v.violations.size(), 2u);
    EXPECT_EQ(v.violations[0].kind, violation_kind::not_accepted);
    EXPECT_NE(v.violations[0].detail.find("503"), std::string::npos);
    EXPECT_NE(v.violations[0].detail.find("gave up"), std::string::npos);
    EXPECT_NE(v.violations[0].detail.find("8 request"), std::string::npos);
    EXPECT_NE(v.violations[1].detail.find("transport error"), std::string::npos);
}

TEST(VerifyJudge, FailedLookupIsNotLost) {
    const auto v = judge(
        {record("A81001", {"S-1"}), record("A81002", {"S-2"}), record("A81003", {"S-3"}), record("A81004", {"S-4"})},
        by_id({answered("S-1", 0), answered("S-2", 503), found("S-3", "A81003", "")}));
    // S-4: never looked up at all.
    EXPECT_FALSE(v.ok()) << "an unverified submission must not pass";
    EXPECT_EQ(v.lookup_failed, 4u);
    EXPECT_EQ(v.lost, 0u);
    EXPECT_EQ(v.accepted_once, 0u);
    ASSERT_EQ(v.violations.size(), 4u);
    for (const auto& violation : v.violations) EXPECT_EQ(violation.kind, violation_kind::lookup_failed);
    EXPECT_NE(v.violations[1].detail.find("503"), std::string::npos);
    EXPECT_NE(v.violations[2].detail.find("without a status"), std::string::npos);
}

TEST(VerifyJudge, OtherAnswersToTheLookupAreLookupFailures) {
    const auto v = judge({record("A81001", {"S-1"})}, by_id({answered("S-1", 401)}));
    EXPECT_EQ(v.lookup_failed, 1u);
    EXPECT_EQ(v.lost, 0u);
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_NE(v.violations[0].detail.find("401"), std::string::npos);
}

TEST(VerifyJudge, StatesOfSubmissionsAcceptedOnceAreCounted) {
    const auto v = judge({record("A81001", {"S-1"}), record("A81002", {"S-2"}), record("A81003", {"S-3"}),
                          record("A81004", {"S-4"}), record("A81005", {"S-5"}), record("A81006", {"S-6"})},
                         by_id({found("S-1", "A81001", "queued"), found("S-2", "A81002", "processing"),
                                found("S-3", "A81003", "calculated"), found("S-4", "A81004", "calculated"),
                                found("S-5", "A81005", "failed"), found("S-6", "A81006", "archived")}));
    EXPECT_TRUE(v.ok());
    EXPECT_EQ(v.accepted_once, 6u);
    EXPECT_EQ(v.queued, 1u);
    EXPECT_EQ(v.processing, 1u);
    EXPECT_EQ(v.calculated, 2u);
    EXPECT_EQ(v.failed, 1u) << "a failed calculation is still a submission accepted once";
}

TEST(VerifyJudge, EachKindListedOncePerSubmission) {
    // A duplicate whose two ids are both lost, and one lookup of a third that failed: one
    // violation of each kind, in the order duplicate, lost, lookup_failed.
    const auto v = judge({record("A81001", {"S-1", "S-2", "S-3"}, 3)},
                         by_id({answered("S-1", 404), answered("S-2", 404), answered("S-3", 0)}));
    EXPECT_EQ(v.duplicates, 1u);
    EXPECT_EQ(v.lost, 1u);
    EXPECT_EQ(v.lookup_failed, 1u);
    ASSERT_EQ(v.violations.size(), 3u);
    EXPECT_EQ(v.violations[0].kind, violation_kind::duplicate);
    EXPECT_EQ(v.violations[1].kind, violation_kind::lost);
    EXPECT_NE(v.violations[1].detail.find("S-1"), std::string::npos) << "the first lost id names it";
    EXPECT_EQ(v.violations[2].kind, violation_kind::lookup_failed);
}

TEST(VerifyJudge, ViolationsAreInRecordOrder) {
    const auto v =
        judge({record("A81003", {"S-3"}), record("A81001", {}), record("A81002", {"S-2a", "S-2b"}),
               record("A81004", {"S-4"})},
              by_id({answered("S-3", 404), found("S-2a", "A81002"), found("S-2b", "A81002"), found("S-4", "A81004")}));
    ASSERT_EQ(v.violations.size(), 3u);
    EXPECT_EQ(v.violations[0].practice, "A81003");
    EXPECT_EQ(v.violations[1].practice, "A81001");
    EXPECT_EQ(v.violations[2].practice, "A81002");
    EXPECT_EQ(v.accepted_once, 1u);
    EXPECT_EQ(v.submissions, 4u);
}

TEST(VerifyJudge, SameIdSeenTwiceByOneRecordIsNotADuplicate) {
    // submission_ids holds distinct ids; a replayed receipt carries the same id and adds nothing.
    const auto v = judge({record("A81001", {"S-1"}, 3)}, by_id({found("S-1", "A81001")}));
    EXPECT_TRUE(v.ok());
}

TEST(VerifyViolationName, NamesEveryKind) {
    EXPECT_EQ(violation_name(violation_kind::duplicate), "duplicate");
    EXPECT_EQ(violation_name(violation_kind::lost), "lost");
    EXPECT_EQ(violation_name(violation_kind::wrong_practice), "wrong_practice");
    EXPECT_EQ(violation_name(violation_kind::not_accepted), "not_accepted");
    EXPECT_EQ(violation_name(violation_kind::lookup_failed), "lookup_failed");
}

TEST(VerifyFormat, OkLine) {
    verdict v;
    v.submissions = v.accepted_once = 7000;
    v.calculated = 6123;
    v.queued = 877;
    EXPECT_EQ(
        format_verdict(v),
        "verify: OK: 7000 submissions accepted exactly once, 0 lost, 0 duplicated; 6123 calculated, 877 queued\n");
    v.processing = 2;
    v.failed = 1;
    EXPECT_NE(format_verdict(v).find("877 queued, 2 processing, 1 failed\n"), std::string::npos);
}

TEST(VerifyFormat, FailedLineListsViolations) {
    const auto v = judge({record("A81001", {"S-1", "S-2"}, 2), record("A81002", {"S-3"}), record("A81003", {})},
                         by_id({found("S-1", "A81001"), found("S-2", "A81001"), answered("S-3", 404)}));
    const auto text = format_verdict(v);
    EXPECT_EQ(text.rfind("verify: FAILED: 0 of 3 submissions accepted exactly once, 1 lost, 1 duplicated", 0), 0u)
        << text;
    EXPECT_NE(text.find("1 not accepted"), std::string::npos) << text;
    EXPECT_NE(text.find("  duplicate: practice A81001, key run1-A81001-0: ids S-1, S-2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  lost: practice A81002, key run1-A81002-0: GET /v1/submissions/S-3 answered 404\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  not_accepted: practice A81003"), std::string::npos) << text;
}

TEST(VerifyFormat, ListsAtMostMaxListed) {
    std::vector<submission_record> records;
    for (int i = 0; i < 30; ++i) records.push_back(record("A8" + std::to_string(1000 + i), {}));
    const auto v = judge(records, {});
    ASSERT_EQ(v.violations.size(), 30u);
    const auto text = format_verdict(v, 5);
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    EXPECT_EQ(lines, 1u + 5u + 1u) << text;
    EXPECT_NE(text.find("  ... and 25 more\n"), std::string::npos) << text;
    EXPECT_EQ(format_verdict(v, 30).find("more"), std::string::npos);
}

TEST(VerifyFormat, NamesLookupFailuresAndWrongPractice) {
    const auto v = judge({record("A81001", {"S-1"}), record("A81002", {"S-2"})},
                         by_id({answered("S-1", 503), found("S-2", "A81009")}));
    const auto text = format_verdict(v);
    EXPECT_NE(text.find("1 with the wrong practice"), std::string::npos) << text;
    EXPECT_NE(text.find("1 not verifiable (lookup failed)"), std::string::npos) << text;
    EXPECT_NE(text.find("  lookup_failed: practice A81001"), std::string::npos) << text;
    EXPECT_NE(text.find("  wrong_practice: practice A81002"), std::string::npos) << text;
}

}  // namespace
}  // namespace sluice::loadtest
