// The open-loop client (loadtest/client.hpp) against a tiny in-process Beast server on
// 127.0.0.1:0, run on its own thread and stopped by each test: counts and their invariants
// (totals equal interval sums, histogram counts equal answers), the arrival -> practice mapping,
// submission records, a double-submit's two copies, impatient retries on 503, polite waiting out
// Retry-After, per-request timeouts, reconnection after Connection: close, and --find-capacity
// stopping at the first step that broke. Also the pure helpers (target URLs, the submissions
// check, progress lines). Timing bounds are loose: only lower bounds the client itself enforces.
#include "loadtest/bodies.hpp"
#include "loadtest/client.hpp"
#include "loadtest/progress.hpp"
#include "queue/submission.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace sluice::loadtest {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// ---- the server ----------------------------------------------------------------------------

struct seen_request {
    std::string key;  // Idempotency-Key
    std::string authorization;
    std::string body;
    steady::time_point at;
    int answered_on_connection = 0;  // answers this connection gave before this request
};

struct answer {
    unsigned status = 202;
    std::optional<int> retry_after;
    bool close = false;    // Connection: close after it
    bool silent = false;   // never answer (the client must time out)
    bool hang_up = false;  // close the connection without answering
};

answer reply(unsigned status, std::optional<int> retry_after = std::nullopt) {
    answer a;
    a.status = status;
    a.retry_after = retry_after;
    return a;
}

// Decides the answer to the `count`-th request (1-based) carrying a key.
using answer_rule = std::function<answer(const seen_request&, int count)>;

