// Test support: self-signed pairs and a TLS client (see tls_client.hpp).
#include "tests/integration/gateway/tls_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace sluice::test {

namespace {

std::string openssl_error(std::string_view what) {
    std::string reason(what);
    char text[256];
    for (unsigned long code; (code = ERR_get_error()) != 0;) {
        ERR_error_string_n(code, text, sizeof text);
        reason += std::string(": ") + text;
    }
    return reason;
}

SSL* as_ssl(void* p) { return static_cast<SSL*>(p); }

}  // namespace

void make_self_signed(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                      const std::string& common_name) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    if (!key || !cert) throw std::runtime_error(openssl_error("key or certificate allocation"));
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::hash<std::string>{}(common_name) >> 2));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error(openssl_error("X509_sign"));

    // Written beside and renamed into place, so a reload never reads half a file.
    auto write = [](const std::filesystem::path& path, auto&& writer) {
        const auto tmp = path.string() + ".new";
        FILE* f = std::fopen(tmp.c_str(), "w");
        if (f == nullptr || writer(f) != 1) throw std::runtime_error("cannot write " + tmp);
        std::fclose(f);
        std::filesystem::rename(tmp, path);
    };
    write(key_file, [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
    write(cert_file, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
}

tls_client::tls_client(std::uint16_t port, const tls_client_options& options) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error_ = "connect failed";
        return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval limit{5, 0};  // the handshake and writes are blocking: never longer than this
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);

    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    ctx_ = ctx;
    // Security level 0, so that this client can offer what the gateway must refuse (TLS 1.1).
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx, options.min_version);
    if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx, options.max_version);
    if (!options.alpn.empty()) {
        std::string wire;
        for (const auto& name : options.alpn) wire += static_cast<char>(name.size()) + name;
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size()));
    }
    if (!options.ca_file.empty()) {
        SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd_);
    if (options.session) SSL_set_session(ssl, static_cast<SSL_SESSION*>(options.session.get()));
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
        error_ = openssl_error("handshake failed");
        SSL_free(ssl);
        return;
    }
    ssl_ = ssl;
}

tls_client::~tls_client() {
    if (ssl_ != nullptr) SSL_free(as_ssl(ssl_));
    if (ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
    if (fd_ >= 0) ::close(fd_);
}

std::string tls_client::alpn() const {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    if (ssl_ != nullptr) SSL_get0_alpn_selected(as_ssl(ssl_), &data, &length);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), length);
}

std::string tls_client::version() const { return ssl_ == nullptr ? "" : SSL_get_version(as_ssl(ssl_)); }

std::string tls_client::peer_common_name() const {
    if (ssl_ == nullptr) return {};
    std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(as_ssl(ssl_)), X509_free);
    if (!cert) return {};
    char text[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, text, sizeof text);
    return text;
}

bool tls_client::resumed() const { return ssl_ != nullptr && SSL_session_reused(as_ssl(ssl_)) == 1; }

std::shared_ptr<void> tls_client::session() const {
    SSL_SESSION* s = ssl_ == nullptr ? nullptr : SSL_get1_session(as_ssl(ssl_));
    if (s == nullptr) return nullptr;
    return std::shared_ptr<void>(s, [](void* p) { SSL_SESSION_free(static_cast<SSL_SESSION*>(p)); });
}

bool tls_client::send(std::string_view bytes) {
    if (ssl_ == nullptr) return false;
    while (!bytes.empty()) {
        const int n = SSL_write(as_ssl(ssl_), bytes.data(), static_cast<int>(bytes.size()));
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool tls_client::fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_ || ssl_ == nullptr) return false;
    if (SSL_pending(as_ssl(ssl_)) == 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    }
    char buf[16384];
    const int n = SSL_read(as_ssl(ssl_), buf, sizeof buf);
    if (n <= 0) {
        const int reason = SSL_get_error(as_ssl(ssl_), n);
        if (reason == SSL_ERROR_WANT_READ) return true;  // a record not yet whole, or a session ticket
        eof_ = true;
        ERR_clear_error();
        return false;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::optional<http_answer> tls_client::read_answer(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    http_answer a;
    for (;;) {
        switch (take_answer(in_, a)) {
        case answer_parse::complete: return a;
        case answer_parse::malformed: return std::nullopt;
        case answer_parse::incomplete: break;
        }
        if (!fill(deadline)) return std::nullopt;
    }
}

bool tls_client::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        fill(deadline);
    }
    return true;
}

std::optional<http_answer> ask_tls(std::uint16_t port, const std::string& request) {
    tls_client c(port);
    if (!c.connected() || !c.send(request)) return std::nullopt;
    return c.read_answer();
}

}  // namespace sluice::test
