// Unit tests of admin/finalise.hpp's pure halves and of the final calculation it makes
// (calculation.hpp R6, decisions 15-17), with the shipped data/catalogue and the numbers written
// out; and of `sluice-admin finalise`'s command line (admin/dlq.hpp).
#include "admin/dlq.hpp"
#include "admin/finalise.hpp"

#include "catalogue/catalogue.hpp"
#include "config/command_line.hpp"
#include "config/digest.hpp"
#include "worker/calculation.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::admin {
namespace {

const catalogue::catalogue& shipped() {
    static const catalogue::catalogue loaded = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return loaded;
}

const catalogue::period_catalogue& year_2023() { return *shipped().period("2023-24"); }

// qof-reference.md §1.5's practice: list 10,000, AF register 220; AF001, AF006 180/200, AF008 150/170.
constexpr std::string_view reference_body =
    R"({"practice": "A81001", "period": "2023-24", "scheme": "QOF", "list_size": 10000,
      "items": [{"code": "AF001", "numerator": 220, "denominator": 220}, {"code": "AF006", "numerator": 180, "denominator": 200},
                {"code": "AF008", "numerator": 150, "denominator": 170}],
      "registers": [{"condition": "AF", "size": 220}]})";

stored_submission stored(std::string_view body, std::string practice = "A81001") {
    return {"0-a", std::move(practice), "QOF", config::to_hex(config::sha256(body)), std::string(body)};
}

const national_figure* figure(const std::vector<national_figure>& figures, std::string_view group) {
    for (const auto& f : figures)
        if (f.group == group) return &f;
    return nullptr;
}

TEST(finalise_prevalence, only_the_prevalence_adjusted_groups_from_the_sums) {
    // Three practices' AF registers and lists: 220/10,000, 400/20,000, 262/12,000. Σ 882 / 42,000
    // = 0.021 exactly. BP is not prevalence-adjusted (NO_PREVALENCE_FLAG): its sums are ignored.
    // HYP has no totals (no practice sent the register): 0 / 0.
    const std::vector<group_totals> totals = {
        {"AF", "882", "42000", 3}, {"BP", "5000", "42000", 3}, {"NOSUCH", "1", "2", 1}};
    const auto figures = national_prevalences(year_2023(), totals);
    const auto* af = figure(figures, "AF");
    ASSERT_NE(af, nullptr);
    EXPECT_EQ(af->fraction, (catalogue::prevalence_fraction{882, 42000}));
    EXPECT_EQ(af->practices, 3);
    EXPECT_EQ(figure(figures, "BP"), nullptr);
    EXPECT_EQ(figure(figures, "NOSUCH"), nullptr);
    const auto* hyp = figure(figures, "HYP");
    ASSERT_NE(hyp, nullptr);
    EXPECT_EQ(hyp->fraction, (catalogue::prevalence_fraction{0, 0}));
    std::size_t adjusted = 0;
    for (const auto& g : year_2023().groups()) adjusted += g.prevalence_adjusted ? 1 : 0;
    EXPECT_EQ(figures.size(), adjusted);
    EXPECT_TRUE(
        std::is_sorted(figures.begin(), figures.end(), [](const auto& a, const auto& b) { return a.group < b.group; }));
}

TEST(finalise_prevalence, a_total_beyond_a_64_bit_integer_is_refused_by_name) {
    try {
        national_prevalences(year_2023(), {{"AF", "99999999999999999999", "1000", 1}});
        FAIL() << "accepted";
    } catch (const finalise_error& e) {
        EXPECT_NE(std::string(e.what()).find("national AF register total 99999999999999999999"), std::string::npos)
            << e.what();
    }
}

TEST(finalise_prevalence, the_decimal_for_people) {
    EXPECT_EQ(prevalence_text({882, 42000}, 6), "0.021000");
    EXPECT_EQ(prevalence_text({1000, 47000}, 6), "0.021277");  // 0.0212765957...
    EXPECT_EQ(prevalence_text({1, 3}, 12), "0.333333333333");
    EXPECT_EQ(prevalence_text({2, 3}, 2), "0.67");
    EXPECT_EQ(prevalence_text({0, 0}, 6), "0");
}

