// The gateway's TLS listener against a real sluice-gateway process with a self-signed pair made by
// the test: submissions over TLS, the protocol floor (TLS 1.2), ALPN http/1.1, the certificate
// swapped on SIGHUP while an open connection keeps working (and a bad pair refused), silent and
// slow clients cut at limits.header_timeout_ms, plain and TLS side by side, TLS only, a bad pair
// at start, and the drain.
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/integration/gateway/tls_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/redis_environment.hpp"

#include <gtest/gtest.h>

#include <openssl/ssl.h>
#include <signal.h>

#include <fstream>
#include <thread>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();

using clock = std::chrono::steady_clock;

// A pair in a directory of its own, and the [tls] section that names it (port 0: the kernel picks).
struct tls_files {
    std::filesystem::path dir;
    std::filesystem::path cert, key;
    explicit tls_files(const std::string& common_name) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-tls-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
        cert = dir / "cert.pem";
        key = dir / "key.pem";
        make_self_signed(cert, key, common_name);
    }
    ~tls_files() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    std::string toml(const std::string& more = "") const {
        return "[tls]\nport = 0\ncert_file = \"" + cert.string() + "\"\nkey_file = \"" + key.string() + "\"\n" + more;
    }
};

tls_client_options versions(int min, int max) {
    tls_client_options o;
    o.min_version = min;
    o.max_version = max;
    return o;
}

tls_client_options offering(std::vector<std::string> alpn) {
    tls_client_options o;
    o.alpn = std::move(alpn);
    return o;
}

// The sample line `line` ("name{labels} value") appears on GET /metrics (plain port) within 10 s:
// a client may see a handshake end a moment before the gateway has counted it.
::testing::AssertionResult metric_shows(std::uint16_t port, const std::string& line) {
    std::string last;
    for (const auto deadline = clock::now() + 10s; clock::now() < deadline;) {
        if (const auto a = ask(port, get_request("/metrics"))) {
            last = a->body;
            if (last.find("\n" + line + "\n") != std::string::npos) return ::testing::AssertionSuccess();
        }
        std::this_thread::sleep_for(20ms);
    }
    return ::testing::AssertionFailure() << "no line \"" << line << "\" in:\n" << last;
}

TEST(GatewayTls, SubmissionIsAcceptedOverTls) {
    tls_files pair("sluice-test");
    const auto who = make_credential("A81001");
    gateway_options options;
    options.extra_toml = pair.toml();
    options.credentials = who.line;
    gateway_process gw(options);
    ASSERT_NE(gw.tls_port(), 0) << gw.log();

    tls_client_options verifying;
    verifying.ca_file = pair.cert;  // the certificate verifies against itself
    tls_client c(gw.tls_port(), verifying);
    ASSERT_TRUE(c.connected()) << c.error();
    EXPECT_EQ(c.peer_common_name(), "sluice-test");
    ASSERT_TRUE(c.send(submit_request(who, "tls-key-1", qof_body("A81001"))));
    const auto a = c.read_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 202) << a->body;
    EXPECT_FALSE(json_string(a->body, "submission_id").empty()) << a->body;
    // The same keep-alive connection: the replay of the same key, then its status.
    ASSERT_TRUE(c.send(submit_request(who, "tls-key-1", qof_body("A81001"))));
    const auto replay = c.read_answer();
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->status, 202);
    EXPECT_EQ(json_string(replay->body, "submission_id"), json_string(a->body, "submission_id"));
}

