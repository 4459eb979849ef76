// Unit tests of gateway/detail/sign_off_bodies.hpp: declaration and decision bodies, every fault
// with its JSON Pointer.
#include "gateway/detail/sign_off_bodies.hpp"

#include <gtest/gtest.h>

#include <set>

namespace sluice::gateway::detail {
namespace {

std::set<std::string> pointers(const body_fault& f) {
    std::set<std::string> out;
    for (const auto& e : f.errors) out.insert(e.pointer);
    return out;
}

const std::string sha(64, 'A');

TEST(DeclarationBody, AValidBodyWithTheDigestInLowerCase) {
    const auto p = parse_declaration_body(
        R"({"submission_id":"10-3f9c","declared_by":"Dr A Example, GP partner","statement_sha256":")" + sha + "\"}");
    ASSERT_TRUE(p.body) << p.fault.detail;
    EXPECT_EQ(p.body->submission_id, "10-3f9c");
    EXPECT_EQ(p.body->declared_by, "Dr A Example, GP partner");
    EXPECT_EQ(p.body->statement_sha256, std::string(64, 'a'));
}

TEST(DeclarationBody, MalformedIsNotInvalid) {
    for (const auto* bad : {"", "{", "[]", "\"x\"", "null", "{\"a\":1}x"}) {
        const auto p = parse_declaration_body(bad);
        EXPECT_FALSE(p.body) << bad;
        EXPECT_TRUE(p.fault.malformed) << bad;
    }
}

TEST(DeclarationBody, EveryFaultHasItsPointer) {
    const auto p =
        parse_declaration_body(R"({"submission_id":"a b","declared_by":"   ","statement_sha256":"12","a/b~":true})");
    ASSERT_FALSE(p.body);
    EXPECT_FALSE(p.fault.malformed);
    EXPECT_EQ(pointers(p.fault),
              (std::set<std::string>{"/submission_id", "/declared_by", "/statement_sha256", "/a~1b~0"}));
    const auto missing = parse_declaration_body("{}");
    EXPECT_EQ(pointers(missing.fault), (std::set<std::string>{"/submission_id", "/declared_by", "/statement_sha256"}));
    const auto types = parse_declaration_body(R"({"submission_id":1,"declared_by":[],"statement_sha256":null})");
    EXPECT_EQ(types.fault.errors.size(), 3u);
    const auto long_name = parse_declaration_body(R"({"submission_id":"x","declared_by":")" + std::string(201, 'n') +
                                                  R"(","statement_sha256":")" + sha + "\"}");
    EXPECT_EQ(pointers(long_name.fault), (std::set<std::string>{"/declared_by"}));
    const auto control =
        parse_declaration_body(R"({"submission_id":"x","declared_by":"a\nb","statement_sha256":")" + sha + "\"}");
    EXPECT_EQ(pointers(control.fault), (std::set<std::string>{"/declared_by"}));
}

TEST(DecisionBody, ApprovedNeedsNoReasonRejectedDoes) {
    const auto approved = parse_decision_body(R"({"decision":"approved","decided_by":"J Smith"})");
    ASSERT_TRUE(approved.body);
    EXPECT_FALSE(approved.body->reason);
    const auto with_reason = parse_decision_body(R"({"decision":"approved","decided_by":"J Smith","reason":"ok"})");
    ASSERT_TRUE(with_reason.body);
    EXPECT_EQ(with_reason.body->reason, "ok");
    const auto rejected = parse_decision_body(R"({"decision":"rejected","decided_by":"J Smith"})");
    ASSERT_FALSE(rejected.body);
    EXPECT_EQ(pointers(rejected.fault), (std::set<std::string>{"/reason"}));
    EXPECT_NE(rejected.fault.detail.find("needs its reason"), std::string::npos);
    const auto blank = parse_decision_body(R"({"decision":"rejected","decided_by":"J Smith","reason":"  "})");
    EXPECT_EQ(pointers(blank.fault), (std::set<std::string>{"/reason"}));
    const auto ok = parse_decision_body(R"({"decision":"rejected","decided_by":"J Smith","reason":"line 1\nline 2"})");
    ASSERT_TRUE(ok.body);
    const auto wrong = parse_decision_body(R"({"decision":"Approved","decided_by":"","x":1})");
    EXPECT_EQ(pointers(wrong.fault), (std::set<std::string>{"/decision", "/decided_by", "/x"}));
    EXPECT_TRUE(parse_decision_body("nope").fault.malformed);
}

}  // namespace
}  // namespace sluice::gateway::detail