TEST(finalise_catalogue, the_copy_carries_the_final_fraction_and_the_loaded_one_is_unchanged) {
    const std::vector<std::pair<std::string, catalogue::prevalence_fraction>> finals = {{"AF", {882, 42000}},
                                                                                        {"NOSUCH", {1, 2}}};
    const auto copy = year_2023().with_final_prevalence(finals);
    const auto* af = copy.group("AF");
    ASSERT_NE(af, nullptr);
    ASSERT_TRUE(af->final_national_prevalence);
    EXPECT_EQ(*af->final_national_prevalence, (catalogue::prevalence_fraction{882, 42000}));
    EXPECT_FALSE(af->national_prevalence_estimate);
    EXPECT_DOUBLE_EQ(*af->national_prevalence, 0.021);
    EXPECT_FALSE(year_2023().group("AF")->final_national_prevalence);
    EXPECT_TRUE(year_2023().group("AF")->national_prevalence_estimate);
    EXPECT_FALSE(copy.group("HYP")->final_national_prevalence);
}

TEST(finalise_result, the_reference_example_with_the_national_prevalence_from_three_practices) {
    // National AF = (220 + 400 + 262) / (10,000 + 20,000 + 12,000) = 882 / 42,000 = 2.1% exactly,
    // the figure qof-reference.md §1.5 assumes. Points 5.00 + 12.00 + 8.75 = 25.75 (AF008 150/170
    // = 88.235%: 12 x 18.235/25 = 8.7529 -> 8.75). CPI x APDF = (10,000/9,639) x (220/10,000) /
    // (882/42,000) = 220 x 42,000 / (9,639 x 882) = 1.086855...:
    //   AF001  5.00 x 213.43 x 1.086855 = 1159.8368 -> 1159.84
    //   AF006 12.00 x 213.43 x 1.086855 = 2783.6083 -> 2783.61
    //   AF008  8.75 x 213.43 x 1.086855 = 2029.7144 -> 2029.71
    // 25.75 x 213.43 x 10000/9639 x 2.2/2.1 = 5973.16. And no note: the prevalence is final.
    const auto figures = national_prevalences(year_2023(), {{"AF", "882", "42000", 3}});
    std::vector<std::pair<std::string, catalogue::prevalence_fraction>> fractions;
    for (const auto& f : figures) fractions.emplace_back(f.group, f.fraction);
    const auto final_period = year_2023().with_final_prevalence(fractions);
    const auto r = recalculate(stored(reference_body), shipped(), final_period);
    ASSERT_EQ(r.failure, "");
    EXPECT_EQ(r.points, "25.75");
    EXPECT_EQ(r.payment_gbp, "5973.16");
    EXPECT_EQ(r.result_json, R"({"points":25.75,"payment_gbp":5973.16,"indicators":[)"
                             R"({"code":"AF001","achievement":1.0000,"points":5.00,"payment_gbp":1159.84,"notes":[]},)"
                             R"({"code":"AF006","achievement":0.9000,"points":12.00,"payment_gbp":2783.61,"notes":[]},)"
                             R"({"code":"AF008","achievement":0.8824,"points":8.75,"payment_gbp":2029.71,"notes":[]}],)"
                             R"("services":[],"notes":[]})");
}

TEST(finalise_result, a_prevalence_that_is_no_short_decimal_is_used_exactly) {
    // National AF = 1,000 / 47,000 = 0.0212765957... (no finite decimal). CPI x APDF =
    // 220 x 47,000 / (9,639 x 1,000) = 1.0727253864...:
    //   AF001  5.00 x 213.43 x 1.0727253864 = 1144.7589 -> 1144.76
    //   AF006 12.00 x 213.43 x 1.0727253864 = 2747.4214 -> 2747.42
    //   AF008  8.75 x 213.43 x 1.0727253864 = 2003.3281 -> 2003.33
    // Total 5895.51 (25.75 x 213.43 x 10000/9639 x 0.022 / (1000/47000) = 5895.5183 also rounds
    // to it).
    const std::vector<std::pair<std::string, catalogue::prevalence_fraction>> fractions = {{"AF", {1000, 47000}}};
    const auto r = recalculate(stored(reference_body), shipped(), year_2023().with_final_prevalence(fractions));
    ASSERT_EQ(r.failure, "");
    EXPECT_EQ(r.payment_gbp, "5895.51");
    EXPECT_NE(r.result_json.find(R"("payment_gbp":1144.76)"), std::string::npos) << r.result_json;
    EXPECT_NE(r.result_json.find(R"("payment_gbp":2747.42)"), std::string::npos) << r.result_json;
    EXPECT_NE(r.result_json.find(R"("payment_gbp":2003.33)"), std::string::npos) << r.result_json;
}

