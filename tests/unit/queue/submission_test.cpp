// Unit tests of queue/submission.hpp: every rule of API.md's POST /v1/submissions body, valid
// QOF and enhanced-service bodies, every fault reported together with its JSON Pointer (RFC 6901
// escaping included), the 400/422 boundary, hostile inputs (deep nesting, huge numbers,
// duplicate keys, long keys, floods of faults), and the problem document.
//
// Most tests use the shipped catalogue (SLUICE_CATALOGUE_DIR); the limits on item counts use a
// synthetic period with enough codes to reach them.

#include "queue/submission.hpp"
#include "tests/unit/queue/fault_document.hpp"

#include "catalogue/catalogue.hpp"
#include "tests/support/scratch_directory.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace sluice::queue {

void PrintTo(const field_error& e, std::ostream* out) {
    *out << "{" << e.pointer << ": " << e.detail << "}";
}

namespace {

namespace json = boost::json;
using errors = std::vector<field_error>;

const catalogue::catalogue& shipped() {
    static const catalogue::catalogue loaded = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return loaded;
}

submission_result parse(std::string_view body) { return parse_submission(body, shipped()); }

// The errors of a body that must be answered 422 (never empty: a test may take front()).
errors errors_of(std::string_view body, const catalogue::catalogue& catalogue = shipped()) {
    const auto result = parse_submission(body, catalogue);
    if (result.ok()) {
        ADD_FAILURE() << "accepted: " << body;
        return {{"(accepted)", ""}};
    }
    EXPECT_EQ(result.fault().kind, fault_kind::invalid_submission) << result.fault().detail;
    EXPECT_EQ(result.fault().status(), 422u);
    if (result.fault().errors.empty()) {
        ADD_FAILURE() << "no errors: " << result.fault().detail;
        return {{"(none)", result.fault().detail}};
    }
    return result.fault().errors;
}

// The detail of a body that must be answered 400.
std::string malformed_detail(std::string_view body) {
    const auto result = parse(body);
    if (result.ok()) {
        ADD_FAILURE() << "accepted: " << body;
        return {};
    }
    EXPECT_EQ(result.fault().kind, fault_kind::malformed_json);
    EXPECT_EQ(result.fault().status(), 400u);
    EXPECT_TRUE(result.fault().errors.empty());
    return result.fault().detail;
}

// API.md's example body.
constexpr std::string_view api_example = R"({
  "practice": "A81001",
  "period": "2024-25",
  "scheme": "QOF",
  "list_size": 8123,
  "items": [
    {"code": "AF006", "numerator": 120, "denominator": 140, "pca": 6},
    {"code": "HYP008", "numerator": 950, "denominator": 1210, "pca": 40}
  ],
  "registers": [
    {"condition": "AF", "size": 201},
    {"condition": "HYP", "size": 1312}
  ]
})";

json::object qof_body() { return json::parse(api_example).as_object(); }

json::object ldhc_body() {
    return json::parse(R"({"practice": "B82005", "period": "2024-25", "scheme": "LDHC", "list_size": 6000,
                           "items": [{"code": "CHECK", "count": 42}]})")
        .as_object();
}

std::string text(const json::object& body) { return json::serialize(body); }

json::object& item(json::object& body, std::size_t i) { return body["items"].as_array()[i].as_object(); }

// `body` serialized, with the string "@raw@" replaced by `json_text` verbatim: numbers reach the
// parser exactly as written (1e400, 1.0, -0.0), not as Boost would re-serialize them.
std::string with_raw(const json::object& body, std::string_view json_text) {
    auto serialized = text(body);
    const auto at = serialized.find("\"@raw@\"");
    return serialized.replace(at, 7, json_text);
}

// The API example with one QOF item's field set to a JSON text.
std::string with_item_field(std::string_view field, std::string_view json_text, std::size_t i = 0) {
    auto body = qof_body();
    item(body, i)[field] = "@raw@";
    return with_raw(body, json_text);
}

std::string with_field(std::string_view field, std::string_view json_text) {
    auto body = qof_body();
    body[field] = "@raw@";
    return with_raw(body, json_text);
}

std::string without_field(std::string_view field) {
    auto body = qof_body();
    body.erase(field);
    return text(body);
}

// ---------------------------------------------------------------------------------------------
// Valid bodies.

TEST(ValidSubmission, ApiExampleBecomesATypedQofSubmission) {
    const auto result = parse(api_example);
    ASSERT_TRUE(result.ok()) << problem_document(result.fault());
    const auto& s = result.value();
    EXPECT_EQ(s.practice, "A81001");
    EXPECT_EQ(s.period, "2024-25");
    EXPECT_EQ(s.scheme, "QOF");
    EXPECT_TRUE(s.is_qof());
    EXPECT_EQ(s.list_size, 8123u);
    EXPECT_EQ(s.qof_items, (std::vector<qof_item>{{"AF006", 120, 140, 6}, {"HYP008", 950, 1210, 40}}));
    EXPECT_TRUE(s.service_items.empty());
    EXPECT_EQ(s.registers, (std::vector<register_size>{{"AF", 201}, {"HYP", 1312}}));
}

