// One client connection, read top to bottom: wait for a request, read its header, check the
// limits, read its body, answer it, write the answer, repeat. Pipelined requests are answered in
// order because this loop handles one request at a time and leftover bytes stay in `buffer_`.
//
// Limits (API.md [limits]): the header may not exceed max_header_bytes (431) nor take longer than
// header_timeout_ms from its first byte; the body may not exceed max_body_bytes (413, decided from
// Content-Length before a byte of the body is read, and while a chunked body arrives) nor take
// longer than body_timeout_ms; a keep-alive connection with no request for idle_timeout_ms is
// closed. Deadlines are enforced by the core's sweep (detail/core.hpp), not by per-read timers.
//
// What a request asks for is not decided here: the router (router.hpp) names its handler
// (handlers/), which fills the response; the session reads, dispatches and writes.
//
// The request path is one template over the stream it reads and writes: the TCP socket itself
// (plain HTTP, session.cpp) or a TLS stream over it (session_tls.cpp). Both instantiations compile
// the same serve_one(); they differ in how they wait between requests.
//
// A plain connection holds no coroutine while it is idle: the session is a heap object owned by
// whatever is pending on it. Idle, that is a callback wait for the socket to become readable
// (wait_for_request: a few dozen bytes of handler, no coroutine frames). When bytes arrive it
// spawns serve_arrived(), a coroutine that answers what came (pipelined requests included) and,
// once the buffer is empty, hands the session back to a new callback wait and ends. Whoever holds
// the session last when the connection ends (an error, the sweep's cut, the drain) deletes it.
// Thousands of keep-alive connections waiting at the deadline cost the object and the wait, not
// ~1.8 KB of coroutine frames each (bench/idle_memory.sh). The price is one co_spawn per burst of
// requests on a connection.
//
// A TLS connection keeps one coroutine for its life (run_tls): it adds the handshake (under
// limits.header_timeout_ms, so a client that connects and never sends a ClientHello is cut like
// one that never sends a header), reads through OpenSSL while idle (OpenSSL may already hold a
// pipelined request), and says close_notify at the end. Only session_tls.cpp includes the SSL
// headers.
#pragma once

#include "gateway/detail/core.hpp"
#include "gateway/detail/handler.hpp"
#include "gateway/detail/request_checks.hpp"
#include "gateway/detail/request_head.hpp"
#include "config/log.hpp"
#include "gateway/problem.hpp"
#include "gateway/response.hpp"
#include "gateway/router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <memory>
#include <optional>
#include <type_traits>

namespace sluice::gateway::detail {

namespace http = boost::beast::http;
using boost::system::error_code;

inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// How long an error answer waits for the client to stop sending before closing: closing with
// unread bytes makes the kernel send a reset, which can destroy the answer before it is read.
inline constexpr std::chrono::milliseconds linger_time{500};
inline constexpr std::size_t linger_max_bytes = 1 << 20;
// A body refused at the headers is read and discarded (keeping the connection) up to this size;
// a larger one is not worth reading: the connection closes instead.
inline constexpr std::uint64_t max_drained_body_bytes = 64 * 1024;
// A TLS connection's reads while idle: OpenSSL hands over at most one record (16 KiB) per read.
inline constexpr std::size_t tls_idle_read_bytes = 8192;

// X-Request-Id when the client sent none acceptable (request_checks.hpp): 128 random bits in hex.
void new_request_id(std::string& out);

// A parse error the client should hear about (as opposed to the connection ending mid-message).
bool is_client_fault(const error_code& ec) noexcept;

inline std::chrono::milliseconds ms(std::uint32_t v) { return std::chrono::milliseconds(v); }

// A request answered with a problem and a closed connection, before it reaches a handler.
struct refusal {
    problem p;
    std::string detail;
};

// Why the head could not be read, when it is the client's fault.
std::optional<refusal> header_read_refusal(const error_code& ec, const config::limits_settings& limits);

// What Beast accepts but a front end must not (DESIGN.md, hard-won facts).
std::optional<refusal> head_refusal(const http_request& req, bool chunked);

// Stream: tcp::socket& (the session's own socket) or a TLS stream over it. A TLS session holds the
// context it was accepted with (Owner) for as long as it lives.
template <class Stream, class Owner = std::nullptr_t>
class session : public session_base {
public:
    static constexpr bool tls = !std::is_reference_v<Stream>;

