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
// Then "our header checks" (gateway/detail/request_checks.hpp), on every field value of a head
// Beast accepted (as the handlers get them) and on the input bytes themselves (values Beast would
// never hand over, such as ones with CR or LF), each against an oracle written from API.md and
// RFC 9110, not from the code:
//   * valid_idempotency_key: exactly 1 to 255 printable ASCII characters (0x20-0x7E; API.md);
//   * acceptable_request_id: exactly 1 to 128 of [A-Za-z0-9-_.:/+=] (so an echoed id can never
//     split a header or carry a quote);
//   * is_json_content_type: exactly a media type application/json, any case, optionally followed by
//     parameters after OWS ";" (OWS: spaces and tabs, RFC 9110 5.6.3; leading OWS is not part of
//     a field value: Beast strips it);
//   * bearer_token: a token exactly when the value starts with "Bearer" (any case) and a space;
//     the token is the rest after the spaces, a suffix of the value that starts with no space.
//
//   request_head_fuzz -dict=tests/fuzz/request_head.dict <scratch copy of tests/fuzz/corpus/request_head>
#include "gateway/detail/request_checks.hpp"
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
namespace checks = sluice::gateway::detail;

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

char lower(char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool is_ows(char ch) { return ch == ' ' || ch == '\t'; }

// Every header check on one value, against its oracle.
void check_header_value(std::string_view value) {
    bool printable = !value.empty() && value.size() <= 255;
    for (char ch : value) printable = printable && ch >= 0x20 && ch <= 0x7e;
    require(checks::valid_idempotency_key(value) == printable,
            "an Idempotency-Key is accepted exactly when it is 1 to 255 printable ASCII characters");

    bool request_id = !value.empty() && value.size() <= 128;
    for (char ch : value) {
        const bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        request_id = request_id && (alnum || std::string_view("-_.:/+=").find(ch) != std::string_view::npos);
    }
    require(checks::acceptable_request_id(value) == request_id,
            "an X-Request-Id is echoed exactly when it is 1 to 128 of [A-Za-z0-9-_.:/+=]");

    std::string_view media = value.substr(0, value.find(';'));
    while (!media.empty() && is_ows(media.back())) media.remove_suffix(1);
    require(checks::is_json_content_type(value) == equals_ignoring_case(media, "application/json"),
            "a Content-Type is JSON exactly when its media type is application/json");

    const auto token = checks::bearer_token(value);
    const bool bearer = value.size() > 7 && equals_ignoring_case(value.substr(0, 7), "Bearer ");
    require(token.has_value() == bearer, "a bearer token exactly for \"Bearer \" and more");
    if (token) {
        require(token->data() + token->size() == value.data() + value.size(), "the token is the value's end");
        require(token->empty() || token->front() != ' ', "the token starts after the spaces");
        const std::string_view spaces = value.substr(6, value.size() - 6 - token->size());
        require(spaces.find_first_not_of(' ') == std::string_view::npos, "only spaces between scheme and token");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = 1 + data[0] % 16;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

    check_header_value(bytes);
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
            for (const auto& field : req) check_header_value({field.value().data(), field.value().size()});
        }
        break;
    }
    }
    return 0;
}
