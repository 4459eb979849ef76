// Unit tests of ledger/protection.hpp's pure parts: the look-up statement's parameters and
// shape, exact decimal points, and the record read from rows as ledger::client returns them. The
// SQL itself runs against a real PostgreSQL in tests/integration/ledger/ledger_schema_test.cpp.
#include "ledger/protection.hpp"

#include <gtest/gtest.h>

namespace sluice::ledger {
namespace {

result rows(std::vector<std::vector<std::optional<std::string>>> values) {
    result r;
    r.columns = {"submission_id", "code", "points"};
    r.rows = std::move(values);
    r.affected = r.rows.size();
    return r;
}

TEST(ProtectionLookup, AsksForThePracticesCurrentCalculatedQofSubmissionOfThePeriod) {
    const auto s = protection_lookup("A81001", "2023-24");
    EXPECT_EQ(s.params, (std::vector<param>{std::string("A81001"), std::string("2023-24")}));
    EXPECT_EQ(s.prepared_name, "sluice_protection_lookup");
    for (const auto* part : {"FROM current_submissions s", "s.scheme = 'QOF'", "s.status = 'calculated'",
                             "-> 'indicators'", "->> 'points'", "WITH ORDINALITY"}) {
        EXPECT_NE(s.sql.find(part), std::string::npos) << part << " in " << s.sql;
    }
}

TEST(ProtectionLookup, PointsAreExactHundredths) {
    EXPECT_EQ(hundredths_of("10.00"), 1000);
    EXPECT_EQ(hundredths_of("4.5"), 450);
    EXPECT_EQ(hundredths_of("7"), 700);
    EXPECT_EQ(hundredths_of("0.05"), 5);
    EXPECT_EQ(hundredths_of("0"), 0);
    EXPECT_EQ(hundredths_of("212.99"), 21299);
    EXPECT_EQ(hundredths_of("9999999999999.99"), 999999999999999);
    for (const auto* bad : {"", ".5", "5.", "-1.00", "+1", "1.005", "1e2", "1,00", " 1", "NaN", "10000000000001"}) {
        EXPECT_FALSE(hundredths_of(bad)) << bad;
    }
}

TEST(ProtectionLookup, NoRowIsNoRecord) {
    const auto record = protection_record_of(rows({}));
    ASSERT_TRUE(record);
    EXPECT_FALSE(record->found);
    EXPECT_TRUE(record->points.empty());
}

TEST(ProtectionLookup, RowsAreTheRecordsPointsInOrder) {
    const auto record = protection_record_of(
        rows({{"4-prior", "DEP004", "10.00"}, {"4-prior", "SMOK005", "12.50"}, {"4-prior", "AF001", "0.00"}}));
    ASSERT_TRUE(record);
    EXPECT_TRUE(record->found);
    EXPECT_EQ(record->submission_id, "4-prior");
    ASSERT_EQ(record->points.size(), 3u);
    EXPECT_EQ(record->points[0].code, "DEP004");
    EXPECT_EQ(record->points[0].hundredths, 1000);
    EXPECT_EQ(record->points[1].code, "SMOK005");
    EXPECT_EQ(record->points[1].hundredths, 1250);
    EXPECT_EQ(record->points[2].hundredths, 0);
}

TEST(ProtectionLookup, ASubmissionWithoutIndicatorsIsARecordWithNoPoints) {
    const auto record = protection_record_of(rows({{"4-empty", std::nullopt, std::nullopt}}));
    ASSERT_TRUE(record);
    EXPECT_TRUE(record->found);
    EXPECT_EQ(record->submission_id, "4-empty");
    EXPECT_TRUE(record->points.empty());
}

TEST(ProtectionLookup, RowsOfAnotherShapeAreRefused) {
    EXPECT_FALSE(protection_record_of(rows({{"4-a", "DEP004", "ten"}})));
    EXPECT_FALSE(protection_record_of(rows({{"4-a", "DEP004", std::nullopt}})));
    EXPECT_FALSE(protection_record_of(rows({{"4-a", std::nullopt, "1.00"}})));
    EXPECT_FALSE(protection_record_of(rows({{std::nullopt, "DEP004", "1.00"}})));
    EXPECT_FALSE(protection_record_of(rows({{"4-a", "DEP004", "1.00"}, {"4-b", "AF001", "5.00"}})));
    EXPECT_FALSE(protection_record_of(rows({{"4-a", std::nullopt, std::nullopt}, {"4-a", "AF001", "5.00"}})));
}

}  // namespace
}  // namespace sluice::ledger