TEST(ValidSubmission, EnhancedServiceItemsAreCounts) {
    const auto result = parse(text(ldhc_body()));
    ASSERT_TRUE(result.ok()) << problem_document(result.fault());
    const auto& s = result.value();
    EXPECT_EQ(s.practice, "B82005");
    EXPECT_EQ(s.scheme, "LDHC");
    EXPECT_FALSE(s.is_qof());
    EXPECT_EQ(s.list_size, 6000u);
    EXPECT_TRUE(s.qof_items.empty());
    EXPECT_EQ(s.service_items, (std::vector<service_count>{{"CHECK", 42}}));
    EXPECT_TRUE(s.registers.empty());

    const auto shingles = parse(R"({"practice":"C12345","period":"2024-25","scheme":"SHINGLES","list_size":1,
                                    "items":[{"count":0,"code":"DOSE"}]})");
    ASSERT_TRUE(shingles.ok()) << problem_document(shingles.fault());
    EXPECT_EQ(shingles.value().service_items, (std::vector<service_count>{{"DOSE", 0}}));
}

TEST(ValidSubmission, OptionalPartsAndEdgeValues) {
    // No pca, no registers; zeros; numerator == denominator; the largest integers allowed.
    const auto result = parse(R"({"items": [{"code": "AF006", "numerator": 0, "denominator": 0},
                                            {"code": "AF008", "numerator": 9007199254740992, "denominator": 9007199254740992, "pca": 0}],
                                  "list_size": 9007199254740992, "scheme": "QOF", "period": "2023-24", "practice": "Z99999"})");
    ASSERT_TRUE(result.ok()) << problem_document(result.fault());
    const auto& s = result.value();
    EXPECT_EQ(s.period, "2023-24");
    EXPECT_EQ(s.list_size, max_json_integer);
    EXPECT_EQ(s.qof_items, (std::vector<qof_item>{{"AF006", 0, 0, std::nullopt},
                                                  {"AF008", max_json_integer, max_json_integer, 0}}));
    EXPECT_TRUE(s.registers.empty());

    const auto empty_registers = parse(with_field("registers", "[]"));
    ASSERT_TRUE(empty_registers.ok());
    EXPECT_TRUE(empty_registers.value().registers.empty());
    // -0 is the integer 0; escapes in strings are decoded before the rules apply.
    ASSERT_TRUE(parse(with_item_field("pca", "-0")).ok());
    const auto escaped = parse(with_field("practice", R"("A\u00381001")"));
    ASSERT_TRUE(escaped.ok());
    EXPECT_EQ(escaped.value().practice, "A81001");
}

TEST(ValidSubmission, EveryQofCodeOfThePeriodIsAccepted) {
    for (const auto& period : shipped().periods()) {
        json::object body = qof_body();
        body["period"] = period.name();
        json::array items;
        for (const auto& indicator : period.qof_indicators()) {
            items.push_back(json::object{{"code", indicator.code}, {"numerator", 1}, {"denominator", 2}});
        }
        body["items"] = items;
        json::array registers;
        for (const auto& group : period.groups()) registers.push_back(json::object{{"condition", group.code}, {"size", 3}});
        body["registers"] = registers;
        const auto result = parse(text(body));
        ASSERT_TRUE(result.ok()) << period.name() << ": " << problem_document(result.fault());
        EXPECT_EQ(result.value().qof_items.size(), period.qof_indicators().size());
        EXPECT_EQ(result.value().registers.size(), period.groups().size());
    }
}

TEST(ValidSubmission, WhitespaceAroundTheDocumentIsFine) {
    EXPECT_TRUE(parse(" \r\n\t" + std::string(api_example) + "\n\n ").ok());
}

// ---------------------------------------------------------------------------------------------
// Top level.

TEST(SubmissionRules, PracticeIsAnOdsCode) {
    const std::string rule = "expected an ODS practice code, one upper-case letter and five digits (like A81001), got ";
    for (const auto& [value, got] : std::vector<std::pair<std::string, std::string>>{
             {R"("a81001")", R"("a81001")"},  {R"("A8100")", R"("A8100")"},  {R"("A810011")", R"("A810011")"},
             {R"("AB1001")", R"("AB1001")"},  {R"("")", R"("")"},            {R"(" A81001")", R"(" A81001")"},
             {R"("A81001\n")", "\"A81001\n\""}, {R"("Ａ81001")", R"("Ａ81001")"}}) {
        EXPECT_EQ(errors_of(with_field("practice", value)), (errors{{"/practice", rule + got}})) << value;
    }
    EXPECT_EQ(errors_of(with_field("practice", "81001")), (errors{{"/practice", "expected a string, got 81001"}}));
    EXPECT_EQ(errors_of(with_field("practice", "null")), (errors{{"/practice", "expected a string, got null"}}));
    EXPECT_EQ(errors_of(without_field("practice")), (errors{{"", "missing required field \"practice\""}}));
}

TEST(SubmissionRules, PeriodIsAFinancialYearTheCatalogueKnows) {
    const std::string shape = "expected a financial year YYYY-YY, the second year following the first (like 2024-25), got ";
    for (const auto* value : {"2024-26", "2024/25", "2024-2025", "24-25", "2024-25 ", ""}) {
        EXPECT_EQ(errors_of(with_field("period", json::serialize(json::string(value)))),
                  (errors{{"/period", shape + "\"" + value + "\""}}))
            << value;
    }
    // Unknown period: the scheme and codes cannot be judged, so they are not.
    EXPECT_EQ(errors_of(with_field("period", R"("2022-23")")),
              (errors{{"/period", "unknown period \"2022-23\"; the catalogue has 2023-24, 2024-25"}}));
    EXPECT_EQ(errors_of(with_field("period", "2024")), (errors{{"/period", "expected a string, got 2024"}}));
    EXPECT_EQ(errors_of(without_field("period")), (errors{{"", "missing required field \"period\""}}));
}

