// The gateway's answer to one POST /v1/submissions, as the open-loop client reads it: Beast's
// HTTP/1.1 parser keeping only what the client needs (the status, Retry-After, and for a 2xx the
// start of the body, where the receipt's submission_id is), with no field table and no allocation
// beyond the body buffer it is given, which the connection reuses from answer to answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>

namespace sluice::loadtest::detail {

// Of a 2xx answer's body, what is kept to look for "submission_id" in (a receipt is ~300 bytes).
inline constexpr std::size_t max_kept_body = 64 * 1024;
// A larger answer body is a protocol error (the connection is closed, the request a transport error).
inline constexpr std::uint64_t answer_body_limit = 8 * 1024 * 1024;

inline bool is_2xx(int status) noexcept { return status >= 200 && status < 300; }

// "120" -> 120 s; an HTTP-date or anything else -> none (the behaviours then back off on their own).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// The "submission_id" string of a receipt, found by a search rather than a JSON parse: the
// gateway writes it as a plain string of URL-safe characters. Empty when there is none.
std::string_view find_submission_id(std::string_view body);

class answer_reader final : public boost::beast::http::basic_parser<false> {
public:
    // `body` receives the first max_kept_body bytes of a 2xx answer's body (cleared here).
    explicit answer_reader(std::string& body);

    int status = 0;
    std::optional<std::chrono::seconds> retry_after;

private:
    using error_code = boost::system::error_code;
    using string_view = boost::beast::string_view;

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
    void on_response_impl(int code, string_view, int, error_code&) override { status = code; }
    void on_field_impl(boost::beast::http::field name, string_view, string_view value, error_code&) override;
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(string_view data, error_code&) override;
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code&) override;
    void on_finish_impl(error_code&) override {}

    void keep(string_view data);

    std::string& body_;
};

}  // namespace sluice::loadtest::detail
