// Unit tests of worker/calculation.hpp and worker/rounding.hpp.
//
// Hand-worked examples use a small catalogue written by the test (test_catalogue(): round
// constants, so the arithmetic in each comment can be checked by hand); properties run over
// generated submissions against it and against the shipped data/catalogue; the realistic examples
// go from API.md's body through parse_submission to result_json with the shipped catalogue.
//
// Constants of the test period 2030-31: £100.00 a point (10000 p), national average list 10000,
// so CPI = list / 10000; national prevalence AF 2% (estimate), HYP 10%, CHOL 5%, LD 0.5%, PC 0.4%
// (final), DEP 12.5% (final), AST none. The zero-register rule (zero_register_flag) on AF, HYP,
// AST, LD and DEP, as the control table has them; not on PC (a register indicator, unflagged like
// the real PC), CHOL, VI, SMOK, BP or QIWW. Income-protected (at 2029-30, not loaded): AST005,
// AST008 and DEP004 (40% to 90%, so its achievement earns points to compare with the protected
// ones); in 2032-33, BP020.

#include "worker/calculation.hpp"
#include "worker/rounding.hpp"

#include "catalogue/catalogue.hpp"
#include "queue/submission.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::worker {
namespace {

namespace json = boost::json;

constexpr std::string_view period_2030 = R"(period = "2030-31"
[constants]
pounds_per_point = 100.00
national_average_list_size = 10000
max_points = 176
points_decimal_places = 2
pounds_decimal_places = 2

[qof]
income_protection_period = "2029-30"

[qof.groups]
AF   = { name = "Atrial fibrillation", domain = "CL", prevalence_adjusted = true, zero_register_flag = true, national_prevalence = 0.02, national_prevalence_estimate = true }
HYP  = { name = "Hypertension", domain = "CL", prevalence_adjusted = true, zero_register_flag = true, national_prevalence = 0.1, national_prevalence_estimate = false }
AST  = { name = "Asthma", domain = "CL", prevalence_adjusted = true, zero_register_flag = true }
CHOL = { name = "Cholesterol", domain = "CL", prevalence_adjusted = true, prevalence_adjusted_confirmed = false, national_prevalence = 0.05, national_prevalence_estimate = false }
LD   = { name = "Learning disability", domain = "CL", prevalence_adjusted = true, zero_register_flag = true, national_prevalence = 0.005, national_prevalence_estimate = false }
PC   = { name = "Palliative care", domain = "CL", prevalence_adjusted = true, national_prevalence = 0.004, national_prevalence_estimate = false }
BP   = { name = "Blood pressure", domain = "PH", prevalence_adjusted = false }
VI   = { name = "Vaccination and immunisation", domain = "PH", prevalence_adjusted = false }
SMOK = { name = "Smoking", domain = "PH", prevalence_adjusted = false, prevalence_adjusted_confirmed = false }
QIWW = { name = "Workforce and wellbeing", domain = "QI", prevalence_adjusted = false }
DEP  = { name = "Depression", domain = "CL", prevalence_adjusted = true, zero_register_flag = true, national_prevalence = 0.125, national_prevalence_estimate = false }

[qof.indicators]
AF001   = { group = "AF",   kind = "register",   points = 5 }
AF006   = { group = "AF",   kind = "percentage", points = 12, lower_threshold = 40, upper_threshold = 90, thresholds_confirmed = true }
HYP003  = { group = "HYP",  kind = "percentage", points = 10, lower_threshold = 50, upper_threshold = 90, thresholds_confirmed = true }
HYP008  = { group = "HYP",  kind = "percentage", points = 10, lower_threshold = 40, upper_threshold = 77, thresholds_confirmed = false }
HYP009  = { group = "HYP",  kind = "percentage", points = 5,  lower_threshold = 40, thresholds_confirmed = false }
AST005  = { group = "AST",  kind = "register",   points = 4,  income_protected = true }
AST007  = { group = "AST",  kind = "percentage", points = 20, lower_threshold = 45, upper_threshold = 70, thresholds_confirmed = true }
AST008  = { group = "AST",  kind = "percentage", points = 6,  thresholds_confirmed = false, income_protected = true }
CHOL003 = { group = "CHOL", kind = "percentage", points = 10, lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true }
LD004   = { group = "LD",   kind = "register",   points = 4 }
PC001   = { group = "PC",   kind = "register",   points = 3 }
VI001   = { group = "VI",   kind = "percentage", points = 18, lower_threshold = 89, upper_threshold = 96, thresholds_confirmed = true }
SMOK002 = { group = "SMOK", kind = "percentage", points = 5,  lower_threshold = 50, upper_threshold = 90, thresholds_confirmed = true }
BP002   = { group = "BP",   kind = "percentage", points = 15, lower_threshold = 50, upper_threshold = 90, thresholds_confirmed = true }
BP010   = { group = "BP",   kind = "percentage", points = 1,  lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true }
BP020   = { group = "BP",   kind = "percentage", points = 1,  lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true }
BP030   = { group = "BP",   kind = "percentage", points = 10, lower_threshold = 57.5, upper_threshold = 82.5, thresholds_confirmed = true }
QI013   = { group = "QIWW", kind = "yes_no",     points = 27 }
DEP004  = { group = "DEP",  kind = "percentage", points = 10, lower_threshold = 40, upper_threshold = 90, thresholds_confirmed = true, income_protected = true }

[services.LDHC]
name = "Learning disability health check"
[services.LDHC.items]
CHECK = { name = "Completed check", fee_gbp = 140.00, cap_register = "LD" }

[services.VACC]
name = "Vaccination"
[services.VACC.items]
TENTH = { name = "Ten pence", fee_gbp = 0.10 }
FIFTH = { name = "Twenty pence", fee_gbp = 0.20 }
DOSE  = { name = "Dose", fee_gbp = 10.06 }
HALF  = { name = "Fifty pence", fee_gbp = 0.50 }
)";

// Half pennies: £100.01 a point.
constexpr std::string_view period_2031 = R"(period = "2031-32"
[constants]
pounds_per_point = 100.01
national_average_list_size = 10000
max_points = 2
[qof.groups]
BP  = { name = "Blood pressure", domain = "PH", prevalence_adjusted = false }
HYP = { name = "Hypertension", domain = "CL", prevalence_adjusted = true, national_prevalence = 0.1, national_prevalence_estimate = false }
[qof.indicators]
BP010  = { group = "BP",  kind = "percentage", points = 1, lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true }
HYP010 = { group = "HYP", kind = "percentage", points = 1, lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true }
)";

// Coarse rounding: points to 1 place, money to the pound.
constexpr std::string_view period_2032 = R"(period = "2032-33"
[constants]
pounds_per_point = 100.00
national_average_list_size = 10000
max_points = 2
points_decimal_places = 1
pounds_decimal_places = 0
[qof]
income_protection_period = "2029-30"
[qof.groups]
BP = { name = "Blood pressure", domain = "PH", prevalence_adjusted = false }
[qof.indicators]
BP010 = { group = "BP", kind = "percentage", points = 1, lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true }
BP020 = { group = "BP", kind = "percentage", points = 1, lower_threshold = 0, upper_threshold = 100, thresholds_confirmed = true, income_protected = true }
[services.VACC]
name = "Vaccination"
[services.VACC.items]
DOSE = { name = "Dose", fee_gbp = 10.06 }
HALF = { name = "Fifty pence", fee_gbp = 0.50 }
)";

// The test catalogue, written to a private directory, loaded once, the directory removed.
const catalogue::catalogue& test_catalogue()
{
    static const catalogue::catalogue loaded = [] {
        const auto dir = std::filesystem::path(::testing::TempDir()) / ("sluice-calculation-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        const std::pair<std::string_view, std::string_view> files[] = {
            {"2030-31.toml", period_2030}, {"2031-32.toml", period_2031}, {"2032-33.toml", period_2032}};
        for (const auto& [name, text] : files) std::ofstream(dir / name, std::ios::binary) << text;
        auto result = catalogue::load_catalogue(dir);
        std::filesystem::remove_all(dir);
        return result;
    }();
    return loaded;
}

const catalogue::period_catalogue& test_period(std::string_view name = "2030-31")
{
    return *test_catalogue().period(name);
}

const catalogue::catalogue& shipped()
{
    static const catalogue::catalogue loaded = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return loaded;
}

queue::qof_item item(std::string code, std::uint64_t numerator, std::uint64_t denominator)
{
    queue::qof_item result;
    result.code = std::move(code);
    result.numerator = numerator;
    result.denominator = denominator;
    return result;
}

queue::submission qof(std::uint64_t list_size, std::vector<queue::qof_item> items,
                      std::vector<queue::register_size> registers = {}, std::string period = "2030-31")
{
    queue::submission s;
    s.practice = "A81001";
    s.period = std::move(period);
    s.scheme = "QOF";
    s.list_size = list_size;
    s.qof_items = std::move(items);
    s.registers = std::move(registers);
    return s;
}

queue::submission enhanced(std::string scheme, std::vector<queue::service_count> items, std::string period = "2030-31")
{
    queue::submission s;
    s.practice = "A81001";
    s.period = std::move(period);
    s.scheme = std::move(scheme);
    s.list_size = 10000;
    s.service_items = std::move(items);
    return s;
}

calculation_result calc(const queue::submission& s)
{
    return calculate(s, test_period(s.period));
}

// One indicator's result (the only item, unless told).
const indicator_result& only(const calculation_result& r)
{
    EXPECT_EQ(r.indicators.size(), 1u);
    return r.indicators.front();
}