TEST(SubmissionRules, SchemeIsQofOrAnEnhancedServiceOfThePeriod) {
    // An unknown scheme is one fault: its items are not judged by a guessed shape.
    EXPECT_EQ(errors_of(with_field("scheme", R"("qof")")),
              (errors{{"/scheme", "unknown scheme \"qof\" for 2024-25; expected one of QOF, LDHC, PNEUMO, SHINGLES"}}));
    auto ldhc_2023 = ldhc_body();
    ldhc_2023["period"] = "2023-24";
    EXPECT_EQ(errors_of(text(ldhc_2023)), (errors{{"/scheme", "unknown scheme \"LDHC\" for 2023-24; expected one of QOF"}}));
    EXPECT_EQ(errors_of(with_field("scheme", "5")), (errors{{"/scheme", "expected a string, got 5"}}));
    EXPECT_EQ(errors_of(without_field("scheme")), (errors{{"", "missing required field \"scheme\""}}));

    // Unknown period, scheme of another period: items are still judged as that scheme's.
    auto ldhc_unknown_period = ldhc_body();
    ldhc_unknown_period["period"] = "2030-31";
    item(ldhc_unknown_period, 0)["count"] = -1;
    EXPECT_EQ(errors_of(text(ldhc_unknown_period)),
              (errors{{"/period", "unknown period \"2030-31\"; the catalogue has 2023-24, 2024-25"},
                      {"/items/0/count", "expected a non-negative integer, got -1"}}));
}

TEST(SubmissionRules, ListSizeIsAPositiveInteger) {
    const std::string too_large = "expected an integer no greater than 2^53 (9007199254740992), got ";
    for (const auto& [value, detail] : std::vector<std::pair<std::string, std::string>>{
             {"0", "expected a positive integer, got 0"},
             {"-1", "expected a positive integer, got -1"},
             {"1.5", "expected a positive integer written without a fraction or exponent, got 1.5"},
             {"8123.0", "expected a positive integer written without a fraction or exponent, got 8123.0"},
             {"8.123e3", "expected a positive integer written without a fraction or exponent, got 8123.0"},
             {R"("8123")", "expected a positive integer, got the string \"8123\""},
             {"true", "expected a positive integer, got true"},
             {"[8123]", "expected a positive integer, got an array"},
             {"9007199254740993", too_large + "9007199254740993"},
             {"18446744073709551615", too_large + "18446744073709551615"},
             {"1e400", too_large + "a number above 1.8e308"}}) {
        EXPECT_EQ(errors_of(with_field("list_size", value)), (errors{{"/list_size", detail}})) << value;
    }
    EXPECT_EQ(errors_of(without_field("list_size")), (errors{{"", "missing required field \"list_size\""}}));
    auto ldhc = ldhc_body();
    ldhc.erase("list_size");
    EXPECT_EQ(errors_of(text(ldhc)), (errors{{"", "missing required field \"list_size\""}}));
}

TEST(SubmissionRules, ItemsAreAnArrayOf1To200Objects) {
    EXPECT_EQ(errors_of(without_field("items")), (errors{{"", "missing required field \"items\""}}));
    EXPECT_EQ(errors_of(with_field("items", "{}")), (errors{{"/items", "expected an array of items, got an object"}}));
    EXPECT_EQ(errors_of(with_field("items", "null")), (errors{{"/items", "expected an array of items, got null"}}));
    EXPECT_EQ(errors_of(with_field("items", "[]")), (errors{{"/items", "expected 1 to 200 items, got 0"}}));
    EXPECT_EQ(errors_of(with_field("items", R"([7, "AF006", null, []])")),
              (errors{{"/items/0", "expected an object (an item), got 7"},
                      {"/items/1", "expected an object (an item), got the string \"AF006\""},
                      {"/items/2", "expected an object (an item), got null"},
                      {"/items/3", "expected an object (an item), got an array"}}));
}

TEST(SubmissionRules, QofItemCodesAreKnownAndUnique) {
    EXPECT_EQ(errors_of(with_item_field("code", R"("XX001")")),
              (errors{{"/items/0/code", "unknown QOF indicator \"XX001\" for 2024-25"}}));
    EXPECT_EQ(errors_of(with_item_field("code", R"("af006")")),
              (errors{{"/items/0/code", "unknown QOF indicator \"af006\" for 2024-25"}}));
    // A 2023-24 code that 2024-25 replaced.
    EXPECT_EQ(errors_of(with_item_field("code", R"("CHOL001")")),
              (errors{{"/items/0/code", "unknown QOF indicator \"CHOL001\" for 2024-25"}}));
    // A service item code is not a QOF code.
    EXPECT_EQ(errors_of(with_item_field("code", R"("CHECK")")),
              (errors{{"/items/0/code", "unknown QOF indicator \"CHECK\" for 2024-25"}}));
    EXPECT_EQ(errors_of(with_item_field("code", "6")), (errors{{"/items/0/code", "expected a string, got 6"}}));
    auto body = qof_body();
    item(body, 0).erase("code");
    EXPECT_EQ(errors_of(text(body)), (errors{{"/items/0", "missing required field \"code\""}}));

    auto duplicates = qof_body();
    auto& items = duplicates["items"].as_array();
    items.push_back(items[0]);
    items.push_back(items[1]);
    items.push_back(items[0]);
    EXPECT_EQ(errors_of(text(duplicates)),
              (errors{{"/items/2/code", "duplicate code \"AF006\", already at /items/0"},
                      {"/items/4/code", "duplicate code \"AF006\", already at /items/0"},
                      {"/items/3/code", "duplicate code \"HYP008\", already at /items/1"}}));
}

