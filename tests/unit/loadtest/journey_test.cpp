// The journey's pure parts: its spec, the decisions' assignment, the statement bytes and figures
// as served, the retry rule, the verdict against the database's rows, the report's JSON both ways,
// and the commissioners' tokens and generated files.
#include "loadtest/journey.hpp"
#include "loadtest/journey_report.hpp"
#include "loadtest/journey_verify.hpp"
#include "loadtest/tokens.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace sluice::loadtest {
namespace {

using namespace std::chrono_literals;

TEST(JourneySpec, DefaultsAndFields) {
    EXPECT_EQ(parse_journey_spec(""), journey_spec{});
    const auto spec = parse_journey_spec("approve=80,reject=10,concurrency=32,wait=2m");
    EXPECT_EQ(spec.approve_percent, 80u);
    EXPECT_EQ(spec.reject_percent, 10u);
    EXPECT_EQ(spec.concurrency, 32u);
    EXPECT_EQ(spec.wait, std::chrono::nanoseconds{2min});
    EXPECT_EQ(format_journey_spec(spec), "approve=80,reject=10,concurrency=32,wait=2m");
    EXPECT_EQ(parse_journey_spec(format_journey_spec(spec)), spec);
    const auto paced = parse_journey_spec("rate=1000");
    EXPECT_EQ(paced.rate, 1000.0);
    EXPECT_EQ(format_journey_spec(paced), "approve=0,reject=0,concurrency=64,wait=1m,rate=1000");
    EXPECT_EQ(parse_journey_spec(format_journey_spec(paced)), paced);
}

TEST(JourneySpec, MistakesNameTheField) {
    const auto message = [](std::string_view text) {
        try {
            parse_journey_spec(text);
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("approve=101").find("approve=101"), std::string::npos);
    EXPECT_NE(message("approve=60,reject=50").find("more than 100"), std::string::npos);
    EXPECT_NE(message("concurrency=0").find("concurrency=0"), std::string::npos);
    EXPECT_NE(message("wait=10").find("wait"), std::string::npos);
    EXPECT_NE(message("approve=1,approve=2").find("approve"), std::string::npos);
    EXPECT_NE(message("deny=5").find("deny"), std::string::npos);
    EXPECT_NE(message("rate=2000000").find("rate=2000000"), std::string::npos);
    EXPECT_NE(message("rate=-1").find("rate"), std::string::npos);
}

TEST(JourneyDecisions, ExactSharesShuffledBySeed) {
    const journey_spec spec{60, 20, 64, 60s};
    const auto kinds = assign_decisions(spec, 7, 50);
    ASSERT_EQ(kinds.size(), 50u);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), decision_kind::approve), 30);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), decision_kind::reject), 10);
    EXPECT_EQ(assign_decisions(spec, 7, 50), kinds);  // a function of the seed
    EXPECT_NE(assign_decisions(spec, 8, 50), kinds);
    EXPECT_TRUE(assign_decisions(spec, 1, 0).empty());
    const auto all = assign_decisions(journey_spec{100, 0, 1, 1s}, 3, 9);
    EXPECT_EQ(std::count(all.begin(), all.end(), decision_kind::approve), 9);
}

TEST(JourneyStatement, MemberBytesAreExactlyAsServed) {
    const std::string result = R"({"points": 412.37,"payment_gbp":96233.18,"notes":["a \"}\" brace", "x"],)"
                               R"("indicators":[{"code":"AF006","points":12.00}]})";
    const std::string document = R"({"submission_id":"1-ab","status":"calculated","odd":"\\\"result\":1",)"
                                 R"("nested":{"result":"not this"},"result":)" +
                                 result + "}";
    const auto bytes = member_bytes(document, "result");
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, result);
    EXPECT_EQ(member_bytes(document, "status"), std::optional<std::string_view>(R"("calculated")"));
    EXPECT_EQ(member_bytes(R"({ "a" : [1, {"b": 2}] , "c": true })", "a"),
              std::optional<std::string_view>("[1, {\"b\": 2}]"));
    EXPECT_EQ(member_bytes(R"({ "a" : [1, {"b": 2}] , "c": true })", "c"), std::optional<std::string_view>("true"));
    EXPECT_FALSE(member_bytes(document, "missing"));
    EXPECT_FALSE(member_bytes("[1,2]", "result"));
    EXPECT_FALSE(member_bytes(R"({"result":{"unterminated":)", "result"));
    EXPECT_FALSE(member_bytes("{}", "result"));

    const auto figures = figures_of_result(result);
    ASSERT_TRUE(figures);
    EXPECT_EQ(figures->points, 41237);
    EXPECT_EQ(figures->payment_pence, 9623318);
    EXPECT_FALSE(figures_of_result(R"({"points":1.5})"));
}

