// TLS termination (internal to gateway/): the loaded certificate and key with the gateway's TLS
// policy, and the accept loop of the TLS listener.
//
// Policy, fixed here: TLS 1.2 and 1.3 only; TLS 1.2 with forward-secret AEAD suites only; ALPN
// "http/1.1" selected (a client offering only other protocols is refused with the
// no_application_protocol alert, RFC 7301 3.2); no renegotiation, no compression; no server-side
// session cache (resumption by stateless session tickets, so cores share no cache lock); OpenSSL
// releases a connection's record buffers while it is idle.
//
// A tls_context is immutable once loaded and shared by every core (OpenSSL's SSL_CTX is safe to
// use from several threads). SIGHUP loads a new one (if the files changed) and each core swaps
// its pointer: connections
// accepted afterwards use the new certificate, open ones keep the context they started with (each
// holds a shared_ptr). The SSL headers stay out of this header: only tls.cpp and session_tls.cpp
// include them (cmake/asio.cmake).
#pragma once

#include "config/config.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}
struct ssl_st;  // OpenSSL's SSL

namespace sluice::gateway::detail {

struct core;

class tls_context {
public:
    tls_context(std::unique_ptr<boost::asio::ssl::context> ssl, std::int64_t not_after, std::string subject,
                std::string fingerprint);
    ~tls_context();
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    // OpenSSL's SSL_CTX is shared, not changed, by the connections that use it.
    boost::asio::ssl::context& ssl() const noexcept { return *ssl_; }
    std::int64_t not_after() const noexcept { return not_after_; }  // the leaf's expiry, Unix seconds
    const std::string& subject() const noexcept { return subject_; }
    const std::string& fingerprint() const noexcept { return fingerprint_; }  // tls_pair_fingerprint's, at load

private:
    std::unique_ptr<boost::asio::ssl::context> ssl_;
    std::int64_t not_after_;
    std::string subject_;
    std::string fingerprint_;
};

// What the pair's files hold now: a digest of both files and their paths ("" if one cannot be
// read). A SIGHUP that finds it unchanged keeps the running context, and with it the session
// ticket keys: a reload for the credentials does not send every returning client through a full
// handshake.
std::string tls_pair_fingerprint(const config::tls_settings& tls);

// Loads tls.cert_file (PEM: the leaf, then any intermediates) and tls.key_file (PEM) with the
// policy above. Throws config::config_error naming the key whose file is at fault (unreadable,
// not PEM, or a key that does not match the certificate), with OpenSSL's reason.
std::shared_ptr<const tls_context> load_tls_context(const config::tls_settings& tls);

// A completed handshake, counted in the core's metrics with whether it resumed a session.
void count_tls_handshake(core& c, ssl_st* ssl) noexcept;

// The TLS listener's accept loop: the core's tls_acceptor, each connection handshaken with the
// core's tls context of the moment, then served by the same session loop as plain HTTP
// (session_tls.cpp).
boost::asio::awaitable<void> tls_accept_loop(core& c);

}  // namespace sluice::gateway::detail
