// Test support for gateway integration tests (see gateway_process.hpp).
#include "tests/integration/gateway/gateway_process.hpp"

#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "credentials/credentials.hpp"
#include "tests/support/redis_environment.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#if !defined(SLUICE_GATEWAY_BINARY) || !defined(SLUICE_CATALOGUE_DIR)
#error "SLUICE_GATEWAY_BINARY and SLUICE_CATALOGUE_DIR must be defined by the build"
#endif

namespace sluice::test {

namespace {

std::filesystem::path make_temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-gw-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

gateway_process::gateway_process(gateway_options options, std::string catalogue_dir)
    : dir_(make_temp_dir()), threads_(options.threads), listen_toml_(std::move(options.listen_toml)) {
    rewrite_config(options.extra_toml);
    rewrite_credentials(options.credentials);
    const std::string redis_url = options.redis_url.empty() ? redis().url() : options.redis_url;
    const std::string credentials_file = (dir_ / "credentials.csv").string();
    child_ = std::make_unique<child_process>(child_options{
        SLUICE_GATEWAY_BINARY,
        {"--config", (dir_ / "sluice.toml").string()},
        dir_ / "gateway.log",
        {{"SLUICE_REDIS_URL", redis_url},
         {"SLUICE_CREDENTIALS_FILE", credentials_file},
         {"SLUICE_CATALOGUE_DIR", catalogue_dir.empty() ? std::string(SLUICE_CATALOGUE_DIR) : catalogue_dir}},
        {}});
    // "listening on 127.0.0.1:P threads=N[ tls 127.0.0.1:T]", or "listening on tls 127.0.0.1:T threads=N".
    (void)child_->wait_for_port("127.0.0.1:", 10s);  // the first port of the line, which is then read whole
    const std::string& line = child_->stdout_text();
    if (const auto at = line.find("listening on 127.0.0.1:"); at != std::string::npos)
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 23)));
    if (const auto at = line.find("tls 127.0.0.1:"); at != std::string::npos)
        tls_port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 14)));
    if (options.wait_ready && port_ != 0 && !wait_ready(10s))
        throw std::runtime_error("sluice-gateway did not become ready; log: " + log());
}