    template <class... StreamArgs>
    session(core& c, tcp::socket s, Owner owner, StreamArgs&&... stream_args)
        : session_base(std::move(s)),
          stream_(socket, std::forward<StreamArgs>(stream_args)...),
          owner_(std::move(owner)),
          core_(c) {
        core_.sessions.push_back(*this);
        core_.metrics.open_connections.add(1);
        core_.metrics.accepted_connections.add(1);
    }
    ~session() {
        core_.metrics.open_connections.add(-1);
        core_.shared.open_connections.fetch_sub(1, std::memory_order_relaxed);
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    // Plain HTTP: serves the connection until it ends, then deletes the session.
    static void start(std::unique_ptr<session> self) requires(!tls);
    // TLS: the connection's one coroutine.
    net::awaitable<void> run_tls() requires tls;

private:
    enum class next { keep_going, close };

    void enter(session_phase p, std::chrono::milliseconds limit) {
        phase = p;
        deadline = limit.count() > 0 ? clock::now() + limit : clock::time_point::max();
    }
    net::awaitable<next> serve_one(const runtime& rt);
    static void wait_for_request(std::unique_ptr<session> self);
    static net::awaitable<void> serve_arrived(std::unique_ptr<session> self);
    void close_socket() noexcept {
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
    void release_idle_memory() noexcept {
        buffer_.shrink_to_fit();
        parser_.reset();
        response_.release();
        std::string().swap(out_);
        std::string().swap(request_id_);
    }
    net::awaitable<next> answer_before_body(route r, bool wait_for_body);
    void answer_unrouted(const route_match& match);
    net::awaitable<void> reply_and_close(problem p, std::string_view detail, route r);
    net::awaitable<void> write_response(route r, bool keep_alive_header);
    net::awaitable<void> linger_and_close();

    Stream stream_;
    Owner owner_;
    core& core_;
    boost::beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    response response_;
    std::string out_;
    std::string request_id_;
    clock::time_point started_{};
    bool counted_inflight_ = false;
    bool lingered_ = false;  // the connection was half-closed at the TCP level (no close_notify after)
};

template <class Stream, class Owner>
void session<Stream, Owner>::start(std::unique_ptr<session> self) requires(!tls) {
    error_code nb;
    self->socket.non_blocking(true, nb);  // read_some below must never block the core's thread
    wait_for_request(std::move(self));
}

// Idle: no buffer, parser, answer or coroutine held while waiting (thousands of keep-alive
// connections wait at once); the pending wait owns the session.
template <class Stream, class Owner>
void session<Stream, Owner>::wait_for_request(std::unique_ptr<session> self) {
    session& s = *self;
    if (s.core_.draining) return s.close_socket();  // and the session ends with `self`
    s.release_idle_memory();
    s.enter(session_phase::idle, ms(s.core_.state->settings.limits.idle_timeout_ms));
    // No read attempted before the socket is readable.
    s.socket.async_wait(tcp::socket::wait_read, [self = std::move(self)](error_code ec) mutable {
        if (ec) return;  // cut off by the sweep, or the drain: the session ends here
        session& s = *self;
        // One read of everything that has arrived, into the core's scratch buffer; only what came
        // is kept (usually a whole request: head and body, so no second read).
        error_code rec;
        const auto n = s.socket.read_some(net::buffer(s.core_.scratch), rec);
        if (rec == net::error::would_block || rec == net::error::try_again) return wait_for_request(std::move(self));
        if (rec) return s.close_socket();  // closed by the client
        net::buffer_copy(s.buffer_.prepare(n), net::buffer(s.core_.scratch.data(), n));
        s.buffer_.commit(n);
        net::co_spawn(s.core_.ioc, serve_arrived(std::move(self)), net::detached);
    });
}

// Answers what has arrived, request by request (pipelined ones in order: leftover bytes stay in
// buffer_), then waits for the next without a coroutine.
template <class Stream, class Owner>
net::awaitable<void> session<Stream, Owner>::serve_arrived(std::unique_ptr<session> self) {
    session& s = *self;
    do {
        // The snapshot as the request arrives, held to its end: a SIGHUP may replace core_.state
        // meanwhile, and the request must see one configuration throughout.
        const std::shared_ptr<const runtime> rt = s.core_.state;
        if ((co_await s.serve_one(*rt)) == next::close) {
            s.close_socket();
            co_return;
        }
    } while (s.buffer_.size() != 0);
    wait_for_request(std::move(self));
}

template <class Stream, class Owner>
net::awaitable<void> session<Stream, Owner>::run_tls() requires tls {
    error_code nb;
    socket.non_blocking(true, nb);
    // The handshake counts as the header's first part: a client that opens TCP and sends no
    // ClientHello (or stalls in it) is cut at limits.header_timeout_ms by the sweep.
    enter(session_phase::header, ms(core_.state->settings.limits.header_timeout_ms));
    auto [ec] = co_await stream_.async_handshake(Stream::server, use_tuple);
    if (ec) {
        core_.metrics.tls_handshake_failures.add(1);
        co_return;  // the socket closes with the session
    }
    count_tls_handshake(core_, stream_.native_handle());
    for (;;) {
        if (buffer_.size() == 0) {
            if (core_.draining) break;
            release_idle_memory();
            enter(session_phase::idle, ms(core_.state->settings.limits.idle_timeout_ms));
            // OpenSSL may hold bytes already read from the socket (a pipelined request), so the
            // wait is a read through it; idle, OpenSSL holds no record buffer
            // (SSL_MODE_RELEASE_BUFFERS).
            auto [rec, n] = co_await stream_.async_read_some(buffer_.prepare(tls_idle_read_bytes), use_tuple);
            if (rec) break;  // closed by the client, cut off by the sweep, or the drain
            buffer_.commit(n);
        }
        const std::shared_ptr<const runtime> rt = core_.state;
        if ((co_await serve_one(*rt)) == next::close) break;
    }
    // close_notify, then the peer's (or its EOF), within the linger time: a client may then tell
    // a complete answer from a truncated one.
    if (!lingered_ && socket.is_open()) {
        enter(session_phase::linger, linger_time);
        auto [sec] = co_await stream_.async_shutdown(use_tuple);
        (void)sec;
    }
    close_socket();
}

template <class Stream, class Owner>
auto session<Stream, Owner>::serve_one(const runtime& rt) -> net::awaitable<next> {
    const auto& limits = rt.settings.limits;
    enter(session_phase::header, ms(limits.header_timeout_ms));
    parser_.emplace();
    parser_->header_limit(limits.max_header_bytes);
    parser_->body_limit(limits.max_body_bytes);
    response_.reset();
    request_id_.clear();

    // Wire rules Beast lacks (detail/request_head.hpp), on the raw bytes: Beast never waits on an ended head.
    for (head_scan scan; scan.verdict != head_verdict::complete && buffer_.size() <= limits.max_header_bytes;) {
        scan = scan_request_head({static_cast<const char*>(buffer_.data().data()), buffer_.size()}, scan.checked);
        if (scan.verdict == head_verdict::malformed) {
            started_ = clock::now();
            co_await reply_and_close(problem::bad_request, scan.reason, route::unmatched);
            co_return next::close;
        }
        if (scan.verdict == head_verdict::incomplete) {
            auto [rec, rn] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
            if (rec) co_return next::close;  // the client went away, or the sweep cut it off
            buffer_.commit(rn);
        }
    }
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, use_tuple);
    (void)n;
    started_ = clock::now();
    core_.note_request();
    if (ec) {
        // A fault of the client's is answered; otherwise the client went away, or the sweep cut it off.
        if (auto r = header_read_refusal(ec, limits)) co_await reply_and_close(r->p, r->detail, route::unmatched);
        co_return next::close;
    }

    const auto& req = parser_->get();
    if (const auto id = req["X-Request-Id"]; acceptable_request_id(id))
        request_id_.assign(id);
    else
        new_request_id(request_id_);

    if (auto r = head_refusal(req, parser_->chunked())) {
        co_await reply_and_close(r->p, r->detail, route::unmatched);
        co_return next::close;
    }

    const auto match = match_route(req.method(), req.target());
    enter(session_phase::handling, std::chrono::milliseconds(0));
    core_.metrics.inflight_requests.add(1);
    counted_inflight_ = true;

    // A handler may answer at the headers, before a byte of the body is read (handler.hpp).
    const exchange x{core_, rt, req, response_, socket};
    request_state state;
    state.path_param = match.path_param;
    state.path_param2 = match.path_param2;
    if (match.handler != nullptr && match.handler->at_headers != nullptr) {
        co_await match.handler->at_headers(x, state);
        if (state.answered) co_return co_await answer_before_body(match.which, state.wait_for_body);
    }
    // No resource here, or not with this method: answered at the head too, and a body never
    // waited for (a slow body sent to any path would otherwise hold its connection).
    if (match.handler == nullptr) {
        answer_unrouted(match);
        co_return co_await answer_before_body(match.which, false);
    }

    if (!parser_->is_done()) {
        if (const auto expect = req[http::field::expect]; boost::beast::iequals(expect, "100-continue")) {
            static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
            enter(session_phase::write, ms(limits.body_timeout_ms));
            auto [wec, wn] = co_await net::async_write(stream_, net::buffer(continue_line), use_tuple);
            (void)wn;
            if (wec) co_return next::close;
        }
        enter(session_phase::body, ms(limits.body_timeout_ms));
        auto [bec, bn] = co_await http::async_read(stream_, buffer_, *parser_, use_tuple);
        (void)bn;
        if (bec == http::error::body_limit) {
            co_await reply_and_close(
                problem::content_too_large,
                "the request body is larger than " + std::to_string(limits.max_body_bytes) + " bytes",
                route::unmatched);
            co_return next::close;
        }
        if (is_client_fault(bec)) {
            co_await reply_and_close(problem::bad_request, "the request body is malformed: " + bec.message(),
                                     route::unmatched);
            co_return next::close;
        }
        if (bec) co_return next::close;
        enter(session_phase::handling, std::chrono::milliseconds(0));
    }

    co_await match.handler->answer(x, state);

    const bool keep_alive = req.keep_alive() && !core_.draining && !response_.close;
    response_.close = !keep_alive;
    const bool keep_alive_header = keep_alive && req.version() == 10;
    co_await write_response(match.which, keep_alive_header);
    co_return keep_alive ? next::keep_going : next::close;
}

// The answer is ready before the body was read. The connection stays open only if the body can
// be read and discarded cheaply: its length known and small, no 100-continue asked for (the
// client waits for it, or for a final answer, before it sends the body), and either worth
// waiting for or already here. Otherwise the answer says Connection: close and the connection
// lingers (closing on unread bytes would send a reset that can destroy the answer).
template <class Stream, class Owner>
auto session<Stream, Owner>::answer_before_body(route r, bool wait_for_body) -> net::awaitable<next> {
    const auto& req = parser_->get();
    const bool body_pending = !parser_->is_done();
    const auto length = parser_->content_length();
    const bool drainable = !body_pending || (length && *length <= max_drained_body_bytes &&
                                             !boost::beast::iequals(req[http::field::expect], "100-continue") &&
                                             (wait_for_body || buffer_.size() >= *length));
    const bool keep_alive = drainable && req.keep_alive() && !core_.draining && !response_.close;
    response_.close = !keep_alive;
    co_await write_response(r, keep_alive && req.version() == 10);
    if (!keep_alive) {
        if (body_pending) co_await linger_and_close();
        co_return next::close;
    }
    if (body_pending) {
        enter(session_phase::body, ms(core_.state->settings.limits.body_timeout_ms));
        auto [ec, n] = co_await http::async_read(stream_, buffer_, *parser_, use_tuple);
        (void)n;
        if (ec) co_return next::close;
    }
    co_return next::keep_going;
}

// No handler: no resource at this path (404), or not with this method (405 + Allow).
template <class Stream, class Owner>
void session<Stream, Owner>::answer_unrouted(const route_match& match) {
    if (match.which == route::unmatched) {
        make_problem(response_, problem::not_found, "no resource at this path");
        return;
    }
    make_problem(response_, problem::method_not_allowed, "this resource answers only " + std::string(match.allow));
    response_.add_header("Allow", std::string(match.allow));
}

template <class Stream, class Owner>
net::awaitable<void> session<Stream, Owner>::write_response(route r, bool keep_alive_header) {
    out_.clear();
    serialize(response_, request_id_, keep_alive_header, out_);
    enter(session_phase::write, ms(core_.state->settings.limits.body_timeout_ms));
    auto [ec, n] = co_await net::async_write(stream_, net::buffer(out_), use_tuple);
    (void)n;
    (void)ec;  // a failed write ends the session; the answer still counts as given
    const auto latency = clock::now() - started_;
    core_.metrics.count_request(r, response_.status, latency);
    if (core_.state->settings.log.requests)  // log.requests: off by default, one branch when off
        config::log_request({request_id_, response_.practice, route_name(r), response_.status, latency});
    if (counted_inflight_) {
        core_.metrics.inflight_requests.add(-1);
        counted_inflight_ = false;
    }
}

template <class Stream, class Owner>
net::awaitable<void> session<Stream, Owner>::reply_and_close(problem p, std::string_view detail, route r) {
    if (request_id_.empty()) new_request_id(request_id_);
    response_.reset();
    make_problem(response_, p, detail);
    response_.close = true;
    co_await write_response(r, false);
    co_await linger_and_close();
}

template <class Stream, class Owner>
net::awaitable<void> session<Stream, Owner>::linger_and_close() {
    // TCP-level: what is read is discarded, so it need not pass through TLS.
    lingered_ = true;
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    enter(session_phase::linger, linger_time);
    std::size_t discarded = 0;
    while (!ec && discarded < linger_max_bytes) {
        buffer_.clear();
        auto [rec, n] = co_await socket.async_read_some(buffer_.prepare(16384), use_tuple);
        ec = rec;
        discarded += n;
    }
    buffer_.clear();
}

// Accepts connections on `acceptor` until it is closed (the drain); each one within
// limits.max_connections is handed to `serve(socket)`, each one beyond to `refuse(socket)`.
template <class Serve, class Refuse>
net::awaitable<void> accept_connections(core& c, tcp::acceptor& acceptor, Serve serve, Refuse refuse) {
    net::steady_timer backoff(c.ioc);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Typically EMFILE/ENFILE: wait a little instead of spinning on a full descriptor table.
            c.metrics.accept_errors.add(1);
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        const auto limit = c.shared.max_connections.load(std::memory_order_relaxed);
        if (c.shared.open_connections.fetch_add(1, std::memory_order_relaxed) >= limit) {
            c.shared.open_connections.fetch_sub(1, std::memory_order_relaxed);
            c.metrics.rejected_connections.add(1);
            refuse(std::move(socket));
            continue;
        }
        serve(std::move(socket));
    }
}

}  // namespace sluice::gateway::detail
