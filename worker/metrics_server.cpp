// The metrics endpoint (see metrics_server.hpp). One coroutine per connection: read a request,
// answer it, repeat while the client keeps the connection alive.
#include "worker/metrics_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <list>
#include <stdexcept>

namespace sluice::worker {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
// A scraper sends its request at once; a connection that sends nothing this long is closed.
constexpr std::chrono::seconds read_timeout{10};
constexpr std::chrono::seconds write_timeout{10};
constexpr std::uint32_t max_header_bytes = 8192;

}  // namespace

struct metrics_server::state {
    state(net::io_context& c, render_function r) : ioc(c), acceptor(c), render(std::move(r)) {}

    net::io_context& ioc;
    tcp::acceptor acceptor;
    render_function render;
    std::list<beast::tcp_stream> connections;
    bool stopped = false;
};

namespace {

net::awaitable<void> serve(std::shared_ptr<metrics_server::state> s, std::list<beast::tcp_stream>::iterator conn) {
    auto& stream = *conn;
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_header_bytes);
        parser.body_limit(0);
        stream.expires_after(read_timeout);
        auto [rec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        (void)n;
        if (rec || s->stopped) break;
        const auto& req = parser.get();
        http::response<http::string_body> res;
        res.version(11);
        if (req.method() == http::verb::get && req.target() == "/metrics") {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            res.body() = s->render();
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain; charset=utf-8");
            res.body() = "not found: this endpoint serves GET /metrics only\n";
        }
        const bool keep_alive = req.keep_alive() && !s->stopped;
        res.keep_alive(keep_alive);
        res.prepare_payload();
        stream.expires_after(write_timeout);
        auto [wec, written] = co_await http::async_write(stream, res, use_tuple);
        (void)written;
        if (wec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    s->connections.erase(conn);
}

net::awaitable<void> accept_loop(std::shared_ptr<metrics_server::state> s) {
    while (!s->stopped) {
        auto [ec, socket] = co_await s->acceptor.async_accept(use_tuple);
        if (s->stopped) break;
        if (ec) {
            if (ec == net::error::operation_aborted) break;
            continue;  // e.g. EMFILE: the next accept may succeed
        }
        s->connections.emplace_back(std::move(socket));
        net::co_spawn(s->ioc, serve(s, std::prev(s->connections.end())), net::detached);
    }
}

}  // namespace

metrics_server::metrics_server(net::io_context& ioc, render_function render)
    : state_(std::make_shared<state>(ioc, std::move(render))) {}

metrics_server::~metrics_server() { stop(); }

tcp::endpoint metrics_server::listen(const std::string& address, std::uint16_t port) {
    try {
        const tcp::endpoint endpoint(net::ip::make_address(address), port);
        state_->acceptor.open(endpoint.protocol());
        state_->acceptor.set_option(net::socket_base::reuse_address(true));
        state_->acceptor.bind(endpoint);
        state_->acceptor.listen(net::socket_base::max_listen_connections);
        return state_->acceptor.local_endpoint();
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("worker.metrics_address/metrics_port: cannot listen on " + address + ":" +
                                 std::to_string(port) + ": " + e.code().message());
    }
}

void metrics_server::start() { net::co_spawn(state_->ioc, accept_loop(state_), net::detached); }

void metrics_server::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& c : state_->connections) c.socket().close(ignored);
}

}  // namespace sluice::worker
