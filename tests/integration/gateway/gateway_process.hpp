// Test support: a real sluice-gateway process on a free port, and a raw-socket HTTP client.
//
// The gateway is started with `--config <tmp>/sluice.toml` (port 0: the kernel picks), and its
// port is read from the "listening on" line it prints once it serves. It is stopped by its pid.
// The client is deliberately low-level (POSIX sockets, poll) so tests can send headers one byte
// at a time, pipeline, stall, and see exactly when the server closes.
#pragma once

#include "tests/support/child_process.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::test {

using namespace std::chrono_literals;

struct gateway_options {
    // Appended to a config that sets [listen] address/port/threads; it may hold any other
    // section but [listen] (e.g. "[limits]\nmax_connections = 3\n"). Redis, the credential file
    // and the catalogue are given through SLUICE_* environment overrides, so tests never clash
    // with them here.
    std::string extra_toml;
    unsigned threads = 1;
    std::string redis_url;    // "": the test binary's redis-server (sluice::test::redis())
    std::string credentials;  // the credential file's text
    bool wait_ready = true;   // return only once GET /readyz answers 200 (Redis connected; plain listener only)
    // Lines added to the [listen] section (e.g. "plain_http = false\n").
    std::string listen_toml = {};
};

class gateway_process {
public:
    explicit gateway_process(gateway_options options) : gateway_process(std::move(options), std::string()) {}
    explicit gateway_process(std::string extra_toml = "", unsigned threads = 1)
        : gateway_process(gateway_options{std::move(extra_toml), threads, {}, {}, true}) {}
    // With another catalogue directory than the shipped data/catalogue.
    gateway_process(gateway_options options, std::string catalogue_dir);
    ~gateway_process();
    gateway_process(const gateway_process&) = delete;
    gateway_process& operator=(const gateway_process&) = delete;

    std::uint16_t port() const { return port_; }          // the plain listener's; 0 when it is off
    std::uint16_t tls_port() const { return tls_port_; }  // the TLS listener's; 0 while [tls] is off
    // Polls GET /readyz until 200; false on timeout.
    bool wait_ready(std::chrono::milliseconds timeout) const;
    pid_t pid() const { return child_->pid(); }
    void send_signal(int sig) const;
    // Rewrites the config file (same listen section) with new extra TOML.
    void rewrite_config(const std::string& extra_toml) const;
    // Rewrites the credential file (takes effect on SIGHUP).
    void rewrite_credentials(const std::string& text) const;
    // Waits for the process to exit; its exit code, or nullopt on timeout (or death by signal: -signo).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // The process's stderr so far.
    std::string log() const;
    // Waits until the log contains `text`.
    bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout) const;
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::string config_text(const std::string& extra) const;
    std::filesystem::path dir_;
    unsigned threads_;
    std::string listen_toml_;
    std::unique_ptr<child_process> child_;
    std::uint16_t port_ = 0;
    std::uint16_t tls_port_ = 0;
};

struct http_answer {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// Takes one response (Content-Length framed) off the front of `in`.
enum class answer_parse { incomplete, complete, malformed };
answer_parse take_answer(std::string& in, http_answer& out);

class raw_client {
public:
    explicit raw_client(std::uint16_t port);
    ~raw_client();
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    bool connected() const { return fd_ >= 0; }
    // False if the peer has closed (EPIPE/ECONNRESET).
    bool send(std::string_view bytes);
    // Reads one response (Content-Length framed); nullopt if the connection closed or timed out first.
    std::optional<http_answer> read_answer(std::chrono::milliseconds timeout = 5s);
    // Waits until the server closes the connection (EOF or reset); false on timeout.
    // Any bytes that arrive meanwhile are kept for read_answer.
    bool wait_closed(std::chrono::milliseconds timeout);

private:
    bool fill(std::chrono::steady_clock::time_point deadline);  // false on EOF/error/timeout
    int fd_ = -1;
    std::string in_;
    bool eof_ = false;
};

// Sends one request on a fresh connection and reads the answer.
std::optional<http_answer> ask(std::uint16_t port, const std::string& request);

// An RFC 9457 problem document of API.md's shape: our type URI ending in `slug`, and title,
// status (the answer's) and detail present.
bool is_problem(const http_answer& answer, std::string_view slug);

// "GET <path> HTTP/1.1" with Host and any extra header lines (each ending in \r\n).
std::string get_request(std::string_view path, std::string_view extra_headers = "");

// A POST with a body and Content-Length, Host, and extra header lines.
std::string post_request(std::string_view path, std::string_view body, std::string_view extra_headers = "");

// A practice's credential for tests: a fresh token and its credential-file line.
struct test_credential {
    std::string practice;
    std::string token;
    std::string line;  // "practice,sha256hex,not_after\n"
};
// not_after: seconds from now (negative: already expired).
test_credential make_credential(std::string practice, long long valid_for_seconds = 365LL * 24 * 3600);

// A valid QOF submission body for `practice` (AF006 with `numerator` of 140, HYP008, registers).
std::string qof_body(std::string_view practice, int numerator = 120);

// POST /v1/submissions with the practice's bearer token, an Idempotency-Key (none if empty) and
// a Content-Type.
std::string submit_request(const test_credential& who, std::string_view key, const std::string& body,
                           std::string_view content_type = "application/json");

// GET /v1/submissions/{id} with the practice's bearer token.
std::string status_request(const test_credential& who, std::string_view id);

// The value of a JSON string member, for assertions (the bodies are flat and ours).
std::string json_string(const std::string& body, const std::string& name);

}  // namespace sluice::test