class test_server {
public:
    explicit test_server(answer_rule rule = {}) : rule_(std::move(rule)) {
        acceptor_.open(tcp::v4());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        net::co_spawn(ctx_, accept_loop(), net::detached);
        thread_ = std::thread([this] { ctx_.run(); });
    }
    ~test_server() {
        net::post(ctx_, [this] {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            for (auto* socket : sockets_) socket->close(ignored);
            ctx_.stop();
        });
        thread_.join();
    }
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    http_target target() const {
        return parse_target("http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()));
    }

    std::vector<seen_request> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::map<std::string, std::vector<steady::time_point>> by_key() const {
        std::lock_guard lock(mutex_);
        std::map<std::string, std::vector<steady::time_point>> out;
        for (const auto& r : requests_) out[r.key].push_back(r.at);
        return out;
    }
    int connections_accepted() const {
        std::lock_guard lock(mutex_);
        return accepted_;
    }

private:
    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
            if (ec) co_return;
            {
                std::lock_guard lock(mutex_);
                ++accepted_;
            }
            net::co_spawn(ctx_, session(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> session(tcp::socket socket) {
        sockets_.insert(&socket);
        boost::beast::flat_buffer buffer;
        for (int answered = 0;; ++answered) {
            http::request<http::string_body> request;
            auto [read_ec, read_n] =
                co_await http::async_read(socket, buffer, request, net::as_tuple(net::use_awaitable));
            if (read_ec) break;
            seen_request seen{std::string(request["Idempotency-Key"]), std::string(request["Authorization"]),
                              request.body(), steady::now(), answered};
            int count = 0;
            answer decided;
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(seen);
                count = ++count_by_key_[seen.key];
                if (!ids_.contains(seen.key)) ids_[seen.key] = "S-" + std::to_string(ids_.size() + 1);
            }
            if (rule_) decided = rule_(seen, count);
            if (decided.silent) continue;  // read on: the client gives up and closes
            if (decided.hang_up) break;
            http::response<http::string_body> response{static_cast<http::status>(decided.status), 11};
            response.set(http::field::content_type, "application/json");
            if (decided.retry_after) response.set(http::field::retry_after, std::to_string(*decided.retry_after));
            if (decided.status >= 200 && decided.status < 300) {
                std::lock_guard lock(mutex_);
                response.body() = R"({"submission_id": ")" + ids_[seen.key] + R"(","status":"queued"})";
            } else {
                response.body() = R"({"type":"about:blank","status":)" + std::to_string(decided.status) + "}";
            }
            response.keep_alive(!decided.close);
            response.prepare_payload();
            auto [write_ec, write_n] = co_await http::async_write(socket, response, net::as_tuple(net::use_awaitable));
            if (write_ec || decided.close) break;
        }
        sockets_.erase(&socket);
        boost::system::error_code ignored;
        socket.close(ignored);
    }

    answer_rule rule_;
    net::io_context ctx_{1};
    tcp::acceptor acceptor_{ctx_};
    std::thread thread_;
    std::set<tcp::socket*> sockets_;  // server thread only

    mutable std::mutex mutex_;
    std::vector<seen_request> requests_;
    std::map<std::string, int> count_by_key_;
    std::map<std::string, std::string> ids_;
    int accepted_ = 0;
};

// ---- scenarios -----------------------------------------------------------------------------

const catalogue::catalogue& shipped_catalogue() {
    static const auto catalogue = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return catalogue;
}

std::vector<practice_token> practices(std::size_t count) {
    std::vector<practice_token> out;
    for (std::size_t i = 0; i < count; ++i) {
        char code[24];
        std::snprintf(code, sizeof code, "B%05zu", i % 100000);
        out.push_back({code, "token-" + std::string(code)});
    }
    return out;
}

run_options scenario(const test_server& server, std::string schedule_spec, std::size_t practice_count) {
    run_options options;
    options.target = server.target();
    options.plan = schedule::parse(schedule_spec);
    options.practices = practices(practice_count);
    options.connections = 8;
    options.threads = 1;
    options.timeout = 5s;
    options.run_id = "testrun";
    auto bodies = std::make_shared<body_generator>(shipped_catalogue(), body_options{"2024-25", 0.1, 7});
    options.body = [bodies](std::string& out, std::string_view practice, std::uint64_t n) {
        bodies->append_body(out, practice, n);
    };
    return options;
}

std::uint64_t sum_statuses(const std::map<int, std::uint64_t>& statuses) {
    std::uint64_t total = 0;
    for (const auto& [code, count] : statuses) total += count;
    return total;
}

// The invariants of run_result.hpp that hold for every run.
void expect_consistent(const run_result& r) {
    std::uint64_t offered = 0, sent = 0, accepted = 0, newly_accepted = 0, latency_count = 0;
    std::map<int, std::uint64_t> statuses;
    for (const auto& interval : r.intervals) {
        offered += interval.offered;
        sent += interval.sent;
        accepted += interval.accepted;
        newly_accepted += interval.newly_accepted;
        latency_count += interval.latency.count();
        for (const auto& [code, count] : interval.statuses) statuses[code] += count;
    }
    EXPECT_EQ(offered, r.offered);
    EXPECT_EQ(sent, r.sent);
    EXPECT_EQ(accepted, r.accepted);
    EXPECT_EQ(statuses, r.statuses);
    EXPECT_EQ(latency_count, r.answered);
    EXPECT_EQ(r.latency.count(), r.answered);
    EXPECT_EQ(r.accepted_latency.count(), r.accepted);
    const auto transport = r.statuses.contains(0) ? r.statuses.at(0) : 0;
    EXPECT_EQ(sum_statuses(r.statuses), r.answered + transport);
    std::uint64_t requests = 0, receipts = 0;
    for (const auto& record : r.submissions) {
        requests += record.requests;
        if (record.time_to_receipt) ++receipts;
    }
    EXPECT_EQ(
        requests, r.offered + r.retries + [&] {
            std::uint64_t copies = 0;
            for (const auto& record : r.submissions)
                copies += record.behaviour == client_behaviour::double_submit ? 1 : 0;
            return copies;
        }());
    EXPECT_EQ(r.time_to_receipt.count(), receipts);
    // Goodput: each submission counts once, at its first 2xx.
    EXPECT_EQ(newly_accepted, r.newly_accepted);
    EXPECT_EQ(r.newly_accepted, receipts);
    EXPECT_LE(r.newly_accepted, r.accepted);
    EXPECT_LE(r.max_open_connections, r.connections);
}

// ---- pure helpers --------------------------------------------------------------------------

TEST(loadtest_target, parses_ip_and_localhost_urls) {
    const auto v4 = parse_target("http://127.0.0.1:8080");
    EXPECT_EQ(v4.address, "127.0.0.1");
    EXPECT_EQ(v4.port, 8080);
    EXPECT_EQ(v4.host_header, "127.0.0.1:8080");
    EXPECT_EQ(v4.url, "http://127.0.0.1:8080");
    const auto local = parse_target("http://localhost:9000/");
    EXPECT_EQ(local.address, "127.0.0.1");
    EXPECT_EQ(local.host_header, "localhost:9000");
    const auto v6 = parse_target("http://[::1]:8080");
    EXPECT_EQ(v6.address, "::1");
    EXPECT_EQ(v6.host_header, "[::1]:8080");
    EXPECT_EQ(parse_target("http://10.0.0.1").port, 80);
}

TEST(loadtest_target, refuses_https_names_paths_and_bad_ports) {
    for (const auto* url :
         {"https://127.0.0.1:8080", "http://gateway.example:8080", "http://127.0.0.1:8080/v1", "127.0.0.1:8080",
          "http://127.0.0.1:0", "http://127.0.0.1:70000", "http://127.0.0.1:", "http://:8080", "http://[::1:8080"}) {
        EXPECT_THROW(parse_target(url), std::invalid_argument) << url;
    }
    try {
        parse_target("http://gateway.example:8080");
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("IP address or localhost"), std::string::npos) << error.what();
    }
}

TEST(loadtest_arrivals, arrival_i_is_practice_i_mod_p_and_its_i_div_p_th_submission) {
    EXPECT_EQ(arrival_of(0, 3).practice, 0u);
    EXPECT_EQ(arrival_of(0, 3).n, 0u);
    EXPECT_EQ(arrival_of(4, 3).practice, 1u);
    EXPECT_EQ(arrival_of(4, 3).n, 1u);
    EXPECT_EQ(arrival_of(8, 3).practice, 2u);
    EXPECT_EQ(arrival_of(8, 3).n, 2u);
    EXPECT_EQ(idempotency_key("r1", "A81001", 3), "r1-A81001-3");
    const auto a = new_run_id(), b = new_run_id();
    EXPECT_EQ(a.size(), 16u);
    EXPECT_NE(a, b);
}

TEST(loadtest_arrivals, refuses_a_schedule_with_more_submissions_than_practices_sign_off) {
    const auto plan = schedule::parse("constant:rate=100,duration=1s");  // 100 submissions
    EXPECT_NO_THROW(check_submissions_fit(plan, 100, 1));
    EXPECT_NO_THROW(check_submissions_fit(plan, 50, 2));
    try {
        check_submissions_fit(plan, 30, 1);
        FAIL() << "100 submissions from 30 practices signing off one each";
    } catch (const std::invalid_argument& error) {
        const std::string what = error.what();
        EXPECT_NE(what.find("100 submissions"), std::string::npos) << what;
        EXPECT_NE(what.find("--submissions-per-practice 4"), std::string::npos) << what;
    }
    const auto surge = schedule::parse("surge:practices=50,window=10s,peak_share=0.6");
    EXPECT_NO_THROW(check_submissions_fit(surge, 50, 1));
    EXPECT_THROW(check_submissions_fit(surge, 49, 2), std::invalid_argument);
}

TEST(loadtest_progress, a_line_shows_time_sent_rate_statuses_and_p99) {
    progress_snapshot snapshot;
    snapshot.elapsed = 12'345ms;
    snapshot.sent = 12345;
    snapshot.statuses = {{202, 12000}, {503, 300}, {0, 2}};
    for (int i = 0; i < 100; ++i) snapshot.latency.record(std::chrono::milliseconds{i < 99 ? 1 : 40});
    const auto line = format_progress_line(snapshot, 1002.4);
    EXPECT_NE(line.find("12.3s"), std::string::npos) << line;
    EXPECT_NE(line.find("sent 12345 (1002/s)"), std::string::npos) << line;
    EXPECT_NE(line.find("0:2 202:12000 503:300"), std::string::npos) << line;
    EXPECT_NE(line.find("p99 1.00ms"), std::string::npos) << line;
    snapshot.statuses = {{200, 1}, {201, 2}, {202, 3}, {203, 4}};
    EXPECT_NE(format_progress_line(snapshot, 0, 2).find("202:3 203:4 other:3"), std::string::npos);
}

// ---- the engine against the server ---------------------------------------------------------

TEST(loadtest_client, sends_every_submission_once_and_records_it) {
    test_server server;
    auto options = scenario(server, "constant:rate=400,duration=500ms", 20);  // 200 submissions
    options.submissions_per_practice = 10;
    options.threads = 2;
    const auto r = run(options);

    EXPECT_EQ(r.offered, 200u);
    EXPECT_EQ(r.sent, 200u);
    EXPECT_EQ(r.answered, 200u);
    EXPECT_EQ(r.accepted, 200u);
    EXPECT_EQ(r.retries, 0u);
    EXPECT_EQ(r.statuses, (std::map<int, std::uint64_t>{{202, 200}}));
    EXPECT_EQ(r.practices, 20u);
    EXPECT_EQ(r.connections, 8u);
    EXPECT_EQ(r.threads, 2u);
    EXPECT_EQ(r.target, server.target().url);
    EXPECT_GE(r.max_open_connections, 1u);
    EXPECT_TRUE(r.steps.empty());
    expect_consistent(r);

    ASSERT_EQ(r.submissions.size(), 200u);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < r.submissions.size(); ++i) {
        const auto& record = r.submissions[i];
        const auto expected_practice = options.practices[i % 20].practice;
        EXPECT_EQ(record.practice, expected_practice) << i;
        EXPECT_EQ(record.idempotency_key, "testrun-" + expected_practice + "-" + std::to_string(i / 20)) << i;
        EXPECT_EQ(record.requests, 1u);
        EXPECT_EQ(record.last_status, 202);
        EXPECT_FALSE(record.gave_up);
        ASSERT_EQ(record.submission_ids.size(), 1u);
        ids.insert(record.submission_ids[0]);
        EXPECT_TRUE(record.time_to_receipt.has_value());
    }
    EXPECT_EQ(ids.size(), 200u) << "every submission its own receipt";

