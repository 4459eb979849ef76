// Unit tests of config/catalogue.hpp: the shipped data/catalogue (SLUICE_CATALOGUE_DIR) loads and
// holds what the reference data says, with every threshold the reference leaves open flagged
// unconfirmed; look-ups; and every kind of bad file rejected with FILE:LINE and the key.

#include "catalogue/catalogue.hpp"
#include "config/config.hpp"

#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice::catalogue {
namespace {

using config::config_error;

using test::scratch_directory;

const std::filesystem::path shipped_dir = SLUICE_CATALOGUE_DIR;

const catalogue& shipped()
{
    static const catalogue loaded = load_catalogue(shipped_dir);
    return loaded;
}

const period_catalogue& period_of(std::string_view name)
{
    const auto* period = shipped().period(name);
    if (!period) throw std::runtime_error("no period " + std::string(name));
    return *period;
}

std::string read_file(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> codes_where(const period_catalogue& period, bool (*wanted)(const indicator&))
{
    std::set<std::string> codes;
    for (const auto& item : period.qof_indicators()) {
        if (wanted(item)) codes.insert(item.code);
    }
    return codes;
}

// ---------------------------------------------------------------------------------------------
// The shipped catalogue.

TEST(ShippedCatalogue, HasBothPeriodsInOrder)
{
    const auto periods = shipped().periods();
    ASSERT_EQ(periods.size(), 2u);
    EXPECT_EQ(periods[0].name(), "2023-24");
    EXPECT_EQ(periods[1].name(), "2024-25");
    EXPECT_EQ(shipped().period_names(), "2023-24, 2024-25");
    EXPECT_EQ(shipped().period("2022-23"), nullptr);
    EXPECT_EQ(shipped().period(""), nullptr);
    EXPECT_EQ(shipped().period("2024-25 "), nullptr);
}

TEST(ShippedCatalogue, PaymentConstantsAreTheReferenceFigures)
{
    const auto& y2023 = period_of("2023-24");
    EXPECT_EQ(y2023.pence_per_point(), 21343);
    EXPECT_DOUBLE_EQ(y2023.pounds_per_point(), 213.43);
    EXPECT_EQ(y2023.national_average_list_size(), 9639);
    const auto& y2024 = period_of("2024-25");
    EXPECT_EQ(y2024.pence_per_point(), 22062);
    EXPECT_EQ(y2024.national_average_list_size(), 9964);
    for (const auto& period : shipped().periods()) {
        EXPECT_EQ(period.max_points(), 635) << period.name();
        EXPECT_EQ(period.points_decimal_places(), 2) << period.name();
        EXPECT_EQ(period.pounds_decimal_places(), 2) << period.name();
    }
}

TEST(ShippedCatalogue, AspirationRatesAreTheReferences)
{
    // qof-reference.md §1.4: 70% until 2023-24, 80% for 2024-25 [S]; held in ten-thousandths.
    EXPECT_EQ(period_of("2023-24").aspiration_rate(), 7000);
    EXPECT_EQ(period_of("2024-25").aspiration_rate(), 8000);
    EXPECT_EQ(aspiration_rate_scale, 10000);
}

TEST(ShippedCatalogue, IndicatorsAndPointsMatchTheControlTable)
{
    // Group totals of qof-reference.md §2 (the control table's INDICATOR_POINT_VALUE summed).
    const std::map<std::string, int> group_points = {
        {"DM", 67},  {"VI", 64},  {"SMOK", 62}, {"AST", 45}, {"MH", 38}, {"QIWW", 37}, {"CHOL", 30}, {"AF", 29},
        {"HF", 29},  {"CHD", 28}, {"HYP", 25},  {"QIOSC", 22}, {"QIRAA", 15}, {"COPD", 19}, {"DEM", 19},
        {"NDH", 18}, {"BP", 15},  {"CAN", 13},  {"CS", 11}, {"STIA", 11}, {"DEP", 10}, {"OB", 8}, {"CKD", 6},
        {"LD", 4},   {"OST", 3},  {"PC", 3},    {"PAD", 2}, {"EP", 1},    {"RA", 1}};
    for (const auto& period : shipped().periods()) {
        SCOPED_TRACE(period.name());
        EXPECT_EQ(period.qof_indicators().size(), 76u);
        EXPECT_EQ(period.groups().size(), group_points.size());
        std::map<std::string, int> totals;
        for (const auto& item : period.qof_indicators()) totals[item.group] += item.max_points;
        EXPECT_EQ(totals, group_points);
    }
    const auto& y2023 = period_of("2023-24");
    ASSERT_NE(y2023.qof_indicator("AF006"), nullptr);
    EXPECT_EQ(y2023.qof_indicator("AF006")->max_points, 12);
    EXPECT_EQ(y2023.qof_indicator("AF006")->group, "AF");
    EXPECT_EQ(y2023.qof_indicator("SMOK005")->max_points, 25);
    EXPECT_EQ(y2023.qof_indicator("QI013")->max_points, 27);
}

TEST(ShippedCatalogue, RegisterAndYesNoIndicatorsAreAllOrNothing)
{
    for (const auto& period : shipped().periods()) {
        SCOPED_TRACE(period.name());
        int register_count = 0, register_points = 0, yes_no_count = 0, yes_no_points = 0;
        for (const auto& item : period.qof_indicators()) {
            if (item.kind == indicator_kind::disease_register) {
                ++register_count;
                register_points += item.max_points;
            }
            if (item.kind == indicator_kind::yes_no) {
                ++yes_no_count;
                yes_no_points += item.max_points;
                EXPECT_EQ(period.group(item.group)->domain, "QI") << item.code;
            }
            if (item.kind != indicator_kind::percentage) {
                EXPECT_FALSE(item.lower_threshold || item.upper_threshold) << item.code;
                EXPECT_TRUE(item.thresholds_confirmed) << item.code;
            }
        }
        // "Register indicators = 81 points (19 indicators)"; QI 74 points, 6 indicators (AUTOMATIC_MANUAL_ENTRY = M).
        EXPECT_EQ(register_count, 19);
        EXPECT_EQ(register_points, 81);
        EXPECT_EQ(yes_no_count, 6);
        EXPECT_EQ(yes_no_points, 74);
    }
    EXPECT_EQ(period_of("2024-25").qof_indicator("AF001")->kind, indicator_kind::disease_register);
    EXPECT_EQ(period_of("2024-25").qof_indicator("QI019")->kind, indicator_kind::yes_no);
    // REGISTER_FLAG = 1 in the control table, but paid as percentages (qof-reference.md §2).
    EXPECT_EQ(period_of("2024-25").qof_indicator("DEP004")->kind, indicator_kind::percentage);
    EXPECT_EQ(period_of("2024-25").qof_indicator("NDH002")->kind, indicator_kind::percentage);
}

TEST(ShippedCatalogue, ConfirmedThresholdsAreTheReferenceFigures)
{
    struct expected {
        std::string_view period, code;
        double lower, upper;
    };
    for (const auto& e : {expected{"2023-24", "AF006", 40, 90}, expected{"2024-25", "AF006", 40, 90},
                          expected{"2023-24", "AST007", 45, 70}, expected{"2023-24", "CHD005", 56, 96},
                          expected{"2023-24", "CHOL001", 70, 95}, expected{"2024-25", "VI001", 89, 96},
                          expected{"2024-25", "VI002", 86, 96}, expected{"2024-25", "VI003", 81, 96},
                          expected{"2024-25", "VI004", 50, 60}, expected{"2024-25", "DM006", 57, 97}}) {
        SCOPED_TRACE(std::string(e.period) + " " + std::string(e.code));
        const auto* item = period_of(e.period).qof_indicator(e.code);
        ASSERT_NE(item, nullptr);
        EXPECT_EQ(item->kind, indicator_kind::percentage);
        EXPECT_TRUE(item->thresholds_confirmed);
        EXPECT_EQ(item->lower_threshold, e.lower);
        EXPECT_EQ(item->upper_threshold, e.upper);
    }
}

TEST(ShippedCatalogue, ThresholdsTheReferenceLeavesOpenAreFlagged)
{
    // [U] or missing in qof-reference.md §2: "?" (none found), "L" (lower only; uppers at most
    // "from memory"), "S" (a successor's value, "[U-ish]").
    const std::set<std::string> open_2023 = {"AST008", "AST011", "CAN004", "CAN005", "CHD015",  "CHD016",
                                             "CHOL002", "COPD014", "DEP004", "DM022", "DM023",  "DM033",
                                             "HYP008", "HYP009", "MH021",  "SMOK005", "STIA014", "STIA015"};
    EXPECT_EQ(codes_where(period_of("2023-24"), [](const indicator& i) { return !i.thresholds_confirmed; }), open_2023);
    // 2024-25: successor codes, and CHOL003's upper threshold is not given for the year either.
    const std::set<std::string> open_2024 = {"AST008", "AST012", "CAN004", "CAN005", "CHD015",  "CHD016",  "CHOL003",
                                             "CHOL004", "COPD014", "DEP004", "DM034", "DM035",  "DM036",  "HYP008",
                                             "HYP009", "MH021",   "SMOK005", "STIA014", "STIA015"};
    EXPECT_EQ(codes_where(period_of("2024-25"), [](const indicator& i) { return !i.thresholds_confirmed; }), open_2024);

    // Never a guessed value presented as confirmed: a percentage indicator missing either
    // threshold is unconfirmed, in every period.
    for (const auto& period : shipped().periods()) {
        for (const auto& item : period.qof_indicators()) {
            if (item.kind == indicator_kind::percentage && !(item.lower_threshold && item.upper_threshold)) {
                EXPECT_FALSE(item.thresholds_confirmed) << period.name() << " " << item.code;
            }
        }
    }
    // What the reference does give is kept, flagged: HYP008's lower threshold [S], its upper a
    // placeholder "from memory" [U]; AST008 has none at all.
    const auto* hyp008 = period_of("2024-25").qof_indicator("HYP008");
    EXPECT_EQ(hyp008->lower_threshold, 40);
    EXPECT_EQ(hyp008->upper_threshold, 77);
    EXPECT_FALSE(hyp008->thresholds_confirmed);
    EXPECT_NE(hyp008->source.find("[U]"), std::string::npos);
    const auto* hyp009 = period_of("2024-25").qof_indicator("HYP009");
    EXPECT_EQ(hyp009->lower_threshold, 40);
    EXPECT_FALSE(hyp009->upper_threshold);
    const auto* ast008 = period_of("2023-24").qof_indicator("AST008");
    EXPECT_FALSE(ast008->lower_threshold || ast008->upper_threshold);
    EXPECT_FALSE(ast008->thresholds_confirmed);
}

TEST(ShippedCatalogue, The2024PeriodHasSuccessorCodesAndIncomeProtection)
{
    const auto& y2023 = period_of("2023-24");
    const auto& y2024 = period_of("2024-25");
    for (const auto& [before, after] : std::map<std::string, std::string>{{"AST011", "AST012"},
                                                                          {"CHOL001", "CHOL003"},
                                                                          {"CHOL002", "CHOL004"},
                                                                          {"DM022", "DM034"},
                                                                          {"DM023", "DM035"},
                                                                          {"DM033", "DM036"}}) {
        ASSERT_NE(y2023.qof_indicator(before), nullptr) << before;
        EXPECT_EQ(y2023.qof_indicator(after), nullptr) << after;
        EXPECT_EQ(y2024.qof_indicator(before), nullptr) << before;
        ASSERT_NE(y2024.qof_indicator(after), nullptr) << after;
        EXPECT_EQ(y2024.qof_indicator(after)->max_points, y2023.qof_indicator(before)->max_points) << after;
    }
    // 32 indicators, 212 points: the 19 registers, the 6 QI and seven others.
    int protected_count = 0, protected_points = 0;
    for (const auto& item : y2024.qof_indicators()) {
        if (!item.income_protected) continue;
        ++protected_count;
        protected_points += item.max_points;
    }
    EXPECT_EQ(protected_count, 32);
    EXPECT_EQ(protected_points, 212);
    // Fixed at the practice's 2023-24 achievement; 2023-24 protects nothing.
    EXPECT_EQ(y2024.income_protection_period(), "2023-24");
    EXPECT_FALSE(y2023.income_protection_period());
    // Every protected code is a 2023-24 indicator (its points are read from 2023-24 results).
    for (const auto& item : y2024.qof_indicators()) {
        if (item.income_protected) {
            EXPECT_NE(y2023.qof_indicator(item.code), nullptr) << item.code;
        }
    }
    EXPECT_TRUE(y2024.qof_indicator("SMOK005")->income_protected);
    EXPECT_FALSE(y2024.qof_indicator("SMOK002")->income_protected);
    for (const auto& item : y2023.qof_indicators()) EXPECT_FALSE(item.income_protected) << item.code;
}

TEST(ShippedCatalogue, PrevalenceAdjustmentByGroup)
{
    for (const auto& period : shipped().periods()) {
        SCOPED_TRACE(period.name());
        std::set<std::string> unadjusted;
        for (const auto& group : period.groups()) {
            if (!group.prevalence_adjusted) unadjusted.insert(group.code);
            if (group.domain == "QI") {
                EXPECT_FALSE(group.prevalence_adjusted) << group.code;
            }
        }
        // The control table's NO_PREVALENCE_FLAG = 1 groups (BP, CHOL, CS, SMOK, VI) and QI.
        EXPECT_EQ(unadjusted, (std::set<std::string>{"BP", "CHOL", "CS", "QIOSC", "QIRAA", "QIWW", "SMOK", "VI"}));
        // CHOL: as the control table flags it [V]; qof-reference.md §1.3 leaves it open [U].
        EXPECT_FALSE(period.group("CHOL")->prevalence_adjusted);
        EXPECT_FALSE(period.group("CHOL")->prevalence_adjusted_confirmed);
        EXPECT_NE(period.group("CHOL")->source.find("NO_PREVALENCE_FLAG = 1"), std::string::npos);
        for (const auto& group : period.groups()) {
            EXPECT_EQ(group.prevalence_adjusted_confirmed, group.code != "CHOL") << group.code;
        }
        // The one national prevalence figure the reference gives, flagged an estimate.
        ASSERT_TRUE(period.group("AF")->national_prevalence);
        EXPECT_DOUBLE_EQ(*period.group("AF")->national_prevalence, 0.021);
        EXPECT_TRUE(period.group("AF")->national_prevalence_estimate);
        EXPECT_FALSE(period.group("HYP")->national_prevalence);
        EXPECT_EQ(period.group("OB")->domain, "PH");
        EXPECT_TRUE(period.group("OB")->prevalence_adjusted);
    }
}

TEST(ShippedCatalogue, ZeroRegisterFlagIsTheControlTables)
{
    // ZERO_REGISTER_FLAG = 1 in INDICATOR_REFERENCE_CONTROL.csv: the groups of the 21 indicators
    // with REGISTER_FLAG = 1 except PC (PC001 has REGISTER_FLAG = 1 and no ZERO_REGISTER_FLAG).
    const std::set<std::string> flagged = {"AF",  "AST", "CAN", "CHD", "CKD", "COPD", "DEM", "DEP", "DM",  "EP",
                                           "HF",  "HYP", "LD",  "MH",  "NDH", "OB",   "OST", "PAD", "RA",  "STIA"};
    for (const auto& period : shipped().periods()) {
        SCOPED_TRACE(period.name());
        std::set<std::string> groups;
        for (const auto& group : period.groups()) {
            if (group.zero_register_flag) groups.insert(group.code);
        }
        EXPECT_EQ(groups, flagged);
        // Every register indicator's group is flagged, PC's excepted; no unflagged group but PC has one.
        for (const auto& item : period.qof_indicators()) {
            if (item.kind == indicator_kind::disease_register) {
                EXPECT_EQ(period.group(item.group)->zero_register_flag, item.group != "PC") << item.code;
            }
        }
    }
}

TEST(ShippedCatalogue, EnhancedServicesOf2024)
{
    const auto& y2024 = period_of("2024-25");
    EXPECT_TRUE(y2024.has_scheme("QOF"));
    EXPECT_TRUE(y2024.has_scheme("LDHC"));
    EXPECT_TRUE(y2024.has_scheme("SHINGLES"));
    EXPECT_TRUE(y2024.has_scheme("PNEUMO"));
    EXPECT_FALSE(y2024.has_scheme("ldhc"));
    EXPECT_FALSE(y2024.has_scheme(""));
    EXPECT_FALSE(y2024.has_scheme("FLU"));

    const auto* check = y2024.service_item("LDHC", "CHECK");
    ASSERT_NE(check, nullptr);
    EXPECT_EQ(check->fee_pence, 14000);
    EXPECT_EQ(check->cap_register, "LD");
    ASSERT_NE(y2024.group(*check->cap_register), nullptr);
    EXPECT_EQ(y2024.service_item("SHINGLES", "DOSE")->fee_pence, 1006);
    EXPECT_FALSE(y2024.service_item("SHINGLES", "DOSE")->cap_register);
    EXPECT_EQ(y2024.service_item("PNEUMO", "PCV")->fee_pence, 1502);
    EXPECT_EQ(y2024.service_item("LDHC", "DOSE"), nullptr);
    EXPECT_EQ(y2024.service_item("QOF", "AF006"), nullptr);
    EXPECT_EQ(y2024.service_item("NOPE", "CHECK"), nullptr);
    ASSERT_NE(y2024.service("LDHC"), nullptr);
    EXPECT_EQ(y2024.service("LDHC")->items.size(), 1u);

    // The reference gives no enhanced-service fees for 2023-24: QOF only.
    const auto& y2023 = period_of("2023-24");
    EXPECT_TRUE(y2023.has_scheme("QOF"));
    EXPECT_FALSE(y2023.has_scheme("LDHC"));
    EXPECT_TRUE(y2023.services().empty());
}

TEST(ShippedCatalogue, LookUpsAreExactAndEverythingIsSorted)
{
    const auto& y2024 = period_of("2024-25");
    EXPECT_EQ(y2024.qof_indicator("af006"), nullptr);
    EXPECT_EQ(y2024.qof_indicator("AF006 "), nullptr);
    EXPECT_EQ(y2024.qof_indicator("AF00"), nullptr);
    EXPECT_EQ(y2024.qof_indicator(""), nullptr);
    EXPECT_EQ(y2024.group("QI"), nullptr);
    auto by_code = [](const auto& a, const auto& b) { return a.code < b.code; };
    EXPECT_TRUE(std::is_sorted(y2024.qof_indicators().begin(), y2024.qof_indicators().end(), by_code));
    EXPECT_TRUE(std::is_sorted(y2024.groups().begin(), y2024.groups().end(), by_code));
    EXPECT_TRUE(std::is_sorted(y2024.services().begin(), y2024.services().end(), by_code));
    // Every element is found by its own code.
    for (const auto& item : y2024.qof_indicators()) EXPECT_EQ(y2024.qof_indicator(item.code), &item);
    for (const auto& group : y2024.groups()) EXPECT_EQ(y2024.group(group.code), &group);
    for (const auto& service : y2024.services()) {
        for (const auto& item : service.items) EXPECT_EQ(y2024.service_item(service.code, item.code), &item);
    }
}

TEST(PeriodName, FollowsTheFinancialYearShape)
{
    for (const auto good : {"2024-25", "2023-24", "1999-00", "2099-00", "0000-01"}) EXPECT_TRUE(is_period_name(good)) << good;
    for (const auto bad : {"2024-26", "2024-24", "2024/25", "2024-2025", "24-25", "2024-5", "", "202A-25", "2024-25 ",
                           " 2024-25", "2099-01", "2024–25"}) {
        EXPECT_FALSE(is_period_name(bad)) << bad;
    }
}

TEST(PeriodName, PreviousPeriod)
{
    EXPECT_EQ(previous_period_name("2024-25"), "2023-24");
    EXPECT_EQ(previous_period_name("2023-24"), "2022-23");
    EXPECT_EQ(previous_period_name("2000-01"), "1999-00");
    EXPECT_EQ(previous_period_name("2100-01"), "2099-00");
    EXPECT_EQ(previous_period_name("2010-11"), "2009-10");
    EXPECT_EQ(previous_period_name("0001-02"), "0000-01");
    EXPECT_EQ(previous_period_name("0000-01"), "");  // there is none
    EXPECT_EQ(previous_period_name("2024-26"), "");  // not a period
    EXPECT_EQ(previous_period_name(""), "");
}

// ---------------------------------------------------------------------------------------------
// Operators' edits and bad files, starting from the shipped 2024-25 file.

class edited_catalogue : public ::testing::Test {
protected:
    // The shipped 2024-25 file with `from` replaced by `to` (which must occur), written to the
    // scratch directory as 2024-25.toml. Returns the 1-based line where `to` landed.
    int write_edited(std::string_view from, std::string_view to, std::string_view file_name = "2024-25.toml")
    {
        std::string text = read_file(shipped_dir / "2024-25.toml");
        const auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << "the shipped file has no " << from;
        if (at == std::string::npos) return 0;
        text.replace(at, from.size(), to);
        file_ = scratch_.write(file_name, text);
        return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    }

    // The message of the config_error that loading the scratch directory throws.
    std::string load_error()
    {
        try {
            (void)load_catalogue(scratch_.path());
        } catch (const config_error& error) {
            return error.what();
        }
        ADD_FAILURE() << "no config_error";
        return {};
    }

    std::string at_line(int line) const { return "(at " + file_.string() + ":" + std::to_string(line) + ")"; }

    scratch_directory scratch_;
    std::filesystem::path file_;
};

TEST_F(edited_catalogue, AspirationRateIsOptionalAndExact)
{
    write_edited("aspiration_rate = 0.80            # [S] (qof-reference.md §1.4)\n", "");
    EXPECT_EQ(load_catalogue(scratch_.path()).period("2024-25")->aspiration_rate(), std::nullopt);
    write_edited("aspiration_rate = 0.80", "aspiration_rate = 0.8125");
    EXPECT_EQ(load_catalogue(scratch_.path()).period("2024-25")->aspiration_rate(), 8125);
    write_edited("aspiration_rate = 0.80", "aspiration_rate = 1");  // an integer is a number too
    EXPECT_EQ(load_catalogue(scratch_.path()).period("2024-25")->aspiration_rate(), 10000);
    write_edited("aspiration_rate = 0.80", "aspiration_rate = 0.0001");
    EXPECT_EQ(load_catalogue(scratch_.path()).period("2024-25")->aspiration_rate(), 1);
}

TEST_F(edited_catalogue, AnOperatorCorrectsAThresholdWithoutARebuild)
{
    write_edited(R"(HYP009  = { group = "HYP",    kind = "percentage", points = 5,  lower_threshold = 40, thresholds_confirmed = false,)",
                 R"(HYP009  = { group = "HYP",    kind = "percentage", points = 5,  lower_threshold = 40, upper_threshold = 85, thresholds_confirmed = true,)");
    const auto loaded = load_catalogue(scratch_.path());
    const auto* hyp009 = loaded.period("2024-25")->qof_indicator("HYP009");
    ASSERT_NE(hyp009, nullptr);
    EXPECT_EQ(hyp009->lower_threshold, 40);
    EXPECT_EQ(hyp009->upper_threshold, 85);
    EXPECT_TRUE(hyp009->thresholds_confirmed);
}

TEST_F(edited_catalogue, AnOperatorTurnsCholesterolsPrevalenceAdjustmentOn)
{
    // qof-reference.md §1.3: "make it configurable per group". Should CHOL prove adjusted, the
    // operator says so and gives its national prevalence; the calculation follows the file.
    write_edited(R"(CHOL  = { name = "Cholesterol control and lipid management", domain = "CL", prevalence_adjusted = false,)",
                 R"(CHOL  = { name = "Cholesterol control and lipid management", domain = "CL", prevalence_adjusted = true, national_prevalence = 0.12,)");
    const auto loaded = load_catalogue(scratch_.path());
    const auto* chol = loaded.period("2024-25")->group("CHOL");
    ASSERT_NE(chol, nullptr);
    EXPECT_TRUE(chol->prevalence_adjusted);
    EXPECT_EQ(chol->national_prevalence, 0.12);
    EXPECT_FALSE(chol->zero_register_flag);
}

TEST_F(edited_catalogue, DeclarationWindowAndGrace)
{
    write_edited("period = \"2024-25\"", "period = \"2024-25\"\ndeclarations_open = \"2025-04-01T00:00:00Z\"\n"
                                        "declarations_close = \"2025-06-30T23:59:59Z\"\ndeclaration_grace_hours = 48");
    const auto loaded = load_catalogue(scratch_.path());
    const auto& w = loaded.period("2024-25")->declarations();
    using std::chrono::sys_days;
    using namespace std::chrono;
    const auto close = sys_days{2025y / June / 30} + 23h + 59min + 59s;
    ASSERT_TRUE(w.open && w.close);
    EXPECT_EQ(*w.close, close);
    EXPECT_EQ(w.grace_hours, 48);
    const system_clock::time_point early = close - days(10);
    EXPECT_FALSE(w.declarable(sys_days{2025y / March / 31}, early));          // before the open
    EXPECT_TRUE(w.declarable(close, early));                                   // the close's second still counts
    EXPECT_TRUE(w.declarable(close + 47h, close));                             // received in time: grace
    EXPECT_FALSE(w.declarable(close + 49h, close));                            // grace over
    EXPECT_FALSE(w.declarable(close + 1h, close + 2s));                        // received after the close
    EXPECT_TRUE(w.accepts_submissions(close + 999ms));
    EXPECT_FALSE(w.accepts_submissions(close + 1s));
    EXPECT_NE(w.describe().find("from 2025-04-01T00:00:00Z to 2025-06-30T23:59:59Z (48 hours"), std::string::npos)
        << w.describe();
    // The shipped files have no window: always open.
    const auto shipped = load_catalogue(shipped_dir);
    EXPECT_FALSE(shipped.period("2024-25")->declarations().close);
    EXPECT_TRUE(shipped.period("2024-25")->declarations().declarable(system_clock::now(), system_clock::now()));
}

TEST_F(edited_catalogue, IncomeProtectionPeriodOnlyBesideProtectedIndicators)
{
    // No indicator protected, a period named: refused at the key.
    std::string text = read_file(shipped_dir / "2024-25.toml");
    const std::string flag = "income_protected = true";
    for (auto at = text.find(flag); at != std::string::npos; at = text.find(flag)) {
        text.replace(at, flag.size(), "income_protected = false");
    }
    file_ = scratch_.write("2024-25.toml", text);
    const auto key_at = static_cast<std::ptrdiff_t>(text.find("income_protection_period"));
    const auto line = 1 + std::count(text.begin(), text.begin() + key_at, '\n');
    EXPECT_EQ(load_error(), "config: qof.income_protection_period = \"2023-24\": expected none: no indicator of "
                            "[qof.indicators] is income_protected " + at_line(static_cast<int>(line)));
    // Without the key as well, it loads with no protection.
    const auto header = text.find("[qof]\nincome_protection_period = \"2023-24\"\n");
    ASSERT_NE(header, std::string::npos);
    text.replace(header, 43, "");
    scratch_.write("2024-25.toml", text);
    const auto loaded = load_catalogue(scratch_.path());
    EXPECT_FALSE(loaded.period("2024-25")->income_protection_period());
}

TEST_F(edited_catalogue, AProtectedIndicatorMustBeOneOfTheProtectionPeriods)
{
    // AST012 is 2024-25's successor of AST011: no 2023-24 result has its points.
    scratch_.write("2023-24.toml", read_file(shipped_dir / "2023-24.toml"));
    write_edited(R"(source = "T: 2025/26 tool value for AST012; 2024-25 not in the reference" })",
                 R"(source = "T: 2025/26 tool value for AST012; 2024-25 not in the reference", income_protected = true })");
    EXPECT_EQ(load_error(), "config: qof.indicators.AST012.income_protected = true: expected false: AST012 is not an "
                            "indicator of 2023-24, the income_protection_period of 2024-25 (at 2024-25.toml)");
}

TEST_F(edited_catalogue, DeclarationWindowFaults)
{
    write_edited("period = \"2024-25\"", "period = \"2024-25\"\ndeclarations_close = \"2025-06-31\"");
    EXPECT_NE(load_error().find("declarations_close = \"2025-06-31\": expected an RFC 3339 UTC time"), std::string::npos);
    write_edited("period = \"2024-25\"", "period = \"2024-25\"\ndeclarations_open = \"2025-07-01T00:00:00Z\"\n"
                                        "declarations_close = \"2025-06-30T23:59:59Z\"");
    EXPECT_NE(load_error().find("expected a time after declarations_open"), std::string::npos);
    write_edited("period = \"2024-25\"", "period = \"2024-25\"\ndeclaration_grace_hours = -1");
    EXPECT_NE(load_error().find("declaration_grace_hours = -1"), std::string::npos);
}

struct bad_edit {
    std::string_view name;
    std::string_view from, to;
    std::string_view message;  // the config_error's text up to " (at FILE:LINE)"
};

void PrintTo(const bad_edit& edit, std::ostream* out)
{
    *out << edit.name;
}

class bad_file : public edited_catalogue, public ::testing::WithParamInterface<bad_edit> {};

TEST_P(bad_file, IsRejectedWithFileLineAndKey)
{
    const auto& edit = GetParam();
    const int line = write_edited(edit.from, edit.to);
    EXPECT_EQ(load_error(), std::string(edit.message) + " " + at_line(line));
}

const std::string_view af006 =
    R"(AF006   = { group = "AF",     kind = "percentage", points = 12, lower_threshold = 40, upper_threshold = 90, thresholds_confirmed = true, source = "T" })";

INSTANTIATE_TEST_SUITE_P(
    Catalogue, bad_file,
    ::testing::Values(
        bad_edit{"MisspeltKey", "upper_threshold = 90, thresholds_confirmed = true, source = \"T\" }",
                 "upper_treshold = 90, thresholds_confirmed = true, source = \"T\" }",
                 "config: qof.indicators.AF006.upper_treshold: unknown key; the keys of [qof.indicators.AF006] are "
                 "group, kind, points, lower_threshold, upper_threshold, thresholds_confirmed, income_protected, source"},
        bad_edit{"ConfirmedWithoutUpper", "lower_threshold = 40, upper_threshold = 90, thresholds_confirmed = true",
                 "lower_threshold = 40, thresholds_confirmed = true",
                 "config: qof.indicators.AF006.thresholds_confirmed = true: expected false: confirmed thresholds need "
                 "both lower_threshold and upper_threshold"},
        bad_edit{"MissingConfirmation", "upper_threshold = 90, thresholds_confirmed = true, source = \"T\" }",
                 "upper_threshold = 90, source = \"T\" }",
                 "config: qof.indicators.AF006.thresholds_confirmed: missing: expected true or false"},
        bad_edit{"LowerNotBelowUpper", "lower_threshold = 40, upper_threshold = 90",
                 "lower_threshold = 90, upper_threshold = 90",
                 "config: qof.indicators.AF006.upper_threshold = 90: expected more than lower_threshold (90)"},
        bad_edit{"ThresholdAbove100", "lower_threshold = 40, upper_threshold = 90",
                 "lower_threshold = 40, upper_threshold = 100.5",
                 "config: qof.indicators.AF006.upper_threshold = 100.5: expected a percentage from 0 to 100"},
        bad_edit{"ThresholdAsText", "lower_threshold = 40,", "lower_threshold = \"40\",",
                 "config: qof.indicators.AF006.lower_threshold = \"40\": expected a percentage from 0 to 100, got a string"},
        bad_edit{"FloatPoints", "points = 12, lower_threshold = 40", "points = 12.0, lower_threshold = 40",
                 "config: qof.indicators.AF006.points = 12.0: expected an integer from 0 to 1000, got a float"},
        bad_edit{"UnknownGroup", "AF006   = { group = \"AF\",", "AF006   = { group = \"AFX\",",
                 "config: qof.indicators.AF006.group = \"AFX\": expected a group of [qof.groups]: AF, AST, BP, CAN, "
                 "CHD, CHOL, CKD, COPD, CS, DEM, DEP, DM, EP, HF, HYP, LD, MH, NDH, OB, OST, PAD, PC, QIOSC, QIRAA, "
                 "QIWW, RA, SMOK, STIA, VI"},
        bad_edit{"UnknownKind", "AF006   = { group = \"AF\",     kind = \"percentage\"",
                 "AF006   = { group = \"AF\",     kind = \"percent\"",
                 "config: qof.indicators.AF006.kind = \"percent\": expected \"register\", \"percentage\" or \"yes_no\""},
        bad_edit{"ThresholdOnARegister", "kind = \"register\",   points = 5,  income_protected = true",
                 "kind = \"register\",   points = 5,  income_protected = true, lower_threshold = 1",
                 "config: qof.indicators.AF001.lower_threshold = 1: expected none: only percentage indicators have "
                 "thresholds"},
        bad_edit{"MissingPoints", "kind = \"register\",   points = 5,  income_protected = true",
                 "kind = \"register\",   income_protected = true",
                 "config: qof.indicators.AF001.points: missing: expected an integer from 0 to 1000"},
        bad_edit{"ProtectionPeriodNotAPeriod", "income_protection_period = \"2023-24\"",
                 "income_protection_period = \"2023\"",
                 "config: qof.income_protection_period = \"2023\": expected a period YYYY-YY, like \"2023-24\""},
        bad_edit{"ProtectionPeriodNotEarlier", "income_protection_period = \"2023-24\"",
                 "income_protection_period = \"2024-25\"",
                 "config: qof.income_protection_period = \"2024-25\": expected a period before 2024-25"},
        bad_edit{"ProtectionPeriodMissing", "[qof]\nincome_protection_period = \"2023-24\"", "[qof]",
                 "config: qof.income_protection_period: missing: expected the period whose achievement the "
                 "income_protected indicators' points are fixed at, like \"2023-24\""},
        bad_edit{"LowerCaseCode", "AF006   = {", "af006   = {",
                 "config: qof.indicators.af006: expected an indicator named by a code: an upper-case letter, then "
                 "upper-case letters, digits or _ (at most 16)"},
        bad_edit{"PointsPlacesAbove2", "points_decimal_places = 2", "points_decimal_places = 3",
                 "config: constants.points_decimal_places = 3: expected an integer from 0 to 2"},
        bad_edit{"PoundsPlacesAbove2", "pounds_decimal_places = 2", "pounds_decimal_places = 3",
                 "config: constants.pounds_decimal_places = 3: expected an integer from 0 to 2"},
        bad_edit{"ZeroRegisterFlagAsText", R"(LD    = { name = "Learning disability", domain = "CL", prevalence_adjusted = true, zero_register_flag = true })",
                 R"(LD    = { name = "Learning disability", domain = "CL", prevalence_adjusted = true, zero_register_flag = 1 })",
                 "config: qof.groups.LD.zero_register_flag = 1: expected true or false, got an integer"},
        bad_edit{"AspirationRateAbove1", "aspiration_rate = 0.80", "aspiration_rate = 1.2",
                 "config: constants.aspiration_rate = 1.2: expected a fraction above 0 and at most 1, with at most "
                 "four decimal places"},
        bad_edit{"AspirationRateZero", "aspiration_rate = 0.80", "aspiration_rate = 0",
                 "config: constants.aspiration_rate = 0: expected a fraction above 0 and at most 1, with at most "
                 "four decimal places"},
        bad_edit{"AspirationRateTooFine", "aspiration_rate = 0.80", "aspiration_rate = 0.80005",
                 "config: constants.aspiration_rate = 0.80005: expected a fraction above 0 and at most 1, with at "
                 "most four decimal places"},
        bad_edit{"AspirationRatePercent", "aspiration_rate = 0.80", "aspiration_rate = \"80%\"",
                 "config: constants.aspiration_rate = \"80%\": expected a fraction above 0 and at most 1, with at "
                 "most four decimal places, got a string"},
        bad_edit{"PointsDoNotAddUp", "max_points = 635", "max_points = 636",
                 "config: constants.max_points = 636: expected 635, the sum of the points of [qof.indicators]"},
        bad_edit{"MoneyBeyondPence", "pounds_per_point = 220.62", "pounds_per_point = 220.625",
                 "config: constants.pounds_per_point = 220.625: expected pounds above 0 and at most 100000, with at "
                 "most two decimal places"},
        bad_edit{"NegativeListSize", "national_average_list_size = 9964", "national_average_list_size = -1",
                 "config: constants.national_average_list_size = -1: expected an integer from 1 to 1000000"},
        bad_edit{"PeriodNotTheFileName", "period = \"2024-25\"", "period = \"2023-24\"",
                 "config: period = \"2023-24\": expected \"2024-25\", the name of the file"},
        bad_edit{"UnknownSection", "[constants]", "[constant]",
                 "config: constant: unknown key; the keys of the file are period, constants, qof, services, "
                 "declarations_open, declarations_close, declaration_grace_hours"},
        bad_edit{"PrevalenceAbove1", "national_prevalence = 0.021", "national_prevalence = 2.1",
                 "config: qof.groups.AF.national_prevalence = 2.1: expected a fraction of the list above 0 and at most 1"},
        bad_edit{"PrevalenceOfAnUnadjustedGroup", R"(BP    = { name = "Blood pressure", domain = "PH", prevalence_adjusted = false })",
                 R"(BP    = { name = "Blood pressure", domain = "PH", prevalence_adjusted = false, national_prevalence = 0.3 })",
                 "config: qof.groups.BP.national_prevalence = 0.3: expected no national_prevalence: the group is not "
                 "prevalence_adjusted"},
        bad_edit{"UnknownDomain", R"(BP    = { name = "Blood pressure", domain = "PH")",
                 R"(BP    = { name = "Blood pressure", domain = "XX")",
                 "config: qof.groups.BP.domain = \"XX\": expected \"CL\", \"PH\" or \"QI\""},
        bad_edit{"FeeAsText", "fee_gbp = 140.00,", "fee_gbp = \"140\",",
                 "config: services.LDHC.items.CHECK.fee_gbp = \"140\": expected pounds above 0 and at most 100000, with "
                 "at most two decimal places, got a string"},
        bad_edit{"ZeroFee", "fee_gbp = 10.06 }", "fee_gbp = 0 }",
                 "config: services.SHINGLES.items.DOSE.fee_gbp = 0: expected pounds above 0 and at most 100000, with at "
                 "most two decimal places"},
        bad_edit{"CapByAnUnknownRegister", "cap_register = \"LD\"", "cap_register = \"LDX\"",
                 "config: services.LDHC.items.CHECK.cap_register = \"LDX\": expected a group of [qof.groups]: AF, AST, "
                 "BP, CAN, CHD, CHOL, CKD, COPD, CS, DEM, DEP, DM, EP, HF, HYP, LD, MH, NDH, OB, OST, PAD, PC, QIOSC, "
                 "QIRAA, QIWW, RA, SMOK, STIA, VI"},
        bad_edit{"UnknownItemKey", "fee_gbp = 15.02 }", "fee_gbp = 15.02, fee = 1 }",
                 "config: services.PNEUMO.items.PCV.fee: unknown key; the keys of [services.PNEUMO.items.PCV] are name, "
                 "fee_gbp, cap_register"}),
    [](const ::testing::TestParamInfo<bad_edit>& info) { return std::string(info.param.name); });

TEST_F(edited_catalogue, TomlSyntaxErrorNamesFileLineAndColumn)
{
    const int line = write_edited("max_points = 635", "max_points = 635 x");
    EXPECT_EQ(load_error(), "config: " + file_.string() + ":" + std::to_string(line)
                                + ":18: TOML syntax error: Error while parsing key-value pair: expected a comment or "
                                  "whitespace, saw 'x'");
}

TEST_F(edited_catalogue, DuplicateIndicatorIsATomlError)
{
    const int line = write_edited(std::string(af006), std::string(af006) + "\n" + std::string(af006));
    const auto message = load_error();
    EXPECT_EQ(message.find("config: " + file_.string() + ":" + std::to_string(line + 1) + ":"), 0u) << message;
    EXPECT_NE(message.find("TOML syntax error: Error while parsing key-value pair: cannot redefine existing table 'AF006'"),
              std::string::npos)
        << message;
}

TEST_F(edited_catalogue, QofIsNotAnEnhancedService)
{
    const int line = write_edited("[services.PNEUMO]\nname", "[services.QOF]\nname = \"x\"\n[services.QOF.items]\n"
                                                              "X = { name = \"x\", fee_gbp = 1 }\n\n[services.PNEUMO]\nname");
    EXPECT_EQ(load_error(), "config: services.QOF: expected an enhanced-service scheme: QOF is [qof] " + at_line(line));
}

TEST_F(edited_catalogue, FileNotNamedAfterAPeriod)
{
    write_edited("x", "x", "2024_25.toml");
    EXPECT_EQ(load_error(), "config: catalogue.dir = \"" + file_.string()
                                + "\": expected files named after a period YYYY-YY, like 2024-25.toml (at "
                                + file_.string() + ")");
}

TEST_F(edited_catalogue, OtherFilesAreIgnored)
{
    write_edited("x", "x");
    scratch_.write("README.md", "not a period");
    scratch_.write("2024-25.toml.orig", "not toml [");
    const auto loaded = load_catalogue(scratch_.path());
    EXPECT_EQ(loaded.period_names(), "2024-25");
}

TEST_F(edited_catalogue, DirectoryMissingOrEmpty)
{
    EXPECT_EQ(load_error(), "config: catalogue.dir = \"" + scratch_.path().string()
                                + "\": expected a directory of period files (2024-25.toml, ...): none found");
    const auto missing = scratch_.path() / "nowhere";
    try {
        (void)load_catalogue(missing);
        ADD_FAILURE() << "no config_error";
    } catch (const config_error& error) {
        EXPECT_EQ(error.key(), "catalogue.dir");
        EXPECT_EQ(std::string(error.what()), "config: catalogue.dir = \"" + missing.string()
                                                 + "\": expected a directory of period files (2024-25.toml, ...): "
                                                   "no such directory");
    }
}

TEST_F(edited_catalogue, ErrorCarriesTheKey)
{
    write_edited("points = 12, lower_threshold = 40", "points = -1, lower_threshold = 40");
    try {
        (void)load_catalogue(scratch_.path());
        ADD_FAILURE() << "no config_error";
    } catch (const config_error& error) {
        EXPECT_EQ(error.key(), "qof.indicators.AF006.points");
        EXPECT_EQ(error.value(), "-1");
        EXPECT_EQ(error.origin().rfind("at " + file_.string() + ":", 0), 0u);
    }
}

}  // namespace
}  // namespace sluice::catalogue