bool has_note(const std::vector<std::string>& notes, std::string_view part)
{
    return std::any_of(notes.begin(), notes.end(), [&](const std::string& note) { return note.find(part) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& notes)
{
    std::string text;
    for (const auto& note : notes) text += "[" + note + "] ";
    return text;
}

// API.md's "Money and numbers": every points and payment_gbp in the text has exactly two
// decimals and achievement four (or null), never an exponent. Returns how many numbers it checked.
std::size_t check_number_format(const std::string& text)
{
    static const std::regex number(R"re("(points|payment_gbp|achievement)":([^,}\]]*))re");
    static const std::regex two_decimals(R"re([0-9]+\.[0-9]{2})re");
    static const std::regex four_decimals(R"re([0-9]+\.[0-9]{4}|null)re");
    std::size_t checked = 0;
    for (auto at = std::sregex_iterator(text.begin(), text.end(), number); at != std::sregex_iterator(); ++at) {
        const std::string key = (*at)[1];
        const std::string value = (*at)[2];
        EXPECT_TRUE(std::regex_match(value, key == "achievement" ? four_decimals : two_decimals))
            << key << ": " << value << " in " << text;
        ++checked;
    }
    return checked;
}

std::int64_t units(double points, int places = 2)
{
    return to_units(points, places);
}

// ---------------------------------------------------------------------------------------------
// rounding.hpp

TEST(Rounding, DivideHalfUpRoundsHalvesUpAndTheRestToNearest)
{
    EXPECT_EQ(divide_half_up(10001, 2), 5001);  // 5000.5
    EXPECT_EQ(divide_half_up(9999, 2), 5000);   // 4999.5
    EXPECT_EQ(divide_half_up(49999, 10000), 5);  // 4.9999
    EXPECT_EQ(divide_half_up(44999, 10000), 4);  // 4.4999
    EXPECT_EQ(divide_half_up(0, 7), 0);
    EXPECT_EQ(divide_half_up(14, 7), 2);
}

TEST(Rounding, FixedDecimalWritesExactlyThePlaces)
{
    EXPECT_EQ(fixed_decimal(9623318, 2), "96233.18");
    EXPECT_EQ(fixed_decimal(5, 2), "0.05");
    EXPECT_EQ(fixed_decimal(0, 2), "0.00");
    EXPECT_EQ(fixed_decimal(1200, 2), "12.00");
    EXPECT_EQ(fixed_decimal(12, 0), "12");
    EXPECT_EQ(fixed_decimal(7, 4), "0.0007");
    EXPECT_EQ(fixed_decimal(-5, 2), "-0.05");
    EXPECT_EQ(fixed_decimal(std::numeric_limits<std::int64_t>::min(), 2), "-92233720368547758.08");
}

TEST(Rounding, ToUnitsReadsBackTheDecimalADoubleWasReadFrom)
{
    EXPECT_EQ(to_units(0.1 + 0.2, 2), 30);  // 0.30000000000000004
    EXPECT_EQ(to_units(57.5, threshold_decimal_places), 57500000);
    EXPECT_EQ(to_units(0.021, prevalence_decimal_places), 21000000);  // 0.021 is 0.0210000000000000013...
    EXPECT_EQ(to_units(1.005, 2), 100);  // the double below 1.005: to_units reads, never rounds a figure
    EXPECT_EQ(to_units(2711.43, 2), 271143);
}

// ---------------------------------------------------------------------------------------------
// Points on the linear scale, payment = points x £100 x CPI x APDF.

// AF006: 12 points, 40% to 90%. List 10000 (CPI 1), AF register 200: prevalence 2% = national
// 2%, APDF 1. So payment = points x £100.
struct threshold_case {
    std::uint64_t numerator;  // of 200
    double points;
    std::int64_t pence;
};

class AfThresholds : public ::testing::TestWithParam<threshold_case> {};

TEST_P(AfThresholds, ZeroAtOrBelowLowerMaximumAtOrAboveUpperLinearBetween)
{
    const auto& c = GetParam();
    const auto r = calc(qof(10000, {item("AF006", c.numerator, 200)}, {{"AF", 200}}));
    const auto& af = only(r);
    EXPECT_EQ(af.points_hundredths, units(c.points));
    EXPECT_EQ(af.payment_pence, c.pence);
    ASSERT_TRUE(af.achievement);
    EXPECT_DOUBLE_EQ(*af.achievement, static_cast<double>(c.numerator) / 200.0);
    EXPECT_EQ(r.points_hundredths, units(c.points));
    EXPECT_EQ(r.payment_pence, c.pence);
}

INSTANTIATE_TEST_SUITE_P(Calculation, AfThresholds,
                         ::testing::Values(threshold_case{0, 0.0, 0},          // 0%
                                           threshold_case{79, 0.0, 0},         // 39.5%: below the lower
                                           threshold_case{80, 0.0, 0},         // 40%: at the lower
                                           threshold_case{81, 0.12, 1200},     // 40.5%: 12 x 0.5/50 = 0.12; £12.00
                                           threshold_case{130, 6.0, 60000},    // 65%: 12 x 25/50 = 6; £600.00
                                           threshold_case{179, 11.88, 118800}, // 89.5%: 12 x 49.5/50 = 11.88
                                           threshold_case{180, 12.0, 120000},  // 90%: at the upper; £1200.00
                                           threshold_case{190, 12.0, 120000},  // 95%: above the upper
                                           threshold_case{200, 12.0, 120000})); // 100%

TEST(Calculation, PointsBetweenThresholdsRoundHalfUpToTheCataloguePlaces)
{
    // AF006 7/9 = 77.78%: 12 x (700/9 - 40)/50 = 12 x 340/450 = 9.0666... -> 9.07.
    EXPECT_EQ(only(calc(qof(10000, {item("AF006", 7, 9)}, {{"AF", 200}}))).points_hundredths, 907);
    // BP010 (1 point, 0% to 100%) 1/8 = 12.5%: 0.125 points -> 0.13 (half up); £13.00 at CPI 1.
    const auto half = calc(qof(10000, {item("BP010", 1, 8)}));
    EXPECT_EQ(only(half).points_hundredths, 13);
    EXPECT_EQ(only(half).payment_pence, 1300);
    // BP010 1/200 = 0.5%: 0.005 -> 0.01. 1/201 = 0.4975%: 0.004975 -> 0.00.
    EXPECT_EQ(only(calc(qof(10000, {item("BP010", 1, 200)}))).points_hundredths, 1);
    EXPECT_EQ(only(calc(qof(10000, {item("BP010", 1, 201)}))).points_hundredths, 0);
}

TEST(Calculation, DecimalThresholdsAreComparedExactly)
{
    // BP030: 10 points, 57.5% to 82.5%. 23/40 = 57.5% exactly: at the lower, 0 points.
    // 33/40 = 82.5% exactly: at the upper, 10 points. 7/10 = 70%: 10 x 12.5/25 = 5.00.
    EXPECT_EQ(only(calc(qof(10000, {item("BP030", 23, 40)}))).points_hundredths, 0);
    EXPECT_EQ(only(calc(qof(10000, {item("BP030", 33, 40)}))).points_hundredths, 1000);
    EXPECT_EQ(only(calc(qof(10000, {item("BP030", 7, 10)}))).points_hundredths, 500);
    // Just above the lower with a huge denominator: 575000000000001/1e15 = 57.5000000000001%:
    // 10 x 1e-13/25 = 4e-14 points -> 0.00, but not "at or below the lower" (no exact-equality slip).
    EXPECT_EQ(only(calc(qof(10000, {item("BP030", 575000000000001, 1000000000000000)}))).points_hundredths, 0);
    // Just below the upper: 824999999999999/1e15: 10 x (25 - 1e-13)/25 -> 10.00 after rounding.
    EXPECT_EQ(only(calc(qof(10000, {item("BP030", 824999999999999, 1000000000000000)}))).points_hundredths, 1000);
}

TEST(Calculation, ZeroDenominatorEarnsNothingAndSaysSo)
{
    // AF006 0/0: no achievement (JSON null), 0 points, £0, a note.
    const auto r = calc(qof(10000, {item("AF006", 0, 0)}, {{"AF", 200}}));
    const auto& af = only(r);
    EXPECT_FALSE(af.achievement);
    EXPECT_EQ(af.points_hundredths, 0);
    EXPECT_EQ(af.payment_pence, 0);
    EXPECT_TRUE(has_note(af.notes, "denominator 0")) << joined(af.notes);
    EXPECT_NE(result_json(r).find(R"("achievement":null)"), std::string::npos);
}

TEST(Calculation, CpiAloneForAGroupNotPrevalenceAdjusted)
{
    // BP002 (PH, no APDF): 15 points, 50% to 90%; 70/100 = 70%: 15 x 20/40 = 7.50 points.
    // List 12000: CPI 12000/10000 = 1.2. £ = 7.50 x £100 x 1.2 = £900.00. No register needed.
    const auto r = calc(qof(12000, {item("BP002", 70, 100)}));
    EXPECT_EQ(only(r).points_hundredths, 750);
    EXPECT_EQ(only(r).payment_pence, 90000);
    EXPECT_TRUE(only(r).notes.empty()) << joined(only(r).notes);
    EXPECT_TRUE(r.notes.empty()) << joined(r.notes);
}

TEST(Calculation, CpiTimesApdfForAPrevalenceAdjustedGroup)
{
    // HYP003: 10 points, 50% to 90%; 90/100: 10 points. List 8000: CPI 0.8. HYP register 1200:
    // prevalence 15%, national 10% (final): APDF 1.5. £ = 10 x £100 x 0.8 x 1.5 = £1200.00.
    const auto r = calc(qof(8000, {item("HYP003", 90, 100)}, {{"HYP", 1200}}));
    EXPECT_EQ(only(r).payment_pence, 120000);
    EXPECT_TRUE(r.notes.empty()) << joined(r.notes);  // a final national prevalence: nothing to say

    // 77/100 = 77%: 10 x 27/40 = 6.75 points. List 9999: CPI 0.9999; register 1234: APDF
    // (1234/9999)/0.1 = 1.23412...; CPI x APDF = 1234/(10000 x 0.1) = 1.234 exactly.
    // £ = 6.75 x 100 x 1.234 = £832.95 (no rounding from the two factors: they are never rounded).
    const auto odd = calc(qof(9999, {item("HYP003", 77, 100)}, {{"HYP", 1234}}));
    EXPECT_EQ(only(odd).points_hundredths, 675);
    EXPECT_EQ(only(odd).payment_pence, 83295);
}

TEST(Calculation, NationalPrevalenceEstimateIsUsedAndSaidOncePerGroup)
{
    // AF006 and AF001 with AF register 300, list 10000: prevalence 3%, national 2% (estimate):
    // APDF 1.5. AF006 180/200 = 90%: 12 points; £ = 12 x 100 x 1 x 1.5 = £1800.00.
    // AF001: register > 0: 5 points; £ = 5 x 100 x 1.5 = £750.00. Total 17.00 points, £2550.00.
    const auto r = calc(qof(10000, {item("AF006", 180, 200), item("AF001", 300, 300)}, {{"AF", 300}}));
    ASSERT_EQ(r.indicators.size(), 2u);
    EXPECT_EQ(r.indicators[0].payment_pence, 180000);
    EXPECT_EQ(r.indicators[1].payment_pence, 75000);
    EXPECT_EQ(r.points_hundredths, 1700);
    EXPECT_EQ(r.payment_pence, 255000);
    ASSERT_EQ(r.notes.size(), 1u) << joined(r.notes);
    EXPECT_EQ(r.notes[0], "AF: national prevalence 2% is the catalogue's estimate, not the final national figure: "
                          "AF payments are provisional");
}

TEST(Calculation, HalfPennyRoundsUpWithCpiTimesApdf)
{
    // AF006 961/2400 = 40.041666...%: 12 x (1/24)/50 = 0.01 points exactly. List 12345, AF
    // register 321: CPI x APDF = 321/(10000 x 0.02) = 1.605. £ = 0.01 x 100 x 1.605 = £1.605:
    // 160.5 p -> 161 p.
    const auto tiny = calc(qof(12345, {item("AF006", 961, 2400)}, {{"AF", 321}}));
    EXPECT_EQ(only(tiny).points_hundredths, 1);
    EXPECT_EQ(only(tiny).payment_pence, 161);
    // AF006 120/140 = 85.714%: 12 x 45.714/50 = 10.9714 -> 10.97. £ = 10.97 x 100 x 1.605 =
    // £1760.685 -> £1760.69.
    const auto api = calc(qof(12345, {item("AF006", 120, 140)}, {{"AF", 321}}));
    EXPECT_EQ(only(api).points_hundredths, 1097);
    EXPECT_EQ(only(api).payment_pence, 176069);
}

TEST(Calculation, HalfPennyRoundsUpAndJustBelowRoundsDown)
{
    // 2031-32: £100.01 a point. BP010 100/100: 1.00 point.
    // List 5000: CPI 0.5: £ = 100.01 x 0.5 = £50.005 -> £50.01 (5000.5 p -> 5001 p).
    // List 4999: £ = 100.01 x 0.4999 = £49.994999 -> £49.99. List 15000: 15001.5 p -> 15002 p.
    EXPECT_EQ(only(calc(qof(5000, {item("BP010", 100, 100)}, {}, "2031-32"))).payment_pence, 5001);
    EXPECT_EQ(only(calc(qof(4999, {item("BP010", 100, 100)}, {}, "2031-32"))).payment_pence, 4999);
    EXPECT_EQ(only(calc(qof(15000, {item("BP010", 100, 100)}, {}, "2031-32"))).payment_pence, 15002);
    // HYP010 (adjusted, national 10%) 1 point, list 5000 (CPI 0.5), register 500 (prevalence 10%,
    // APDF 1): £ = 100.01 x 0.5 x 1 = £50.005 -> £50.01.
    EXPECT_EQ(only(calc(qof(5000, {item("HYP010", 1, 1)}, {{"HYP", 500}}, "2031-32"))).payment_pence, 5001);
}

TEST(Calculation, NoBinaryFloatSurprisesInPointsOrPennies)
{
    // BP010 10/100: 0.10 points, £10.00; BP020 20/100: 0.20 points, £20.00 (list 10000, CPI 1).
    // Totals: 0.30 points (not 0.30000000000000004), £30.00.
    const auto r = calc(qof(10000, {item("BP010", 10, 100), item("BP020", 20, 100)}));
    EXPECT_EQ(r.points_hundredths, 30);
    EXPECT_EQ(r.payment_pence, 3000);
    EXPECT_TRUE(result_json(r).starts_with(R"({"points":0.30,"payment_gbp":30.00,)")) << result_json(r);
    // Fees £0.10 + £0.20 = £0.30; 3 doses at £10.06 = £30.18 (10.06 x 3 in doubles is 30.180000000000003).
    const auto fees = calc(enhanced("VACC", {{"TENTH", 1}, {"FIFTH", 1}, {"DOSE", 3}}));
    ASSERT_EQ(fees.services.size(), 3u);
    EXPECT_EQ(fees.services[0].payment_pence, 10);
    EXPECT_EQ(fees.services[1].payment_pence, 20);
    EXPECT_EQ(fees.services[2].payment_pence, 3018);
    EXPECT_EQ(fees.payment_pence, 3048);
    EXPECT_NE(result_json(fees).find(R"("payment_gbp":30.48,)"), std::string::npos) << result_json(fees);
    EXPECT_NE(result_json(calc(enhanced("VACC", {{"TENTH", 1}, {"FIFTH", 1}}))).find(R"("payment_gbp":0.30)"),
              std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Registers (decisions 2, 3, 4, 10).

TEST(Calculation, RegisterIndicatorPaysAllWithARegister)
{
    // AF001 (5 points) with AF register 200, list 10000: prevalence 2% = national: APDF 1.
    // £ = 5 x £100 x 1 x 1 = £500.00. The item's own numbers do not decide (0/0 here).
    const auto r = calc(qof(10000, {item("AF001", 0, 0)}, {{"AF", 200}}));
    EXPECT_EQ(only(r).points_hundredths, 500);
    EXPECT_EQ(only(r).payment_pence, 50000);
    EXPECT_FALSE(only(r).achievement);
    EXPECT_FALSE(has_note(only(r).notes, "denominator 0")) << joined(only(r).notes);
}

TEST(Calculation, RegisterIndicatorWithoutARegisterEarnsNothing)
{
    // AF001 without an AF entry in registers: 0 points, £0, said on the indicator.
    const auto r = calc(qof(10000, {item("AF001", 200, 200)}));
    EXPECT_EQ(only(r).points_hundredths, 0);
    EXPECT_EQ(only(r).payment_pence, 0);
    EXPECT_TRUE(has_note(only(r).notes, "no AF register in the submission: register indicator AF001 earns no points"))
        << joined(only(r).notes);
}

TEST(Calculation, ZeroRegisterMakesTheWholeGroupUnearnable)
{
    // AF (zero_register_flag) register 0: AF001 and AF006 (even at 100%) earn 0 points.
    const auto r = calc(qof(10000, {item("AF001", 0, 0), item("AF006", 10, 10)}, {{"AF", 0}}));
    ASSERT_EQ(r.indicators.size(), 2u);
    for (const auto& indicator : r.indicators) {
        EXPECT_EQ(indicator.points_hundredths, 0) << indicator.code;
        EXPECT_EQ(indicator.payment_pence, 0) << indicator.code;
        EXPECT_TRUE(has_note(indicator.notes, "the AF register is 0: no points are earnable for the group"))
            << joined(indicator.notes);
    }
    EXPECT_EQ(r.payment_pence, 0);
}

TEST(Calculation, ZeroRegisterOfAnUnflaggedGroupChangesNothing)
{
    // Decision 3: registers of 0 for VI, SMOK, BP and QIWW (no zero_register_flag), list 10000
    // (CPI 1), none of them prevalence-adjusted:
    //   VI001 110/120 = 91.667% (89% to 96%): 18 x 2.6667/7 = 6.857 -> 6.86 points; £686.00.
    //   SMOK002 70/100 (50% to 90%): 5 x 20/40 = 2.50 points; £250.00.
    //   BP002 70/100 (50% to 90%): 15 x 20/40 = 7.50 points; £750.00.
    //   QI013 yes: 27.00 points; £2700.00.
    // Total 43.86 points, £4386.00: exactly what the same body earns without the zero registers.
    const std::vector<queue::qof_item> items = {item("VI001", 110, 120), item("SMOK002", 70, 100), item("BP002", 70, 100),
                                                item("QI013", 1, 1)};
    const auto r = calc(qof(10000, items, {{"VI", 0}, {"SMOK", 0}, {"BP", 0}, {"QIWW", 0}}));
    ASSERT_EQ(r.indicators.size(), 4u);
    EXPECT_EQ(r.indicators[0].points_hundredths, 686);
    EXPECT_EQ(r.indicators[0].payment_pence, 68600);
    EXPECT_EQ(r.indicators[1].points_hundredths, 250);
    EXPECT_EQ(r.indicators[1].payment_pence, 25000);
    EXPECT_EQ(r.indicators[2].points_hundredths, 750);
    EXPECT_EQ(r.indicators[2].payment_pence, 75000);
    EXPECT_EQ(r.indicators[3].points_hundredths, 2700);
    EXPECT_EQ(r.indicators[3].payment_pence, 270000);
    EXPECT_EQ(r.points_hundredths, 4386);
    EXPECT_EQ(r.payment_pence, 438600);
    for (const auto& indicator : r.indicators) {
        EXPECT_FALSE(has_note(indicator.notes, "register is 0")) << indicator.code << ": " << joined(indicator.notes);
    }
    const auto without = calc(qof(10000, items));
    EXPECT_EQ(without.points_hundredths, r.points_hundredths);
    EXPECT_EQ(without.payment_pence, r.payment_pence);
}

TEST(Calculation, RegisterIndicatorOfAnUnflaggedGroupNeedsARegisterAboveZero)
{
    // PC001 (register indicator, 3 points; PC has no zero_register_flag, as in the control table):
    // register 0 earns 0 by decision 2, with the indicator's own note, not the group's.
    const auto zero = calc(qof(10000, {item("PC001", 0, 0)}, {{"PC", 0}}));
    EXPECT_EQ(only(zero).points_hundredths, 0);
    EXPECT_EQ(only(zero).payment_pence, 0);
    ASSERT_EQ(only(zero).notes.size(), 1u) << joined(only(zero).notes);
    EXPECT_EQ(only(zero).notes[0], "the PC register is 0: register indicator PC001 earns no points");
    // Register 30, list 10000: 3.00 points; APDF (30/10000)/0.004 = 0.75: £ = 3 x 100 x 0.75 = £225.00.
    const auto kept = calc(qof(10000, {item("PC001", 0, 0)}, {{"PC", 30}}));
    EXPECT_EQ(only(kept).points_hundredths, 300);
    EXPECT_EQ(only(kept).payment_pence, 22500);
}

TEST(Calculation, MissingRegisterForAPrevalenceAdjustedGroupPaysNothing)
{
    // AF006 180/200: 12 points (the achievement stands), but no AF register: no APDF, £0.
    const auto r = calc(qof(10000, {item("AF006", 180, 200)}));
    EXPECT_EQ(only(r).points_hundredths, 1200);
    EXPECT_EQ(only(r).payment_pence, 0);
    EXPECT_TRUE(has_note(only(r).notes, "no AF register in the submission: not paid")) << joined(only(r).notes);
    ASSERT_EQ(r.notes.size(), 1u) << joined(r.notes);
    EXPECT_EQ(r.notes[0], "AF: no register in the submission: AF indicators are not paid (the prevalence adjustment "
                          "needs the register size)");
    EXPECT_EQ(r.points_hundredths, 1200);
    EXPECT_EQ(r.payment_pence, 0);
}

TEST(Calculation, RegisterLargerThanTheListIsUsedAndNoted)
{
    // HYP003 90/100: 10 points; list 1000, HYP register 2000: CPI 0.1, APDF (2000/1000)/0.1 = 20.
    // £ = 10 x 100 x 0.1 x 20 = £2000.00.
    const auto r = calc(qof(1000, {item("HYP003", 90, 100)}, {{"HYP", 2000}}));
    EXPECT_EQ(only(r).payment_pence, 200000);
    EXPECT_TRUE(has_note(r.notes, "HYP: register 2000 is larger than the list size 1000")) << joined(r.notes);
}

TEST(Calculation, MissingNationalPrevalenceTakesApdfAsOne)
{
    // AST007: 20 points, 45% to 70%; 70/100: 20 points. AST has no national prevalence: APDF 1
    // whatever the register. List 10000: £ = 20 x 100 x 1 x 1 = £2000.00, with register 700 or 1.
    for (const std::uint64_t size : {700u, 1u}) {
        const auto r = calc(qof(10000, {item("AST007", 70, 100)}, {{"AST", size}}));
        EXPECT_EQ(only(r).payment_pence, 200000);
        ASSERT_EQ(r.notes.size(), 1u) << joined(r.notes);
        EXPECT_EQ(r.notes[0], "AST: the catalogue has no national prevalence for 2030-31: APDF taken as 1 (the practice "
                              "at national prevalence); AST payments are provisional");
    }
    // The register is still required (decision 4).
    EXPECT_EQ(only(calc(qof(10000, {item("AST007", 70, 100)}))).payment_pence, 0);
}

TEST(Calculation, UnconfirmedPrevalenceAdjustmentIsAppliedAndNoted)
{
    // CHOL003: 10 points, 0% to 100%; 50/100: 5.00 points. CHOL register 500, list 10000:
    // prevalence 5% = national 5%: APDF 1. £ = 5 x 100 = £500.00.
    const auto r = calc(qof(10000, {item("CHOL003", 50, 100)}, {{"CHOL", 500}}));
    EXPECT_EQ(only(r).payment_pence, 50000);
    EXPECT_TRUE(has_note(r.notes, "CHOL: the catalogue marks its prevalence adjustment unconfirmed; adjusted here"))
        << joined(r.notes);
}

TEST(Calculation, UnconfirmedAbsenceOfAdjustmentIsFollowedAndNoted)
{
    // SMOK: not adjusted, flagged unconfirmed (as the shipped CHOL is). SMOK002 90/100: 5.00
    // points; list 8000 (CPI 0.8), no register needed: £ = 5 x 100 x 0.8 = £400.00, and the result
    // says once that the adjustment is unconfirmed.
    const auto r = calc(qof(8000, {item("SMOK002", 90, 100)}));
    EXPECT_EQ(only(r).points_hundredths, 500);
    EXPECT_EQ(only(r).payment_pence, 40000);
    ASSERT_EQ(r.notes.size(), 1u) << joined(r.notes);
    EXPECT_EQ(r.notes[0], "SMOK: the catalogue marks its prevalence adjustment unconfirmed; not adjusted here");
}

// ---------------------------------------------------------------------------------------------
// Thresholds, QI, income protection (decisions 1, 6, 8).

TEST(Calculation, UnconfirmedThresholdsAreUsedWithANoteNamingTheIndicator)
{
    // HYP008: 10 points, 40% to 77% (unconfirmed). 60/100: 10 x 20/37 = 5.4054 -> 5.41 points.
    // HYP register 1000, list 10000: APDF 1. £ = 5.41 x 100 = £541.00.
    const auto r = calc(qof(10000, {item("HYP008", 60, 100)}, {{"HYP", 1000}}));
    EXPECT_EQ(only(r).points_hundredths, 541);
    EXPECT_EQ(only(r).payment_pence, 54100);
    ASSERT_EQ(only(r).notes.size(), 1u) << joined(only(r).notes);
    EXPECT_EQ(only(r).notes[0], "thresholds of HYP008 (lower 40%, upper 77%) are unconfirmed in the catalogue: points provisional");
}

TEST(Calculation, MissingThresholdsAreNeverInvented)
{
    // HYP009 has a lower threshold only: 90/100 earns 0 points, said.
    const auto hyp = calc(qof(10000, {item("HYP009", 90, 100)}, {{"HYP", 1000}}));
    EXPECT_EQ(only(hyp).points_hundredths, 0);
    EXPECT_TRUE(has_note(only(hyp).notes, "no upper threshold for HYP009")) << joined(only(hyp).notes);
    // AST008 has none (and is income-protected).
    const auto ast = calc(qof(10000, {item("AST008", 90, 100)}, {{"AST", 1000}}));
    EXPECT_EQ(only(ast).points_hundredths, 0);
    EXPECT_TRUE(has_note(only(ast).notes, "no lower or upper threshold for AST008")) << joined(only(ast).notes);
    EXPECT_TRUE(has_note(only(ast).notes, "income-protected")) << joined(only(ast).notes);
}

TEST(Calculation, QualityImprovementIsYesWhenTheNumeratorIsPositive)
{
    // QI013 (27 points, QI: no APDF), list 10000 (CPI 1): yes (1/1) = 27 points, £2700.00;
    // no (0/1) = 0, said; 5/7 is yes too.
    const auto yes = calc(qof(10000, {item("QI013", 1, 1)}));
    EXPECT_EQ(only(yes).points_hundredths, 2700);
    EXPECT_EQ(only(yes).payment_pence, 270000);
    EXPECT_TRUE(yes.notes.empty()) << joined(yes.notes);
    const auto no = calc(qof(10000, {item("QI013", 0, 1)}));
    EXPECT_EQ(only(no).points_hundredths, 0);
    EXPECT_TRUE(has_note(only(no).notes, "answered no")) << joined(only(no).notes);
    EXPECT_EQ(only(calc(qof(10000, {item("QI013", 5, 7)}))).points_hundredths, 2700);
}

TEST(Calculation, IncomeProtectedIndicatorsWithoutTheProtectionInputAreCalculatedAndNoted)
{
    // Decision 8 (the two-argument calculate: nobody looked the protected points up).
    // AST005 (register, 4 points, income-protected), AST register 50, list 10000: 4 points;
    // AST has no national prevalence: APDF 1. £ = 4 x 100 = £400.00.
    const auto r = calc(qof(10000, {item("AST005", 0, 0)}, {{"AST", 50}}));
    EXPECT_EQ(only(r).points_hundredths, 400);
    EXPECT_EQ(only(r).payment_pence, 40000);
    EXPECT_TRUE(has_note(only(r).notes, "income-protected: the practice's protected points were not supplied to this "
                                        "calculation; these points are from this submission's achievement, not protected"))
        << joined(only(r).notes);
}

// ---------------------------------------------------------------------------------------------
// Income protection with the practice's record (R7; decisions 20-23).

calculation_inputs protected_by(std::vector<protected_points> points, std::string submission_id = "7-prior")
{
    calculation_inputs inputs;
    inputs.protection = protection_record{true, std::move(submission_id), std::move(points)};
    return inputs;
}

calculation_inputs no_record()
{
    calculation_inputs inputs;
    inputs.protection = protection_record{};
    return inputs;
}

calculation_result calc(const queue::submission& s, const calculation_inputs& inputs)
{
    return calculate(s, test_period(s.period), inputs);
}

TEST(IncomeProtection, PointsAreLiftedToTheRecordedPoints)
{
    // DEP004 (10 points, 40% to 90%, protected) at 60/100: 10 x (60 - 40)/(90 - 40) = 4.00 points
    // earned; the 2029-30 record has 10.00, so 10.00 points. List 8000, DEP register 1200, national
    // prevalence 12.5%: CPI = 8000/10000 = 0.8, APDF = (1200/8000)/0.125 = 1.2.
    // £ = 10.00 x £100.00 x 0.8 x 1.2 = £960.00 (this period's pounds, CPI and APDF).
    const auto body = qof(8000, {item("DEP004", 60, 100)}, {{"DEP", 1200}});
    const auto unprotected = calc(body);
    EXPECT_EQ(only(unprotected).points_hundredths, 400);
    EXPECT_EQ(only(unprotected).payment_pence, 38400);  // 4.00 x 100 x 0.8 x 1.2 = £384.00
    const auto r = calc(body, protected_by({{"DEP004", 1000}}));
    EXPECT_EQ(only(r).points_hundredths, 1000);
    EXPECT_EQ(only(r).payment_pence, 96000);
    EXPECT_EQ(r.points_hundredths, 1000);
    EXPECT_EQ(r.payment_pence, 96000);
    ASSERT_EQ(only(r).notes.size(), 1u) << joined(only(r).notes);
    EXPECT_EQ(only(r).notes[0], "income-protected: points fixed at the practice's 2029-30 points (10.00, submission "
                                "7-prior); this submission's achievement would earn 4.00");
    EXPECT_TRUE(r.notes.empty()) << joined(r.notes);
    EXPECT_EQ(result_json(r), R"({"points":10.00,"payment_gbp":960.00,"indicators":[{"code":"DEP004","achievement":)"
                              R"(0.6000,"points":10.00,"payment_gbp":960.00,"notes":["income-protected: points fixed )"
                              R"(at the practice's 2029-30 points (10.00, submission 7-prior); this submission's )"
                              R"(achievement would earn 4.00"]}],"services":[],"notes":[]})");
}

