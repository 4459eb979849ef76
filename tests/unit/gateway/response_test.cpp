// Unit tests of gateway/response.hpp: the serialised answer is a status line, the standard
// headers (Server, Date, Content-Type, Content-Length, X-Request-Id), the extra headers in the
// order added, Connection when asked for, a blank line and the body; reset() and release() give a
// clean answer back.
#include "gateway/response.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace sluice::gateway;

// The Date header changes every second: cut it out before comparing.
std::string without_date(std::string text) {
    const auto at = text.find("\r\nDate: ");
    const auto end = text.find("\r\n", at + 2);
    text.erase(at, end - at);
    return text;
}

TEST(Response, SerialisesStatusLineHeadersAndBody) {
    response r;
    r.status = 202;
    r.body = R"({"status":"queued"})";
    r.add_header("Location", "/v1/submissions/abc");
    r.add_header("RateLimit", "\"practice\";r=9;t=1");
    std::string out;
    serialize(r, "req-1", false, out);
    EXPECT_EQ(without_date(out),
              "HTTP/1.1 202 Accepted\r\nServer: sluice\r\nContent-Type: application/json\r\n"
              "Content-Length: 19\r\nX-Request-Id: req-1\r\nLocation: /v1/submissions/abc\r\n"
              "RateLimit: \"practice\";r=9;t=1\r\n\r\n{\"status\":\"queued\"}");
}

TEST(Response, DateIsAnImfFixdate) {
    response r;
    std::string out;
    serialize(r, "id", false, out);
    const auto at = out.find("\r\nDate: ");
    ASSERT_NE(at, std::string::npos);
    const auto value = out.substr(at + 8, out.find("\r\n", at + 2) - at - 8);
    EXPECT_EQ(value.size(), std::string_view("Sun, 06 Nov 1994 08:49:37 GMT").size()) << value;
    EXPECT_TRUE(value.ends_with(" GMT")) << value;
}

TEST(Response, ConnectionHeaderOnlyWhenCloseOrAskedKeepAlive) {
    response r;
    std::string plain, keep, close;
    serialize(r, "id", false, plain);
    serialize(r, "id", true, keep);
    r.close = true;
    serialize(r, "id", true, close);
    EXPECT_EQ(plain.find("Connection:"), std::string::npos);
    EXPECT_NE(keep.find("\r\nConnection: keep-alive\r\n\r\n"), std::string::npos);
    EXPECT_NE(close.find("\r\nConnection: close\r\n\r\n"), std::string::npos);
    EXPECT_EQ(close.find("keep-alive"), std::string::npos);
}

TEST(Response, AppendsToTheOutputAndCountsTheBodyInBytes) {
    response r;
    r.status = 404;
    r.content_type = "application/problem+json";
    r.body = "\xc2\xa3";  // one character, two bytes
    std::string out = "previous|";
    serialize(r, "id", false, out);
    EXPECT_TRUE(out.starts_with("previous|HTTP/1.1 404 Not Found\r\n"));
    EXPECT_NE(out.find("\r\nContent-Type: application/problem+json\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nContent-Length: 2\r\n"), std::string::npos);
    EXPECT_TRUE(out.ends_with("\r\n\r\n\xc2\xa3"));
}

TEST(Response, ReasonPhrasesOfEveryAnsweredStatus) {
    EXPECT_EQ(reason_phrase(200), "OK");
    EXPECT_EQ(reason_phrase(413), "Content Too Large");
    EXPECT_EQ(reason_phrase(422), "Unprocessable Content");
    EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
    EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(Response, ResetAndReleaseGiveACleanAnswer) {
    response r;
    r.status = 503;
    r.content_type = "text/plain";
    r.body = "x";
    r.add_header("Retry-After", "1");
    r.close = true;
    r.reset();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_TRUE(r.body.empty());
    EXPECT_TRUE(r.headers.empty());
    EXPECT_FALSE(r.close);
    r.body.assign(1000, 'x');
    r.release();
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.body.capacity(), std::string().capacity());
}

}  // namespace
