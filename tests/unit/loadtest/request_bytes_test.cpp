// Unit tests of loadtest/detail/request_bytes.hpp and detail/answer_reader.hpp: the request
// bytes every copy sends (head right-aligned before the body, Content-Length right whatever its
// digits), and reading an answer (status, Retry-After, the receipt's submission_id, chunked bodies).
#include "loadtest/detail/answer_reader.hpp"
#include "loadtest/detail/request_bytes.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>

#include <string>

namespace sluice::loadtest::detail {
namespace {

using namespace std::chrono_literals;

TEST(request_bytes, the_head_ends_where_the_body_begins) {
    for (const std::size_t body_size : {0u, 7u, 12'345u}) {
        request_bytes out;
        const auto size = build_request(out, "127.0.0.1:8080", "tok", "run-A81001-0", 16,
                                        [&](std::string& buffer) { buffer.append(body_size, 'x'); });
        EXPECT_EQ(size, body_size);
        const std::string expected =
            "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            "User-Agent: sluice-loadtest\r\nAuthorization: Bearer tok\r\n"
            "Content-Type: application/json\r\nIdempotency-Key: run-A81001-0\r\n"
            "Content-Length: " +
            std::to_string(body_size) + "\r\n\r\n" + std::string(body_size, 'x');
        EXPECT_EQ(out.view(), expected);
    }
}

TEST(answer_reader, retry_after_seconds_only) {
    EXPECT_EQ(parse_retry_after("120"), 120s);
    EXPECT_EQ(parse_retry_after(" 3\t"), 3s);
    EXPECT_EQ(parse_retry_after("0"), 0s);
    EXPECT_FALSE(parse_retry_after(""));
    EXPECT_FALSE(parse_retry_after("-1"));
    EXPECT_FALSE(parse_retry_after("1.5"));
    EXPECT_FALSE(parse_retry_after("1234567890"));
    EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
}

TEST(answer_reader, finds_the_submission_id) {
    EXPECT_EQ(find_submission_id(R"({"status":"queued","submission_id":"S-7-abc"})"), "S-7-abc");
    EXPECT_EQ(find_submission_id("{\"submission_id\" :\n \"S-1\"}"), "S-1");
    EXPECT_EQ(find_submission_id(R"({"submission":"S-1"})"), "");
    EXPECT_EQ(find_submission_id(R"({"submission_id":17})"), "");
    EXPECT_EQ(find_submission_id(R"({"submission_id":"S-1)"), "");
}

// Feeds `wire` to a reader in one piece.
bool read_all(answer_reader& reader, const std::string& wire) {
    boost::system::error_code ec;
    reader.put(boost::asio::buffer(wire), ec);
    return !ec && reader.is_done();
}

TEST(answer_reader, keeps_status_retry_after_and_a_2xx_body) {
    std::string body;
    answer_reader receipt(body);
    ASSERT_TRUE(read_all(receipt, "HTTP/1.1 202 Accepted\r\nContent-Length: 24\r\n\r\n{\"submission_id\":\"S-9\"}\n"));
    EXPECT_EQ(receipt.status, 202);
    EXPECT_FALSE(receipt.retry_after);
    EXPECT_EQ(find_submission_id(body), "S-9");

    answer_reader shed(body);
    ASSERT_TRUE(read_all(shed, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 4\r\nContent-Length: 5\r\n\r\nbusy!"));
    EXPECT_EQ(shed.status, 503);
    EXPECT_EQ(shed.retry_after, 4s);
    EXPECT_EQ(body, "") << "only a 2xx body is kept";

    answer_reader chunked(body);
    ASSERT_TRUE(read_all(chunked,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\n{\"sub\r\n12\r\nmission_id\":\"S-3\"}\r\n0\r\n\r\n"));
    EXPECT_EQ(find_submission_id(body), "S-3");
}

}  // namespace
}  // namespace sluice::loadtest::detail