TEST(IncomeProtection, PointsAreHeldDownToTheRecordedPoints)
{
    // DEP004 at 85/100: 10 x 45/50 = 9.00 points earned; the record has 6.50: 6.50 points.
    // List 8000, DEP register 1200: £ = 6.50 x £100.00 x 0.8 x 1.2 = £624.00.
    const auto r = calc(qof(8000, {item("DEP004", 85, 100)}, {{"DEP", 1200}}), protected_by({{"DEP004", 650}}));
    EXPECT_EQ(only(r).points_hundredths, 650);
    EXPECT_EQ(only(r).payment_pence, 62400);
    EXPECT_TRUE(has_note(only(r).notes, "(6.50, submission 7-prior); this submission's achievement would earn 9.00"))
        << joined(only(r).notes);
    // Pounds follow this year's list and register: list 5000, register 1000: CPI 0.5, APDF
    // (1000/5000)/0.125 = 1.6. £ = 6.50 x 100 x 0.5 x 1.6 = £520.00; same points.
    const auto moved = calc(qof(5000, {item("DEP004", 85, 100)}, {{"DEP", 1000}}), protected_by({{"DEP004", 650}}));
    EXPECT_EQ(only(moved).points_hundredths, 650);
    EXPECT_EQ(only(moved).payment_pence, 52000);
}