TEST(SubmissionRules, QofItemCountsAreNonNegativeIntegers) {
    const std::string too_large = "expected an integer no greater than 2^53 (9007199254740992), got ";
    const std::string float_rule = "expected a non-negative integer written without a fraction or exponent, got ";
    for (const auto* field : {"numerator", "denominator", "pca"}) {
        const std::string pointer = std::string("/items/1/") + field;
        for (const auto& [value, detail] : std::vector<std::pair<std::string, std::string>>{
                 {"-1", "expected a non-negative integer, got -1"},
                 {"1.5", float_rule + "1.5"},
                 {"1.0", float_rule + "1.0"},
                 {"1e2", float_rule + "100.0"},
                 {"-0.0", float_rule + "-0.0"},
                 {R"("120")", "expected a non-negative integer, got the string \"120\""},
                 {"null", "expected a non-negative integer, got null"},
                 {"false", "expected a non-negative integer, got false"},
                 {"{}", "expected a non-negative integer, got an object"},
                 {"9007199254740993", too_large + "9007199254740993"},
                 {"18446744073709551616", too_large + "18446744073709551616.0"},
                 {"1e400", too_large + "a number above 1.8e308"},
                 {"-1e400", "expected a non-negative integer, got a number below -1.8e308"},
                 {"-9223372036854775809", "expected a non-negative integer, got -9223372036854775808.0"}}) {
            // Keep numerator <= denominator out of the way: item 1 is HYP008 950/1210.
            EXPECT_EQ(errors_of(with_item_field(field, value, 1)), (errors{{pointer, detail}})) << field << " " << value;
        }
    }
}

TEST(SubmissionRules, NumeratorAtMostDenominatorAndFieldsRequired) {
    EXPECT_EQ(errors_of(with_item_field("numerator", "141")),
              (errors{{"/items/0/numerator", "numerator 141 is above denominator 140"}}));
    EXPECT_TRUE(parse(with_item_field("numerator", "140")).ok());
    // PCAs are already excluded from the denominator: no rule ties them to it.
    EXPECT_TRUE(parse(with_item_field("pca", "100000")).ok());

    auto body = qof_body();
    item(body, 0).erase("numerator");
    item(body, 1).erase("denominator");
    EXPECT_EQ(errors_of(text(body)), (errors{{"/items/0", "missing required field \"numerator\""},
                                             {"/items/1", "missing required field \"denominator\""}}));
}

TEST(SubmissionRules, UnknownItemFieldsAreNamed) {
    EXPECT_EQ(errors_of(with_item_field("count", "1")),
              (errors{{"/items/0/count", "unknown field \"count\"; a QOF item has code, numerator, denominator and pca"}}));
    auto ldhc = ldhc_body();
    item(ldhc, 0)["numerator"] = 1;
    item(ldhc, 0).erase("count");
    EXPECT_EQ(errors_of(text(ldhc)),
              (errors{{"/items/0/numerator", "unknown field \"numerator\"; an enhanced-service item has code and count"},
                      {"/items/0", "missing required field \"count\""}}));
}

TEST(SubmissionRules, EnhancedServiceItemsAreKnownCounts) {
    auto body = ldhc_body();
    auto& items = body["items"].as_array();
    items.push_back(json::object{{"code", "DOSE"}, {"count", 1}});
    items.push_back(json::object{{"code", "AF006"}, {"count", 2}});
    items.push_back(json::object{{"code", "CHECK"}, {"count", 1.5}});
    EXPECT_EQ(errors_of(text(body)),
              (errors{{"/items/1/code", "unknown item \"DOSE\" of LDHC for 2024-25; its items are CHECK"},
                      {"/items/2/code", "unknown item \"AF006\" of LDHC for 2024-25; its items are CHECK"},
                      {"/items/3/count", "expected a non-negative integer written without a fraction or exponent, got 1.5"},
                      {"/items/3/code", "duplicate code \"CHECK\", already at /items/0"}}));
}

std::string qof_groups_2024() {
    std::string codes;
    for (const auto& group : shipped().period("2024-25")->groups()) codes += (codes.empty() ? "" : ", ") + group.code;
    return codes;
}

TEST(SubmissionRules, RegistersAreKnownUniqueConditionsWithSizes) {
    EXPECT_EQ(errors_of(with_field("registers", "{}")),
              (errors{{"/registers", "expected an array of registers, got an object"}}));
    EXPECT_EQ(errors_of(with_field("registers", "null")), (errors{{"/registers", "expected an array of registers, got null"}}));
    EXPECT_EQ(errors_of(with_field("registers", R"([5, {"condition": "XX", "size": 1}, {"condition": "AF", "size": -1},
                                                    {"condition": "HYP", "size": 2, "count": 3}, {"size": 4}, {"condition": "LD"},
                                                    {"condition": "HYP", "size": 5}, {"condition": 7, "size": 1.5}])")),
              (errors{{"/registers/0", "expected an object (a register), got 5"},
                      {"/registers/1/condition", "unknown condition \"XX\" for 2024-25; the QOF groups are " + qof_groups_2024()},
                      {"/registers/2/size", "expected a non-negative integer, got -1"},
                      {"/registers/3/count", "unknown field \"count\"; a register has condition and size"},
                      {"/registers/4", "missing required field \"condition\""},
                      {"/registers/5", "missing required field \"size\""},
                      {"/registers/7/condition", "expected a string, got 7"},
                      {"/registers/7/size", "expected a non-negative integer written without a fraction or exponent, got 1.5"},
                      {"/registers/6/condition", "duplicate condition \"HYP\", already at /registers/3"}}));
    // A QI group or a public-health group is a QOF group too.
    EXPECT_TRUE(parse(with_field("registers", R"([{"condition": "QIWW", "size": 0}, {"condition": "BP", "size": 9}])")).ok());
}