// TLS 1.2 and 1.3 are served; TLS 1.1 (and anything older) is refused with a protocol_version alert.
TEST(GatewayTls, ServesTls12And13AndRefusesTls11) {
    tls_files pair("sluice-test");
    gateway_process gw(pair.toml());

    tls_client v13(gw.tls_port());
    ASSERT_TRUE(v13.connected()) << v13.error();
    EXPECT_EQ(v13.version(), "TLSv1.3");
    tls_client v12(gw.tls_port(), versions(0, TLS1_2_VERSION));
    ASSERT_TRUE(v12.connected()) << v12.error();
    EXPECT_EQ(v12.version(), "TLSv1.2");
    ASSERT_TRUE(v12.send(get_request("/healthz")));
    const auto a = v12.read_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200);

    tls_client v11(gw.tls_port(), versions(TLS1_1_VERSION, TLS1_1_VERSION));
    EXPECT_FALSE(v11.connected());
    EXPECT_NE(v11.error().find("protocol version"), std::string::npos) << v11.error();
    tls_client v10(gw.tls_port(), versions(TLS1_VERSION, TLS1_VERSION));
    EXPECT_FALSE(v10.connected());

    EXPECT_TRUE(metric_shows(gw.port(), "sluice_tls_handshakes_total 2"));
    EXPECT_TRUE(metric_shows(gw.port(), "sluice_tls_handshake_failures_total 2"));
}

// A returning client resumes its session from a ticket (no server-side cache), in TLS 1.3 and 1.2.
TEST(GatewayTls, ResumesSessionsFromTickets) {
    tls_files pair("sluice-test");
    gateway_process gw(pair.toml());
    for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        SCOPED_TRACE(version);
        tls_client first(gw.tls_port(), versions(version, version));
        ASSERT_TRUE(first.connected()) << first.error();
        EXPECT_FALSE(first.resumed());
        ASSERT_TRUE(first.send(get_request("/healthz")));
        ASSERT_TRUE(first.read_answer());
        auto again = versions(version, version);
        again.session = first.session();
        ASSERT_TRUE(again.session);
        tls_client second(gw.tls_port(), again);
        ASSERT_TRUE(second.connected()) << second.error();
        EXPECT_TRUE(second.resumed());
        ASSERT_TRUE(second.send(get_request("/healthz")));
        const auto a = second.read_answer();
        ASSERT_TRUE(a);
        EXPECT_EQ(a->status, 200);
    }
    EXPECT_TRUE(metric_shows(gw.port(), "sluice_tls_resumed_handshakes_total 2"));

    // A SIGHUP that finds the pair unchanged keeps the context, so its tickets still resume.
    tls_client before(gw.tls_port());
    ASSERT_TRUE(before.connected()) << before.error();
    ASSERT_TRUE(before.send(get_request("/healthz")));
    ASSERT_TRUE(before.read_answer());
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("TLS certificate and key unchanged", 10s)) << gw.log();
    tls_client_options again;
    again.session = before.session();
    tls_client after(gw.tls_port(), again);
    ASSERT_TRUE(after.connected()) << after.error();
    EXPECT_TRUE(after.resumed());
}

// ALPN: http/1.1 is selected from what a browser offers; a client that offers no ALPN is served
// anyway; one that offers only protocols we lack is refused (no_application_protocol).
TEST(GatewayTls, NegotiatesHttp11ByAlpn) {
    tls_files pair("sluice-test");
    gateway_process gw(pair.toml());

    tls_client browser(gw.tls_port(), offering({"h2", "http/1.1"}));
    ASSERT_TRUE(browser.connected()) << browser.error();
    EXPECT_EQ(browser.alpn(), "http/1.1");
    tls_client plain_client(gw.tls_port(), offering({}));
    ASSERT_TRUE(plain_client.connected()) << plain_client.error();
    EXPECT_EQ(plain_client.alpn(), "");
    ASSERT_TRUE(plain_client.send(get_request("/healthz")));
    const auto a = plain_client.read_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200);

    tls_client h2_only(gw.tls_port(), offering({"h2"}));
    EXPECT_FALSE(h2_only.connected());
    EXPECT_NE(h2_only.error().find("no application protocol"), std::string::npos) << h2_only.error();
}