TEST(IncomeProtection, OtherIndicatorsAreUntouched)
{
    // HYP003 (not protected) 90/100 beside DEP004: 10.00 points on its own achievement, whatever
    // the record says of it; HYP register 1000, list 10000: £ = 10 x 100 x 1 x (0.1/0.1) = £1000.00.
    // DEP004 35/100 (below 40%: 0.00 earned), record 3.00; DEP register 1250: APDF (1250/10000)/0.125
    // = 1: £300.00. Total 13.00 points, £1300.00.
    const auto r = calc(qof(10000, {item("HYP003", 90, 100), item("DEP004", 35, 100)}, {{"HYP", 1000}, {"DEP", 1250}}),
                        protected_by({{"HYP003", 200}, {"DEP004", 300}}));
    ASSERT_EQ(r.indicators.size(), 2u);
    EXPECT_EQ(r.indicators[0].points_hundredths, 1000);
    EXPECT_TRUE(r.indicators[0].notes.empty()) << joined(r.indicators[0].notes);
    EXPECT_EQ(r.indicators[1].points_hundredths, 300);
    EXPECT_EQ(r.indicators[1].payment_pence, 30000);
    EXPECT_EQ(r.points_hundredths, 1300);
    EXPECT_EQ(r.payment_pence, 130000);
}

TEST(IncomeProtection, NoRecordUsesThisYearsAchievementAndSaysSo)
{
    // Decision 20: no 2029-30 record. DEP004 60/100 earns 4.00 points on achievement, paid
    // 4.00 x 100 x 0.8 x 1.2 = £384.00, labelled on the indicator and once on the result.
    const auto r = calc(qof(8000, {item("DEP004", 60, 100), item("AST005", 0, 0)}, {{"DEP", 1200}, {"AST", 50}}),
                        no_record());
    ASSERT_EQ(r.indicators.size(), 2u);
    EXPECT_EQ(r.indicators[0].points_hundredths, 400);
    EXPECT_EQ(r.indicators[0].payment_pence, 38400);
    // AST005: register 50 > 0, 4.00 points; AST has no national prevalence (APDF 1):
    // 4 x 100 x 0.8 = £320.00.
    EXPECT_EQ(r.indicators[1].points_hundredths, 400);
    EXPECT_EQ(r.indicators[1].payment_pence, 32000);
    for (const auto& indicator : r.indicators) {
        EXPECT_TRUE(has_note(indicator.notes, "income-protected at the practice's 2029-30 points, but there is no "
                                              "2029-30 record for this practice: these points are from this "
                                              "submission's achievement, not protected"))
            << indicator.code << ": " << joined(indicator.notes);
    }
    EXPECT_TRUE(has_note(r.notes, "income protection: no 2029-30 record for this practice (no current calculated QOF "
                                  "submission of 2029-30 in the ledger): its income-protected indicators earn on this "
                                  "submission's achievement, not protected"))
        << joined(r.notes);
    // Said once on the result even when no protected indicator is in the body.
    const auto other = calc(qof(10000, {item("HYP003", 90, 100)}, {{"HYP", 1000}}), no_record());
    EXPECT_EQ(other.notes.size(), 1u) << joined(other.notes);
    EXPECT_TRUE(only(other).notes.empty());
}

TEST(IncomeProtection, AnIndicatorTheRecordLacksIsProtectedAtZero)
{
    // Decision 21: the 2029-30 submission reported HYP003 only, not DEP004: 0.00 points, £0.00,
    // said, though 90/100 would earn 10.00.
    const auto r = calc(qof(8000, {item("DEP004", 90, 100)}, {{"DEP", 1200}}), protected_by({{"HYP003", 400}}));
    EXPECT_EQ(only(r).points_hundredths, 0);
    EXPECT_EQ(only(r).payment_pence, 0);
    EXPECT_TRUE(has_note(only(r).notes, "the practice's 2029-30 submission 7-prior did not report DEP004: protected "
                                        "at 0.00 points"))
        << joined(only(r).notes);
    EXPECT_TRUE(has_note(only(r).notes, "this submission's achievement would earn 10.00")) << joined(only(r).notes);
}