TEST(SubmissionRules, AnEnhancedServiceCarriesOnlyItsCapRegisters) {
    // LDHC's checks are paid up to the LD register (the catalogue's cap_register): an LDHC
    // submission may carry the LD register, and no other.
    auto ldhc = ldhc_body();
    ldhc["registers"] = json::array{json::object{{"condition", "LD"}, {"size", 40}}};
    const auto accepted = parse(text(ldhc));
    ASSERT_TRUE(accepted.ok()) << problem_document(accepted.fault());
    EXPECT_EQ(accepted.value().registers, (std::vector<register_size>{{"LD", 40}}));
    EXPECT_EQ(accepted.value().service_items, (std::vector<service_count>{{"CHECK", 42}}));
    ldhc["registers"] = json::array{};
    ASSERT_TRUE(parse(text(ldhc)).ok());

    ldhc["registers"] = json::array{json::object{{"condition", "AF"}, {"size", 40}},
                                    json::object{{"condition", "LD"}, {"size", 40}},
                                    json::object{{"condition", "XX"}, {"size", 1}},
                                    json::object{{"condition", "LD"}, {"size", -1}}};
    const std::string only_ld = ": an enhanced-service submission carries only the registers that cap its items, for LDHC: LD";
    EXPECT_EQ(errors_of(text(ldhc)),
              (errors{{"/registers/0/condition", "condition \"AF\" is not accepted for LDHC" + only_ld},
                      {"/registers/2/condition", "condition \"XX\" is not accepted for LDHC" + only_ld},
                      {"/registers/3/size", "expected a non-negative integer, got -1"},
                      {"/registers/3/condition", "duplicate condition \"LD\", already at /registers/1"}}));
    ldhc["registers"] = json::object{};
    EXPECT_EQ(errors_of(text(ldhc)), (errors{{"/registers", "expected an array of registers, got an object"}}));

    // A scheme whose items have no cap takes no registers, not even an empty list.
    auto shingles = json::parse(R"({"practice": "C12345", "period": "2024-25", "scheme": "SHINGLES", "list_size": 100,
                                    "items": [{"code": "DOSE", "count": 3}]})").as_object();
    const errors none{{"/registers", "registers are only for QOF submissions and for the register that caps an enhanced "
                                     "service's items; the items of SHINGLES have no cap: send no registers"}};
    shingles["registers"] = json::array{json::object{{"condition", "LD"}, {"size", 40}}};
    EXPECT_EQ(errors_of(text(shingles)), none);
    shingles["registers"] = json::array{};
    EXPECT_EQ(errors_of(text(shingles)), none);
}

TEST(SubmissionRules, UnknownTopLevelFieldsAreNamedWithEscapedPointers) {
    const std::string rule = "; a submission has practice, period, scheme, list_size, items and registers";
    EXPECT_EQ(errors_of(with_field("colour", R"("red")")), (errors{{"/colour", "unknown field \"colour\"" + rule}}));
    // RFC 6901: "~" is written "~0" and "/" is written "~1", "~" first.
    EXPECT_EQ(errors_of(with_field("a/b", "1")), (errors{{"/a~1b", "unknown field \"a/b\"" + rule}}));
    EXPECT_EQ(errors_of(with_field("m~n", "1")), (errors{{"/m~0n", "unknown field \"m~n\"" + rule}}));
    EXPECT_EQ(errors_of(with_field("~1", "1")), (errors{{"/~01", "unknown field \"~1\"" + rule}}));
    EXPECT_EQ(errors_of(with_field("/~/", "1")), (errors{{"/~1~0~1", "unknown field \"/~/\"" + rule}}));
    EXPECT_EQ(errors_of(with_field("", "1")), (errors{{"/", "unknown field \"\"" + rule}}));
    // A key written with escapes is judged (and pointed at) as decoded.
    const std::string escaped = R"({"a\u002fb": 1, )" + std::string(api_example).substr(1);
    EXPECT_EQ(errors_of(escaped), (errors{{"/a~1b", "unknown field \"a/b\"" + rule}}));
    EXPECT_EQ(errors_of(with_item_field("x/y~z", "0", 1)),
              (errors{{"/items/1/x~1y~0z", "unknown field \"x/y~z\"; a QOF item has code, numerator, denominator and pca"}}));
}

TEST(SubmissionRules, RootMustBeAnObject) {
    for (const auto& [body, got] : std::vector<std::pair<std::string, std::string>>{
             {"[]", "an array"}, {"[{}]", "an array"}, {R"("A81001")", "the string \"A81001\""}, {"42", "42"},
             {"null", "null"}, {"true", "true"}, {"-1.5e3", "-1500.0"}}) {
        EXPECT_EQ(errors_of(body), (errors{{"", "expected a JSON object (the submission), got " + got}})) << body;
    }
    EXPECT_EQ(errors_of("{}"), (errors{{"", "missing required field \"practice\""},
                                       {"", "missing required field \"period\""},
                                       {"", "missing required field \"scheme\""},
                                       {"", "missing required field \"list_size\""},
                                       {"", "missing required field \"items\""}}));
}

