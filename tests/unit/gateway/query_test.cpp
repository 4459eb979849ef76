// Unit tests of gateway/detail/query.hpp: query strings, limit, and cursors that round-trip and
// refuse anything they did not produce.
#include "gateway/detail/query.hpp"

#include <gtest/gtest.h>

namespace sluice::gateway::detail {
namespace {

TEST(Query, DecodesPairsAndRefusesWhatIsNotAllowed) {
    const auto q =
        parse_query("/v1/submissions?period=2024-25&scheme=Q%4fF&limit=&x+y=1", {"period", "scheme", "limit", "x y"});
    ASSERT_TRUE(q.fault.empty()) << q.fault;
    EXPECT_EQ(q.get("period"), "2024-25");
    EXPECT_EQ(q.get("scheme"), "QOF");
    EXPECT_EQ(q.get("limit"), "");
    EXPECT_EQ(q.get("x y"), "1");
    EXPECT_FALSE(q.has("cursor"));
    EXPECT_TRUE(parse_query("/v1/submissions", {"period"}).params.empty());
    EXPECT_NE(parse_query("/x?period=%zz", {"period"}).fault.find("percent-escape"), std::string::npos);
    EXPECT_NE(parse_query("/x?period=%4", {"period"}).fault.find("percent-escape"), std::string::npos);
    EXPECT_NE(parse_query("/x?bogus=1", {"period"}).fault.find("unknown query parameter \"bogus\""), std::string::npos);
    EXPECT_NE(parse_query("/x?period=a&period=b", {"period"}).fault.find("given twice"), std::string::npos);
}

TEST(Query, LimitIsOneToAHundred) {
    EXPECT_EQ(read_limit(std::nullopt), default_page_size);
    EXPECT_EQ(read_limit("1"), 1u);
    EXPECT_EQ(read_limit("100"), 100u);
    for (const auto* bad : {"0", "101", "", "-1", "5x", "1.5", "99999999999"}) EXPECT_FALSE(read_limit(bad)) << bad;
}

TEST(Query, CursorsRoundTripAndForgeriesAreRefused) {
    const auto c = make_cursor("2025-03-31T23:58:12.345000", "10-3f9c");
    const auto back = read_cursor(c);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->first, "2025-03-31T23:58:12.345000");
    EXPECT_EQ(back->second, "10-3f9c");
    EXPECT_EQ(c.find_first_not_of("0123456789abcdef"), std::string::npos);  // opaque, URL-safe
    for (const std::string& bad :
         {std::string(""), std::string("0"), std::string("zz"), make_cursor("2025-03-31 23:58:12.345000", "id"),
          make_cursor("2025-03-31T23:58:12", "id"), make_cursor("2025-03-31T23:58:12.345000", ""),
          make_cursor("2025-03-31T23:58:12.345000", "a b"), std::string(600, 'a')})
        EXPECT_FALSE(read_cursor(bad)) << bad;
}

}  // namespace
}  // namespace sluice::gateway::detail
