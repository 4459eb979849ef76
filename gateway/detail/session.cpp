// The plain HTTP listener: its accept loop and its sessions (session.hpp over the TCP socket
// itself), and what both listeners' sessions share that needs no template.
#include "gateway/detail/session.hpp"

#include <random>

namespace sluice::gateway::detail {

void new_request_id(std::string& out) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    out.resize(32);
    for (int half = 0; half < 2; ++half) {
        std::uint64_t v = rng();
        for (int i = 0; i < 16; ++i, v >>= 4) out[static_cast<std::size_t>(half * 16 + i)] = hex[v & 15];
    }
}

bool is_client_fault(const error_code& ec) noexcept {
    return ec.category() == error_code(http::error::bad_target).category() && ec != http::error::partial_message &&
           ec != http::error::end_of_stream;
}

std::optional<refusal> header_read_refusal(const error_code& ec, const config::limits_settings& limits) {
    if (ec == http::error::header_limit)
        return refusal{problem::header_too_large,
                       "the request header is larger than " + std::to_string(limits.max_header_bytes) + " bytes"};
    if (ec == http::error::body_limit)  // decided from Content-Length, before the body
        return refusal{problem::content_too_large,
                       "the request body is larger than " + std::to_string(limits.max_body_bytes) + " bytes"};
    if (ec == http::error::bad_version)  // Beast 1.81 refuses all but HTTP/1.0 and 1.1
        return refusal{problem::http_version, "only HTTP/1.0 and HTTP/1.1 are served"};
    if (is_client_fault(ec)) return refusal{problem::bad_request, "the request is not valid HTTP/1.1: " + ec.message()};
    return std::nullopt;
}

std::optional<refusal> head_refusal(const http_request& req, bool chunked) {
    if (req.version() != 10 && req.version() != 11)
        return refusal{problem::http_version, "only HTTP/1.0 and HTTP/1.1 are served"};
    if (req.version() == 11 && req.count(http::field::host) != 1)
        return refusal{problem::bad_request, "an HTTP/1.1 request needs exactly one Host header"};
    if (const auto te = req.find(http::field::transfer_encoding);
        te != req.end() && !boost::beast::iequals(te->value(), "chunked")) {
        // Chunked not last: the body length is unknowable (RFC 9112 6.3). Otherwise a coding we lack.
        return refusal{chunked ? problem::not_implemented : problem::bad_request,
                       "only Transfer-Encoding: chunked is supported"};
    }
    return std::nullopt;
}

namespace {

// Connections answered 503 for max_connections at once per core; beyond, they are just closed.
constexpr std::uint32_t max_rejecting = 256;

// Answers a connection beyond limits.max_connections with 503 and closes it.
net::awaitable<void> reject(core& c, tcp::socket socket) {
    struct rejecting_guard {
        core& c;
        ~rejecting_guard() { --c.rejecting; }
    } guard{c};
    static const std::string answer = [] {
        response r;
        make_problem(r, problem::overloaded, "the gateway has as many connections open as it allows; retry shortly");
        r.add_header("Retry-After", "1");
        r.close = true;
        std::string out, id(32, '0');
        serialize(r, id, false, out);
        return out;
    }();
    net::steady_timer timer(c.ioc);
    timer.expires_after(linger_time);
    timer.async_wait([&socket](error_code ec) {
        if (!ec) socket.close(ec);
    });
    co_await net::async_write(socket, net::buffer(answer), use_tuple);
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    char discard[4096];
    while (!ec) {
        auto [rec, n] = co_await socket.async_read_some(net::buffer(discard), use_tuple);
        (void)n;
        ec = rec;
    }
    timer.cancel();
    socket.close(ec);
}

}  // namespace

net::awaitable<void> accept_loop(core& c) {
    co_await accept_connections(
        c, c.acceptor,
        [&c](tcp::socket s) {
            using plain_session = session<tcp::socket&>;
            plain_session::start(std::make_unique<plain_session>(c, std::move(s), nullptr));
        },
        [&c](tcp::socket s) {
            if (c.rejecting >= max_rejecting) return;  // the socket closes as it leaves scope
            ++c.rejecting;
            net::co_spawn(c.ioc, reject(c, std::move(s)), net::detached);
        });
}

}  // namespace sluice::gateway::detail