TEST(SubmissionRules, EveryFaultIsReportedTogether) {
    const auto result = parse(R"({
      "practice": "A8100", "period": "2024-25", "scheme": "QOF", "list_size": -5, "colour": "red",
      "items": [
        {"code": "AF006", "numerator": 150, "denominator": 140},
        {"code": "NOPE1", "numerator": 1, "denominator": 2, "pca": "6"},
        {"code": "AF006", "numerator": 1.5, "denominator": 2},
        "AF008",
        {"numerator": 1, "denominator": 2, "extra/field~": true}
      ],
      "registers": [{"condition": "AF", "size": 201}, {"condition": "AF", "size": -1}, {"condition": "ZZ", "size": 1}]
    })");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.fault().status(), 422u);
    EXPECT_EQ(result.fault().detail, "14 faults in the submission; see errors");
    EXPECT_EQ(result.fault().errors,
              (errors{{"/colour", "unknown field \"colour\"; a submission has practice, period, scheme, list_size, items and registers"},
                      {"/practice", "expected an ODS practice code, one upper-case letter and five digits (like A81001), got \"A8100\""},
                      {"/list_size", "expected a positive integer, got -5"},
                      {"/items/0/numerator", "numerator 150 is above denominator 140"},
                      {"/items/1/code", "unknown QOF indicator \"NOPE1\" for 2024-25"},
                      {"/items/1/pca", "expected a non-negative integer, got the string \"6\""},
                      {"/items/2/numerator", "expected a non-negative integer written without a fraction or exponent, got 1.5"},
                      {"/items/3", "expected an object (an item), got the string \"AF008\""},
                      {"/items/4", "missing required field \"code\""},
                      {"/items/4/extra~1field~0", "unknown field \"extra/field~\"; a QOF item has code, numerator, denominator and pca"},
                      {"/items/2/code", "duplicate code \"AF006\", already at /items/0"},
                      {"/registers/1/size", "expected a non-negative integer, got -1"},
                      {"/registers/2/condition", "unknown condition \"ZZ\" for 2024-25; the QOF groups are " + qof_groups_2024()},
                      {"/registers/1/condition", "duplicate condition \"AF\", already at /registers/0"}}));
}

// ---------------------------------------------------------------------------------------------
// Duplicate keys: Boost.JSON would keep the last silently; we report each, and still judge the
// value Boost kept.

TEST(DuplicateKeys, AreReportedWherePointed) {
    const std::string twice = ": the object has it 2 times; send it once";
    std::string body(api_example);
    body.insert(1, R"("practice": "B99999", )");
    EXPECT_EQ(errors_of(body), (errors{{"/practice", "duplicate key \"practice\"" + twice}}));

    const auto in_item = parse(R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 10,
        "items": [{"code": "AF006", "numerator": 1, "numerator": 200, "denominator": 140}],
        "registers": [{"condition": "AF", "size": 1, "size": 2, "size": 3}]})");
    ASSERT_FALSE(in_item.ok());
    EXPECT_EQ(in_item.fault().errors,
              (errors{{"/items/0/numerator", "duplicate key \"numerator\"" + twice},
                      {"/registers/0/size", "duplicate key \"size\": the object has it 3 times; send it once"},
                      {"/items/0/numerator", "numerator 200 is above denominator 140"}}));

    // Inside unknown fields and with keys that need escaping, at any depth.
    EXPECT_EQ(errors_of(R"({"x/y": [{"a~b": 1, "a~b": 2}, {"k": {"z": 1, "z": 2}}], )" + std::string(api_example).substr(1)),
              (errors{{"/x~1y/0/a~0b", "duplicate key \"a~b\"" + twice},
                      {"/x~1y/1/k/z", "duplicate key \"z\"" + twice},
                      {"/x~1y", "unknown field \"x/y\"; a submission has practice, period, scheme, list_size, items and registers"}}));
}

TEST(DuplicateKeys, AFloodOfThemIsOneFault) {
    std::string body = R"({"practice": "A81001", "period": "2024-25", "scheme": "QOF", "list_size": 10, "items": [{)";
    for (int i = 0; i < 20000; ++i) body += R"("code": "AF006", )";
    body += R"("numerator": 1, "denominator": 2}]})";
    EXPECT_EQ(errors_of(body), (errors{{"/items/0/code", "duplicate key \"code\": the object has it 20000 times; send it once"}}));
}

// ---------------------------------------------------------------------------------------------
// 400 or 422: only bodies that are not JSON are 400.