TEST(IncomeProtection, RecordedIndicatorsLeftOutOfTheBodyAreStillPaid)
{
    // Decision 22: the body carries HYP003 only; the record has DEP004 10.00, AST005 4.00 and
    // AST008 0.00. DEP004 and AST005 are added after the body's items, in code order (AST005
    // first), achievement null; AST008 (0.00) is not added. List 8000:
    //   AST005: 4.00 x 100 x 0.8 (AST: APDF 1, no national prevalence) = £320.00
    //   DEP004: 10.00 x 100 x 0.8 x (1200/8000)/0.125 = £960.00
    //   HYP003 90/100: 10.00 points, HYP register 800: 10 x 100 x 0.8 x (800/8000)/0.1 = £800.00
    const auto r = calc(qof(8000, {item("HYP003", 90, 100)}, {{"HYP", 800}, {"DEP", 1200}, {"AST", 50}}),
                        protected_by({{"DEP004", 1000}, {"AST005", 400}, {"AST008", 0}}));
    ASSERT_EQ(r.indicators.size(), 3u);
    EXPECT_EQ(r.indicators[0].code, "HYP003");
    EXPECT_EQ(r.indicators[1].code, "AST005");
    EXPECT_EQ(r.indicators[1].points_hundredths, 400);
    EXPECT_EQ(r.indicators[1].payment_pence, 32000);
    EXPECT_FALSE(r.indicators[1].achievement);
    EXPECT_EQ(r.indicators[2].code, "DEP004");
    EXPECT_EQ(r.indicators[2].points_hundredths, 1000);
    EXPECT_EQ(r.indicators[2].payment_pence, 96000);
    EXPECT_EQ(r.indicators[2].notes,
              std::vector<std::string>{"income-protected: not in this submission; points fixed at the practice's "
                                       "2029-30 points (10.00, submission 7-prior)"});
    EXPECT_EQ(r.points_hundredths, 2400);
    EXPECT_EQ(r.payment_pence, 80000 + 32000 + 96000);
    EXPECT_NE(result_json(r).find(R"({"code":"DEP004","achievement":null,"points":10.00,"payment_gbp":960.00,)"),
              std::string::npos)
        << result_json(r);
    // Without the DEP register the added DEP004 keeps its points but is not paid (decision 4).
    const auto unpaid = calc(qof(8000, {item("HYP003", 90, 100)}, {{"HYP", 800}}), protected_by({{"DEP004", 1000}}));
    ASSERT_EQ(unpaid.indicators.size(), 2u);
    EXPECT_EQ(unpaid.indicators[1].points_hundredths, 1000);
    EXPECT_EQ(unpaid.indicators[1].payment_pence, 0);
    EXPECT_TRUE(has_note(unpaid.indicators[1].notes, "no DEP register in the submission: not paid"))
        << joined(unpaid.indicators[1].notes);
}

TEST(IncomeProtection, AZeroRegisterKeepsThePointsButPaysNothing)
{
    // R3 makes DEP unearnable on achievement (register 0); R7 keeps the recorded 10.00 points, and
    // R4 pays them x APDF = (0/8000)/0.125 = 0: £0.00.
    const auto r = calc(qof(8000, {item("DEP004", 90, 100)}, {{"DEP", 0}}), protected_by({{"DEP004", 1000}}));
    EXPECT_EQ(only(r).points_hundredths, 1000);
    EXPECT_EQ(only(r).payment_pence, 0);
    EXPECT_TRUE(has_note(only(r).notes, "the DEP register is 0: no points are earnable for the group"));
    EXPECT_TRUE(has_note(only(r).notes, "this submission's achievement would earn 0.00"));
}

TEST(IncomeProtection, RecordedPointsAreRoundedToThePeriodsPlacesAndCapped)
{
    // Decision 23. 2032-33 rounds points to 1 place and money to the pound. BP020 (1 point,
    // protected, not prevalence-adjusted) recorded 0.35: half up to 0.4 points; list 10000:
    // £ = 0.4 x 100 x 1 = £40. Recorded 0.34: 0.3 points, £30.
    const auto up = calc(qof(10000, {item("BP020", 0, 1)}, {}, "2032-33"), protected_by({{"BP020", 35}}));
    EXPECT_EQ(only(up).points_hundredths, 40);
    EXPECT_EQ(only(up).payment_pence, 4000);
    const auto down = calc(qof(10000, {item("BP020", 0, 1)}, {}, "2032-33"), protected_by({{"BP020", 34}}));
    EXPECT_EQ(only(down).points_hundredths, 30);
    // Recorded 12.00 for DEP004 (max 10): capped at 10.00 with a note; £960.00 as above.
    const auto capped = calc(qof(8000, {item("DEP004", 60, 100)}, {{"DEP", 1200}}), protected_by({{"DEP004", 1200}}));
    EXPECT_EQ(only(capped).points_hundredths, 1000);
    EXPECT_EQ(only(capped).payment_pence, 96000);
    EXPECT_TRUE(has_note(only(capped).notes, "the recorded 2029-30 points (12.00) are above the maximum of DEP004: "
                                             "capped at 10.00"))
        << joined(only(capped).notes);
}

TEST(IncomeProtection, EnhancedServicesAreUnaffected)
{
    // The record applies to QOF only: an enhanced-service submission gets no protection note.
    const auto r = calc(enhanced("VACC", {{"DOSE", 3}}), protected_by({{"DEP004", 1000}}));
    EXPECT_TRUE(r.indicators.empty());
    EXPECT_TRUE(r.notes.empty()) << joined(r.notes);
    EXPECT_EQ(r.payment_pence, 3018);  // 3 x £10.06
}

// ---------------------------------------------------------------------------------------------
// Enhanced services (decision 9).

TEST(Calculation, CappedServiceIsPaidUpToTheCapRegister)
{
    // Decision 9. LDHC CHECK at £140.00, capped at the LD register.
    // LD register 10, 12 checks counted: 10 paid, 10 x £140 = £1400.00, noted.
    auto s = enhanced("LDHC", {{"CHECK", 12}});
    s.registers = {{"LD", 10}};
    const auto capped = calc(s);
    ASSERT_EQ(capped.services.size(), 1u);
    EXPECT_EQ(capped.services[0].count, 12u);
    EXPECT_EQ(capped.services[0].paid_count, 10u);
    EXPECT_EQ(capped.services[0].payment_pence, 140000);
    ASSERT_EQ(capped.services[0].notes.size(), 1u) << joined(capped.services[0].notes);
    EXPECT_EQ(capped.services[0].notes[0], "capped at the LD register (10): 10 of 12 paid");
    EXPECT_EQ(capped.payment_pence, 140000);
    EXPECT_EQ(capped.points_hundredths, 0);
    EXPECT_TRUE(capped.indicators.empty());
    // LD register 12 (exactly the count) or 20: 12 paid, 12 x £140 = £1680.00, nothing to say.
    for (const std::uint64_t size : {12u, 20u}) {
        s.registers = {{"LD", size}};
        const auto within = calc(s);
        EXPECT_EQ(within.services[0].paid_count, 12u);
        EXPECT_EQ(within.services[0].payment_pence, 168000);
        EXPECT_TRUE(within.services[0].notes.empty()) << joined(within.services[0].notes);
    }
    // LD register 0: nothing is payable, £0.00.
    s.registers = {{"LD", 0}};
    const auto none = calc(s);
    EXPECT_EQ(none.services[0].paid_count, 0u);
    EXPECT_EQ(none.services[0].payment_pence, 0);
    EXPECT_TRUE(has_note(none.services[0].notes, "capped at the LD register (0): 0 of 12 paid"))
        << joined(none.services[0].notes);
}

TEST(Calculation, CappedServiceWithoutItsCapRegisterIsNotPaid)
{
    // Decision 9: 12 checks and no LD register: the cap cannot be applied, so nothing is paid and
    // the item says which register to send.
    const auto r = calc(enhanced("LDHC", {{"CHECK", 12}}));
    ASSERT_EQ(r.services.size(), 1u);
    EXPECT_EQ(r.services[0].count, 12u);
    EXPECT_EQ(r.services[0].paid_count, 0u);
    EXPECT_EQ(r.services[0].payment_pence, 0);
    ASSERT_EQ(r.services[0].notes.size(), 1u) << joined(r.services[0].notes);
    EXPECT_EQ(r.services[0].notes[0], "not paid: CHECK is paid up to the LD register size, and the submission has no LD "
                                      "register; resubmit with {\"condition\": \"LD\", \"size\": N} in registers");
    EXPECT_EQ(r.payment_pence, 0);
    // Another group's register does not stand in for LD.
    auto other = enhanced("LDHC", {{"CHECK", 12}});
    other.registers = {{"AF", 100}};
    EXPECT_EQ(calc(other).services[0].payment_pence, 0);
}

TEST(Calculation, UncappedServiceHasNoNotes)
{
    const auto r = calc(enhanced("VACC", {{"DOSE", 0}}));
    EXPECT_EQ(r.services[0].payment_pence, 0);
    EXPECT_TRUE(r.services[0].notes.empty());
}

// ---------------------------------------------------------------------------------------------
// The catalogue's rounding places (rounding rules 1 and 2, decision 13).

TEST(Calculation, CoarseRoundingFollowsTheCatalogueAndPrintsTwoDecimals)
{
    // 2032-33: points to 1 place, money to the pound. BP010 1/8 = 12.5%: 0.125 -> 0.1 point
    // (10 hundredths); £ = 0.1 x 100 x 1 = £10. 3/40 = 7.5%: 0.075 -> 0.1 (half up). Printed as
    // API.md says, with two decimals whatever the rounding: 0.10 points, £10.00 (decision 13).
    const auto r = calc(qof(10000, {item("BP010", 1, 8)}, {}, "2032-33"));
    EXPECT_EQ(only(r).points_hundredths, 10);
    EXPECT_EQ(only(r).payment_pence, 1000);
    EXPECT_TRUE(result_json(r).starts_with(R"({"points":0.10,"payment_gbp":10.00,"indicators":[{"code":"BP010",)"
                                           R"("achievement":0.1250,"points":0.10,"payment_gbp":10.00,)"))
        << result_json(r);
    EXPECT_EQ(only(calc(qof(10000, {item("BP010", 3, 40)}, {}, "2032-33"))).points_hundredths, 10);
    // 3 doses at £10.06 = £30.18 -> £30; one at £0.50 -> £1 (half a pound up). Total £31.00.
    const auto fees = calc(enhanced("VACC", {{"DOSE", 3}, {"HALF", 1}}, "2032-33"));
    EXPECT_EQ(fees.services[0].payment_pence, 3000);
    EXPECT_EQ(fees.services[1].payment_pence, 100);
    EXPECT_EQ(fees.payment_pence, 3100);
    EXPECT_TRUE(result_json(fees).starts_with(R"({"points":0.00,"payment_gbp":31.00,)")) << result_json(fees);
    EXPECT_NE(result_json(fees).find(R"("count":3,"paid_count":3,"payment_gbp":30.00,)"), std::string::npos)
        << result_json(fees);
}

// ---------------------------------------------------------------------------------------------
// Inputs the validator refuses, and absurd sizes (decisions 11, 12).