bool gateway_process::wait_ready(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        raw_client c(port_);
        if (c.connected() && c.send(get_request("/readyz"))) {
            if (auto a = c.read_answer(1s); a && a->status == 200) return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

gateway_process::~gateway_process() {
    child_.reset();  // SIGKILL and reap if still running
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string gateway_process::config_text(const std::string& extra) const {
    return "[listen]\naddress = \"127.0.0.1\"\nport = 0\nthreads = " + std::to_string(threads_) + "\n" + listen_toml_ +
           "\n" + extra;
}

void gateway_process::rewrite_config(const std::string& extra_toml) const {
    const auto tmp = dir_ / "sluice.toml.new";
    std::ofstream(tmp) << config_text(extra_toml);
    std::filesystem::rename(tmp, dir_ / "sluice.toml");
}

void gateway_process::rewrite_credentials(const std::string& text) const {
    const auto tmp = dir_ / "credentials.csv.new";
    std::ofstream(tmp) << "# practice,token_sha256_hex,not_after\n" << text;
    std::filesystem::rename(tmp, dir_ / "credentials.csv");
}

void gateway_process::send_signal(int sig) const { child_->send_signal(sig); }

std::optional<int> gateway_process::wait_exit(std::chrono::milliseconds timeout) { return child_->wait_exit(timeout); }

std::string gateway_process::log() const { return child_->log(); }

bool gateway_process::wait_for_log(std::string_view text, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (log().find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

raw_client::raw_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

raw_client::~raw_client() {
    if (fd_ >= 0) ::close(fd_);
}

bool raw_client::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool raw_client::fill(std::chrono::steady_clock::time_point deadline) {
    if (eof_ || fd_ < 0) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
}

answer_parse take_answer(std::string& in, http_answer& a) {
    const std::size_t header_end = in.find("\r\n\r\n");
    if (header_end == std::string::npos) return answer_parse::incomplete;
    a = http_answer{};
    std::istringstream head(in.substr(0, header_end));
    std::string line;
    std::getline(head, line);
    if (line.rfind("HTTP/1.1 ", 0) != 0) return answer_parse::malformed;
    a.status = std::stoi(line.substr(9, 3));
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        a.headers[lower(line.substr(0, colon))] = value;
    }
    const std::size_t length = a.headers.count("content-length") ? std::stoul(a.headers["content-length"]) : 0;
    const std::size_t body_start = header_end + 4;
    if (in.size() < body_start + length) return answer_parse::incomplete;
    a.body = in.substr(body_start, length);
    in.erase(0, body_start + length);
    return answer_parse::complete;
}

std::optional<http_answer> raw_client::read_answer(std::chrono::milliseconds timeout) {
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

bool raw_client::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        fill(deadline);
    }
    return true;
}

std::string get_request(std::string_view path, std::string_view extra_headers) {
    std::string r = "GET ";
    r.append(path);
    r.append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    r.append(extra_headers);
    r.append("\r\n");
    return r;
}

std::optional<http_answer> ask(std::uint16_t port, const std::string& request) {
    raw_client c(port);
    if (!c.connected() || !c.send(request)) return std::nullopt;
    return c.read_answer();
}

bool is_problem(const http_answer& a, std::string_view slug) {
    return a.header("content-type") == "application/problem+json" &&
           a.body.find("\"type\":\"urn:sluice:problem:" + std::string(slug) + "\"") != std::string::npos &&
           a.body.find("\"status\":" + std::to_string(a.status)) != std::string::npos &&
           a.body.find("\"title\":") != std::string::npos && a.body.find("\"detail\":") != std::string::npos;
}

std::string post_request(std::string_view path, std::string_view body, std::string_view extra_headers) {
    std::string r = "POST ";
    r.append(path);
    r.append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ");
    r.append(std::to_string(body.size()));
    r.append("\r\n");
    r.append(extra_headers);
    r.append("\r\n");
    r.append(body);
    return r;
}

test_credential make_credential(std::string practice, long long valid_for_seconds) {
    test_credential c;
    c.practice = std::move(practice);
    c.token = credentials::new_token();
    const auto not_after = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
                           std::chrono::seconds(valid_for_seconds);
    c.line = c.practice + "," + config::to_hex(config::sha256(c.token)) + "," + config::format_rfc3339(not_after) + "\n";
    return c;
}

std::string qof_body(std::string_view practice, int numerator) {
    return R"({"practice":")" + std::string(practice) +
           R"(","period":"2024-25","scheme":"QOF","list_size":8123,"items":[{"code":"AF006","numerator":)" +
           std::to_string(numerator) +
           R"(,"denominator":140,"pca":6},{"code":"HYP008","numerator":950,"denominator":1210}],"registers":[{"condition":"AF","size":201},{"condition":"HYP","size":1312}]})";
}

std::string submit_request(const test_credential& who, std::string_view key, const std::string& body,
                           std::string_view content_type) {
    std::string headers = "Authorization: Bearer " + who.token + "\r\n";
    if (!key.empty()) headers += "Idempotency-Key: " + std::string(key) + "\r\n";
    headers += "Content-Type: " + std::string(content_type) + "\r\n";
    return post_request("/v1/submissions", body, headers);
}

std::string status_request(const test_credential& who, std::string_view id) {
    return get_request("/v1/submissions/" + std::string(id), "Authorization: Bearer " + who.token + "\r\n");
}

std::string json_string(const std::string& body, const std::string& name) {
    const auto key = "\"" + name + "\":\"";
    const auto at = body.find(key);
    if (at == std::string::npos) return {};
    const auto start = at + key.size();
    return body.substr(start, body.find('"', start) - start);
}

}  // namespace sluice::test
