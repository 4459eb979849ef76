// See answer_reader.hpp.
#include "loadtest/detail/answer_reader.hpp"

#include <algorithm>

namespace sluice::loadtest::detail {

namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view skip_blanks(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    return text;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty() || value.size() > 9) return std::nullopt;
    std::int64_t seconds = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        seconds = seconds * 10 + (c - '0');
    }
    return std::chrono::seconds{seconds};
}

std::string_view find_submission_id(std::string_view body) {
    constexpr std::string_view key = "\"submission_id\"";
    const auto at = body.find(key);
    if (at == std::string_view::npos) return {};
    auto rest = skip_blanks(body.substr(at + key.size()));
    if (rest.empty() || rest.front() != ':') return {};
    rest = skip_blanks(rest.substr(1));
    if (rest.empty() || rest.front() != '"') return {};
    rest.remove_prefix(1);
    const auto end = rest.find('"');
    if (end == std::string_view::npos) return {};
    return rest.substr(0, end);
}

answer_reader::answer_reader(std::string& body) : body_(body) {
    body_.clear();
    eager(true);
    body_limit(answer_body_limit);
}

void answer_reader::on_field_impl(boost::beast::http::field name, string_view, string_view value, error_code&) {
    if (name == boost::beast::http::field::retry_after)
        retry_after = parse_retry_after(std::string_view(value.data(), value.size()));
}

std::size_t answer_reader::on_body_impl(string_view data, error_code&) {
    keep(data);
    return data.size();
}

std::size_t answer_reader::on_chunk_body_impl(std::uint64_t, string_view data, error_code&) {
    keep(data);
    return data.size();
}

void answer_reader::keep(string_view data) {
    if (!is_2xx(status) || body_.size() >= max_kept_body) return;
    body_.append(data.data(), std::min(data.size(), max_kept_body - body_.size()));
}

}  // namespace sluice::loadtest::detail
