// The QOF payment lines of GET /v1/statements/{practice}/{period} (ledger/payments.hpp, README.md
// "Payment lines"; rule R8 and decisions 25-29 of worker/calculation.hpp) against a real
// sluice-gateway, a real redis-server and a real PostgreSQL (tests/support), with the figures worked
// out in the comments. Submissions are rows as the worker writes them (ledger/results.hpp's
// shape, inserted here directly), so each test sets the achievement values exactly.
#include "ledger/migrations.hpp"
#include "queue/keys.hpp"
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/support/postgres_environment.hpp"
#include "tests/support/redis_environment.hpp"
#include "tests/support/scratch_directory.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();
[[maybe_unused]] auto* const postgres_env = add_postgres_environment();

namespace json = boost::json;
using namespace std::chrono_literals;

class statement_payments : public ::testing::Test {
protected:
    void SetUp() override {
        redis().command({"FLUSHALL"});
        url_ = postgres().create_database();
        ledger::apply_migrations(url_);
        const auto orgs = scratch_.write("organisations.csv",
                                         "# practice,commissioner\nA81001,QWE\nB82002,QWE\n"
                                         "C83003,QWE\n");
        gateway_options o;
        o.extra_toml =
            "[ledger]\nurl = \"" + url_ + "\"\ntimeout_ms = 1000\n[organisations]\nfile = \"" + orgs.string() + "\"\n";
        o.credentials = a_.line + b_.line + c_.line;
        gw_ = std::make_unique<gateway_process>(o, SLUICE_CATALOGUE_DIR);
        // Ready for the sign-off endpoints once PostgreSQL is connected.
        for (int i = 0; i < 200; ++i) {
            const auto answer = ask(gw_->port(), get_request("/v1/declarations/none", auth(a_)));
            if (answer && answer->status == 404) break;
            std::this_thread::sleep_for(25ms);
        }
    }

    static std::string auth(const test_credential& who) { return "Authorization: Bearer " + who.token + "\r\n"; }

    // A QOF submission row as the worker writes it: calculated with `payment_gbp` (exact decimal
    // text), or failed when `payment_gbp` is empty.
    std::string insert_qof(const std::string& practice, const std::string& period, const std::string& received_at,
                           const std::string& payment_gbp) {
        std::string hex = std::to_string(++ids_);
        hex.insert(0, queue::submission_id_hex_digits - hex.size(), 'b');
        const std::string id = std::to_string(queue::shard_of(practice, 16)) + "-" + hex;
        const bool ok = !payment_gbp.empty();
        const std::string result =
            R"({"points":100.00,"payment_gbp":)" + payment_gbp + R"(,"indicators":[],"services":[],"notes":[]})";
        postgres().query(
            "INSERT INTO submissions (submission_id, practice, period, scheme, received_at, content_sha256, status, "
            "attempts, result, points, payment_gbp, error, calculated_at) VALUES ('" +
                id + "', '" + practice + "', '" + period + "', 'QOF', '" + received_at + "', '" + std::string(64, 'c') +
                "', '" + (ok ? "calculated" : "failed") + "', 1, " +
                (ok ? "'" + result + "', 100.00, " + payment_gbp + ", NULL"
                    : std::string("NULL, NULL, NULL, 'catalogue has no such code'")) +
                ", now())",
            url_);
        return id;
    }

    // The statement's body (asserting 200) and its QOF entry.
    std::string statement(const test_credential& who, const std::string& period) const {
        const auto answer = ask(gw_->port(), get_request("/v1/statements/" + who.practice + "/" + period, auth(who)));
        EXPECT_TRUE(answer);
        if (!answer) return {};
        EXPECT_EQ(answer->status, 200) << answer->body;
        return answer->body;
    }

    static json::object qof_entry(const std::string& body) {
        boost::system::error_code ec;
        const auto doc = json::parse(body, ec);
        if (ec || !doc.is_object()) {
            ADD_FAILURE() << "not JSON: " << body;
            return {};
        }
        for (const auto& scheme : doc.at("schemes").as_array())
            if (scheme.at("scheme") == "QOF") return scheme.as_object();
        ADD_FAILURE() << "no QOF entry: " << body;
        return {};
    }

    static std::vector<std::string> notes_of(const json::object& qof) {
        std::vector<std::string> out;
        for (const auto& note : qof.at("payments").at("notes").as_array()) out.emplace_back(note.as_string());
        return out;
    }

    scratch_directory scratch_;
    std::string url_;
    int ids_ = 0;
    test_credential a_ = make_credential("A81001"), b_ = make_credential("B82002"), c_ = make_credential("C83003");
    std::unique_ptr<gateway_process> gw_;
};