TEST(MalformedJson, Is400WithTheByteOffset) {
    using namespace std::string_literals;
    EXPECT_EQ(malformed_detail(""), "the body ends inside its JSON text at byte offset 0 (line 1, column 1)");
    EXPECT_EQ(malformed_detail(" \n "), "the body ends inside its JSON text at byte offset 3 (line 2, column 2)");
    EXPECT_EQ(malformed_detail(R"({"items": [)"), "the body ends inside its JSON text at byte offset 11 (line 1, column 12)");
    EXPECT_EQ(malformed_detail(R"({"a": 1} x)"), "unexpected data after the JSON text at byte offset 9 (line 1, column 10)");
    EXPECT_EQ(malformed_detail(R"({}{})"), "unexpected data after the JSON text at byte offset 2 (line 1, column 3)");
    EXPECT_EQ(malformed_detail("{}\0"s), "unexpected data after the JSON text at byte offset 2 (line 1, column 3)");
    EXPECT_EQ(malformed_detail("[1, 2,]"), "not valid JSON (syntax error) at byte offset 6 (line 1, column 7)");
    EXPECT_EQ(malformed_detail("{'a': 1}"), "not valid JSON (syntax error) at byte offset 1 (line 1, column 2)");
    EXPECT_EQ(malformed_detail(R"({"a": NaN})"), "not valid JSON (syntax error) at byte offset 6 (line 1, column 7)");
    EXPECT_EQ(malformed_detail("// comment\n{}"), "not valid JSON (syntax error) at byte offset 0 (line 1, column 1)");
    EXPECT_EQ(malformed_detail("\xEF\xBB\xBF{}"), "not valid JSON (syntax error) at byte offset 0 (line 1, column 1)");
    EXPECT_EQ(malformed_detail("{\n  \"practice\": \"A81001\",\n  \"period\": }"),
              "not valid JSON (syntax error) at byte offset 38 (line 3, column 13)");
    // Invalid UTF-8 in a string, and a raw control character.
    EXPECT_NE(malformed_detail("{\"a\": \"\xff\"}").find("at byte offset 7 "), std::string::npos);
    EXPECT_NE(malformed_detail("{\"a\": \"\x01\"}").find("at byte offset 7 "), std::string::npos);
    EXPECT_NE(malformed_detail("{\"a\": \"\xC3\"}").find("(syntax error)"), std::string::npos);
}

TEST(MalformedJson, EveryTruncationOfAValidBodyIs400) {
    for (std::size_t length = 0; length < api_example.size(); ++length) {
        const auto result = parse(api_example.substr(0, length));
        ASSERT_FALSE(result.ok()) << length;
        EXPECT_EQ(result.fault().kind, fault_kind::malformed_json) << length;
    }
}

TEST(HostileInput, DeepNestingIs400AtTheLimit) {
    // The submission itself nests 3 deep; max_json_depth containers are still JSON we judge (an
    // unknown field), one more is refused before it costs anything.
    auto nested = [](std::size_t depth) {
        return R"({"x": )" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
    };
    EXPECT_EQ(errors_of(nested(max_json_depth)).front().pointer, "/x");
    EXPECT_EQ(malformed_detail(nested(max_json_depth + 1)),
              "the JSON nests deeper than 16 levels at byte offset 21 (line 1, column 22)");
    EXPECT_EQ(malformed_detail(std::string(1000000, '[')), "the JSON nests deeper than 16 levels at byte offset 16 (line 1, column 17)");
    EXPECT_EQ(malformed_detail(std::string(100000, '{')), "not valid JSON (syntax error) at byte offset 1 (line 1, column 2)");
    std::string objects;
    for (int i = 0; i < 100000; ++i) objects += R"({"a":)";
    EXPECT_NE(malformed_detail(objects).find("nests deeper than 16 levels"), std::string::npos);
}

TEST(HostileInput, HugeNumbersAreFaultsNotCrashes) {
    const std::string digits(100000, '9');
    EXPECT_EQ(errors_of(with_field("list_size", digits)),
              (errors{{"/list_size", "expected an integer no greater than 2^53 (9007199254740992), got a number above 1.8e308"}}));
    EXPECT_EQ(errors_of(with_field("list_size", "1" + std::string(5000, '0') + ".5")).front().pointer, "/list_size");
    EXPECT_EQ(errors_of(with_field("list_size", "1e-400")),
              (errors{{"/list_size", "expected a positive integer written without a fraction or exponent, got 0.0"}}));
    // An exponent beyond what Boost.JSON reads at all is refused by the parser: 400.
    EXPECT_EQ(malformed_detail(with_field("list_size", "1e999999999999999999999")),
              "a number's exponent is too large to read at byte offset 78 (line 1, column 79)");
}

TEST(HostileInput, LongKeysAreQuotedShortAndPointedInFull) {
    std::string key = "a";
    for (int i = 0; i < 500; ++i) key += "é";  // two bytes each: the quote must not split one
    const auto found = errors_of(R"({")" + key + R"(": 1, )" + std::string(api_example).substr(1));
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].pointer, "/" + key);
    std::string shown = "a";
    for (int i = 0; i < 31; ++i) shown += "é";
    EXPECT_EQ(found[0].detail, "unknown field \"" + shown
                                   + "...\"; a submission has practice, period, scheme, list_size, items and registers");
    // And the problem document stays valid UTF-8 JSON.
    const auto doc = json::parse(problem_document(parse(R"({")" + key + R"(": 1})").fault()));
    EXPECT_EQ(doc.at("status"), 422);
}

TEST(HostileInput, FaultsAreCappedAndCounted) {
    std::string body = "{";
    for (int i = 0; i < 1500; ++i) body += "\"k" + std::to_string(i) + "\": 0, ";
    body += std::string(api_example).substr(1);
    const auto result = parse(body);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.fault().errors.size(), max_reported_faults);
    EXPECT_EQ(result.fault().detail, "1500 faults in the submission; the first 1000 are listed in errors");
    EXPECT_EQ(result.fault().errors.front().pointer, "/k0");
    EXPECT_EQ(result.fault().errors.back().pointer, "/k999");
}

TEST(HostileInput, NulAndControlCharactersInStrings) {
    const auto result = parse(with_field("practice", R"("A8100\u0000")"));
    ASSERT_FALSE(result.ok());
    const auto doc = json::parse(problem_document(result.fault()));
    EXPECT_EQ(doc.at("errors").at(0).at("detail").as_string(),
              std::string("expected an ODS practice code, one upper-case letter and five digits (like A81001), got \"A8100")
                  + '\0' + '"');
}

// ---------------------------------------------------------------------------------------------
// Item limits, on a synthetic period with 250 codes of each kind.