TEST(Calculation, InputsTheValidatorRefusesEarnNothingAndSaySo)
{
    const auto unknown = calc(qof(10000, {item("XX001", 1, 1)}));
    EXPECT_EQ(only(unknown).points_hundredths, 0);
    EXPECT_TRUE(has_note(only(unknown).notes, "XX001 is not an indicator of 2030-31")) << joined(only(unknown).notes);

    const auto no_list = calc(qof(0, {item("BP002", 90, 100)}));
    EXPECT_EQ(only(no_list).points_hundredths, 1500);
    EXPECT_EQ(only(no_list).payment_pence, 0);
    EXPECT_TRUE(has_note(no_list.notes, "list size 0")) << joined(no_list.notes);

    const auto other = calculate(qof(10000, {item("BP002", 90, 100)}, {}, "2024-25"), test_period());
    EXPECT_TRUE(has_note(other.notes, "submission for 2024-25 calculated with the catalogue of 2030-31")) << joined(other.notes);

    const auto scheme = calc(enhanced("NOPE", {{"CHECK", 1}}));
    EXPECT_EQ(scheme.services[0].paid_count, 0u);
    EXPECT_EQ(scheme.services[0].payment_pence, 0);
    EXPECT_TRUE(has_note(scheme.notes, "NOPE is not an enhanced service of 2030-31")) << joined(scheme.notes);
    const auto code = calc(enhanced("VACC", {{"CHECK", 1}}));
    EXPECT_TRUE(has_note(code.services[0].notes, "CHECK is not an item of VACC in 2030-31")) << joined(code.services[0].notes);
}

TEST(Calculation, AbsurdPaymentsAreNotPaid)
{
    constexpr std::uint64_t huge = queue::max_json_integer;  // 2^53, the validator's limit
    // 2^53 doses at £10.06: £906 trillion, above max_payment_pence: not paid, said.
    const auto doses = calc(enhanced("VACC", {{"DOSE", huge}, {"TENTH", 3}}));
    EXPECT_EQ(doses.services[0].payment_pence, 0);
    EXPECT_TRUE(has_note(doses.services[0].notes, "not paid: check the figures")) << joined(doses.services[0].notes);
    EXPECT_EQ(doses.payment_pence, 30);
    // BP002 at 100% with a list of 2^53: 15 x 100 x 2^53/10000 = £1.35e15: not paid.
    const auto list = calc(qof(huge, {item("BP002", huge, huge)}));
    EXPECT_EQ(only(list).payment_pence, 0);
    EXPECT_EQ(only(list).points_hundredths, 1500);
    // Just at the limit is paid: 10^13 p = 10 points x £100 x CPI 10^8 (list 10^12), CHOL
    // register 5 x 10^10: 5% = national, APDF 1.
    const auto limit = calc(qof(1000000000000, {item("CHOL003", 100, 100)}, {{"CHOL", 50000000000}}));
    EXPECT_EQ(only(limit).payment_pence, max_payment_pence);
}

// ---------------------------------------------------------------------------------------------
// result_json.

TEST(ResultJson, WritesTheApiShapeWithExactDecimals)
{
    // BP002 70/100 at list 12000: 7.50 points, £900.00 (see CpiAloneForAGroupNotPrevalenceAdjusted);
    // AF006 0/0: null achievement; AST007 70/100 with AST register 700: 20 points, £2000.00.
    const auto r = calc(qof(12000, {item("BP002", 70, 100), item("AF006", 0, 0), item("AST007", 2, 3)},
                            {{"AST", 700}, {"AF", 1}}));
    // AST007 2/3 = 66.67%: 20 x 21.667/25 = 17.3333 -> 17.33 points; £ = 17.33 x 100 x 1.2 = £2079.60.
    EXPECT_EQ(result_json(r),
              R"({"points":24.83,"payment_gbp":2979.60,"indicators":[)"
              R"({"code":"BP002","achievement":0.7000,"points":7.50,"payment_gbp":900.00,"notes":[]},)"
              R"({"code":"AF006","achievement":null,"points":0.00,"payment_gbp":0.00,"notes":["denominator 0: no achievement, no points"]},)"
              R"({"code":"AST007","achievement":0.6667,"points":17.33,"payment_gbp":2079.60,"notes":[]}],)"
              R"("services":[],"notes":["AST: the catalogue has no national prevalence for 2030-31: APDF taken as 1 )"
              R"((the practice at national prevalence); AST payments are provisional"]})");
}

TEST(ResultJson, NumbersHaveFixedDecimalsNeverAnExponent)
{
    // API.md "Money and numbers": 0.00, not 0 or 0E0; 1000000.00 points and £100000000000.00, not
    // 1E6 or 1E11 (what printing a double gives: Boost.JSON writes 12.0 as 1.2E1).
    calculation_result r;
    r.points_hundredths = 100000000;
    r.payment_pence = max_payment_pence;
    indicator_result tiny;
    tiny.code = "BP010";
    tiny.points_hundredths = 5;
    tiny.payment_pence = 1;
    tiny.numerator = 1;
    tiny.denominator = 30000;  // 0.0000333 -> 0.0000
    indicator_result none;
    none.code = "AF006";
    r.indicators = {tiny, none};
    service_result dose;
    dose.code = "DOSE";
    dose.count = 2;
    dose.paid_count = 2;
    dose.payment_pence = 2012;
    r.services = {dose};
    EXPECT_EQ(result_json(r),
              R"({"points":1000000.00,"payment_gbp":100000000000.00,"indicators":[)"
              R"({"code":"BP010","achievement":0.0000,"points":0.05,"payment_gbp":0.01,"notes":[]},)"
              R"({"code":"AF006","achievement":null,"points":0.00,"payment_gbp":0.00,"notes":[]}],)"
              R"("services":[{"code":"DOSE","count":2,"paid_count":2,"payment_gbp":20.12,"notes":[]}],"notes":[]})");
    EXPECT_EQ(check_number_format(result_json(r)), 2u + 3u * 2u + 1u);
}

TEST(ResultJson, EscapesAndParses)
{
    auto ldhc = enhanced("LDHC", {{"CHECK", 2}});
    ldhc.registers = {{"LD", 1}};  // capped: 1 of 2 paid, £140.00, one note
    const auto r = calc(ldhc);
    const json::value parsed = json::parse(result_json(r));
    const auto& services = parsed.at("services").as_array();
    ASSERT_EQ(services.size(), 1u);
    EXPECT_EQ(services[0].at("code").as_string(), "CHECK");
    EXPECT_EQ(services[0].at("count").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(services[0].at("paid_count").to_number<std::uint64_t>(), 1u);
    EXPECT_DOUBLE_EQ(services[0].at("payment_gbp").to_number<double>(), 140.0);
    EXPECT_EQ(services[0].at("notes").as_array().size(), 1u);

    calculation_result odd;
    odd.notes = {"quote \" backslash \\ newline \n pound £"};
    const json::value back = json::parse(result_json(odd));
    EXPECT_EQ(back.at("notes").as_array()[0].as_string(), "quote \" backslash \\ newline \n pound £");
}

TEST(ResultJson, AchievementRoundsHalfUpFromTheNumbersNotTheDouble)
{
    // 2469/20000 = 0.12345 exactly; the double is 0.123450000000000004 or ...49999: either way
    // the printed achievement comes from n and d: 0.1235 (half up). 1/3 -> 0.3333; 2/3 -> 0.6667.
    indicator_result indicator;
    indicator.code = "BP010";
    const auto achievement = [&](std::uint64_t n, std::uint64_t d) {
        calculation_result r;
        indicator.numerator = n;
        indicator.denominator = d;
        r.indicators = {indicator};
        const std::string text = result_json(r);
        const auto at = text.find("\"achievement\":") + 14;
        return text.substr(at, text.find(',', at) - at);
    };
    EXPECT_EQ(achievement(2469, 20000), "0.1235");
    EXPECT_EQ(achievement(1, 3), "0.3333");
    EXPECT_EQ(achievement(2, 3), "0.6667");
    EXPECT_EQ(achievement(7, 7), "1.0000");
    EXPECT_EQ(achievement(0, 7), "0.0000");
    EXPECT_EQ(achievement(0, 0), "null");
}

// ---------------------------------------------------------------------------------------------
// The shipped catalogue: API.md's body and qof-reference.md §1.5, from JSON text to result.

TEST(ShippedCatalogue, ApiExampleBody)
{
    constexpr std::string_view body = R"({
      "practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 8123,
      "items": [
        {"code": "AF006", "numerator": 120, "denominator": 140, "pca": 6},
        {"code": "HYP008", "numerator": 950, "denominator": 1210, "pca": 40}
      ],
      "registers": [{"condition": "AF", "size": 201}, {"condition": "HYP", "size": 1312}]
    })";
    const auto parsed = queue::parse_submission(body, shipped());
    ASSERT_TRUE(parsed.ok());
    const auto r = calculate(parsed.value(), *shipped().period("2024-25"));
    // 2024-25: £220.62 a point, national average list 9964; AF national prevalence 2.1% (estimate).
    // AF006 (12 points, 40% to 90%): 120/140 = 85.714%: 12 x 45.714/50 = 10.9714 -> 10.97.
    //   CPI x APDF = (8123/9964) x (201/8123)/0.021 = 201/(9964 x 0.021) = 0.960621...
    //   £ = 10.97 x 220.62 x 0.960621 = £2324.847935 -> £2324.85.
    // HYP008 (14 points, 40% to 77%, unconfirmed): 950/1210 = 78.51%: above the upper: 14.00.
    //   HYP has no national prevalence: APDF 1. £ = 14 x 220.62 x 8123/9964 = £2517.999562 -> £2518.00.
    // Total 24.97 points, £4842.85.
    ASSERT_EQ(r.indicators.size(), 2u);
    EXPECT_EQ(r.indicators[0].points_hundredths, 1097);
    EXPECT_EQ(r.indicators[0].payment_pence, 232485);
    EXPECT_EQ(r.indicators[1].points_hundredths, 1400);
    EXPECT_EQ(r.indicators[1].payment_pence, 251800);
    EXPECT_TRUE(has_note(r.indicators[1].notes, "thresholds of HYP008 (lower 40%, upper 77%) are unconfirmed"));
    EXPECT_EQ(r.points_hundredths, 2497);
    EXPECT_EQ(r.payment_pence, 484285);
    ASSERT_EQ(r.notes.size(), 2u) << joined(r.notes);
    EXPECT_EQ(r.notes[0], "AF: national prevalence 2.1% is the catalogue's estimate, not the final national figure: "
                          "AF payments are provisional");
    EXPECT_EQ(r.notes[1], "HYP: the catalogue has no national prevalence for 2024-25: APDF taken as 1 (the practice at "
                          "national prevalence); HYP payments are provisional");
    EXPECT_TRUE(result_json(r).starts_with(R"({"points":24.97,"payment_gbp":4842.85,)")) << result_json(r);
}

// A body through the validator and the calculation with the shipped catalogue.
calculation_result shipped_result(std::string_view body)
{
    const auto parsed = queue::parse_submission(body, shipped());
    EXPECT_TRUE(parsed.ok()) << body;
    if (!parsed.ok()) return {};
    return calculate(parsed.value(), *shipped().period(parsed.value().period));
}