// SIGHUP re-reads the pair: new connections get the new certificate, an open keep-alive
// connection keeps working on the old one; a pair that does not load is refused, logged and
// counted, and the running one kept.
TEST(GatewayTls, SighupSwapsTheCertificateForNewConnectionsOnly) {
    tls_files pair("sluice-first");
    gateway_process gw(pair.toml());

    tls_client old_connection(gw.tls_port());
    ASSERT_TRUE(old_connection.connected()) << old_connection.error();
    EXPECT_EQ(old_connection.peer_common_name(), "sluice-first");
    ASSERT_TRUE(old_connection.send(get_request("/healthz")));
    ASSERT_TRUE(old_connection.read_answer());

    make_self_signed(pair.cert, pair.key, "sluice-second");
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("reloaded TLS certificate /CN=sluice-second", 10s)) << gw.log();
    // Each core swaps its pointer when it next runs: wait until a new connection sees it.
    std::string seen;
    for (const auto deadline = clock::now() + 10s; clock::now() < deadline && seen != "sluice-second";) {
        tls_client fresh(gw.tls_port());
        ASSERT_TRUE(fresh.connected()) << fresh.error();
        seen = fresh.peer_common_name();
    }
    EXPECT_EQ(seen, "sluice-second");

    ASSERT_TRUE(old_connection.send(get_request("/healthz")));
    const auto still = old_connection.read_answer();
    ASSERT_TRUE(still) << "the open connection was dropped by the reload";
    EXPECT_EQ(still->status, 200);
    EXPECT_EQ(old_connection.peer_common_name(), "sluice-first");

    // A broken pair: the key of another certificate.
    tls_files other("sluice-other");
    std::filesystem::copy_file(other.key, pair.key, std::filesystem::copy_options::overwrite_existing);
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("TLS certificate not reloaded", 10s)) << gw.log();
    EXPECT_NE(gw.log().find("tls.key_file"), std::string::npos) << gw.log();
    tls_client after(gw.tls_port());
    ASSERT_TRUE(after.connected()) << after.error();
    EXPECT_EQ(after.peer_common_name(), "sluice-second");
    EXPECT_TRUE(metric_shows(gw.port(), "sluice_tls_reload_failures_total 1"));
    ASSERT_TRUE(old_connection.send(get_request("/healthz")));
    EXPECT_TRUE(old_connection.read_answer());
}

// A client that opens TCP and never sends a ClientHello, and one that stalls inside it, are cut
// at limits.header_timeout_ms like a client that never sends a header.
TEST(GatewayTls, SilentAndSlowHandshakesAreCutAtTheHeaderTimeout) {
    tls_files pair("sluice-test");
    gateway_process gw(pair.toml("[limits]\nheader_timeout_ms = 1000\nidle_timeout_ms = 60000\n"));

    const auto start = clock::now();
    raw_client silent(gw.tls_port());
    raw_client slow(gw.tls_port());
    ASSERT_TRUE(silent.connected());
    ASSERT_TRUE(slow.connected());
    ASSERT_TRUE(slow.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));  // a ClientHello record begun
    std::this_thread::sleep_for(400ms);
    EXPECT_FALSE(silent.wait_closed(0ms)) << "closed before limits.header_timeout_ms";
    EXPECT_TRUE(silent.wait_closed(10s));
    EXPECT_TRUE(slow.wait_closed(10s));
    EXPECT_GE(clock::now() - start, 1000ms);

    EXPECT_TRUE(metric_shows(gw.port(), "sluice_http_timeouts_total{phase=\"header\"} 2"));
    EXPECT_TRUE(metric_shows(gw.port(), "sluice_tls_handshake_failures_total 2"));
}

// Both listeners at once, each speaking only its own protocol.
TEST(GatewayTls, PlainAndTlsListenersSideBySide) {
    tls_files pair("sluice-test");
    gateway_process gw(pair.toml(), 2);
    ASSERT_NE(gw.port(), 0);
    ASSERT_NE(gw.tls_port(), 0);
    ASSERT_NE(gw.port(), gw.tls_port());
    for (int i = 0; i < 8; ++i) {  // two threads: both cores' listeners answer
        const auto plain = ask(gw.port(), get_request("/healthz"));
        ASSERT_TRUE(plain);
        EXPECT_EQ(plain->status, 200);
        const auto tls = ask_tls(gw.tls_port(), get_request("/healthz"));
        ASSERT_TRUE(tls);
        EXPECT_EQ(tls->status, 200);
    }
    // Plain HTTP on the TLS port is not a ClientHello: the connection is closed, nothing served.
    raw_client wrong(gw.tls_port());
    ASSERT_TRUE(wrong.send(get_request("/healthz")));
    EXPECT_FALSE(wrong.read_answer(5s));
    EXPECT_TRUE(wrong.wait_closed(5s));
    // TLS on the plain port is a malformed request there: 400, never a handshake.
    tls_client confused(gw.port());
    EXPECT_FALSE(confused.connected());
}

