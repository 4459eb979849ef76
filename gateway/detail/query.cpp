// Query strings and cursors (see query.hpp).
#include "gateway/detail/query.hpp"

#include <algorithm>
#include <charconv>

namespace sluice::gateway::detail {

namespace {

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding, '+' as a space (HTML forms). nullopt for a malformed escape.
std::optional<std::string> decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int high = hex_digit(text[i + 1]), low = hex_digit(text[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

bool is_sort_key(std::string_view k) noexcept {
    // YYYY-MM-DDTHH:MM:SS.ffffff
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddddd";
    if (k.size() != shape.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 'd' ? (k[i] < '0' || k[i] > '9') : k[i] != shape[i]) return false;
    }
    return true;
}

}  // namespace

std::optional<std::string_view> query_params::get(std::string_view name) const noexcept {
    for (const auto& [n, v] : params)
        if (n == name) return std::string_view(v);
    return std::nullopt;
}

query_params parse_query(std::string_view target, const std::vector<std::string_view>& allowed) {
    query_params q;
    const auto mark = target.find('?');
    if (mark == std::string_view::npos) return q;
    std::string_view rest = target.substr(mark + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const auto name = decode(pair.substr(0, eq));
        const auto value = decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value) {
            q.fault = "the query string has a malformed percent-escape";
            return q;
        }
        if (std::find(allowed.begin(), allowed.end(), *name) == allowed.end()) {
            std::string names;
            for (const auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
            q.fault = "unknown query parameter \"" + name->substr(0, 64) + "\": this resource takes " + names;
            return q;
        }
        if (q.has(*name)) {
            q.fault = "the query parameter " + *name + " is given twice";
            return q;
        }
        q.params.emplace_back(std::move(*name), std::move(*value));
    }
    return q;
}

std::optional<std::uint32_t> read_limit(std::optional<std::string_view> text) noexcept {
    if (!text) return default_page_size;
    std::uint32_t n = 0;
    const auto* end = text->data() + text->size();
    const auto [p, ec] = std::from_chars(text->data(), end, n);
    if (ec != std::errc{} || p != end || n < 1 || n > max_page_size) return std::nullopt;
    return n;
}

std::string make_cursor(std::string_view sort_key, std::string_view id) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string plain(sort_key);
    plain += '|';
    plain += id;
    std::string out;
    out.reserve(plain.size() * 2);
    for (const unsigned char c : plain) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<std::pair<std::string, std::string>> read_cursor(std::string_view cursor) {
    if (cursor.empty() || cursor.size() % 2 != 0 || cursor.size() > 512) return std::nullopt;
    std::string plain;
    for (std::size_t i = 0; i < cursor.size(); i += 2) {
        const int high = hex_digit(cursor[i]), low = hex_digit(cursor[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        plain += static_cast<char>(high * 16 + low);
    }
    const auto bar = plain.find('|');
    if (bar == std::string::npos) return std::nullopt;
    std::string key = plain.substr(0, bar), id = plain.substr(bar + 1);
    if (!is_sort_key(key) || id.empty()) return std::nullopt;
    if (!std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '|'; }))
        return std::nullopt;
    return std::make_pair(std::move(key), std::move(id));
}

std::optional<std::string> read_page(const query_params& q, std::uint32_t& limit,
                                     std::optional<std::pair<std::string, std::string>>& after) {
    const auto read = read_limit(q.get("limit"));
    if (!read) return "limit must be a whole number from 1 to 100";
    limit = *read;
    if (const auto cursor = q.get("cursor")) {
        after = read_cursor(*cursor);
        if (!after) return "cursor is not one this gateway gave out";
    }
    return std::nullopt;
}

}  // namespace sluice::gateway::detail