TEST(finalise_result, the_provisional_result_said_estimate_and_the_final_one_does_not) {
    // The loaded 2023-24 catalogue: AF 2.1% flagged as an estimate, HYP without a national
    // prevalence. Provisional: both decision 5 notes; HYP001 (register, 6 points) at APDF 1:
    // 6 x 213.43 x 10000/9639 = 1328.5403 -> 1328.54. Final (AF 882/42,000 = 2.1%, HYP 2,000 /
    // 100,000 = 2%): no note; HYP APDF = (300/10,000) / 0.02 = 1.5: 6 x 213.43 x 10000/9639 x 1.5
    // = 1992.8105 -> 1992.81. AF001 £1159.84 both times (2.1% both times).
    const std::string body =
        R"({"practice": "A81001", "period": "2023-24", "scheme": "QOF", "list_size": 10000,
      "items": [{"code": "AF001", "numerator": 220, "denominator": 220}, {"code": "HYP001", "numerator": 300, "denominator": 300}],
      "registers": [{"condition": "AF", "size": 220}, {"condition": "HYP", "size": 300}]})";
    const auto provisional = recalculate(stored(body), shipped(), year_2023());
    ASSERT_EQ(provisional.failure, "");
    EXPECT_NE(provisional.result_json.find("provisional"), std::string::npos) << provisional.result_json;
    const std::vector<std::pair<std::string, catalogue::prevalence_fraction>> fractions = {{"AF", {882, 42000}},
                                                                                           {"HYP", {2000, 100000}}};
    const auto final = recalculate(stored(body), shipped(), year_2023().with_final_prevalence(fractions));
    ASSERT_EQ(final.failure, "");
    EXPECT_EQ(final.result_json.find("provisional"), std::string::npos) << final.result_json;
    EXPECT_EQ(final.result_json.find("estimate"), std::string::npos) << final.result_json;
    EXPECT_NE(final.result_json.find(R"("services":[],"notes":[]})"), std::string::npos) << final.result_json;
    EXPECT_NE(
        provisional.result_json.find(R"("code":"HYP001","achievement":1.0000,"points":6.00,"payment_gbp":1328.54)"),
        std::string::npos);
    EXPECT_NE(final.result_json.find(R"("code":"HYP001","achievement":1.0000,"points":6.00,"payment_gbp":1992.81)"),
              std::string::npos);
    EXPECT_NE(
        provisional.result_json.find(R"("code":"AF001","achievement":1.0000,"points":5.00,"payment_gbp":1159.84)"),
        std::string::npos);
    EXPECT_NE(final.result_json.find(R"("code":"AF001","achievement":1.0000,"points":5.00,"payment_gbp":1159.84)"),
              std::string::npos);
}

TEST(finalise_result, a_national_register_of_zero_pays_nothing_and_says_so) {
    // Decision 16: 0 / 42,000 has no APDF. (The practice's own register, 220, says the inputs
    // disagree; nothing is paid rather than dividing by zero.)
    const std::vector<std::pair<std::string, catalogue::prevalence_fraction>> fractions = {{"AF", {0, 42000}}};
    const auto r = recalculate(stored(reference_body), shipped(), year_2023().with_final_prevalence(fractions));
    ASSERT_EQ(r.failure, "");
    EXPECT_EQ(r.points, "25.75");
    EXPECT_EQ(r.payment_gbp, "0.00");
    EXPECT_NE(r.result_json.find("the final national AF register is 0"), std::string::npos) << r.result_json;
}