TEST(ShippedCatalogue, ReferenceWorkedExample)
{
    // qof-reference.md §1.5 (2023-24: £213.43 a point, national average list 9639): list 10000,
    // AF register 220, national AF 2.1%. AF001 5.00; AF006 180/200 = 90%: 12.00; AF008 150/170 =
    // 88.235%: 12 x 18.235/25 = 8.7529 -> 8.75. Total 25.75 points.
    // CPI x APDF = (10000/9639) x (0.022/0.021) = 220/(9639 x 0.021) = 1.086855... per indicator:
    //   AF001 5 x 213.43 x 1.086855 = £1159.836774 -> £1159.84
    //   AF006 12 x 213.43 x 1.086855 = £2783.608258 -> £2783.61
    //   AF008 8.75 x 213.43 x 1.086855 = £2029.714355 -> £2029.71
    // Total £5973.16, the reference's figure "exactly" (25.75 x 213.43 x 1.086855 = £5973.159387
    // gives it too). Not £5973.84 (the unrounded AF008 points 8.752941...: £5973.841644) nor
    // £5973.15 (the rounded factors 1.03745 x 1.04762: £5973.153200): rounding.hpp rules 1 and 2.
    const auto r = shipped_result(R"({"practice": "A81001", "period": "2023-24", "scheme": "QOF", "list_size": 10000,
      "items": [{"code": "AF001", "numerator": 220, "denominator": 220}, {"code": "AF006", "numerator": 180, "denominator": 200},
                {"code": "AF008", "numerator": 150, "denominator": 170}],
      "registers": [{"condition": "AF", "size": 220}]})");
    ASSERT_EQ(r.indicators.size(), 3u);
    EXPECT_EQ(r.indicators[0].points_hundredths, 500);
    EXPECT_EQ(r.indicators[1].points_hundredths, 1200);
    EXPECT_EQ(r.indicators[2].points_hundredths, 875);
    EXPECT_EQ(r.indicators[0].payment_pence, 115984);
    EXPECT_EQ(r.indicators[1].payment_pence, 278361);
    EXPECT_EQ(r.indicators[2].payment_pence, 202971);
    EXPECT_EQ(r.points_hundredths, 2575);
    EXPECT_EQ(r.payment_pence, 597316);
    EXPECT_EQ(result_json(r),
              R"({"points":25.75,"payment_gbp":5973.16,"indicators":[)"
              R"({"code":"AF001","achievement":1.0000,"points":5.00,"payment_gbp":1159.84,"notes":[]},)"
              R"({"code":"AF006","achievement":0.9000,"points":12.00,"payment_gbp":2783.61,"notes":[]},)"
              R"({"code":"AF008","achievement":0.8824,"points":8.75,"payment_gbp":2029.71,"notes":[]}],)"
              R"("services":[],"notes":["AF: national prevalence 2.1% is the catalogue's estimate, not the final )"
              R"(national figure: AF payments are provisional"]})");
}

TEST(ShippedCatalogue, ReferenceVaccinationExample)
{
    // qof-reference.md §1.5: "VI001 example: 110/120 = 91.67% with 89-96% -> 18 x 2.67/7 = 6.86
    // pts (x £213.43 x CPI, no APDF)". Exactly: 18 x (91.6667 - 89)/7 = 6.857142... -> 6.86.
    // List 10000 (2023-24): £ = 6.86 x 213.43 x 10000/9639 = £1518.964415 -> £1518.96. A VI
    // register of 0 in the body changes nothing (VI has no ZERO_REGISTER_FLAG; decision 3).
    for (const std::string_view registers : {"", R"(, "registers": [{"condition": "VI", "size": 0}])"}) {
        const auto r = shipped_result(std::string(R"({"practice": "A81001", "period": "2023-24", "scheme": "QOF",
          "list_size": 10000, "items": [{"code": "VI001", "numerator": 110, "denominator": 120}])")
                                      + std::string(registers) + "}");
        EXPECT_EQ(only(r).points_hundredths, 686) << registers;
        EXPECT_EQ(only(r).payment_pence, 151896) << registers;
        EXPECT_TRUE(only(r).notes.empty()) << joined(only(r).notes);
        EXPECT_TRUE(r.notes.empty()) << joined(r.notes);
        EXPECT_TRUE(result_json(r).starts_with(R"({"points":6.86,"payment_gbp":1518.96,)")) << result_json(r);
    }
}

TEST(ShippedCatalogue, ZeroRegisterRuleFollowsTheControlTable)
{
    // The issue's case: 2024-25, list 5000, VI register 0, VI001 116/120 = 96.67% (above the
    // upper 96%): 18.00 points, £ = 18 x 220.62 x 5000/9964 = £1992.753914 -> £1992.75 (it was
    // 0 points and £0.00 while a zero register zeroed every group).
    const auto vi = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 5000,
      "items": [{"code": "VI001", "numerator": 116, "denominator": 120}], "registers": [{"condition": "VI", "size": 0}]})");
    EXPECT_EQ(only(vi).points_hundredths, 1800);
    EXPECT_EQ(only(vi).payment_pence, 199275);
    EXPECT_TRUE(result_json(vi).starts_with(R"({"points":18.00,"payment_gbp":1992.75,)")) << result_json(vi);

    // The same body in 2023-24 (£213.43 a point, national average list 9,639): £ = 18 x 213.43 x
    // 5000/9639 = 19,208,700/9639 = £1992.810457 -> £1992.81. (The issue quotes £1,992.97 "in the
    // reference's reading"; neither period's constants give that figure: 2024-25 gives £1992.75.)
    const auto vi_2023 = shipped_result(R"({"practice": "A81001", "period": "2023-24", "scheme": "QOF", "list_size": 5000,
      "items": [{"code": "VI001", "numerator": 116, "denominator": 120}], "registers": [{"condition": "VI", "size": 0}]})");
    EXPECT_EQ(only(vi_2023).points_hundredths, 1800);
    EXPECT_EQ(only(vi_2023).payment_pence, 199281);
    EXPECT_TRUE(only(vi_2023).notes.empty()) << joined(only(vi_2023).notes);

    // LD is flagged and has a register indicator: an LD register of 0 zeroes LD004 (4 points
    // otherwise) with the group's note, in both periods.
    for (const std::string_view year : {"2023-24", "2024-25"}) {
        const auto ld = shipped_result(std::string(R"({"practice": "A81001", "period": ")") + std::string(year)
                                       + R"(", "scheme": "QOF", "list_size": 5000, "items": [{"code": "LD004", "numerator": 0,)"
                                         R"( "denominator": 0}], "registers": [{"condition": "LD", "size": 0}]})");
        EXPECT_EQ(only(ld).points_hundredths, 0) << year;
        EXPECT_EQ(only(ld).payment_pence, 0) << year;
        EXPECT_TRUE(has_note(only(ld).notes, "the LD register is 0: no points are earnable for the group"))
            << joined(only(ld).notes);
    }

    // NDH is a ZERO_REGISTER_FLAG group whose indicator NDH002 is a percentage: NDH register 0
    // makes 90/100 (18 points otherwise) earn 0, with the group's note.
    const auto ndh = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 5000,
      "items": [{"code": "NDH002", "numerator": 90, "denominator": 100}], "registers": [{"condition": "NDH", "size": 0}]})");
    EXPECT_EQ(only(ndh).points_hundredths, 0);
    EXPECT_EQ(only(ndh).payment_pence, 0);
    EXPECT_TRUE(has_note(only(ndh).notes, "the NDH register is 0: no points are earnable for the group"))
        << joined(only(ndh).notes);

    // Every group: a zero register zeroes exactly the flagged groups' indicators at 100%.
    const auto& period = *shipped().period("2024-25");
    for (const auto& indicator : period.qof_indicators()) {
        const auto* group = period.group(indicator.group);
        const auto r = calculate(qof(5000, {item(indicator.code, 100, 100)}, {{indicator.group, 0}}, "2024-25"), period);
        EXPECT_EQ(has_note(only(r).notes, "register is 0: no points are earnable for the group"), group->zero_register_flag)
            << indicator.code;
        if (group->zero_register_flag || indicator.kind == catalogue::indicator_kind::disease_register) {
            EXPECT_EQ(only(r).points_hundredths, 0) << indicator.code;
        } else if (indicator.kind == catalogue::indicator_kind::yes_no || indicator.upper_threshold) {
            EXPECT_EQ(only(r).points_hundredths, indicator.max_points * 100) << indicator.code;  // VI, BP, QI ...
        }
    }
}

TEST(ShippedCatalogue, CholesterolIsNotPrevalenceAdjusted)
{
    // The control table's NO_PREVALENCE_FLAG = 1 for CHOL: paid points x £ x CPI, no register
    // needed. 2024-25 CHOL003 (70% to 95%, unconfirmed) 95/100: 14.00 points; list 5000:
    // £ = 14 x 220.62 x 5000/9964 = £1549.919711 -> £1549.92. The result says the adjustment is
    // unconfirmed in the reference ([U] in §1.3).
    const auto r = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 5000,
      "items": [{"code": "CHOL003", "numerator": 95, "denominator": 100}]})");
    EXPECT_EQ(only(r).points_hundredths, 1400);
    EXPECT_EQ(only(r).payment_pence, 154992);
    ASSERT_EQ(r.notes.size(), 1u) << joined(r.notes);
    EXPECT_EQ(r.notes[0], "CHOL: the catalogue marks its prevalence adjustment unconfirmed; not adjusted here");
    // A CHOL register changes nothing (no APDF): still £1549.92.
    const auto with_register = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF",
      "list_size": 5000, "items": [{"code": "CHOL003", "numerator": 95, "denominator": 100}],
      "registers": [{"condition": "CHOL", "size": 1}]})");
    EXPECT_EQ(only(with_register).payment_pence, 154992);
}

TEST(ShippedCatalogue, LdhcIsCappedAtTheLearningDisabilityRegister)
{
    // 2024-25 LDHC: £140.00 a completed check, capped at the LD register (data/README.md).
    // 40 checks, LD register 35: 35 paid, 35 x £140 = £4900.00.
    const auto capped = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "LDHC", "list_size": 6000,
      "items": [{"code": "CHECK", "count": 40}], "registers": [{"condition": "LD", "size": 35}]})");
    ASSERT_EQ(capped.services.size(), 1u);
    EXPECT_EQ(capped.services[0].paid_count, 35u);
    EXPECT_EQ(capped.payment_pence, 490000);
    EXPECT_EQ(result_json(capped),
              R"({"points":0.00,"payment_gbp":4900.00,"indicators":[],"services":[{"code":"CHECK","count":40,)"
              R"("paid_count":35,"payment_gbp":4900.00,"notes":["capped at the LD register (35): 35 of 40 paid"]}],)"
              R"("notes":[]})");
    // 7 checks, LD register 35: 7 x £140 = £980.00.
    const auto within = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "LDHC", "list_size": 6000,
      "items": [{"code": "CHECK", "count": 7}], "registers": [{"condition": "LD", "size": 35}]})");
    EXPECT_EQ(within.payment_pence, 98000);
    // 7 checks and no LD register: not paid (decision 9).
    const auto missing = shipped_result(R"({"practice": "A81001", "period": "2024-25", "scheme": "LDHC", "list_size": 6000,
      "items": [{"code": "CHECK", "count": 7}]})");
    EXPECT_EQ(missing.payment_pence, 0);
    EXPECT_TRUE(has_note(missing.services[0].notes, "not paid: CHECK is paid up to the LD register size"))
        << joined(missing.services[0].notes);
}

