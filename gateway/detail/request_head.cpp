// The raw-byte checks of a request head (see request_head.hpp for the rules and why).
#include "gateway/detail/request_head.hpp"

namespace sluice::gateway::detail {

namespace {

// tchar (RFC 9110 section 5.6.2): the characters of a token.
constexpr bool is_tchar(unsigned char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

constexpr bool is_visible(unsigned char c) noexcept { return c >= 0x21 && c <= 0x7e; }

// field-vchar, SP and HTAB (RFC 9110 section 5.5); obs-text (0x80-0xFF) is kept as opaque bytes.
constexpr bool is_field_value_char(unsigned char c) noexcept {
    return c == ' ' || c == '\t' || is_visible(c) || c >= 0x80;
}

constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

// A line without its CRLF; empty string_view when well-formed, else the reason.
std::string_view check_request_line(std::string_view line) noexcept {
    std::size_t i = 0;
    while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
    if (i == 0 || i == line.size() || line[i] != ' ')
        return "the request line does not start with a method and one space";
    const std::size_t target_start = ++i;
    while (i < line.size() && is_visible(static_cast<unsigned char>(line[i]))) ++i;
    if (i == target_start) return "the request line has no request target";
    if (i == line.size()) return "the request line has no HTTP version";
    if (line[i] != ' ') return "the request target holds a character that is not visible ASCII";
    const std::string_view version = line.substr(i + 1);
    if (version.empty()) return "the request line has no HTTP version";
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(static_cast<unsigned char>(version[5])) ||
        version[6] != '.' || !is_digit(static_cast<unsigned char>(version[7])))
        return "the request line does not end in an HTTP version (HTTP/1.1)";
    return {};
}

std::string_view check_field_line(std::string_view line) noexcept {
    if (line.front() == ' ' || line.front() == '\t')
        return "a header line starts with whitespace (obs-fold line folding is not accepted)";
    std::size_t i = 0;
    while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
    if (i == line.size() || line[i] != ':')
        return i == 0 ? "a header line has no field name"
                      : "a header field name holds a character that is not a token character, or has no colon";
    if (i == 0) return "a header line has no field name";
    for (++i; i < line.size(); ++i)
        if (!is_field_value_char(static_cast<unsigned char>(line[i])))
            return "a header field value holds a control character";
    return {};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if ((a[i] | 0x20) != (b[i] | 0x20)) return false;  // enough for letters and '-' against a name
    return true;
}

// Once the head is whole: at most one Content-Length line, and its value one number (RFC 9110
// section 8.6 lets a recipient merge equal copies or a list "2, 2"; a front end refuses them, as
// two hops that resolve them differently disagree on where the body ends).
std::string_view check_framing_fields(std::string_view head) noexcept {
    bool seen_content_length = false;
    for (std::size_t start = head.find("\r\n") + 2; start < head.size();) {
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line = head.substr(start, end - start);
        start = end + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || !iequals(line.substr(0, colon), "content-length")) continue;
        if (seen_content_length) return "more than one Content-Length header";
        seen_content_length = true;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        if (value.empty()) return "Content-Length is not a number";
        for (char c : value)
            if (!is_digit(static_cast<unsigned char>(c))) return "Content-Length is not a number";
    }
    return {};
}

}  // namespace

head_scan scan_request_head(std::string_view bytes, std::size_t from) noexcept {
    std::size_t start = from;
    for (;;) {
        const std::size_t lf = bytes.find('\n', start);
        if (lf == std::string_view::npos) {
            // Within the partial line a CR must be the last byte so far (its LF may follow).
            const std::size_t cr = bytes.find('\r', start);
            if (cr != std::string_view::npos && cr + 1 < bytes.size())
                return {head_verdict::malformed, start, "a line holds a CR that is not followed by LF"};
            return {head_verdict::incomplete, start, {}};
        }
        // A CR before the line's last byte first, as the partial-line check above sees it: the
        // verdict must not depend on where the bytes were split.
        if (const std::size_t cr = bytes.substr(start, lf - start).find('\r');
            cr != std::string_view::npos && start + cr + 1 < lf)
            return {head_verdict::malformed, start, "a line holds a CR that is not followed by LF"};
        if (lf == start || bytes[lf - 1] != '\r')
            return {head_verdict::malformed, start, "a line ends in a bare LF; HTTP/1.1 lines end in CRLF"};
        const std::string_view line = bytes.substr(start, lf - 1 - start);
        if (start == 0) {
            if (const auto reason = check_request_line(line); !reason.empty())
                return {head_verdict::malformed, start, reason};
        } else if (line.empty()) {
            if (const auto reason = check_framing_fields(bytes.substr(0, lf + 1)); !reason.empty())
                return {head_verdict::malformed, 0, reason};
            return {head_verdict::complete, lf + 1, {}};
        } else if (const auto reason = check_field_line(line); !reason.empty()) {
            return {head_verdict::malformed, start, reason};
        }
        start = lf + 1;
    }
}

}  // namespace sluice::gateway::detail