    // What arrived: one request per key, each with its practice's token and a valid body for it.
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 200u);
    std::set<std::string> keys;
    for (const auto& request : requests) {
        keys.insert(request.key);
        const auto dash = request.key.find('-');
        const auto practice = request.key.substr(dash + 1, 6);
        EXPECT_EQ(request.authorization, "Bearer token-" + practice);
        const auto parsed = queue::parse_submission(request.body, shipped_catalogue());
        ASSERT_TRUE(parsed.ok()) << request.body;
        EXPECT_EQ(parsed.value().practice, practice);
    }
    EXPECT_EQ(keys.size(), 200u);
}

TEST(loadtest_client, a_double_submit_sends_two_copies_with_one_key) {
    test_server server;
    auto options = scenario(server, "constant:rate=100,duration=200ms", 20);  // 20 submissions
    options.mix = parse_behaviour_mix("double=100");
    const auto r = run(options);

    EXPECT_EQ(r.offered, 20u);
    EXPECT_EQ(r.sent, 40u);
    EXPECT_EQ(r.accepted, 40u);
    EXPECT_EQ(r.newly_accepted, 20u) << "a second copy's 2xx is not goodput";
    expect_consistent(r);
    for (const auto& [key, times] : server.by_key()) EXPECT_EQ(times.size(), 2u) << key;
    EXPECT_EQ(server.by_key().size(), 20u);
    for (const auto& record : r.submissions) {
        EXPECT_EQ(record.behaviour, client_behaviour::double_submit);
        EXPECT_EQ(record.requests, 2u);
        EXPECT_EQ(record.submission_ids.size(), 1u) << "both copies got the same receipt";
    }
}

