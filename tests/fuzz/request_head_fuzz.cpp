// libFuzzer target for gateway/detail/request_head (the raw-byte checks of a request head) and
// Beast's request parser behind it, as the session uses them: any bytes as the start of a
// connection. Besides the sanitizers' checks it aborts when a property fails:
//   * resumable: scanning the bytes in pieces (split where the input's first byte says) gives the
//     verdict, length and reason of one scan of the whole;
//   * a complete head ends in CRLF CRLF at `checked`, and Beast, given exactly that head, never
//     asks for more bytes (the hang of issue 15: it answers or refuses, it does not wait);
//   * a complete head that Beast accepts has at most one Content-Length and, for HTTP/1.1, its
//     version is one Beast serves;
//   * incomplete: `checked` is 0 or just after an LF, within the bytes.
//
//   request_head_fuzz -dict=tests/fuzz/request_head.dict <scratch copy of tests/fuzz/corpus/request_head>
#include "gateway/detail/request_head.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using sluice::gateway::detail::head_scan;
using sluice::gateway::detail::head_verdict;
using sluice::gateway::detail::scan_request_head;
namespace http = boost::beast::http;

void require(bool property, const char* what) {
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

// The session's loop: the bytes arrive in pieces of `step` bytes.
head_scan scan_in_pieces(std::string_view bytes, std::size_t step) {
    head_scan scan;
    for (std::size_t n = step;; n += step) {
        const std::size_t have = n < bytes.size() ? n : bytes.size();
        scan = scan_request_head(bytes.substr(0, have), scan.checked);
        if (scan.verdict != head_verdict::incomplete || have == bytes.size()) return scan;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = 1 + data[0] % 16;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

    const head_scan whole = scan_request_head(bytes);
    const head_scan pieces = scan_in_pieces(bytes, step);
    require(whole.verdict == pieces.verdict && whole.checked == pieces.checked && whole.reason == pieces.reason,
            "a scan in pieces agrees with one scan of the whole");

    switch (whole.verdict) {
    case head_verdict::malformed:
        require(!whole.reason.empty() && whole.checked <= bytes.size(), "malformed has a reason");
        break;
    case head_verdict::incomplete:
        require(whole.checked <= bytes.size() && (whole.checked == 0 || bytes[whole.checked - 1] == '\n'),
                "incomplete stops after a whole line");
        break;
    case head_verdict::complete: {
        require(whole.checked >= 4 && whole.checked <= bytes.size() && bytes.substr(whole.checked - 4, 4) == "\r\n\r\n",
                "a complete head ends in CRLF CRLF");
        const std::string_view head = bytes.substr(0, whole.checked);
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(head.size()) + 1);
        parser.eager(false);
        boost::beast::error_code ec;
        parser.put(boost::asio::buffer(head.data(), head.size()), ec);
        require(ec != http::error::need_more, "Beast never waits for more of a complete head");
        if (!ec) {
            require(parser.is_header_done(), "Beast read the whole head");
            const auto& req = parser.get();
            require(req.count(http::field::content_length) <= 1, "at most one Content-Length");
            require(req.version() == 10 || req.version() == 11, "only HTTP/1.0 and 1.1 are accepted");
        }
        break;
    }
    }
    return 0;
}
