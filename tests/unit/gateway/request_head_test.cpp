// gateway/detail/request_head: the raw-byte rules of a request head (RFC 9112), each with the
// head that broke it in issue 15, and the resumability the session relies on (a head scanned as
// it arrives, byte by byte, gets the verdict of one scan of the whole).
#include "gateway/detail/request_head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using sluice::gateway::detail::head_scan;
using sluice::gateway::detail::head_verdict;
using sluice::gateway::detail::scan_request_head;
using namespace std::string_view_literals;

// The scan the session makes: growing bytes, resumed from the previous `checked`.
head_scan scan_byte_by_byte(std::string_view bytes) {
    head_scan scan;
    for (std::size_t n = 1; n <= bytes.size(); ++n) {
        scan = scan_request_head(bytes.substr(0, n), scan.checked);
        if (scan.verdict != head_verdict::incomplete) return scan;
    }
    return scan;
}

head_verdict verdict(std::string_view bytes) {
    const auto whole = scan_request_head(bytes);
    const auto pieces = scan_byte_by_byte(bytes);
    EXPECT_EQ(whole.verdict, pieces.verdict) << bytes;
    EXPECT_EQ(whole.checked, pieces.checked) << bytes;
    EXPECT_EQ(whole.reason, pieces.reason) << bytes;
    return whole.verdict;
}

constexpr auto complete = head_verdict::complete;
constexpr auto incomplete = head_verdict::incomplete;
constexpr auto malformed = head_verdict::malformed;

TEST(RequestHead, WellFormedHeadsAreComplete) {
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), complete);
    EXPECT_EQ(verdict("GET /healthz HTTP/1.0\r\n\r\n"), complete);
    EXPECT_EQ(verdict("POST /v1/submissions?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-E:\r\n"
                      "X-Obs: caf\xc3\xa9\t end\r\n\r\n{}"),
              complete);
    // A well-formed version we do not serve passes: Beast answers it 505.
    EXPECT_EQ(verdict("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), complete);
}

TEST(RequestHead, CompleteReportsTheHeadLengthAndIgnoresWhatFollows) {
    const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto scan = scan_request_head(head + "GET / \r\n\r\n\n\r\0");
    EXPECT_EQ(scan.verdict, complete);
    EXPECT_EQ(scan.checked, head.size());
}

TEST(RequestHead, PartialHeadsAreIncomplete) {
    EXPECT_EQ(verdict("G"), incomplete);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r"), incomplete);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\r\n"), incomplete);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\r\n\r"), incomplete);
    const auto scan = scan_request_head("GET / HTTP/1.1\r\nHo");
    EXPECT_EQ(scan.checked, 16u);  // the whole request line, not the partial field line
}

TEST(RequestHead, NoVersionIsMalformedAsSoonAsTheLineEnds) {  // issue 15, 1
    EXPECT_EQ(verdict("GET / \r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / \r\n"), malformed);
    EXPECT_EQ(verdict("GET /\r\n"), malformed);  // HTTP/0.9's form
    EXPECT_EQ(scan_request_head("GET / \r\n").reason, "the request line has no HTTP version");
}

TEST(RequestHead, BareLfIsMalformed) {  // issue 15, 2
    EXPECT_EQ(verdict("GET / HTTP/1.1\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\r\n\n"), malformed);
    EXPECT_EQ(verdict("\n"), malformed);
}

TEST(RequestHead, ObsFoldIsMalformed) {  // issue 15, 3
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n"), malformed);
    // Whitespace between the request line and the first field (RFC 9112 2.2).
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), malformed);
}

TEST(RequestHead, BareCrIsMalformedBeforeTheLineEnds) {
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n"), malformed);
    EXPECT_EQ(scan_request_head("GET / HTTP/1.1\rX").verdict, malformed);  // no need to wait for an LF
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\r\n"), malformed);
    // A bare CR before a bare LF: the CR is the fault, whether the line arrived whole or not
    // (request_head_fuzz found the two verdicts' reasons differing).
    EXPECT_EQ(verdict("G?T /Connection: close \rnnGETT  \n/xTH\n"), malformed);
    EXPECT_EQ(scan_request_head("GET / x\ry\n").reason, "a line holds a CR that is not followed by LF");
}

TEST(RequestHead, RequestLineShape) {
    EXPECT_EQ(verdict("GET  / HTTP/1.1\r\n\r\n"), malformed);  // two spaces
    EXPECT_EQ(verdict("GET / HTTP/1.1 \r\n\r\n"), malformed);  // trailing space
    EXPECT_EQ(verdict(" GET / HTTP/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("\r\nGET / HTTP/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("G(T / HTTP/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET /a\tb HTTP/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET /\x7f HTTP/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1x\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/11\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / http/1.1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.x\r\n\r\n"), malformed);
}

TEST(RequestHead, FieldLineShape) {
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), malformed);  // space before the colon
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost x\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\n: x\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"sv), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n"), malformed);
}

TEST(RequestHead, ContentLengthOnceAndOneNumber) {
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\ncontent-length:  12 \r\n\r\n"), complete);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nContent-Length: 2\r\nHost: x\r\nContent-Length: 2\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\nCONTENT-LENGTH: 2\r\ncontent-length: 3\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"), malformed);
    EXPECT_EQ(verdict("POST / HTTP/1.1\r\nHost: x\r\nContent-Length-X: 1, 2\r\nX-Content-Length: a\r\n\r\n"), complete);
}

TEST(RequestHead, EveryPrefixOfAGoodHeadIsIncomplete) {
    const std::string_view head = "POST /v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
    for (std::size_t n = 0; n < head.size(); ++n)
        EXPECT_EQ(scan_request_head(head.substr(0, n)).verdict, incomplete) << n;
}

}  // namespace
