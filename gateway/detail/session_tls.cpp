// The TLS listener: its accept loop and its sessions, session.hpp's loop over Beast's ssl_stream
// on the connection's socket. One of the two gateway files that include the SSL headers (tls.hpp).
//
// A connection beyond limits.max_connections is closed at once, without the plain listener's 503:
// an answer would cost a handshake, which is the work an overloaded gateway must not take on.
#include "gateway/detail/session.hpp"
#include "gateway/detail/tls.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace sluice::gateway::detail {

using tls_stream = boost::beast::ssl_stream<tcp::socket&>;

net::awaitable<void> tls_accept_loop(core& c) {
    co_await accept_connections(
        c, c.tls_acceptor,
        [&c](tcp::socket s) {
            net::co_spawn(
                c.ioc,
                [&c, s = std::move(s), context = c.tls]() mutable -> net::awaitable<void> {
                    // The session holds the context it starts with: a SIGHUP that replaces c.tls
                    // leaves this connection on its certificate until it closes.
                    auto& ssl = context->ssl();
                    session<tls_stream, std::shared_ptr<const tls_context>> conn(c, std::move(s), std::move(context),
                                                                                 ssl);
                    co_await conn.run_tls();
                },
                net::detached);
        },
        [](tcp::socket) {});  // closed as it leaves scope
}

}  // namespace sluice::gateway::detail