TEST(loadtest_client, impatient_clients_retry_at_once_on_503) {
    test_server server([](const seen_request&, int count) { return reply(count <= 2 ? 503 : 202); });
    auto options = scenario(server, "constant:rate=100,duration=100ms", 10);  // 10 submissions
    options.mix = parse_behaviour_mix("impatient=100");
    const auto r = run(options);

    EXPECT_EQ(r.offered, 10u);
    EXPECT_EQ(r.sent, 30u);
    EXPECT_EQ(r.retries, 20u);
    EXPECT_EQ(r.statuses, (std::map<int, std::uint64_t>{{202, 10}, {503, 20}}));
    EXPECT_EQ(r.newly_accepted, 10u);
    expect_consistent(r);
    for (const auto& record : r.submissions) {
        EXPECT_EQ(record.requests, 3u);
        EXPECT_EQ(record.last_status, 202);
        EXPECT_EQ(record.submission_ids.size(), 1u);
    }
}

TEST(loadtest_client, polite_clients_wait_out_retry_after) {
    test_server server([](const seen_request&, int count) { return count == 1 ? reply(503, 1) : reply(202); });
    auto options = scenario(server, "constant:rate=50,duration=100ms", 5);  // 5 submissions
    const auto r = run(options);

    EXPECT_EQ(r.sent, 10u);
    EXPECT_EQ(r.retries, 5u);
    expect_consistent(r);
    for (const auto& [key, times] : server.by_key()) {
        ASSERT_EQ(times.size(), 2u) << key;
        EXPECT_GE(times[1] - times[0], 950ms) << key << ": Retry-After: 1 honoured";
    }
    for (const auto& record : r.submissions) {
        EXPECT_EQ(record.requests, 2u);
        ASSERT_TRUE(record.time_to_receipt.has_value());
        EXPECT_GE(*record.time_to_receipt, 950ms);
    }
    // A retry's latency counts from its own intended time (decision + delay), not from the first
    // attempt's: no answer here took anywhere near the second it waited.
    EXPECT_LT(r.latency.max(), 900ms);
}