TEST_F(statement_payments, AspirationAchievementAndARecovery) {
    // 2023-24: a first submission (£99,999.99) superseded by the current one, £50,000.00.
    insert_qof("A81001", "2023-24", "2024-03-01T09:00:00Z", "99999.99");
    const auto based_on = insert_qof("A81001", "2023-24", "2024-03-30T09:00:00Z", "50000.00");
    insert_qof("A81001", "2024-25", "2025-03-30T09:00:00Z", "40000.00");

    // 2024-25 aspiration = 0.80 x £50,000.00 x 220.62 / 213.43 = £41,347.514... -> £41,347.51;
    // monthly £41,347.51 / 12 = £3,445.6258... -> £3,445.63 (months 1-11: £37,901.93), month 12:
    // £41,347.51 - £37,901.93 = £3,445.58. Payment due: £40,000.00 - £41,347.51 = -£1,347.51.
    const auto body = statement(a_, "2024-25");
    EXPECT_NE(body.find(R"("payments":{"aspiration_based_on_period":"2023-24","aspiration_based_on_submission":")" +
                        based_on +
                        R"(","aspiration_based_on_gbp":50000.00,"aspiration_rate":0.80,"aspiration_gbp":41347.51,)"
                        R"("aspiration_monthly_gbp":3445.63,"aspiration_final_month_gbp":3445.58,)"
                        R"("achievement_value_gbp":40000.00,"payment_due_gbp":-1347.51,"notes":[)"),
              std::string::npos)
        << body;
    const auto qof = qof_entry(body);
    ASSERT_EQ(notes_of(qof).size(), 1u);
    EXPECT_NE(notes_of(qof)[0].find("the payment due is negative"), std::string::npos);
    // Every existing field is as it was: the entry's own figures, and the totals.
    EXPECT_EQ(qof.at("state"), "calculated");
    EXPECT_NE(body.find(R"("points":100.00,"payment_gbp":40000.00,"submission":{)"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("payment_gbp":40000.00,"approved_payment_gbp":0.00,"schemes":[)"), std::string::npos)
        << body;
    // Only QOF has payment lines.
    const auto doc = json::parse(body);
    for (const auto& scheme : doc.at("schemes").as_array())
        EXPECT_EQ(scheme.as_object().contains("payments"), scheme.at("scheme") == "QOF") << scheme;

    // 2023-24's own statement: no 2022-23 submission, so no aspiration, and the whole £50,000.00 is due.
    const auto y2023 = statement(a_, "2023-24");
    EXPECT_NE(y2023.find(R"("aspiration_based_on_period":"2022-23","aspiration_based_on_submission":null,)"
                         R"("aspiration_based_on_gbp":null,"aspiration_rate":0.70,"aspiration_gbp":0.00,)"
                         R"("aspiration_monthly_gbp":0.00,"aspiration_final_month_gbp":0.00,)"
                         R"("achievement_value_gbp":50000.00,"payment_due_gbp":50000.00,)"),
              std::string::npos)
        << y2023;
}

TEST_F(statement_payments, NoPreviousPeriodMeansNoAspirationAndSaysWhy) {
    insert_qof("B82002", "2024-25", "2025-03-30T09:00:00Z", "96233.18");
    const auto body = statement(b_, "2024-25");
    EXPECT_NE(body.find(R"("payments":{"aspiration_based_on_period":"2023-24","aspiration_based_on_submission":null,)"
                        R"("aspiration_based_on_gbp":null,"aspiration_rate":0.80,"aspiration_gbp":0.00,)"
                        R"("aspiration_monthly_gbp":0.00,"aspiration_final_month_gbp":0.00,)"
                        R"("achievement_value_gbp":96233.18,"payment_due_gbp":96233.18,"notes":[)"),
              std::string::npos)
        << body;
    const auto notes = notes_of(qof_entry(body));
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0],
              "the 2024-25 aspiration is 0.00: the practice has no 2023-24 QOF submission in the ledger, and the "
              "aspiration is a share of the previous period's achievement (qof-reference.md §1.4)");
}

TEST_F(statement_payments, AFailedPreviousSubmissionAndNothingYetThisPeriod) {
    // The current 2023-24 submission failed (an earlier calculated one is superseded by it): no base.
    insert_qof("C83003", "2023-24", "2024-03-01T09:00:00Z", "12345.67");
    const auto failed = insert_qof("C83003", "2023-24", "2024-03-30T09:00:00Z", "");
    const auto body = statement(c_, "2024-25");
    EXPECT_NE(body.find(R"("aspiration_based_on_submission":")" + failed +
                        R"(","aspiration_based_on_gbp":null,"aspiration_rate":0.80,"aspiration_gbp":0.00,)"
                        R"("aspiration_monthly_gbp":0.00,"aspiration_final_month_gbp":0.00,)"
                        R"("achievement_value_gbp":null,"payment_due_gbp":null,)"),
              std::string::npos)
        << body;
    const auto qof = qof_entry(body);
    EXPECT_EQ(qof.at("state"), "not-submitted");
    const auto notes = notes_of(qof);
    ASSERT_EQ(notes.size(), 2u);
    EXPECT_NE(notes[0].find("submission " + failed + " was not calculated (failed)"), std::string::npos) << notes[0];
    EXPECT_NE(notes[1].find("no calculated 2024-25 QOF submission yet"), std::string::npos) << notes[1];

    // Once a 2023-24 submission is calculated again it is the base: 0.80 x £12,345.67 x 220.62 /
    // 213.43 = £10,209.2553... -> £10,209.26; a twelfth £850.7716... -> £850.77 (x 11 = £9,358.47),
    // month 12 £10,209.26 - £9,358.47 = £850.79.
    insert_qof("C83003", "2023-24", "2024-03-31T09:00:00Z", "12345.67");
    const auto again = statement(c_, "2024-25");
    EXPECT_NE(again.find(R"("aspiration_based_on_gbp":12345.67,"aspiration_rate":0.80,"aspiration_gbp":10209.26,)"
                         R"("aspiration_monthly_gbp":850.77,"aspiration_final_month_gbp":850.79,)"
                         R"("achievement_value_gbp":null,"payment_due_gbp":null,)"),
              std::string::npos)
        << again;
}

}  // namespace
}  // namespace sluice::test
