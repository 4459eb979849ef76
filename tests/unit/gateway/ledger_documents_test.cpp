// Unit tests of gateway/detail/ledger_documents.hpp: money in pence both ways, the declaration and
// submission documents (two-decimal numbers, result bytes embedded unchanged), scheme states.
#include "gateway/detail/ledger_documents.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace sluice::gateway::detail {
namespace {

TEST(LedgerDocuments, PenceBothWays) {
    EXPECT_EQ(pence_of("4842.85"), 484285);
    EXPECT_EQ(pence_of("0.00"), 0);
    EXPECT_EQ(pence_of("-1.05"), -105);
    for (const auto* bad : {"", "1", "1.5", "1.555", ".50", "1,00", "1.0x", "NaN", "1e3"})
        EXPECT_FALSE(pence_of(bad)) << bad;
    EXPECT_EQ(decimal_of(484285), "4842.85");
    EXPECT_EQ(decimal_of(5), "0.05");
    EXPECT_EQ(decimal_of(0), "0.00");
    EXPECT_EQ(decimal_of(-105), "-1.05");
    // 0.10 + 0.20 is exactly 0.30 in pence (not in binary floating point).
    EXPECT_EQ(decimal_of(*pence_of("0.10") + *pence_of("0.20")), "0.30");
}

TEST(LedgerDocuments, DeclarationDocumentWritesMoneyWithTwoDecimals) {
    ledger::declaration_row d{"d1",
                              "10-ab",
                              "A81001",
                              "QWE",
                              "2024-25",
                              "QOF",
                              "Dr \"A\"",
                              "2025-04-01T10:00:00.000Z",
                              "k",
                              "412.30",
                              "96233.10",
                              std::string(64, 'a'),
                              "awaiting-approval",
                              {},
                              {},
                              {}};
    const auto text = declaration_document(d);
    EXPECT_NE(text.find("\"points\":412.30,\"payment_gbp\":96233.10"), std::string::npos) << text;
    EXPECT_EQ(text.find("decided_by"), std::string::npos);
    const auto doc = boost::json::parse(text).as_object();
    EXPECT_EQ(doc.at("declared_by").as_string(), "Dr \"A\"");
    d.status = "rejected";
    d.decided_by = "J";
    d.decided_at = "2025-04-02T10:00:00.000Z";
    d.reason = "why";
    const auto decided = boost::json::parse(declaration_document(d)).as_object();
    EXPECT_EQ(decided.at("reason").as_string(), "why");
    EXPECT_EQ(decided.at("decided_by").as_string(), "J");
}

TEST(LedgerDocuments, SubmissionDocumentEmbedsTheResultByteForByte) {
    ledger::submission_row s;
    s.submission_id = "10-ab";
    s.practice = "A81001";
    s.period = "2024-25";
    s.scheme = "QOF";
    s.received_at = "2025-03-31T23:58:12.345Z";
    s.content_sha256 = std::string(64, 'c');
    s.status = "calculated";
    s.attempts = "2";
    s.result = R"({"points":412.37,  "payment_gbp":96233.18})";
    s.current = true;
    const auto text = submission_document(s, true);
    EXPECT_NE(text.find(*s.result), std::string::npos) << text;
    const auto doc = boost::json::parse(text).as_object();
    EXPECT_EQ(doc.at("attempts").as_int64(), 2);
    EXPECT_TRUE(doc.at("current").as_bool());
    EXPECT_EQ(doc.at("status_url").as_string(), "/v1/submissions/10-ab");
    EXPECT_FALSE(boost::json::parse(submission_document(s, false)).as_object().contains("current"));
}

TEST(LedgerDocuments, PaymentsDocumentExactlyTwoDecimals) {
    // 2023-24 £50,000.00 -> 2024-25 aspiration 0.80 x 50,000.00 x 220.62 / 213.43 = £41,347.51 (11 x
    // £3,445.63 + £3,445.58); achievement £40,000.00: payment due -£1,347.51 (a recovery).
    ledger::payment_inputs in;
    in.period = "2024-25";
    in.previous_period = "2023-24";
    in.aspiration_rate = 8000;
    in.pence_per_point = 22062;
    in.previous_pence_per_point = 21343;
    in.previous = ledger::previous_achievement_row{"3-aaaa1", "calculated", 5'000'000};
    in.achievement_pence = 4'000'000;
    const auto text = payments_document(ledger::payment_lines_of(in));
    EXPECT_EQ(text.substr(0, text.find(",\"notes\"")),
              R"({"aspiration_based_on_period":"2023-24","aspiration_based_on_submission":"3-aaaa1",)"
              R"("aspiration_based_on_gbp":50000.00,"aspiration_rate":0.80,"aspiration_gbp":41347.51,)"
              R"("aspiration_monthly_gbp":3445.63,"aspiration_final_month_gbp":3445.58,)"
              R"("achievement_value_gbp":40000.00,"payment_due_gbp":-1347.51)");
    const auto doc = boost::json::parse(text).as_object();
    ASSERT_EQ(doc.at("notes").as_array().size(), 1u);

    // No previous submission, nothing calculated yet, a rate of 81.25%: zeros, nulls and notes.
    in.previous.reset();
    in.achievement_pence.reset();
    in.aspiration_rate = 8125;
    const auto none = payments_document(ledger::payment_lines_of(in));
    EXPECT_NE(
        none.find(R"("aspiration_based_on_submission":null,"aspiration_based_on_gbp":null,"aspiration_rate":0.8125,)"
                  R"("aspiration_gbp":0.00,"aspiration_monthly_gbp":0.00,"aspiration_final_month_gbp":0.00,)"
                  R"("achievement_value_gbp":null,"payment_due_gbp":null,"notes":[")"),
        std::string::npos)
        << none;
    EXPECT_EQ(boost::json::parse(none).as_object().at("notes").as_array().size(), 2u);
    in.aspiration_rate = 10000;
    EXPECT_NE(payments_document(ledger::payment_lines_of(in)).find(R"("aspiration_rate":1.00,)"), std::string::npos);
    in.aspiration_rate = 7000;
    EXPECT_NE(payments_document(ledger::payment_lines_of(in)).find(R"("aspiration_rate":0.70,)"), std::string::npos);
    in.aspiration_rate = 1;
    EXPECT_NE(payments_document(ledger::payment_lines_of(in)).find(R"("aspiration_rate":0.0001,)"), std::string::npos);
}

TEST(LedgerDocuments, SchemeStates) {
    EXPECT_EQ(scheme_state(std::nullopt, std::nullopt, false), "not-submitted");
    EXPECT_EQ(scheme_state("failed", std::nullopt, false), "submitted");
    EXPECT_EQ(scheme_state("calculated", std::nullopt, false), "calculated");
    EXPECT_EQ(scheme_state("calculated", "awaiting-approval", true), "declared");
    EXPECT_EQ(scheme_state("calculated", "approved", false), "approved");
    EXPECT_EQ(scheme_state("calculated", "rejected", true), "rejected");
    EXPECT_EQ(scheme_state("calculated", "rejected", false), "calculated");  // a newer submission since
}

}  // namespace
}  // namespace sluice::gateway::detail
