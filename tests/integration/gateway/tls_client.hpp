// Test support: a self-signed certificate and key made with OpenSSL's API, and a blocking TLS
// client on a loopback port that can be told which protocol versions and ALPN names to offer,
// so tests see what the gateway negotiates, refuses and serves.
#pragma once

#include "tests/integration/gateway/gateway_process.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

// Writes a fresh P-256 key and a self-signed certificate for CN=`common_name` (valid for a day)
// as PEM files.
void make_self_signed(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                      const std::string& common_name);

struct tls_client_options {
    int min_version = 0;  // 0: OpenSSL's default; else TLS1_VERSION, TLS1_1_VERSION, ...
    int max_version = 0;
    std::vector<std::string> alpn = {"http/1.1"};  // offered in order; empty: no ALPN extension
    std::filesystem::path ca_file;                 // verify the server against it; empty: no verification
    std::shared_ptr<void> session;                 // an earlier client's session() to resume; null: none
};

class tls_client {
public:
    tls_client(std::uint16_t port, const tls_client_options& options = {});
    ~tls_client();
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;

    // The handshake completed; otherwise error() says why (OpenSSL's reason).
    bool connected() const { return ssl_ != nullptr; }
    const std::string& error() const { return error_; }
    std::string alpn() const;     // the protocol the server selected, "" if none
    std::string version() const;  // "TLSv1.3", ...
    std::string peer_common_name() const;
    bool resumed() const;  // the handshake resumed options.session
    // The session to resume later (TLS 1.3: its ticket arrives with the first answer read).
    std::shared_ptr<void> session() const;

    bool send(std::string_view bytes);
    std::optional<http_answer> read_answer(std::chrono::milliseconds timeout = 5s);
    // Waits until the server closes (close_notify, EOF or reset); false on timeout.
    bool wait_closed(std::chrono::milliseconds timeout);

private:
    bool fill(std::chrono::steady_clock::time_point deadline);
    int fd_ = -1;
    void* ctx_ = nullptr;  // SSL_CTX*, SSL*: OpenSSL stays out of the tests' headers
    void* ssl_ = nullptr;
    std::string error_;
    std::string in_;
    bool eof_ = false;
};

// One request on a fresh TLS connection.
std::optional<http_answer> ask_tls(std::uint16_t port, const std::string& request);

}  // namespace sluice::test