TEST(ShippedCatalogue, IncomeProtectionAt2023To24Points)
{
    // 2024-25 protects at 2023-24 (R7). SMOK005 (25 points, SMOK not prevalence-adjusted, no
    // thresholds in the reference: 0.00 on achievement) recorded 25.00 in 2023-24; list 5000:
    // £ = 25.00 x £220.62 x 5000/9964 = 27577500/9964 = £2767.7137... -> £2767.71.
    // DEP004 (10 points, no thresholds: 0.00 on achievement) recorded 10.00; DEP has no national
    // prevalence: APDF 1 (decision 5, provisional): £ = 10.00 x 220.62 x 5000/9964 = £1107.0855...
    // -> £1107.09. SMOK002 (not protected) 90/100: 25.00 points, £2767.71.
    const auto& period = *shipped().period("2024-25");
    ASSERT_EQ(period.income_protection_period(), "2023-24");
    const auto r = calculate(qof(5000, {item("SMOK005", 10, 100), item("DEP004", 10, 100), item("SMOK002", 90, 100)},
                                 {{"DEP", 400}}, "2024-25"),
                             period, protected_by({{"SMOK005", 2500}, {"DEP004", 1000}, {"SMOK002", 100}}, "3-abc"));
    ASSERT_EQ(r.indicators.size(), 3u);
    EXPECT_EQ(r.indicators[0].points_hundredths, 2500);
    EXPECT_EQ(r.indicators[0].payment_pence, 276771);
    EXPECT_TRUE(has_note(r.indicators[0].notes, "income-protected: points fixed at the practice's 2023-24 points "
                                                "(25.00, submission 3-abc); this submission's achievement would earn 0.00"))
        << joined(r.indicators[0].notes);
    EXPECT_EQ(r.indicators[1].points_hundredths, 1000);
    EXPECT_EQ(r.indicators[1].payment_pence, 110709);
    EXPECT_EQ(r.indicators[2].points_hundredths, 2500);
    EXPECT_EQ(r.indicators[2].payment_pence, 276771);
    EXPECT_EQ(r.points_hundredths, 6000);
    EXPECT_EQ(r.payment_pence, 276771 + 110709 + 276771);
    // 2023-24 itself protects nothing: the record is ignored there.
    const auto y2023 = calculate(qof(5000, {item("SMOK005", 10, 100)}, {}, "2023-24"), *shipped().period("2023-24"),
                                 protected_by({{"SMOK005", 2500}}));
    EXPECT_EQ(only(y2023).points_hundredths, 0);
    EXPECT_TRUE(only(y2023).notes.size() == 1u && !has_note(only(y2023).notes, "income-protected"))
        << joined(only(y2023).notes);
}

TEST(ShippedCatalogue, IncomeProtectedRegister)
{
    // AF001 (income-protected in 2024-25) with an AF register, no protection input (decision 8):
    // 5 points on achievement and the protection note.
    const auto af = calculate(qof(9964, {item("AF001", 0, 0)}, {{"AF", 200}}, "2024-25"), *shipped().period("2024-25"));
    EXPECT_EQ(only(af).points_hundredths, 500);
    EXPECT_TRUE(has_note(only(af).notes, "income-protected"));
    // List 9964: CPI 1. £ = 5 x 220.62 x (200/9964)/0.021 = £1054.367150 -> £1054.37.
    EXPECT_EQ(only(af).payment_pence, 105437);
}

// ---------------------------------------------------------------------------------------------
// Properties over generated submissions.

// A random QOF submission over every indicator of `period`: random list size, some registers
// missing or zero, achievements across the whole range (0/0 included), sizes small to huge.
queue::submission random_qof(std::mt19937_64& random, const catalogue::period_catalogue& period)
{
    const auto pick = [&](std::uint64_t below) { return std::uniform_int_distribution<std::uint64_t>(0, below - 1)(random); };
    const std::uint64_t scale = pick(10) == 0 ? (std::uint64_t{1} << 40) : 20000;
    queue::submission s = qof(1 + pick(scale), {}, {}, period.name());
    for (const auto& indicator : period.qof_indicators()) {
        if (pick(3) == 0) continue;
        const std::uint64_t denominator = pick(5) == 0 ? 0 : pick(scale);
        s.qof_items.push_back(item(indicator.code, denominator == 0 ? 0 : pick(denominator + 1), denominator));
    }
    for (const auto& group : period.groups()) {
        const auto roll = pick(8);
        if (roll == 0) continue;  // missing
        s.registers.push_back({group.code, roll == 1 ? 0 : pick(s.list_size + 1)});
    }
    std::shuffle(s.qof_items.begin(), s.qof_items.end(), random);
    return s;
}

// Every period the properties run over: the test periods' rounding places and the shipped years.
std::vector<const catalogue::period_catalogue*> periods()
{
    return {&test_period("2030-31"), &test_period("2031-32"), &test_period("2032-33"),
            shipped().period("2023-24"), shipped().period("2024-25")};
}

// Checks every property of one result (gtest assertions).
void check_properties(const queue::submission& s, const catalogue::period_catalogue& period, const calculation_result& r)
{
    const int places = period.points_decimal_places();
    std::int64_t total_units = 0;
    std::int64_t total_pence = 0;
    ASSERT_EQ(r.indicators.size(), s.qof_items.size());
    for (std::size_t i = 0; i < r.indicators.size(); ++i) {
        const auto& indicator = r.indicators[i];
        const auto* reference = period.qof_indicator(indicator.code);
        ASSERT_NE(reference, nullptr);
        EXPECT_EQ(indicator.code, s.qof_items[i].code);  // body order
        const std::int64_t u = indicator.points_hundredths;
        EXPECT_GE(u, 0) << indicator.code;
        EXPECT_LE(u, reference->max_points * 100) << indicator.code;
        EXPECT_EQ(u % power_of_ten(2 - places), 0) << indicator.code << ": rounded to " << places << " places";
        EXPECT_GE(indicator.payment_pence, 0) << indicator.code;
        EXPECT_LE(indicator.payment_pence, max_payment_pence) << indicator.code;
        EXPECT_EQ(indicator.achievement.has_value(), s.qof_items[i].denominator > 0);
        total_units += u;
        total_pence += indicator.payment_pence;

        // Against an independent long-double computation of the same formula, from the rounded
        // points: within a penny (the money unit for coarser places), when paid.
        if (indicator.payment_pence > 0 && s.list_size < 1000000000) {
            const auto* group = period.group(reference->group);
            long double expected = static_cast<long double>(u) / 100 * period.pence_per_point()
                                   * s.list_size / period.national_average_list_size();
            if (group->prevalence_adjusted && group->national_prevalence) {
                const auto at = std::find_if(s.registers.begin(), s.registers.end(),
                                             [&](const auto& reg) { return reg.condition == group->code; });
                ASSERT_NE(at, s.registers.end());
                expected *= static_cast<long double>(at->size) / s.list_size / *group->national_prevalence;
            }
            const long double unit = static_cast<long double>(power_of_ten(2 - period.pounds_decimal_places()));
            EXPECT_LE(std::fabs(static_cast<long double>(indicator.payment_pence) - expected), unit / 2 + 1e-6L)
                << indicator.code << " expected " << static_cast<double>(expected);
        }
    }
    for (const auto& service : r.services) {
        EXPECT_LE(service.paid_count, service.count);
        EXPECT_GE(service.payment_pence, 0);
        total_pence += service.payment_pence;
    }
    EXPECT_EQ(r.points_hundredths, total_units);
    EXPECT_EQ(r.payment_pence, total_pence);

    // result_json: deterministic, parseable, and saying the same figures.
    const std::string text = result_json(r);
    EXPECT_EQ(text, result_json(calculate(s, period)));
    EXPECT_EQ(check_number_format(text), 2 + 3 * r.indicators.size() + r.services.size());
    boost::system::error_code error;
    const json::value parsed = json::parse(text, error);
    ASSERT_FALSE(error) << error.message() << ": " << text;
    EXPECT_EQ(to_units(parsed.at("points").to_number<double>(), 2), total_units);
    EXPECT_EQ(to_units(parsed.at("payment_gbp").to_number<double>(), 2), total_pence);
    const auto& indicators = parsed.at("indicators").as_array();
    ASSERT_EQ(indicators.size(), r.indicators.size());
    for (std::size_t i = 0; i < indicators.size(); ++i) {
        EXPECT_EQ(indicators[i].at("code").as_string(), r.indicators[i].code);
        EXPECT_EQ(to_units(indicators[i].at("payment_gbp").to_number<double>(), 2), r.indicators[i].payment_pence);
        EXPECT_EQ(indicators[i].at("achievement").is_null(), !r.indicators[i].achievement);
        EXPECT_EQ(indicators[i].at("notes").as_array().size(), r.indicators[i].notes.size());
    }
}

TEST(Properties, GeneratedQofSubmissions)
{
    std::mt19937_64 random(20250331);
    for (const auto* period : periods()) {
        for (int round = 0; round < 300; ++round) {
            const auto s = random_qof(random, *period);
            check_properties(s, *period, calculate(s, *period));
            if (::testing::Test::HasFailure()) return;  // one reproducible failure, not thousands
        }
    }
}

TEST(Properties, GeneratedEnhancedServiceSubmissions)
{
    std::mt19937_64 random(7);
    for (const auto* period : {&test_period(), shipped().period("2024-25")}) {
        for (const auto& scheme : period->services()) {
            for (int round = 0; round < 100; ++round) {
                std::vector<queue::service_count> items;
                for (const auto& service_item : scheme.items) {
                    items.push_back({service_item.code, std::uniform_int_distribution<std::uint64_t>(0, 100000)(random)});
                }
                auto s = enhanced(scheme.code, items, period->name());
                if (round % 2 == 1) s.registers = {{"LD", std::uniform_int_distribution<std::uint64_t>(0, 100000)(random)}};
                const auto r = calculate(s, *period);
                check_properties(s, *period, r);
                for (std::size_t i = 0; i < r.services.size(); ++i) {
                    EXPECT_EQ(r.services[i].payment_pence,
                              static_cast<std::int64_t>(r.services[i].paid_count) * scheme.item(items[i].code)->fee_pence);
                }
                if (::testing::Test::HasFailure()) return;
            }
        }
    }
}

TEST(Properties, PointsNeverDecreaseAsTheNumeratorGrows)
{
    std::mt19937_64 random(42);
    for (const auto* period : periods()) {
        for (const auto& indicator : period->qof_indicators()) {
            for (int round = 0; round < 4; ++round) {
                const bool big = round == 3;
                const std::uint64_t denominator =
                    std::uniform_int_distribution<std::uint64_t>(1, big ? queue::max_json_integer : 400)(random);
                std::vector<std::uint64_t> numerators;
                if (denominator <= 400) {
                    for (std::uint64_t n = 0; n <= denominator; ++n) numerators.push_back(n);
                } else {
                    for (int k = 0; k < 300; ++k) {
                        numerators.push_back(std::uniform_int_distribution<std::uint64_t>(0, denominator)(random));
                    }
                    numerators.push_back(0);
                    numerators.push_back(denominator);
                    std::sort(numerators.begin(), numerators.end());
                }
                std::int64_t previous_units = -1;
                std::int64_t previous_pence = -1;
                for (const auto n : numerators) {
                    const auto r = calculate(qof(10000, {item(indicator.code, n, denominator)}, {{indicator.group, 500}},
                                                 period->name()),
                                             *period);
                    const std::int64_t u = only(r).points_hundredths;
                    EXPECT_GE(u, previous_units) << indicator.code << " " << n << "/" << denominator;
                    EXPECT_GE(only(r).payment_pence, previous_pence) << indicator.code << " " << n << "/" << denominator;
                    previous_units = u;
                    previous_pence = only(r).payment_pence;
                }
                if (::testing::Test::HasFailure()) return;
            }
        }
    }
}

}  // namespace
}  // namespace sluice::worker