TEST(loadtest_client, a_request_without_an_answer_times_out_as_status_0) {
    test_server server([](const seen_request&, int) {
        auto silent = reply(202);
        silent.silent = true;
        return silent;
    });
    auto options = scenario(server, "constant:rate=50,duration=100ms", 5);
    options.timeout = 300ms;
    options.limits.polite_max_attempts = 1;  // no retry: one transport error each
    const auto started = steady::now();
    const auto r = run(options);

    EXPECT_GE(steady::now() - started, 300ms);
    EXPECT_EQ(r.statuses, (std::map<int, std::uint64_t>{{0, 5}}));
    EXPECT_EQ(r.answered, 0u);
    expect_consistent(r);
    for (const auto& record : r.submissions) {
        EXPECT_EQ(record.last_status, 0);
        EXPECT_TRUE(record.gave_up);
        EXPECT_TRUE(record.submission_ids.empty());
        EXPECT_FALSE(record.time_to_receipt.has_value());
    }
}

TEST(loadtest_client, connections_the_server_closes_are_reopened_when_needed) {
    test_server server([](const seen_request&, int) {
        auto closing = reply(202);
        closing.close = true;
        return closing;
    });
    auto options = scenario(server, "constant:rate=200,duration=200ms", 40);  // 40 submissions
    options.connections = 4;
    const auto r = run(options);

    EXPECT_EQ(r.accepted, 40u);
    EXPECT_EQ(r.sent, 40u);
    expect_consistent(r);
    EXPECT_GE(server.connections_accepted(), 40) << "one connection per answer";
    EXPECT_LE(r.max_open_connections, 4u);
}

TEST(loadtest_client, a_request_on_a_connection_closed_under_it_is_sent_once_more_on_a_fresh_one) {
    // Each connection answers one request; the next one on it is met by a close, as when a
    // server's idle timeout fires while the request is on its way. The Idempotency-Key makes the
    // resend safe; the client must not report a transport error for it.
    test_server server([](const seen_request& request, int) {
        auto a = reply(202);
        a.hang_up = request.answered_on_connection > 0;
        return a;
    });
    auto options = scenario(server, "constant:rate=100,duration=200ms", 20);  // 20 submissions
    options.connections = 2;
    const auto r = run(options);

    EXPECT_EQ(r.statuses, (std::map<int, std::uint64_t>{{202, 20}}));
    EXPECT_EQ(r.accepted, 20u);
    EXPECT_GT(r.sent, 20u) << "some requests were sent twice";
    std::uint64_t requests = 0;
    for (const auto& record : r.submissions) {
        requests += record.requests;
        EXPECT_EQ(record.submission_ids.size(), 1u);
    }
    EXPECT_EQ(requests, r.sent);
}

TEST(loadtest_client, a_connection_opened_before_the_run_and_closed_under_its_first_request_is_reused_too) {
    // Every connection is opened before the schedule starts, then met by a close at its first
    // request, as when a server's idle timeout closes the connections a slow start left idle. The
    // request goes once more on a fresh connection, which answers: no transport error.
    test_server server([](const seen_request&, int count) {
        auto a = reply(202);
        a.hang_up = count == 1;
        return a;
    });
    auto options = scenario(server, "constant:rate=100,duration=100ms", 10);  // 10 submissions
    options.connections = 4;
    const auto r = run(options);

    EXPECT_EQ(r.statuses, (std::map<int, std::uint64_t>{{202, 10}}));
    EXPECT_EQ(r.sent, 20u) << "each sent twice: on its preopened connection, then on a fresh one";
    EXPECT_EQ(r.retries, 0u) << "a resend, not a behaviour's retry";
    EXPECT_EQ(r.newly_accepted, 10u);
    for (const auto& record : r.submissions) EXPECT_EQ(record.requests, 2u);

    // A fresh connection closed under its request is a transport error (no second resend).
    test_server refusing([](const seen_request&, int) {
        auto a = reply(202);
        a.hang_up = true;
        return a;
    });
    auto once = scenario(refusing, "constant:rate=100,duration=10ms", 1);  // 1 submission
    once.connections = 1;
    once.mix = parse_behaviour_mix("polite=100");
    once.limits.polite_max_attempts = 1;
    const auto lone = run(once);
    EXPECT_EQ(lone.statuses, (std::map<int, std::uint64_t>{{transport_error_status, 1}}));
    EXPECT_EQ(lone.sent, 2u);
}