// listen.plain_http = false: the TLS listener alone.
TEST(GatewayTls, TlsOnly) {
    tls_files pair("sluice-test");
    gateway_options options;
    options.extra_toml = pair.toml();
    options.listen_toml = "plain_http = false\n";
    gateway_process gw(options);
    EXPECT_EQ(gw.port(), 0);
    ASSERT_NE(gw.tls_port(), 0);
    bool ready = false;
    for (const auto deadline = clock::now() + 10s; clock::now() < deadline && !ready;) {
        const auto a = ask_tls(gw.tls_port(), get_request("/readyz"));
        ready = a && a->status == 200;
        if (!ready) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(ready) << gw.log();
}

// A pair that does not load stops the start with one line naming the key, and exit code 1.
TEST(GatewayTls, BadPairAtStartNamesTheKeyAndExits) {
    tls_files pair("sluice-test");
    tls_files other("sluice-other");
    struct attempt {
        std::string toml;
        std::string key;
    };
    const std::vector<attempt> attempts = {
        {"[tls]\ncert_file = \"" + (pair.dir / "missing.pem").string() + "\"\nkey_file = \"" + pair.key.string() +
             "\"\nport = 0\n",
         "tls.cert_file"},
        {"[tls]\ncert_file = \"" + pair.key.string() + "\"\nkey_file = \"" + pair.key.string() + "\"\nport = 0\n",
         "tls.cert_file"},  // a key where the certificate should be
        {"[tls]\ncert_file = \"" + pair.cert.string() + "\"\nkey_file = \"" + other.key.string() + "\"\nport = 0\n",
         "tls.key_file"},  // the key of another certificate
    };
    for (const auto& a : attempts) {
        SCOPED_TRACE(a.toml);
        const auto config = pair.dir / "sluice.toml";
        std::ofstream(pair.dir / "none.csv") << "";
        std::ofstream(config) << "[listen]\naddress = \"127.0.0.1\"\nport = 0\nthreads = 1\n" << a.toml;
        child_process gw(child_options{SLUICE_GATEWAY_BINARY,
                                       {"--config", config.string()},
                                       pair.dir / "gateway.log",
                                       {{"SLUICE_REDIS_URL", redis().url()},
                                        {"SLUICE_CREDENTIALS_FILE", (pair.dir / "none.csv").string()},
                                        {"SLUICE_CATALOGUE_DIR", SLUICE_CATALOGUE_DIR}},
                                       {}});
        EXPECT_EQ(gw.wait_exit(10s), 1);
        EXPECT_NE(gw.log().find("config: " + a.key + " = \""), std::string::npos) << gw.log();
        EXPECT_EQ(gw.stdout_text().find("listening"), std::string::npos);
    }
}

// SIGTERM drains TLS connections like plain ones: idle keep-alives are closed, the process exits 0.
TEST(GatewayTls, DrainClosesIdleTlsConnections) {
    tls_files pair("sluice-test");
    gateway_process gw(pair.toml());
    tls_client idle(gw.tls_port());
    ASSERT_TRUE(idle.connected()) << idle.error();
    ASSERT_TRUE(idle.send(get_request("/healthz")));
    ASSERT_TRUE(idle.read_answer());
    gw.send_signal(SIGTERM);
    EXPECT_TRUE(idle.wait_closed(10s));
    EXPECT_EQ(gw.wait_exit(10s), 0);
}

}  // namespace
}  // namespace sluice::test
