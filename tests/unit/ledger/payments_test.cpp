// ledger/payments.hpp: aspiration, achievement value and payment due (qof-reference.md §1.4; rule R8
// and decisions 25-29 of worker/calculation.hpp), with the arithmetic of each figure written out.
// Amounts are whole pence: 4134751 is £41,347.51. Rates are ten-thousandths: 8000 is 80%.
#include "ledger/payments.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::ledger {
namespace {

// The shipped catalogue's figures (data/catalogue): pounds per point as pence, rates.
constexpr std::int64_t ppp_2023 = 21343;  // £213.43 [V]
constexpr std::int64_t ppp_2024 = 22062;  // £220.62 [S]
constexpr std::int64_t rate_2023 = 7000;  // 70% [S]
constexpr std::int64_t rate_2024 = 8000;  // 80% [S]

bool has_note(const payment_lines& lines, const std::string& part) {
    for (const auto& note : lines.notes)
        if (note.find(part) != std::string::npos) return true;
    return false;
}

payment_inputs inputs_2024(std::optional<previous_achievement_row> previous,
                           std::optional<std::int64_t> achievement_pence) {
    payment_inputs in;
    in.period = "2024-25";
    in.previous_period = "2023-24";
    in.aspiration_rate = rate_2024;
    in.pence_per_point = ppp_2024;
    in.previous_pence_per_point = ppp_2023;
    in.previous = std::move(previous);
    in.achievement_pence = achievement_pence;
    return in;
}

previous_achievement_row calculated(std::int64_t pence) { return {"3-aaaa1", "calculated", pence}; }

TEST(AnnualAspiration, TheBriefsWorkedExample) {
    // 0.80 x £50,000.00 x 220.62 / 213.43 = £41,347.514407... -> £41,347.51
    // (exactly 4,000,000p x 22062 / 21343 = 88,248,000,000 / 21343 = 4,134,751.44p).
    EXPECT_EQ(annual_aspiration_pence(5'000'000, rate_2024, ppp_2024, ppp_2023), 4'134'751);
}

TEST(AnnualAspiration, OtherWorkedFigures) {
    // 0.80 x £96,233.18 x 220.62 / 213.43 = £79,580.0559... -> £79,580.06
    EXPECT_EQ(annual_aspiration_pence(9'623'318, rate_2024, ppp_2024, ppp_2023), 7'958'006);
    // 2023-24 from 2022-23 (£207.56 a point, qof-reference.md §0 [S]):
    // 0.70 x £50,000.00 x 213.43 / 207.56 = £35,989.834264... -> £35,989.83
    EXPECT_EQ(annual_aspiration_pence(5'000'000, rate_2023, ppp_2023, 20756), 3'598'983);
    // The same £ per point both years: no uprating. 0.70 x £96,233.18 = £67,363.226 -> £67,363.23
    EXPECT_EQ(annual_aspiration_pence(9'623'318, rate_2023, ppp_2023, ppp_2023), 6'736'323);
    // Nothing achieved, nothing advanced.
    EXPECT_EQ(annual_aspiration_pence(0, rate_2024, ppp_2024, ppp_2023), 0);
}

TEST(AnnualAspiration, RoundedOnceHalfUpToThePenny) {
    // 0.70 x 5p = 3.5p -> 4p; 0.70 x 15p = 10.5p -> 11p; 0.70 x 25p = 17.5p -> 18p (half up).
    EXPECT_EQ(annual_aspiration_pence(5, rate_2023, ppp_2023, ppp_2023), 4);
    EXPECT_EQ(annual_aspiration_pence(15, rate_2023, ppp_2023, ppp_2023), 11);
    EXPECT_EQ(annual_aspiration_pence(25, rate_2023, ppp_2023, ppp_2023), 18);
    // 0.70 x 2p = 1.4p -> 1p; 0.70 x 1p = 0.7p -> 1p.
    EXPECT_EQ(annual_aspiration_pence(2, rate_2023, ppp_2023, ppp_2023), 1);
    EXPECT_EQ(annual_aspiration_pence(1, rate_2023, ppp_2023, ppp_2023), 1);
    // Rounded from the exact product, not from a rounded uprating factor: 220.62 / 213.43 is
    // 1.0336878...; with the factor rounded to 1.0337 first, 0.80 x £50,000.00 x 1.0337 would be
    // £41,348.00, 49p more.
    EXPECT_NE(annual_aspiration_pence(5'000'000, rate_2024, ppp_2024, ppp_2023), 4'134'800);
    // A negative base (not one the ledger holds) rounds half away from zero: -0.70 x 5p = -3.5p -> -4p.
    EXPECT_EQ(annual_aspiration_pence(-5, rate_2023, ppp_2023, ppp_2023), -4);
}

TEST(AnnualAspiration, TheLargestBaseTheLedgerHoldsIsExact) {
    // payment_gbp is numeric(15, 2): at most £9,999,999,999,999.99. 100% of it, £ per point
    // unchanged: the same pence, with no overflow on the way (the product exceeds 2^63).
    constexpr std::int64_t most = 999'999'999'999'999;
    EXPECT_EQ(annual_aspiration_pence(most, rate_scale, ppp_2024, ppp_2024), most);
    // 80% of it uprated 220.62 / 213.43: 799,999,999,999,999.2 x 22062 / 21343 = 826,950,288,150,680.9... -> ...681
    EXPECT_EQ(annual_aspiration_pence(most, rate_2024, ppp_2024, ppp_2023), 826'950'288'150'681);
}

TEST(MonthlyAspiration, TwelfthsRoundedHalfUpTheTwelfthMonthTakesTheRest) {
    // £41,347.51 / 12 = £3,445.6258... -> £3,445.63 in months 1-11 (£37,901.93);
    // month 12: £41,347.51 - £37,901.93 = £3,445.58.
    auto m = monthly_aspiration_of(4'134'751);
    EXPECT_EQ(m.monthly_pence, 344'563);
    EXPECT_EQ(m.final_month_pence, 344'558);
    // £79,580.06 / 12 = £6,631.6716... -> £6,631.67; month 12: £79,580.06 - 11 x £6,631.67 = £6,631.69.
    m = monthly_aspiration_of(7'958'006);
    EXPECT_EQ(m.monthly_pence, 663'167);
    EXPECT_EQ(m.final_month_pence, 663'169);
    // £12.00: twelve of £1.00. £0.00: nothing.
    EXPECT_EQ(monthly_aspiration_of(1200).monthly_pence, 100);
    EXPECT_EQ(monthly_aspiration_of(1200).final_month_pence, 100);
    EXPECT_EQ(monthly_aspiration_of(0).monthly_pence, 0);
    EXPECT_EQ(monthly_aspiration_of(0).final_month_pence, 0);
    // 66p: 5.5p -> 6p, 11 x 6p = 66p, month 12 gets 0p (never negative).
    EXPECT_EQ(monthly_aspiration_of(66).monthly_pence, 6);
    EXPECT_EQ(monthly_aspiration_of(66).final_month_pence, 0);
}

TEST(MonthlyAspiration, RoundedDownWhereTheRestWouldBeNegative) {
    // 54p: 4.5p -> 5p would leave 54 - 55 = -1p for month 12; rounded down: 4p, month 12 54 - 44 = 10p.
    EXPECT_EQ(monthly_aspiration_of(54).monthly_pence, 4);
    EXPECT_EQ(monthly_aspiration_of(54).final_month_pence, 10);
    // 18p: 1.5p -> 2p would leave -4p; rounded down: 1p, month 12 7p.
    EXPECT_EQ(monthly_aspiration_of(18).monthly_pence, 1);
    EXPECT_EQ(monthly_aspiration_of(18).final_month_pence, 7);
}

TEST(MonthlyAspiration, TwelveAlwaysAddUpAndNoneIsNegative) {
    for (std::int64_t annual = 0; annual <= 200'000; ++annual) {
        const auto m = monthly_aspiration_of(annual);
        ASSERT_EQ(11 * m.monthly_pence + m.final_month_pence, annual) << annual;
        ASSERT_GE(m.monthly_pence, 0) << annual;
        ASSERT_GE(m.final_month_pence, 0) << annual;
        ASSERT_LE(m.final_month_pence - m.monthly_pence, 11) << annual;  // within 11p of the others
        ASSERT_GE(m.final_month_pence - m.monthly_pence, -6) << annual;
        // Months 1-11 are the twelfth rounded half up whenever that leaves month 12 non-negative.
        const std::int64_t half_up = annual / 12 + (annual % 12 >= 6 ? 1 : 0);
        if (11 * half_up <= annual) {
            ASSERT_EQ(m.monthly_pence, half_up) << annual;
        }
    }
}

TEST(PaymentLines, AspirationAchievementAndPaymentDue) {
    // 2023-24 £50,000.00 achieved -> 2024-25 aspiration £41,347.51 (£3,445.63 x 11 + £3,445.58);
    // 2024-25 achievement £45,000.00: payment due £45,000.00 - £41,347.51 = £3,652.49.
    const auto lines = payment_lines_of(inputs_2024(calculated(5'000'000), 4'500'000));
    EXPECT_EQ(lines.based_on_period, "2023-24");
    EXPECT_EQ(lines.based_on_submission, "3-aaaa1");
    EXPECT_EQ(lines.based_on_pence, 5'000'000);
    EXPECT_EQ(lines.aspiration_rate, 8000);
    EXPECT_EQ(lines.aspiration_pence, 4'134'751);
    EXPECT_EQ(lines.monthly.monthly_pence, 344'563);
    EXPECT_EQ(lines.monthly.final_month_pence, 344'558);
    EXPECT_EQ(lines.achievement_pence, 4'500'000);
    EXPECT_EQ(lines.payment_due_pence, 365'249);
    EXPECT_TRUE(lines.notes.empty()) << lines.notes.front();
}

TEST(PaymentLines, ANegativePaymentDueIsARecovery) {
    // 2024-25 achievement £40,000.00 against £41,347.51 advanced: due £40,000.00 - £41,347.51 = -£1,347.51.
    const auto lines = payment_lines_of(inputs_2024(calculated(5'000'000), 4'000'000));
    EXPECT_EQ(lines.aspiration_pence, 4'134'751);
    EXPECT_EQ(lines.payment_due_pence, -134'751);
    EXPECT_TRUE(has_note(lines, "the payment due is negative")) << lines.notes.size();
    // Nothing achieved this year: all of it is recovered.
    EXPECT_EQ(payment_lines_of(inputs_2024(calculated(5'000'000), 0)).payment_due_pence, -4'134'751);
}

TEST(PaymentLines, NoPreviousSubmissionMeansNoAspiration) {
    // Decision 27: aspiration 0.00, with the reason; the payment due is the whole achievement value.
    const auto lines = payment_lines_of(inputs_2024(std::nullopt, 9'623'318));
    EXPECT_EQ(lines.based_on_period, "2023-24");
    EXPECT_FALSE(lines.based_on_submission);
    EXPECT_FALSE(lines.based_on_pence);
    EXPECT_EQ(lines.aspiration_pence, 0);
    EXPECT_EQ(lines.monthly.monthly_pence, 0);
    EXPECT_EQ(lines.monthly.final_month_pence, 0);
    EXPECT_EQ(lines.achievement_pence, 9'623'318);
    EXPECT_EQ(lines.payment_due_pence, 9'623'318);
    ASSERT_EQ(lines.notes.size(), 1u);
    EXPECT_EQ(lines.notes[0],
              "the 2024-25 aspiration is 0.00: the practice has no 2023-24 QOF submission in the ledger, and the "
              "aspiration is a share of the previous period's achievement (qof-reference.md §1.4)");
}

TEST(PaymentLines, APreviousSubmissionThatFailedGivesNoAspiration) {
    const auto lines = payment_lines_of(inputs_2024(previous_achievement_row{"3-bbbb2", "failed", std::nullopt}, 100));
    EXPECT_EQ(lines.aspiration_pence, 0);
    EXPECT_EQ(lines.based_on_submission, "3-bbbb2");
    EXPECT_FALSE(lines.based_on_pence);
    EXPECT_TRUE(has_note(lines, "current 2023-24 QOF submission 3-bbbb2 was not calculated (failed)"));
    EXPECT_EQ(lines.payment_due_pence, 100);
}

TEST(PaymentLines, NoRateOrNoPreviousPeriodInTheCatalogue) {
    auto in = inputs_2024(calculated(5'000'000), 100);
    in.aspiration_rate.reset();
    auto lines = payment_lines_of(in);
    EXPECT_EQ(lines.aspiration_pence, 0);
    EXPECT_FALSE(lines.aspiration_rate);
    EXPECT_TRUE(has_note(lines, "the catalogue gives 2024-25 no aspiration_rate"));

    in = inputs_2024(calculated(5'000'000), 100);
    in.previous_pence_per_point.reset();
    lines = payment_lines_of(in);
    EXPECT_EQ(lines.aspiration_pence, 0);
    EXPECT_EQ(lines.based_on_pence, 5'000'000);
    EXPECT_TRUE(has_note(lines, "the catalogue has no period 2023-24"));
}

TEST(PaymentLines, NoAchievementYetLeavesThePaymentDueOpen) {
    // The aspiration is known from the start of the year; the payment due only once this year's
    // submission is calculated.
    const auto lines = payment_lines_of(inputs_2024(calculated(5'000'000), std::nullopt));
    EXPECT_EQ(lines.aspiration_pence, 4'134'751);
    EXPECT_FALSE(lines.achievement_pence);
    EXPECT_FALSE(lines.payment_due_pence);
    EXPECT_TRUE(has_note(lines, "no calculated 2024-25 QOF submission yet"));
}

TEST(PreviousAchievement, OneStatementOverCurrentSubmissions) {
    const auto s = previous_achievement("A81001", "2023-24");
    EXPECT_NE(s.sql.find("FROM current_submissions"), std::string::npos);
    EXPECT_NE(s.sql.find("scheme = 'QOF'"), std::string::npos);
    ASSERT_EQ(s.params.size(), 2u);
    EXPECT_EQ(s.params[0], "A81001");
    EXPECT_EQ(s.params[1], "2023-24");
}

TEST(PreviousAchievement, RowsAreRead) {
    result r;
    r.columns = {"submission_id", "status", "payment_pence"};
    EXPECT_FALSE(previous_achievement_of(r));
    r.rows.push_back({std::string("3-aaaa1"), std::string("calculated"), std::string("5000000")});
    auto row = previous_achievement_of(r);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->submission_id, "3-aaaa1");
    EXPECT_EQ(row->payment_pence, 5'000'000);
    r.rows[0] = {std::string("3-bbbb2"), std::string("failed"), std::nullopt};
    row = previous_achievement_of(r);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, "failed");
    EXPECT_FALSE(row->payment_pence);
}

}  // namespace
}  // namespace sluice::ledger