TEST(JourneyStatement, HundredthsAreExactDecimals) {
    EXPECT_EQ(hundredths("4842.85"), 484285);
    EXPECT_EQ(hundredths("0.00"), 0);
    EXPECT_EQ(hundredths("12"), 1200);
    EXPECT_EQ(hundredths("3.5"), 350);
    EXPECT_EQ(hundredths("-3.50"), -350);
    EXPECT_EQ(hundredths("9999999999999.99"), 999999999999999);
    EXPECT_FALSE(hundredths("1.234"));  // more than two decimals
    EXPECT_FALSE(hundredths("1e3"));
    EXPECT_FALSE(hundredths(""));
    EXPECT_FALSE(hundredths("1."));
    EXPECT_FALSE(hundredths("\"1.00\""));
}

TEST(JourneyRetry, TransientAnswersAreRetriedOthersAreFinal) {
    EXPECT_EQ(journey_retry(0, std::nullopt, "", 1, 5), std::optional<std::chrono::nanoseconds>(250ms));
    EXPECT_EQ(journey_retry(0, std::nullopt, "", 3, 5), std::optional<std::chrono::nanoseconds>(1s));
    EXPECT_EQ(journey_retry(503, 2s, "", 1, 5), std::optional<std::chrono::nanoseconds>(2s));
    EXPECT_EQ(journey_retry(429, 3600s, "", 1, 5), std::optional<std::chrono::nanoseconds>(30s));
    EXPECT_TRUE(journey_retry(409, 1s, "idempotency-key-in-use", 1, 5));
    EXPECT_TRUE(journey_retry(409, std::nullopt, "not-calculated", 1, 5));
    EXPECT_FALSE(journey_retry(409, std::nullopt, "already-declared", 1, 5));
    EXPECT_FALSE(journey_retry(201, std::nullopt, "", 1, 5));
    EXPECT_FALSE(journey_retry(404, std::nullopt, "", 1, 5));
    EXPECT_FALSE(journey_retry(503, 1s, "", 5, 5));  // the last attempt
    EXPECT_EQ(problem_slug(R"({"type":"https://sluice.example/problems/not-calculated","status":409})"),
              "not-calculated");
    EXPECT_EQ(problem_slug("not json"), "");
}

// ---- the verdict -------------------------------------------------------------------------------

journey_record declared(const std::string& practice, int status, decision_kind decision = decision_kind::none,
                        std::optional<int> decide_status = std::nullopt) {
    journey_record r;
    r.practice = practice;
    r.submission_id = "1-" + practice;
    r.state = "calculated";
    r.statement_sha256 = "sha-" + practice;
    r.figures = statement_figures{41237, 9623318};
    r.declared = call_outcome{status, {}, 1};
    if (status == 201) {
        r.declaration_id = "d-" + practice;
        r.declared_figures = r.figures;
    }
    r.decision = decision;
    if (decide_status) r.decided = call_outcome{*decide_status, {}, 1};
    return r;
}

declaration_row row_of(const journey_record& r, const std::string& status = "awaiting-approval") {
    return {r.declaration_id.empty() ? "d-" + r.practice : r.declaration_id,
            r.practice,
            r.submission_id,
            status,
            41237,
            9623318,
            r.statement_sha256};
}

TEST(JourneyVerdict, ACleanRunIsOk) {
    const std::vector<journey_record> records{
        declared("A00001", 201), declared("A00002", 201, decision_kind::approve, 200),
        declared("A00003", 201, decision_kind::reject, 200), declared("A00004", 409)};
    const std::vector<declaration_row> rows{row_of(records[0]), row_of(records[1], "approved"),
                                            row_of(records[2], "rejected")};
    const auto verdict = judge_journey({"A00001", "A00002", "A00003", "A00004", "A00005"}, records, rows);
    EXPECT_TRUE(verdict.ok()) << format_journey_verdict(verdict);
    EXPECT_EQ(verdict.practices, 5u);
    EXPECT_EQ(verdict.declared_201, 3u);
    EXPECT_EQ(verdict.standing_verified, 3u);
    EXPECT_EQ(verdict.decisions_200, 2u);
    EXPECT_EQ(verdict.decisions_recorded, 2u);
    EXPECT_EQ(verdict.refused, 2u);  // told 409, and never declared
    EXPECT_EQ(format_journey_verdict(verdict).rfind("journey verify: OK: 3 of 3 declarations told 201", 0), 0u);
}

TEST(JourneyVerdict, EachFaultIsNamed) {
    const auto a = declared("A00001", 201), b = declared("A00002", 201, decision_kind::approve, 200),
               c = declared("A00003", 201), d = declared("A00004", 422), e = declared("A00005", 201),
               f = declared("A00006", 201, decision_kind::reject, 409);
    auto wrong = row_of(c);
    wrong.payment_pence = 9623319;
    auto second = row_of(e);
    second.declaration_id = "planted";
    const std::vector<declaration_row> rows{row_of(b),  // the approval told 200 is not recorded
                                            wrong,     row_of(d), row_of(e), second, row_of(f, "rejected")};
    // a: missing
    const auto verdict =
        judge_journey({"A00001", "A00002", "A00003", "A00004", "A00005", "A00006", "A00007"}, {a, b, c, d, e, f}, rows);
    EXPECT_FALSE(verdict.ok());
    std::vector<std::pair<journey_violation_kind, std::string>> found;
    for (const auto& v : verdict.violations) found.emplace_back(v.kind, v.practice);
    const std::vector<std::pair<journey_violation_kind, std::string>> expected{
        {journey_violation_kind::missing, "A00001"},       {journey_violation_kind::decision_not_recorded, "A00002"},
        {journey_violation_kind::wrong_figures, "A00003"}, {journey_violation_kind::extra, "A00004"},
        {journey_violation_kind::extra, "A00005"},         {journey_violation_kind::decided_anyway, "A00006"}};
    EXPECT_EQ(found, expected) << format_journey_verdict(verdict);
    const auto text = format_journey_verdict(verdict);
    EXPECT_NE(text.find("wrong-figures: practice A00003: d-A00003: payment_gbp 96233.19, read 96233.18"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("extra: practice A00004: told 422, yet the database holds d-A00004 (awaiting-approval)"),
              std::string::npos)
        << text;
}

TEST(JourneyVerdict, UnknownOutcomesMayHaveLandedEitherWay) {
    const auto landed = declared("A00001", 0), absent = declared("A00002", 0);
    auto landed_row = row_of(landed);
    landed_row.declaration_id = "d-landed";
    auto undecided = declared("A00003", 201, decision_kind::approve, 0);
    auto decided = declared("A00004", 201, decision_kind::approve, 0);
    const auto verdict = judge_journey({"A00001", "A00002", "A00003", "A00004"}, {landed, absent, undecided, decided},
                                       {landed_row, row_of(undecided), row_of(decided, "approved")});
    EXPECT_TRUE(verdict.ok()) << format_journey_verdict(verdict);
    EXPECT_EQ(verdict.unknown_declarations, 2u);
    EXPECT_EQ(verdict.unknown_landed, 1u);
    EXPECT_EQ(verdict.unknown_decisions, 2u);

    // One that landed must still be right, and once.
    auto wrong = landed_row;
    wrong.points = 1;
    EXPECT_EQ(judge_journey({"A00001"}, {landed}, {wrong}).violations.at(0).kind,
              journey_violation_kind::wrong_figures);
    auto twice = landed_row;
    twice.declaration_id = "d-other";
    EXPECT_EQ(judge_journey({"A00001"}, {landed}, {landed_row, twice}).violations.at(0).kind,
              journey_violation_kind::extra);
}

TEST(JourneyVerdict, AStandingDeclarationDecidedWithoutADecisionIsCaught) {
    const auto a = declared("A00001", 201);
    const auto verdict = judge_journey({"A00001"}, {a}, {row_of(a, "approved")});
    ASSERT_EQ(verdict.violations.size(), 1u);
    EXPECT_EQ(verdict.violations[0].kind, journey_violation_kind::not_standing);
}

// ---- the report's JSON -----------------------------------------------------------------------

TEST(JourneyReport, RecordsRoundTrip) {
    journey_result result;
    result.spec = journey_spec{50, 10, 8, 30s};
    result.records = {declared("A00001", 201, decision_kind::approve, 200), declared("A00002", 0),
                      declared("A00003", 201, decision_kind::reject, 0)};
    journey_record never;
    never.practice = "A00004";
    never.submission_id = "2-x";
    never.state = "queued";
    result.records.push_back(never);
    stage_stats stage;
    stage.name = "declare";
    stage.calls = 3;
    stage.requests = 4;
    stage.statuses = {{201, 2}, {0, 1}};
    stage.latency.record(5ms);
    stage.elapsed = 1s;
    result.stages.push_back(stage);
    const journey_replay scope{"2024-25", {"A00001", "A00002", "A00003", "A00004", "A00005"}, {}};
    const auto object = journey_json(result, scope, std::nullopt);
    EXPECT_EQ(object.at("stages").as_array().at(0).at("rate_per_s").as_double(), 3.0);
    const auto back = read_journey_json(boost::json::object{{"journey", object}});
    EXPECT_EQ(back.period, "2024-25");
    EXPECT_EQ(back.practices, scope.practices);
    ASSERT_EQ(back.records.size(), result.records.size());
    // Judged the same way after the round trip.
    const std::vector<declaration_row> rows{row_of(result.records[0], "approved"), row_of(result.records[2])};
    const auto before = judge_journey(scope.practices, result.records, rows);
    const auto after = judge_journey(back.practices, back.records, rows);
    EXPECT_TRUE(before.ok()) << format_journey_verdict(before);
    EXPECT_EQ(format_journey_verdict(after), format_journey_verdict(before));
    EXPECT_EQ(back.records[3].state, "queued");
    EXPECT_FALSE(back.records[3].declared);

    EXPECT_THROW(read_journey_json(boost::json::object{{"totals", 1}}), std::invalid_argument);
}

// ---- commissioners -------------------------------------------------------------------------------

TEST(CommissionerTokens, ParsedAsOrganisationCodes) {
    const auto tokens = parse_commissioner_tokens("# code,token\nQWE,abc\nICB01, def \n", "c.csv");
    ASSERT_EQ(tokens.size(), 2u);
    EXPECT_EQ(tokens[1], (practice_token{"ICB01", "def"}));
    try {
        parse_commissioner_tokens("qwe,abc\n", "c.csv");
        ADD_FAILURE() << "a lower-case code was accepted";
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("c.csv:1: commissioner \"qwe\" is not an ODS organisation code"),
                  std::string::npos)
            << error.what();
    }
}

TEST(CommissionerTokens, GeneratedCommissionersCoverEveryPractice) {
    const auto generated = generate_commissioners(
        {"Z00000", "Z00001", "Z00002"}, 2,
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now() + std::chrono::hours{24}));
    EXPECT_EQ(generated.organisations_file,
              "# practice,commissioner (generated for load tests)\nZ00000,ICB00\nZ00001,ICB01\nZ00002,ICB00\n");
    const auto tokens = parse_commissioner_tokens(generated.tokens_file, "generated");
    ASSERT_EQ(tokens.size(), 2u);
    EXPECT_EQ(tokens[0].practice, "ICB00");
    EXPECT_NE(generated.credential_lines.find("ICB01,"), std::string::npos);
    EXPECT_NE(generated.credential_lines.find(",commissioner\n"), std::string::npos);
    EXPECT_EQ(generated.credential_lines.find(tokens[0].token), std::string::npos);  // only its digest
    EXPECT_THROW(generate_commissioners({"Z00000"}, 0, {}), std::invalid_argument);
    EXPECT_THROW(generate_commissioners({"Z00000"}, 101, {}), std::invalid_argument);
}

}  // namespace
}  // namespace sluice::loadtest
