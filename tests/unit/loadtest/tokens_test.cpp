// The tokens file (loadtest/tokens.hpp): what parses, and a FILE:LINE message for each kind of
// bad line; and `generate`, whose credential file the gateway's loader accepts with every token
// of the tokens file authenticating as its own practice.
#include "loadtest/tokens.hpp"

#include "credentials/credentials.hpp"
#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>

namespace sluice::loadtest {
namespace {

std::string error_of(std::string_view text) {
    try {
        parse_tokens(text, "tokens.csv");
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "(no error)";
}

TEST(loadtest_tokens, parses_lines_skipping_comments_and_blanks) {
    const auto tokens = parse_tokens("# practice,token\n\nA81001,tok-1\r\n  B82002 , tok_2  \n# done\nC83003,t3", "t");
    ASSERT_EQ(tokens.size(), 3u);
    EXPECT_EQ(tokens[0], (practice_token{"A81001", "tok-1"}));
    EXPECT_EQ(tokens[1], (practice_token{"B82002", "tok_2"}));
    EXPECT_EQ(tokens[2], (practice_token{"C83003", "t3"}));
}

TEST(loadtest_tokens, a_bad_line_is_named_by_file_and_line) {
    EXPECT_EQ(error_of("A81001,t\nA81002\n"), "tokens.csv:2: expected PRACTICE,TOKEN, got a line without a comma");
    EXPECT_NE(error_of("# c\na81001,t\n").find("tokens.csv:2: practice \"a81001\" is not an ODS practice code"),
              std::string::npos);
    EXPECT_NE(error_of("A81001,\n").find("tokens.csv:1: the token of A81001 is empty"), std::string::npos);
    EXPECT_NE(error_of("A81001,to ken\n").find("tokens.csv:1:"), std::string::npos);
    EXPECT_NE(error_of("A81001,a,b\n").find("tokens.csv:1: expected PRACTICE,TOKEN, got more than two fields"),
              std::string::npos);
    EXPECT_EQ(error_of("A81001,t1\n\nA81001,t2\n"),
              "tokens.csv:3: practice A81001 again (first at line 1); each practice may appear once");
    EXPECT_NE(error_of("# only a comment\n\n").find("no PRACTICE,TOKEN lines"), std::string::npos);
}

TEST(loadtest_tokens, read_tokens_reads_the_file_or_says_why_not) {
    test::scratch_directory dir;
    const auto file = dir.write("tokens.csv", "A81001,t1\nA81002,t2\n");
    EXPECT_EQ(read_tokens(file).size(), 2u);
    try {
        read_tokens(dir.path() / "missing.csv");
        FAIL();
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("cannot read"), std::string::npos) << error.what();
    }
}

TEST(loadtest_tokens, generate_writes_a_credential_file_the_gateway_accepts_and_matching_tokens) {
    test::scratch_directory dir;
    const auto credentials = dir.path() / "credentials.csv", tokens_file = dir.path() / "tokens.csv";
    generate_practices(30, 'Q', std::chrono::days{10}, credentials, tokens_file);

    const auto table = credentials::credential_table::load(credentials);
    EXPECT_EQ(table.size(), 30u);
    const auto tokens = read_tokens(tokens_file);
    ASSERT_EQ(tokens.size(), 30u);
    EXPECT_EQ(tokens[0].practice, "Q00000");
    EXPECT_EQ(tokens[29].practice, "Q00029");
    const auto now = std::chrono::system_clock::now();
    for (const auto& entry : tokens) {
        const auto auth = table.authenticate(entry.token, now);
        ASSERT_EQ(auth.status, credentials::auth_status::ok) << entry.practice;
        EXPECT_EQ(auth.who->practice, entry.practice);
        EXPECT_GT(auth.who->not_after, now + std::chrono::days{9});
        EXPECT_LT(auth.who->not_after, now + std::chrono::days{11});
    }
    // Never overwrites.
    const auto before = test::scratch_directory::read(tokens_file);
    EXPECT_THROW(generate_practices(2, 'Q', std::chrono::days{10}, credentials, dir.path() / "other.csv"),
                 credentials::credential_write_error);
    EXPECT_THROW(generate_practices(2, 'Q', std::chrono::days{10}, dir.path() / "c2.csv", tokens_file),
                 credentials::credential_write_error);
    EXPECT_EQ(test::scratch_directory::read(tokens_file), before);
    EXPECT_THROW(generate_practices(0, 'Q', std::chrono::days{10}, dir.path() / "a", dir.path() / "b"),
                 std::invalid_argument);
    EXPECT_THROW(generate_practices(1, 'q', std::chrono::days{10}, dir.path() / "a", dir.path() / "b"),
                 std::invalid_argument);
}

}  // namespace
}  // namespace sluice::loadtest
