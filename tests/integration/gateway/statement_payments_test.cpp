// The QOF payment lines of GET /v1/statements/{practice}/{period} (ledger/payments.hpp, README.md
// "Payment lines"; rule R8 and decisions 25-29 of worker/calculation.hpp) against a real
// sluice-gateway, a real redis-server and a real PostgreSQL (tests/support), with the figures worked
// out in the comments. Submissions are rows as the worker writes them (ledger/results.hpp's
// shape, inserted here directly), so each test sets the achievement values exactly.
#include "ledger/migrations.hpp"
#include "queue/keys.hpp"
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/postgres_environment.hpp"
#include "tests/support/redis_environment.hpp"
#include "tests/support/scratch_directory.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <map>
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
        // Four queue shards, as the real worker of the last test reads.
        o.extra_toml = "[ledger]\nurl = \"" + url_ + "\"\ntimeout_ms = 1000\n[organisations]\nfile = \"" +
                       orgs.string() + "\"\n[redis]\nshards = 4\n";
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

// Once the previous period is final (sluice-admin finalise), the aspiration is worked from that
// submission's final figure; a final result of an earlier generation, or of another submission, is
// not the period's final figure and is not used.
TEST_F(statement_payments, TheFinalFigureOfAFinalisedPreviousPeriodIsTheBase) {
    const auto based_on = insert_qof("A81001", "2023-24", "2024-03-30T09:00:00Z", "50000.00");
    insert_qof("A81001", "2024-25", "2025-03-30T09:00:00Z", "40000.00");
    postgres().query(
        "INSERT INTO period_finals (period, state, generation, finished_at) "
        "VALUES ('2023-24', 'finalising', 2, NULL)",
        url_);
    postgres().query(
        "INSERT INTO final_results (period, practice, scheme, submission_id, generation, result, points, "
        "payment_gbp) VALUES ('2023-24', 'A81001', 'QOF', '" +
            based_on + "', 1, '{}', 100.00, 70000.00)",
        url_);
    // Still finalising, and generation 1 is not the period's: the provisional £50,000.00.
    EXPECT_NE(statement(a_, "2024-25").find(R"("aspiration_based_on_gbp":50000.00,"aspiration_rate":0.80,)"),
              std::string::npos);
    postgres().query("UPDATE final_results SET generation = 2, payment_gbp = 60000.00", url_);
    postgres().query("UPDATE period_finals SET state = 'final', finished_at = now()", url_);
    // 0.80 x £60,000.00 x 220.62 / 213.43 = £49,617.0173... -> £49,617.02.
    const auto body = statement(a_, "2024-25");
    EXPECT_NE(body.find(R"(","aspiration_based_on_gbp":60000.00,"aspiration_rate":0.80,"aspiration_gbp":49617.02,)"),
              std::string::npos)
        << body;
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

// The raw JSON text of member `name` in `text` (the first one): "41347.51", "null", "\"3-ab\"".
std::string raw_member(const std::string& text, const std::string& name) {
    const auto key = "\"" + name + "\":";
    const auto at = text.find(key);
    if (at == std::string::npos) return {};
    const auto start = at + key.size();
    return text.substr(start, text.find_first_of(",}", start) - start);
}

// "1234.56" -> 123456 (exactly two decimals, or nullopt).
std::optional<long long> pence(const std::string& decimal) {
    const auto dot = decimal.find('.');
    if (decimal.empty() || dot == std::string::npos || decimal.size() - dot != 3) return std::nullopt;
    const bool negative = decimal.front() == '-';
    const long long value = std::stoll(decimal.substr(negative ? 1 : 0, dot - (negative ? 1 : 0))) * 100 +
                            std::stoll(decimal.substr(dot + 1));
    return negative ? -value : value;
}

// The whole way: the real worker calculates a 2023-24 and a 2024-25 submission sent through the
// gateway, writes them to PostgreSQL, and the statement's payment lines follow from those results.
TEST_F(statement_payments, FromSubmissionsTheRealWorkerCalculated) {
    worker_config wc;
    wc.shards = 4;
    wc.ledger_url = url_;
    worker_process worker(wc);
    auto body_2023 = qof_body("A81001");
    body_2023.replace(body_2023.find("2024-25"), 7, "2023-24");
    std::map<std::string, std::string> ids, payments;  // by period
    for (const auto& [period, body] :
         {std::pair{std::string("2023-24"), body_2023}, std::pair{std::string("2024-25"), qof_body("A81001")}}) {
        const auto submitted = ask(gw_->port(), submit_request(a_, "k-" + period, body));
        ASSERT_TRUE(submitted);
        ASSERT_EQ(submitted->status, 202) << submitted->body;
        const auto id = json_string(submitted->body, "submission_id");
        ASSERT_TRUE(eventually(
            [&] {
                return postgres().scalar(
                           "SELECT count(*) FROM submissions WHERE status = 'calculated' AND submission_id = '" + id +
                               "'",
                           url_) == "1";
            },
            30s))
            << worker.log();
        const auto shown = ask(gw_->port(), status_request(a_, id));
        ASSERT_TRUE(shown);
        ASSERT_EQ(shown->status, 200) << shown->body;
        ids[period] = id;
        payments[period] = raw_member(shown->body.substr(shown->body.find("\"result\":")), "payment_gbp");
        ASSERT_TRUE(pence(payments[period])) << shown->body;
    }

    const auto text = statement(a_, "2024-25");
    const auto lines = text.substr(text.find("\"payments\":"));
    EXPECT_EQ(raw_member(lines, "aspiration_based_on_submission"), "\"" + ids["2023-24"] + "\"");
    EXPECT_EQ(raw_member(lines, "aspiration_based_on_gbp"), payments["2023-24"]);
    EXPECT_EQ(raw_member(lines, "achievement_value_gbp"), payments["2024-25"]);
    // aspiration = 0.80 x the 2023-24 value x 220.62 / 213.43, rounded half up to the penny:
    // (pence x 8000 x 22062 x 2 + 10000 x 21343) / (2 x 10000 x 21343) in whole pence.
    const long long base = *pence(payments["2023-24"]);
    const long long denominator = 10000LL * 21343;
    const long long aspiration = (base * 8000 * 22062 * 2 + denominator) / (2 * denominator);
    const auto shown_aspiration = pence(raw_member(lines, "aspiration_gbp"));
    ASSERT_TRUE(shown_aspiration) << lines;
    EXPECT_EQ(*shown_aspiration, aspiration) << lines;
    EXPECT_GT(aspiration, 0);
    const auto monthly = pence(raw_member(lines, "aspiration_monthly_gbp"));
    const auto final_month = pence(raw_member(lines, "aspiration_final_month_gbp"));
    ASSERT_TRUE(monthly && final_month) << lines;
    EXPECT_EQ(*monthly, (aspiration * 2 + 12) / 24) << lines;  // a twelfth, half up
    EXPECT_EQ(11 * *monthly + *final_month, aspiration);
    EXPECT_EQ(pence(raw_member(lines, "payment_due_gbp")), *pence(payments["2024-25"]) - aspiration) << lines;
}

}  // namespace
}  // namespace sluice::test