TEST(loadtest_client, refuses_to_run_when_nothing_listens) {
    std::uint16_t port = 0;
    {
        net::io_context ctx;
        tcp::acceptor probe(ctx, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    run_options options;
    options.target = parse_target("http://127.0.0.1:" + std::to_string(port));
    options.plan = schedule::parse("constant:rate=10,duration=100ms");
    options.practices = practices(1);
    options.connections = 2;
    options.body = [](std::string& out, std::string_view, std::uint64_t) { out += "{}"; };
    EXPECT_THROW(run(options), connect_error);
}

TEST(loadtest_client, steps_are_kept_apart_and_find_capacity_stops_at_the_first_broken_step) {
    // Everything after the 150th request is refused: steps of 50, 100, 150 requests; the third breaks.
    std::mutex mutex;
    int total = 0;
    test_server server([&](const seen_request&, int) {
        std::lock_guard lock(mutex);
        return reply(++total <= 150 ? 202 : 503);
    });
    auto options = scenario(server, "steps:start=50,step=50,every=1s,max=250", 750);
    options.limits.polite_max_attempts = 1;  // judge each step on first attempts only
    options.find_capacity = true;
    options.slo_p99_ms = 1000;
    const auto r = run(options);

    ASSERT_EQ(r.steps.size(), 3u) << "the fourth and fifth steps never ran";
    EXPECT_TRUE(r.steps[0].held);
    EXPECT_TRUE(r.steps[1].held);
    EXPECT_FALSE(r.steps[2].held);
    EXPECT_EQ(r.steps[0].offered, 50u);
    EXPECT_EQ(r.steps[1].offered, 100u);
    EXPECT_EQ(r.steps[2].offered, 150u);
    EXPECT_EQ(r.steps[2].errors, 150u);
    EXPECT_EQ(r.steps[1].accepted_latency.count(), 100u);
    ASSERT_TRUE(r.capacity_rate.has_value());
    EXPECT_EQ(*r.capacity_rate, 100.0);
    EXPECT_EQ(r.slo_p99_ms, 1000.0);
    EXPECT_EQ(r.offered, 300u);
    EXPECT_EQ(r.submissions.size(), 300u);
    expect_consistent(r);
}

TEST(loadtest_client, a_steps_schedule_without_find_capacity_fills_every_step) {
    test_server server;
    auto options = scenario(server, "steps:start=100,step=100,every=200ms,max=300", 120);  // 20 + 40 + 60
    const auto r = run(options);
    ASSERT_EQ(r.steps.size(), 3u);
    EXPECT_EQ(r.steps[0].offered, 20u);
    EXPECT_EQ(r.steps[1].offered, 40u);
    EXPECT_EQ(r.steps[2].offered, 60u);
    EXPECT_EQ(r.steps[2].rate, 300.0);
    for (const auto& step : r.steps) {
        EXPECT_FALSE(step.held);
        EXPECT_EQ(step.accepted, step.offered);
        EXPECT_EQ(step.errors, 0u);
    }
    EXPECT_FALSE(r.capacity_rate.has_value());
    expect_consistent(r);
}

TEST(loadtest_client, latency_counts_from_the_intended_time_when_connections_are_short) {
    // One connection and a server that takes ~20 ms per answer, 40 requests due within 100 ms:
    // they queue for the connection, and the last waits ~800 ms from its intended time.
    test_server server([](const seen_request&, int) {
        std::this_thread::sleep_for(20ms);
        return reply(202);
    });
    auto options = scenario(server, "constant:rate=400,duration=100ms", 40);
    options.connections = 1;
    const auto r = run(options);
    EXPECT_EQ(r.accepted, 40u);
    EXPECT_GE(r.latency.max(), 600ms) << "coordinated omission would hide the queueing";
    expect_consistent(r);
}

}  // namespace
}  // namespace sluice::loadtest
