// Unit tests of credentials/organisations.hpp: the organisations file (practice -> commissioner),
// every fault with its FILE:LINE message, look-ups, and load() from a real file.
#include "credentials/organisations.hpp"

#include "config/config.hpp"
#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace sluice::credentials {
namespace {

using config::config_error;

config_error parse_error(const std::string& text) {
    try {
        (void)organisation_table::parse(text, "orgs.csv");
    } catch (const config_error& error) {
        return error;
    }
    ADD_FAILURE() << "no config_error for:\n" << text;
    return config_error("", "", "");
}

TEST(organisations_parse, maps_practices_to_commissioners) {
    const auto table = organisation_table::parse(
        "# practice,commissioner\r\nB82002,QWE\n\n  A81001 , QWE \nC83003,X26\nD84004,15F00", "orgs.csv");
    EXPECT_EQ(table.size(), 4u);
    EXPECT_EQ(table.commissioner_of("A81001"), "QWE");
    EXPECT_EQ(table.commissioner_of("C83003"), "X26");
    EXPECT_EQ(table.commissioner_of("D84004"), "15F00");
    EXPECT_FALSE(table.commissioner_of("E85005"));
    EXPECT_TRUE(table.covers("QWE", "B82002"));
    EXPECT_FALSE(table.covers("X26", "B82002"));
    EXPECT_FALSE(table.covers("QWE", "E85005"));
    EXPECT_EQ(table.practices_of("QWE"), (std::vector<std::string_view>{"A81001", "B82002"}));
    EXPECT_TRUE(table.practices_of("ZZZ").empty());
    ASSERT_EQ(table.links().size(), 4u);
    EXPECT_EQ(table.links().front().practice, "A81001");  // sorted
}

TEST(organisations_parse, empty_text_is_an_empty_table) {
    EXPECT_EQ(organisation_table::parse("", "orgs.csv").size(), 0u);
    EXPECT_EQ(organisation_table::parse("# only a comment\n", "orgs.csv").size(), 0u);
}

TEST(organisations_parse, every_bad_row_names_file_line_and_fault) {
    struct bad_row {
        std::string line;
        std::string fault;
    };
    const std::vector<bad_row> cases = {
        {"A81001", "has 1 comma-separated fields: expected 2, practice,commissioner"},
        {"A81001,QWE,extra", "has 3 comma-separated fields: expected 2"},
        {"A81001;QWE", "has 1 comma-separated fields"},
        {"a81001,QWE", "practice \"a81001\" is not an ODS practice code"},
        {"A8100,QWE", "practice \"A8100\" is not an ODS practice code"},
        {",QWE", "practice \"\" is not an ODS practice code"},
        {"A81001,QW", "commissioner \"QW\" is not an ODS organisation code: expected 3 to 5"},
        {"A81001,QWERTY", "commissioner \"QWERTY\" is not an ODS organisation code"},
        {"A81001,qwe", "commissioner \"qwe\""},
        {"A81001,", "commissioner \"\""},
        {"A81001,Q-E", "commissioner \"Q-E\""},
        {"B82002,X26", "practice B82002 is listed already on line 2: a practice has one commissioner"},
    };
    for (const auto& c : cases) {
        const auto error = parse_error("# header\nB82002,QWE\n\n" + c.line + "\n");
        const std::string message = error.what();
        EXPECT_EQ(error.key(), "organisations.file") << c.line;
        EXPECT_EQ(error.origin(), "at orgs.csv:4") << message;
        EXPECT_NE(message.find(c.fault), std::string::npos) << "expected \"" << c.fault << "\" in: " << message;
    }
}

TEST(organisations_load, reads_a_file_and_names_a_missing_one) {
    test::scratch_directory dir;
    const auto file = dir.path() / "organisations.csv";
    {
        std::ofstream out(file);
        out << "A81001,QWE\n";
    }
    EXPECT_EQ(organisation_table::load(file).commissioner_of("A81001"), "QWE");
    try {
        (void)organisation_table::load(dir.path() / "missing.csv");
        ADD_FAILURE() << "no error for a missing file";
    } catch (const config_error& e) {
        EXPECT_EQ(e.key(), "organisations.file");
        EXPECT_NE(std::string(e.what()).find("cannot open the organisations file"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace sluice::credentials
