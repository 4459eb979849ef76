// Loading a certificate and key with the gateway's TLS policy (tls.hpp).
#include "gateway/detail/tls.hpp"

#include "config/digest.hpp"
#include "gateway/detail/core.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

namespace sluice::gateway::detail {

namespace {

namespace ssl = boost::asio::ssl;

// RFC 7301's wire form: each protocol name preceded by its length.
constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// TLS 1.2 suites: ECDHE key exchange (forward secrecy) and AEAD ciphers only. TLS 1.3's suites
// are all of that kind, and OpenSSL's defaults for them are kept.
constexpr const char* tls12_ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                  void*) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, alpn_http11, sizeof alpn_http11, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol: we speak only HTTP/1.1
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

// OpenSSL's reasons for the last failure, first cause first ("no start line, PEM lib"), and the
// queue emptied for the next one.
std::string openssl_reason() {
    std::string reasons;
    for (unsigned long code; (code = ERR_get_error()) != 0;) {
        const char* reason = ERR_reason_error_string(code);
        const std::string text = reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
        if (reasons.find(text) == std::string::npos) reasons += (reasons.empty() ? "" : ", ") + text;
    }
    return reasons.empty() ? "unknown OpenSSL error" : reasons;
}

[[noreturn]] void refuse(std::string_view key, const std::string& path, const std::string& what) {
    throw config::config_error(std::string(key), "\"" + path + "\"", what);
}

void check_readable(std::string_view key, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) refuse(key, path, std::string("a readable file: ") + std::strerror(errno));
}

std::optional<std::string> file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

tls_context::tls_context(std::unique_ptr<ssl::context> ssl, std::int64_t not_after, std::string subject,
                         std::string fingerprint)
    : ssl_(std::move(ssl)),
      not_after_(not_after),
      subject_(std::move(subject)),
      fingerprint_(std::move(fingerprint)) {}

std::string tls_pair_fingerprint(const config::tls_settings& tls) {
    const auto cert = file_text(tls.cert_file);
    const auto key = file_text(tls.key_file);
    if (!cert || !key) return {};
    std::string both = tls.cert_file + '\0' + *cert + '\0' + tls.key_file + '\0' + *key;
    const auto digest = config::sha256(both);
    std::fill(both.begin(), both.end(), '\0');  // the key's text, not left in freed memory
    return config::to_hex(digest);
}

tls_context::~tls_context() = default;

void count_tls_handshake(core& c, SSL* ssl) noexcept {
    c.metrics.tls_handshakes.add(1);
    if (SSL_session_reused(ssl) == 1) c.metrics.tls_resumed_handshakes.add(1);
}

std::shared_ptr<const tls_context> load_tls_context(const config::tls_settings& tls) {
    check_readable("tls.cert_file", tls.cert_file);
    check_readable("tls.key_file", tls.key_file);
    auto fingerprint = tls_pair_fingerprint(tls);
    ERR_clear_error();

    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1)
        throw std::runtime_error("TLS: OpenSSL refused the gateway's protocol policy: " + openssl_reason());
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_alpn_select_cb(native, select_http11, nullptr);

    if (SSL_CTX_use_certificate_chain_file(native, tls.cert_file.c_str()) != 1)
        refuse("tls.cert_file", tls.cert_file, "a PEM certificate (then its chain): " + openssl_reason());
    // The key is read first on its own, so that a file that is no key and a key of another
    // certificate are told apart.
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(nullptr, EVP_PKEY_free);
    if (std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(tls.key_file.c_str(), "r"), BIO_free); in)
        key.reset(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
    if (!key) refuse("tls.key_file", tls.key_file, "a PEM private key, unencrypted: " + openssl_reason());
    if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1)
        refuse("tls.key_file", tls.key_file,
               "the private key of the certificate in tls.cert_file (\"" + tls.cert_file + "\"): " + openssl_reason());

    const X509* leaf = SSL_CTX_get0_certificate(native);
    std::int64_t not_after = 0;
    std::tm expiry{};
    if (leaf != nullptr && ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &expiry) == 1) not_after = ::timegm(&expiry);
    std::string subject;
    if (leaf != nullptr) {
        char text[512];
        X509_NAME_oneline(X509_get_subject_name(leaf), text, sizeof text);
        subject = text;
    }
    return std::make_shared<const tls_context>(std::move(context), not_after, std::move(subject),
                                              std::move(fingerprint));
}

}  // namespace sluice::gateway::detail
