// The gateway's HTTP core against a real sluice-gateway process: routing and problem documents,
// keep-alive and pipelining, every [limits] limit and timeout, drain on SIGTERM, reload on SIGHUP.
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/support/redis_environment.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>

#include <thread>
#include <vector>

namespace sluice::test {
namespace {

// The gateway needs Redis to be ready (GET /readyz); these tests use no other part of it.
[[maybe_unused]] auto* const redis_env = add_redis_environment();

using clock = std::chrono::steady_clock;

std::chrono::milliseconds since(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t);
}

// Sends one request on a fresh connection and reads the answer.
TEST(GatewayHttp, HealthzAnswersWithRequestId) {
    gateway_process gw;
    auto a = ask(gw.port(), get_request("/healthz"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200);
    EXPECT_EQ(a->body, R"({"status":"ok"})");
    EXPECT_EQ(a->header("x-request-id").size(), 32u);
    auto b = ask(gw.port(), get_request("/healthz"));
    ASSERT_TRUE(b);
    EXPECT_NE(a->header("x-request-id"), b->header("x-request-id"));
}

TEST(GatewayHttp, EchoesWellFormedRequestIdAndReplacesOthers) {
    gateway_process gw;
    auto a = ask(gw.port(), get_request("/healthz", "X-Request-Id: trace-42.abc\r\n"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->header("x-request-id"), "trace-42.abc");
    auto b = ask(gw.port(), get_request("/healthz", "X-Request-Id: has spaces and <tags>\r\n"));
    ASSERT_TRUE(b);
    EXPECT_EQ(b->header("x-request-id").size(), 32u);
}

TEST(GatewayHttp, UnknownRouteIs404Problem) {
    gateway_process gw;
    auto a = ask(gw.port(), get_request("/nope?x=1"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 404);
    EXPECT_TRUE(is_problem(*a, "not-found")) << a->body;
    EXPECT_FALSE(a->header("x-request-id").empty());
}

TEST(GatewayHttp, WrongMethodIs405WithAllow) {
    gateway_process gw;
    auto a = ask(gw.port(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 405);
    EXPECT_EQ(a->header("allow"), "GET");
    EXPECT_TRUE(is_problem(*a, "method-not-allowed")) << a->body;
    auto b = ask(gw.port(), "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->status, 405);
}

TEST(GatewayHttp, ReadyzIsReadyWhileServing) {
    gateway_process gw;
    auto a = ask(gw.port(), get_request("/readyz"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200);
}

// The status page's routes (the page itself is checked in Chromium by tests/ops/status_page.sh).
TEST(GatewayHttp, StatusPageIsHtmlAndItsFiguresJson) {
    gateway_process gw;
    auto page = ask(gw.port(), get_request("/status"));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(page->header("cache-control"), "no-store");
    EXPECT_NE(page->body.find("<h2 id=\"headline\">Accepting submissions</h2>"), std::string::npos) << page->body;
    // The sampler fills the queue figures within a second or two of Redis connecting.
    std::string json;
    for (int i = 0; i < 100; ++i) {
        auto a = ask(gw.port(), get_request("/status.json"));
        ASSERT_TRUE(a);
        EXPECT_EQ(a->status, 200);
        json = a->body;
        if (json.find("\"queue_waiting\":0") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(json.find("\"accepting\":true"), std::string::npos) << json;
    EXPECT_NE(json.find("\"queue_waiting\":0"), std::string::npos) << json;
    EXPECT_NE(json.find("\"estimated_seconds\":0"), std::string::npos) << json;
    auto post = ask(gw.port(), "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405);
}

TEST(GatewayHttp, KeepAliveServesManyRequestsOnOneConnection) {
    gateway_process gw;
    raw_client c(gw.port());
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(c.send(get_request("/healthz")));
        auto a = c.read_answer();
        ASSERT_TRUE(a) << "request " << i;
        EXPECT_EQ(a->status, 200);
        EXPECT_TRUE(a->header("connection").empty());
    }
}

TEST(GatewayHttp, Http10ClosesUnlessKeepAliveAsked) {
    gateway_process gw;
    raw_client c(gw.port());
    ASSERT_TRUE(c.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto a = c.read_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->header("connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /healthz HTTP/1.0\r\n\r\n"));
    auto b = c.read_answer();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed(2s));
}

TEST(GatewayHttp, PipelinedRequestsAreAnsweredInOrder) {
    gateway_process gw;
    raw_client c(gw.port());
    std::string burst;
    const std::vector<std::string> paths{"/healthz", "/nope", "/readyz", "/healthz", "/metrics", "/healthz"};
    for (std::size_t i = 0; i < paths.size(); ++i)
        burst += get_request(paths[i], "X-Request-Id: req-" + std::to_string(i) + "\r\n");
    ASSERT_TRUE(c.send(burst));  // one write: the server sees them all at once
    const std::vector<int> statuses{200, 404, 200, 200, 200, 200};
    for (std::size_t i = 0; i < paths.size(); ++i) {
        auto a = c.read_answer();
        ASSERT_TRUE(a) << "answer " << i;
        EXPECT_EQ(a->header("x-request-id"), "req-" + std::to_string(i));
        EXPECT_EQ(a->status, statuses[i]) << paths[i];
    }
}

TEST(GatewayHttp, MalformedRequestsGet400) {
    gateway_process gw;
    struct {
        const char* request;
        int status;
        const char* slug;
    } cases[] = {
        {"GET /healthz HTTP/1.1\r\n\r\n", 400, "bad-request"},                              // no Host
        {"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad-request"},        // two Hosts
        {"GET /healthz HTTP/9.9\r\nHost: a\r\n\r\n", 505, "http-version-not-supported"},    // Beast parses it
        {"GARBAGE\r\n\r\n", 400, "bad-request"},                                            // not HTTP
        {"GET /healthz HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400, "bad-request"},  // bad field name
        {"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
         "bad-request"},  // request smuggling
        {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad-request"},
        {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "not-implemented"},
        {"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "bad-request"},
    };
    for (const auto& k : cases) {
        raw_client c(gw.port());
        ASSERT_TRUE(c.send(k.request));
        auto a = c.read_answer();
        ASSERT_TRUE(a) << k.request;
        EXPECT_EQ(a->status, k.status) << k.request;
        EXPECT_TRUE(is_problem(*a, k.slug)) << k.request << " -> " << a->body;
        EXPECT_EQ(a->header("connection"), "close") << k.request;
        EXPECT_TRUE(c.wait_closed(3s)) << k.request;
    }
    // The gateway is still fine.
    auto ok = ask(gw.port(), get_request("/healthz"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

TEST(GatewayHttp, HeaderOverLimitGets431) {
    gateway_process gw("[limits]\nmax_header_bytes = 2048\n");
    auto small = ask(gw.port(), get_request("/healthz", "X-Pad: " + std::string(1500, 'a') + "\r\n"));
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200);
    raw_client c(gw.port());
    ASSERT_TRUE(c.send(get_request("/healthz", "X-Pad: " + std::string(3000, 'a') + "\r\n")));
    auto a = c.read_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 431);
    EXPECT_TRUE(is_problem(*a, "header-too-large")) << a->body;
    EXPECT_TRUE(c.wait_closed(3s));
}

TEST(GatewayHttp, BodyOverLimitIsRefusedFromContentLengthBeforeItIsSent) {
    gateway_process gw("[limits]\nmax_body_bytes = 1000\n");
    raw_client c(gw.port());
    // Only the header: the server must answer without waiting for the 5000 bytes announced.
    ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n"));
    auto a = c.read_answer(2s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 413);
    EXPECT_TRUE(is_problem(*a, "content-too-large")) << a->body;
    EXPECT_TRUE(c.wait_closed(3s));
    // At the limit is fine (405 here: the route takes no POST; the body, all here, is read and discarded).
    auto at =
        ask(gw.port(), "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'));
    ASSERT_TRUE(at);
    EXPECT_EQ(at->status, 405);
}

TEST(GatewayHttp, ChunkedBodyOverLimitGets413WhileReading) {
    const auto who = make_credential("A81001");
    gateway_process gw({"[limits]\nmax_body_bytes = 1000\n", 1, "", who.line});
    raw_client c(gw.port());
    ASSERT_TRUE(c.send("POST /v1/submissions HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + who.token +
                       "\r\nIdempotency-Key: chunked-over\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"));
    ASSERT_TRUE(c.send("258\r\n" + std::string(600, 'x') + "\r\n"));  // 600 bytes: under the limit
    std::this_thread::sleep_for(100ms);
    c.send("258\r\n" + std::string(600, 'x') + "\r\n");  // 1200 in all: over it
    auto a = c.read_answer(2s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 413);
    EXPECT_TRUE(is_problem(*a, "content-too-large")) << a->body;
}

TEST(GatewayHttp, ExpectContinueGets100ThenTheAnswer) {
    const auto who = make_credential("A81001");
    gateway_process gw({"", 1, "", who.line});
    raw_client c(gw.port());
    ASSERT_TRUE(c.send("POST /v1/submissions HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + who.token +
                       "\r\nIdempotency-Key: continue\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
                       "Expect: 100-continue\r\n\r\n"));
    auto interim = c.read_answer(2s);
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(c.send("abcd"));
    auto a = c.read_answer(2s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 400);  // the body was read, and is not JSON
    EXPECT_TRUE(is_problem(*a, "malformed-json")) << a->body;
}

TEST(GatewayHttp, ExpectContinueToNoSuchMethodGetsTheFinalAnswerWithout100) {
    gateway_process gw;
    raw_client c(gw.port());
    // 405 is known from the head: the answer comes instead of 100, and the body is never asked for.
    ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    auto a = c.read_answer(2s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 405);
    EXPECT_EQ(a->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed(3s));
}

TEST(GatewayHttp, SlowlorisHeaderIsCutOffAtHeaderTimeout) {
    gateway_process gw("[limits]\nheader_timeout_ms = 2000\n");
    raw_client c(gw.port());
    const std::string request = get_request("/healthz", "X-Slow: " + std::string(40, 'z') + "\r\n");
    const auto start = clock::now();
    bool closed = false;
    for (char ch : request) {  // one byte a second
        if (!c.send(std::string_view(&ch, 1))) break;
        if (c.wait_closed(1s)) {
            closed = true;
            break;
        }
    }
    const auto took = since(start);
    ASSERT_TRUE(closed);
    EXPECT_GE(took, 1900ms);
    EXPECT_LE(took, 2600ms);  // header_timeout_ms plus the sweep's granularity and scheduling
}

// The head of a request whose body is read: an authenticated submission (a request answered at
// its head, an unknown path or an unauthenticated one, never waits for its body).
std::string slow_submission_head(const test_credential& who, int content_length) {
    return "POST /v1/submissions HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + who.token +
           "\r\nIdempotency-Key: slow-body\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(content_length) + "\r\n\r\n";
}

TEST(GatewayHttp, SlowBodyIsCutOffAtBodyTimeout) {
    const auto who = make_credential("A81001");
    gateway_process gw({"[limits]\nbody_timeout_ms = 1000\n", 1, "", who.line});
    raw_client c(gw.port());
    ASSERT_TRUE(c.send(slow_submission_head(who, 100) + "0123456789"));
    const auto start = clock::now();
    ASSERT_TRUE(c.wait_closed(3s));
    EXPECT_GE(since(start), 900ms);
    EXPECT_LE(since(start), 1600ms);
}

TEST(GatewayHttp, IdleKeepAliveIsClosedAtIdleTimeout) {
    gateway_process gw("[limits]\nidle_timeout_ms = 800\n");
    raw_client c(gw.port());
    ASSERT_TRUE(c.send(get_request("/healthz")));
    ASSERT_TRUE(c.read_answer());
    const auto start = clock::now();
    ASSERT_TRUE(c.wait_closed(3s));
    EXPECT_GE(since(start), 700ms);
    EXPECT_LE(since(start), 1400ms);
    // A connection that never sends anything is idle too.
    raw_client silent(gw.port());
    const auto start2 = clock::now();
    ASSERT_TRUE(silent.wait_closed(3s));
    EXPECT_LE(since(start2), 1400ms);
    auto metrics = ask(gw.port(), get_request("/metrics"));
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("sluice_http_timeouts_total{phase=\"idle\"} 2"), std::string::npos) << metrics->body;
}

TEST(GatewayHttp, ConnectionsBeyondMaxConnectionsGet503AndAreClosed) {
    gateway_process gw("[limits]\nmax_connections = 3\n");
    std::vector<std::unique_ptr<raw_client>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<raw_client>(gw.port()));
        ASSERT_TRUE(held.back()->send(get_request("/healthz")));
        auto a = held.back()->read_answer();
        ASSERT_TRUE(a);
        EXPECT_EQ(a->status, 200);
    }
    raw_client extra(gw.port());
    auto refused = extra.read_answer(2s);  // answered without sending anything
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_TRUE(is_problem(*refused, "overloaded")) << refused->body;
    EXPECT_FALSE(refused->header("retry-after").empty());
    EXPECT_TRUE(extra.wait_closed(2s));
    // The held connections still work, and a slot freed is a slot reusable.
    ASSERT_TRUE(held[0]->send(get_request("/healthz")));
    ASSERT_TRUE(held[0]->read_answer());
    held.pop_back();
    std::this_thread::sleep_for(200ms);
    auto again = ask(gw.port(), get_request("/healthz"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
}

TEST(GatewayHttp, MetricsCountRequestsByRouteAndStatus) {
    gateway_process gw;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(ask(gw.port(), get_request("/healthz")));
    ASSERT_TRUE(ask(gw.port(), get_request("/missing")));
    raw_client held(gw.port());
    ASSERT_TRUE(held.send(get_request("/metrics")));
    auto m = held.read_answer();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->status, 200);
    EXPECT_EQ(m->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const auto& t = m->body;
    EXPECT_NE(t.find("sluice_http_requests_total{route=\"healthz\",status=\"200\"} 3\n"), std::string::npos) << t;
    EXPECT_NE(t.find("sluice_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("sluice_http_request_duration_seconds_bucket{route=\"healthz\",le=\"+Inf\"} 3\n"),
              std::string::npos);
    EXPECT_NE(t.find("sluice_http_request_duration_seconds_count{route=\"healthz\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("sluice_http_open_connections 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("sluice_http_inflight_requests 1\n"), std::string::npos) << t;  // the scrape itself
#ifdef SLUICE_EXPECT_JEMALLOC
    EXPECT_NE(t.find("sluice_allocator_info{allocator=\"jemalloc\""), std::string::npos) << t;
    EXPECT_NE(t.find("sluice_allocator_resident_bytes "), std::string::npos);
#else
    EXPECT_NE(t.find("sluice_allocator_info{allocator=\"system\""), std::string::npos) << t;
#endif
}

TEST(GatewayHttp, SigtermDrainsInFlightRequestsClosesIdleOnesAndExitsZero) {
    gateway_process gw("[shutdown]\ndrain_seconds = 10\n");
    raw_client idle(gw.port());
    ASSERT_TRUE(idle.send(get_request("/healthz")));
    ASSERT_TRUE(idle.read_answer());
    raw_client busy(gw.port());  // a request whose body is still arriving when SIGTERM comes
    ASSERT_TRUE(busy.send("GET /readyz HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234"));
    std::this_thread::sleep_for(200ms);

    gw.send_signal(SIGTERM);
    EXPECT_TRUE(idle.wait_closed(2s)) << "idle keep-alive not closed on drain";
    ASSERT_TRUE(gw.wait_for_log("draining", 2s));
    EXPECT_FALSE(gw.wait_exit(300ms)) << "exited with a request in flight";
    raw_client late(gw.port());
    EXPECT_FALSE(late.connected() && late.send(get_request("/healthz")) && late.read_answer(1s))
        << "a new connection was served while draining";

    ASSERT_TRUE(busy.send("56789"));
    auto a = busy.read_answer(2s);
    ASSERT_TRUE(a) << "in-flight request not answered";
    EXPECT_EQ(a->status, 503);  // /readyz while draining
    EXPECT_TRUE(is_problem(*a, "draining")) << a->body;
    EXPECT_EQ(a->header("connection"), "close");
    EXPECT_TRUE(busy.wait_closed(2s));
    EXPECT_EQ(gw.wait_exit(3s), std::optional<int>(0)) << gw.log();
}

TEST(GatewayHttp, DrainIsBoundedByDrainSeconds) {
    const auto who = make_credential("A81001");
    gateway_process gw({"[shutdown]\ndrain_seconds = 1\n", 1, "", who.line});
    raw_client stuck(gw.port());
    ASSERT_TRUE(stuck.send(slow_submission_head(who, 10) + "01"));
    std::this_thread::sleep_for(100ms);
    const auto start = clock::now();
    gw.send_signal(SIGTERM);
    EXPECT_EQ(gw.wait_exit(4s), std::optional<int>(0)) << gw.log();
    EXPECT_GE(since(start), 900ms);
    EXPECT_TRUE(stuck.wait_closed(1s));
}

TEST(GatewayHttp, SighupReloadsLimitsWithoutDroppingConnections) {
    gateway_process gw("[limits]\nmax_header_bytes = 8192\n");
    raw_client kept(gw.port());
    const auto big_header = get_request("/healthz", "X-Pad: " + std::string(4000, 'p') + "\r\n");
    ASSERT_TRUE(kept.send(big_header));
    auto before = kept.read_answer();
    ASSERT_TRUE(before);
    EXPECT_EQ(before->status, 200);

    gw.rewrite_config("[limits]\nmax_header_bytes = 2048\n");
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("reloaded configuration", 3s)) << gw.log();

    // The kept connection is still open and now under the new limit.
    ASSERT_TRUE(kept.send(get_request("/healthz")));
    auto after = kept.read_answer();
    ASSERT_TRUE(after) << "connection dropped by reload";
    EXPECT_EQ(after->status, 200);
    auto refused = ask(gw.port(), big_header);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 431);

    // A bad file is refused and the running configuration stays.
    gw.rewrite_config("[limits]\nmax_header_bytes = \"lots\"\n");
    gw.send_signal(SIGHUP);
    ASSERT_TRUE(gw.wait_for_log("reload refused", 3s)) << gw.log();
    EXPECT_NE(gw.log().find("limits.max_header_bytes"), std::string::npos) << gw.log();
    auto still = ask(gw.port(), get_request("/healthz", "X-Pad: " + std::string(1000, 'p') + "\r\n"));
    ASSERT_TRUE(still);
    EXPECT_EQ(still->status, 200);
    EXPECT_FALSE(gw.wait_exit(0ms));
}

// The real binary's command line: --check-config prints the effective configuration (file and
// environment); a bad value is one line naming key, value and what is allowed, and exit code 2.
TEST(GatewayHttp, CheckConfigValidatesAndPrintsTheEffectiveConfiguration) {
    auto run = [](const std::string& env) {
        const std::string cmd = env + " " SLUICE_GATEWAY_BINARY " --check-config 2>&1";
        FILE* p = ::popen(cmd.c_str(), "r");
        std::string out;
        char buf[4096];
        while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        const int status = ::pclose(p);
        return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
    };
    const auto [ok_code, ok_out] = run("SLUICE_LIMITS_MAX_BODY_BYTES=2048");
    EXPECT_EQ(ok_code, 0) << ok_out;
    EXPECT_NE(ok_out.find("max_body_bytes = 2048"), std::string::npos) << ok_out;
    EXPECT_NE(ok_out.find("[ratelimit.per_practice]"), std::string::npos) << ok_out;
    const auto [bad_code, bad_out] = run("SLUICE_LIMITS_MAX_BODY_BYTES=-5");
    EXPECT_EQ(bad_code, 2) << bad_out;
    EXPECT_NE(bad_out.find("limits.max_body_bytes"), std::string::npos) << bad_out;
    EXPECT_NE(bad_out.find("-5"), std::string::npos) << bad_out;
    const auto [typo_code, typo_out] = run("SLUICE_LIMITS_MAX_BODYBYTES=5");
    EXPECT_EQ(typo_code, 2) << typo_out;
}

TEST(GatewayHttp, ServesOnEveryThreadWithReusePort) {
    gateway_process gw("", 2);
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t)
        clients.emplace_back([&] {
            for (int i = 0; i < 25; ++i) {
                auto a = ask(gw.port(), get_request("/healthz"));
                if (a && a->status == 200) ++ok;
            }
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(ok.load(), 100);
    EXPECT_NE(gw.log().find("allocator"), std::string::npos);
}

}  // namespace
}  // namespace sluice::test