// The final calculation keeps income protection (R7): given the practice's 2023-24 record, as the
// worker is, a protected indicator keeps its recorded points in the final result. SMOK005 (not
// prevalence-adjusted; its thresholds are not in the reference, so its achievement earns 0.00):
// recorded 25.00 points -> 25.00 x £220.62 x 5,000/9,964 = £2,767.7078... -> £2,767.71.
TEST(finalise_result, income_protection_is_applied_as_the_worker_applies_it) {
    constexpr std::string_view body =
        R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 5000,
          "items": [{"code": "SMOK005", "numerator": 10, "denominator": 100}]})";
    const auto& year_2024 = *shipped().period("2024-25");
    const auto unprotected = recalculate(stored(body), shipped(), year_2024);
    ASSERT_EQ(unprotected.failure, "");
    EXPECT_NE(unprotected.result_json.find(R"({"code":"SMOK005","achievement":0.1000,"points":0.00,)"),
              std::string::npos)
        << unprotected.result_json;

    worker::calculation_inputs inputs;
    inputs.protection = worker::protection_record{true, "3-2023", {{"SMOK005", 2500}}};
    const auto r = recalculate(stored(body), shipped(), year_2024, inputs);
    ASSERT_EQ(r.failure, "");
    EXPECT_NE(r.result_json.find(R"({"code":"SMOK005","achievement":0.1000,"points":25.00,"payment_gbp":2767.71,)"),
              std::string::npos)
        << r.result_json;
    EXPECT_EQ(r.payment_gbp, "2767.71");
}

TEST(finalise_result, a_body_that_is_not_the_receipts_is_not_recalculated) {
    auto s = stored(reference_body);
    s.body += " ";
    EXPECT_NE(recalculate(s, shipped(), year_2023()).failure.find("content_sha256"), std::string::npos);
    EXPECT_NE(recalculate(stored(reference_body, "B82002"), shipped(), year_2023()).failure.find("not of its row"),
              std::string::npos);
    EXPECT_NE(
        recalculate(stored(reference_body), shipped(), *shipped().period("2024-25")).failure.find("not of its row"),
        std::string::npos);
}

TEST(finalise_sql, text_arrays_quote_every_element) {
    EXPECT_EQ(quoted_text_array({}), "{}");
    EXPECT_EQ(quoted_text_array({"A81001", "B82002"}), R"({"A81001","B82002"})");
    EXPECT_EQ(quoted_text_array({R"({"notes":["a \"b\", c\\d"]})"}), R"({"{\"notes\":[\"a \\\"b\\\", c\\\\d\"]}"})");
    EXPECT_EQ(quoted_text_array({""}), R"({""})");
}

TEST(finalise_command_line, period_and_batch) {
    const char* argv[] = {"sluice-admin", "--config", "c.toml", "finalise", "--period", "2024-25", "--batch=100"};
    const auto args = parse_admin_command_line(7, argv);
    EXPECT_EQ(args.command, admin_command::finalise);
    EXPECT_EQ(args.finalise.period, "2024-25");
    EXPECT_EQ(args.finalise.batch, 100u);
    EXPECT_EQ(args.config_file, "c.toml");
    const char* defaults[] = {"sluice-admin", "finalise", "--period=2023-24"};
    EXPECT_EQ(parse_admin_command_line(3, defaults).finalise.batch, 500u);
    const char* dlq[] = {"sluice-admin", "dlq", "list"};
    EXPECT_EQ(parse_admin_command_line(3, dlq).command, admin_command::dlq);
}

TEST(finalise_command_line, refusals) {
    const auto refused = [](std::vector<const char*> argv) {
        argv.insert(argv.begin(), "sluice-admin");
        EXPECT_THROW(parse_admin_command_line(static_cast<int>(argv.size()), argv.data()), config::usage_error)
            << argv[1];
    };
    refused({"finalise"});
    refused({"finalise", "--period", "2024"});
    refused({"finalise", "--period", "2024-26"});
    refused({"finalise", "--period", "2024-25", "--batch", "0"});
    refused({"finalise", "--period", "2024-25", "extra"});
    refused({"finalise", "--period", "2024-25", "--dry-run"});
    refused({"dlq", "list", "--period", "2024-25"});
}

}  // namespace
}  // namespace sluice::admin