class synthetic_period : public ::testing::Test {
protected:
    static catalogue::catalogue make() {
        test::scratch_directory scratch;
        std::string toml = "period = \"2030-31\"\n[constants]\npounds_per_point = 1\nnational_average_list_size = 1\n"
                           "max_points = 250\n[qof.groups]\nG = { name = \"G\", domain = \"CL\", prevalence_adjusted = false }\n"
                           "[qof.indicators]\n";
        for (int i = 0; i < 250; ++i) toml += "X" + std::to_string(1000 + i) + " = { group = \"G\", kind = \"register\", points = 1 }\n";
        toml += "[services.MANY]\nname = \"many\"\n[services.MANY.items]\n";
        for (int i = 0; i < 250; ++i) toml += "I" + std::to_string(1000 + i) + " = { name = \"i\", fee_gbp = 1 }\n";
        scratch.write("2030-31.toml", toml);
        return catalogue::load_catalogue(scratch.path());
    }

    static std::string body(std::string_view scheme, int items) {
        json::object b{{"practice", "A81001"}, {"period", "2030-31"}, {"scheme", scheme}, {"list_size", 1}};
        json::array list;
        for (int i = 0; i < items; ++i) {
            if (scheme == "QOF") {
                list.push_back(json::object{{"code", "X" + std::to_string(1000 + i)}, {"numerator", 0}, {"denominator", 0}});
            } else {
                list.push_back(json::object{{"code", "I" + std::to_string(1000 + i)}, {"count", i}});
            }
        }
        b["items"] = list;
        return json::serialize(b);
    }

    const catalogue::catalogue catalogue_ = make();
};

TEST_F(synthetic_period, TwoHundredItemsAreAcceptedAndOneMoreIsNot) {
    for (const auto* scheme : {"QOF", "MANY"}) {
        const auto at_limit = parse_submission(body(scheme, 200), catalogue_);
        ASSERT_TRUE(at_limit.ok()) << problem_document(at_limit.fault());
        EXPECT_EQ(at_limit.value().qof_items.size() + at_limit.value().service_items.size(), 200u);
        EXPECT_EQ(errors_of(body(scheme, 201), catalogue_), (errors{{"/items", "expected 1 to 200 items, got 201"}}));
        EXPECT_EQ(errors_of(body(scheme, 250), catalogue_), (errors{{"/items", "expected 1 to 200 items, got 250"}}));
    }
}

// ---------------------------------------------------------------------------------------------
// Problem documents.

TEST(ProblemDocument, InvalidSubmissionListsTheErrors) {
    const auto result = parse(with_item_field("numerator", "141"));
    ASSERT_FALSE(result.ok());
    const auto doc = json::parse(problem_document(result.fault())).as_object();
    EXPECT_EQ(doc.at("type"), "urn:sluice:problem:invalid-submission");
    EXPECT_EQ(doc.at("title"), "Submission is not valid");
    EXPECT_EQ(doc.at("status"), 422);
    EXPECT_EQ(doc.at("detail"), "1 fault in the submission; see errors");
    EXPECT_EQ(doc.at("errors"), json::parse(R"([{"pointer": "/items/0/numerator", "detail": "numerator 141 is above denominator 140"}])"));
    EXPECT_EQ(doc.size(), 5u);
}

TEST(ProblemDocument, MalformedJsonHasNoErrors) {
    const auto result = parse("{\"practice\": \"A81001\",");
    ASSERT_FALSE(result.ok());
    const auto doc = json::parse(problem_document(result.fault())).as_object();
    EXPECT_EQ(doc.at("type"), "urn:sluice:problem:malformed-json");
    EXPECT_EQ(doc.at("title"), "Body is not valid JSON");
    EXPECT_EQ(doc.at("status"), 400);
    EXPECT_EQ(doc.at("detail"), "the body ends inside its JSON text at byte offset 22 (line 1, column 23)");
    EXPECT_FALSE(doc.contains("errors"));
    EXPECT_EQ(problem_type(fault_kind::malformed_json), "urn:sluice:problem:malformed-json");
    EXPECT_EQ(problem_type(fault_kind::invalid_submission), "urn:sluice:problem:invalid-submission");
}

TEST(ProblemDocument, QuotesInTheBodyAreEscaped) {
    const auto result = parse(with_field("we\"ird\\", R"("x")"));
    ASSERT_FALSE(result.ok());
    const auto doc = json::parse(problem_document(result.fault()));
    EXPECT_EQ(doc.at("errors").at(0).at("pointer"), "/we\"ird\\");
}

TEST(JsonPointer, TokensAreEscaped) {
    EXPECT_EQ(append_pointer_token("", "items"), "/items");
    EXPECT_EQ(append_pointer_token("/items", "a/b"), "/items/a~1b");
    EXPECT_EQ(append_pointer_token("", "~1"), "/~01");
    EXPECT_EQ(append_pointer_token("/x", ""), "/x/");
    EXPECT_EQ(append_pointer_token("", "~/~/"), "/~0~1~0~1");
}

TEST(SubmissionResult, AccessorsFollowTheOutcome) {
    const auto good = parse(api_example);
    EXPECT_TRUE(good.ok());
    EXPECT_TRUE(static_cast<bool>(good));
    auto moved = parse(api_example);
    const submission taken = std::move(moved).value();
    EXPECT_EQ(taken, good.value());
    const auto bad = parse("[");
    EXPECT_FALSE(bad.ok());
    EXPECT_FALSE(static_cast<bool>(bad));
}

}  // namespace
}  // namespace sluice::queue
