// redis::client against a real redis-server: pipelining, restarts, stalls, NOSCRIPT, fast failure
// while disconnected, the in-flight bound, destruction with calls pending, error replies.
//
// Each test owns its redis-server and its io_context, and runs the io_context on the test thread
// with bounded waits (run_until): a hang fails the test instead of stalling the suite. Waits of a
// fixed length (run_for) appear only where a test checks that something does NOT happen.
#include "redis/client.hpp"

#include "config/config.hpp"
#include "tests/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;
using sluice::redis::client;
using sluice::redis::client_options;
using sluice::redis::error;
using sluice::redis::reply;
using sluice::redis::script;
using steady = std::chrono::steady_clock;

// How long a call that must fail "at once" may take (it is posted, so microseconds normally;
// the margin is for sanitizer builds on a busy machine).
constexpr auto at_once = 20ms;

class redis_client_test : public ::testing::Test {
protected:
    // Resumes the server if a test fails while it is paused, so later steps are not stuck.
    struct resume_on_exit {
        sluice::test::redis_server& server;
        ~resume_on_exit() {
            if (server.paused()) server.resume();
        }
    };

    client_options options() const {
        client_options o;
        o.host = server.host();
        o.port = server.port();
        o.timeout = 250ms;
        o.liveness = 1s;
        o.backoff_initial = 10ms;
        o.backoff_max = 100ms;
        return o;
    }

    // Runs the io_context until done() holds or `limit` passes; returns done(). Returns early
    // if the io_context runs out of work, since then nothing can make done() true.
    template <typename Predicate>
    bool run_until(Predicate done, steady::duration limit) {
        const auto deadline = steady::now() + limit;
        while (!done()) {
            const auto now = steady::now();
            if (now >= deadline) return false;
            if (ioc.stopped()) ioc.restart();
            if (ioc.run_one_for(deadline - now) == 0 && ioc.stopped()) return done();
        }
        return true;
    }

    // Runs the io_context for `span` (or until it runs out of work); true if it ran out of work.
    bool run_for(steady::duration span) {
        ioc.restart();
        const auto deadline = steady::now() + span;
        while (steady::now() < deadline) {
            ioc.run_until(deadline);
            if (ioc.stopped() && steady::now() < deadline) return true;
        }
        return false;
    }

    void connect(client& c) {
        c.start();
        ASSERT_TRUE(run_until([&] { return c.connected(); }, 5s)) << "last error: " << c.last_error();
    }

    // One call, waited for (bounded).
    std::pair<error_code, reply> exec(client& c, std::initializer_list<std::string_view> args) {
        std::optional<std::pair<error_code, reply>> result;
        c.async_exec(args, [&](error_code ec, reply r) { result.emplace(ec, std::move(r)); });
        if (!run_until([&] { return result.has_value(); }, 5s)) {
            ADD_FAILURE() << "call did not complete within 5 s";
            return {};
        }
        return *std::move(result);
    }

    // INFO's total_connections_received (this call's own connection included).
    long long connections_received() const {
        const auto info = server.command({"INFO", "stats"}).as_string();
        const std::string field = "total_connections_received:";
        const auto at = info.find(field);
        if (at == std::string::npos) throw std::runtime_error("INFO stats without " + field);
        return std::stoll(info.substr(at + field.size()));
    }

    sluice::test::redis_server server;
    asio::io_context ioc;
};

// 1. Thousands of calls issued at once share the one connection and complete in issue order.
TEST_F(redis_client_test, pipelines_twenty_thousand_calls_in_order) {
    auto o = options();
    o.timeout = 10s;  // this test is about order and completeness, not time limits
    client c(ioc, o);
    connect(c);

    constexpr std::size_t calls = 20'000;
    std::vector<long long> values;
    std::vector<std::string> failures;
    values.reserve(calls);
    const std::string_view incr[] = {"INCR", "sluice:test:counter"};
    for (std::size_t i = 0; i < calls; ++i) {
        c.async_exec(incr, [&](error_code ec, reply r) {
            if (ec || !r.is_integer()) {
                failures.push_back(ec ? ec.message() : "unexpected reply " + r.str);
            } else {
                values.push_back(r.integer);
            }
        });
    }
    EXPECT_EQ(c.pending(), calls);
    ASSERT_TRUE(run_until([&] { return values.size() + failures.size() == calls; }, 60s))
        << values.size() << " of " << calls << " completed";

    ASSERT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
    for (std::size_t i = 0; i < calls; ++i) {
        ASSERT_EQ(values[i], static_cast<long long>(i + 1)) << "completion " << i << " out of order";
    }
    EXPECT_EQ(c.pending(), 0u);
    EXPECT_EQ(server.command({"GET", "sluice:test:counter"}).as_string(), std::to_string(calls));
}

// Counters of a set of coroutines that each issue one INCR after the other.
struct flow_stats {
    std::size_t ok = 0;
    std::size_t connection_lost = 0;
    std::size_t not_connected = 0;
    std::vector<std::string> unexpected;
    std::size_t finished = 0;
};

// In coroutines the arguments are named arrays, not braced lists: GCC 12 rejects an
// initializer_list temporary inside a co_await expression ("array used as initializer").
asio::awaitable<void> incr_flow(client& c, flow_stats& stats, const bool& running) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    const std::string_view incr[] = {"INCR", "sluice:test:flow"};
    while (running) {
        auto [ec, r] = co_await c.async_exec(incr, asio::as_tuple(asio::use_awaitable));
        if (!ec && r.is_integer()) {
            ++stats.ok;
            continue;
        }
        if (ec == error::connection_lost) {
            ++stats.connection_lost;
        } else if (ec == error::not_connected) {
            ++stats.not_connected;
        } else {
            stats.unexpected.push_back(ec ? ec.message() : "reply " + r.str);
        }
        pause.expires_after(2ms);  // do not spin while the server is down
        co_await pause.async_wait(asio::use_awaitable);
    }
}

// 2. A server restart while calls flow: calls fail fast (never hang), the client reports the
// connection going and coming back, and calls succeed again after the reconnect.
TEST_F(redis_client_test, survives_a_server_restart_mid_stream) {
    client c(ioc, options());
    std::vector<bool> changes;
    c.on_connection_change([&](bool up) { changes.push_back(up); });
    connect(c);
    ASSERT_TRUE(run_until([&] { return changes.size() == 1; }, 1s));

    flow_stats stats;
    bool running = true;
    constexpr std::size_t flows = 8;
    std::vector<std::string> crashes;
    for (std::size_t i = 0; i < flows; ++i) {
        asio::co_spawn(ioc, incr_flow(c, stats, running), [&](std::exception_ptr e) {
            ++stats.finished;
            if (e) crashes.push_back("flow ended with an exception");
        });
    }
    ASSERT_TRUE(run_until([&] { return stats.ok >= 500; }, 10s)) << "only " << stats.ok << " calls succeeded";

    server.stop();  // the flows' calls are in flight on the socket right now
    ASSERT_TRUE(run_until([&] { return changes.size() >= 2; }, 5s)) << "disconnect not noticed";
    EXPECT_FALSE(c.connected());
    const auto failed_while_down = stats.connection_lost + stats.not_connected;
    ASSERT_TRUE(run_until([&] { return stats.not_connected >= 50; }, 5s)) << "calls did not fail while down";
    EXPECT_GT(stats.connection_lost + stats.not_connected, failed_while_down);

    server.start();
    const auto ok_at_restart = stats.ok;
    ASSERT_TRUE(run_until([&] { return changes.size() >= 3 && stats.ok >= ok_at_restart + 500; }, 15s))
        << "no recovery; last error: " << c.last_error();
    EXPECT_TRUE(c.connected());

    running = false;
    ASSERT_TRUE(run_until([&] { return stats.finished == flows; }, 5s)) << "a call hung";
    EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));
    EXPECT_TRUE(stats.unexpected.empty()) << stats.unexpected.front();
    EXPECT_TRUE(crashes.empty());
}

// 3. A slow server that still answers: a call past its deadline completes with error::timeout,
// alone. The connection stays (no change is reported), the late replies are matched in order and
// discarded, and the next calls get their own replies.
TEST_F(redis_client_test, a_call_past_its_deadline_times_out_alone_and_the_connection_stays) {
    auto o = options();
    o.timeout = 200ms;
    o.liveness = 5s;
    client c(ioc, o);
    std::vector<bool> changes;
    c.on_connection_change([&](bool up) { changes.push_back(up); });
    connect(c);
    ASSERT_TRUE(run_until([&] { return changes.size() == 1; }, 1s));

    // Redis runs one script at a time: this one keeps it busy for 400 ms, and the GET sent right
    // behind it waits as long.
    const std::string_view busy[] = {
        "EVAL",
        "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] "
        "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1]) "
        "return 'done'",
        "0", "400000"};
    std::optional<error_code> busy_result, get_result;
    steady::time_point busy_completed;
    const auto issued = steady::now();
    c.async_exec(busy, [&](error_code ec, reply) {
        busy_result = ec;
        busy_completed = steady::now();
    });
    c.async_exec({"GET", "sluice:test:key"}, [&](error_code ec, reply) { get_result = ec; });
    ASSERT_TRUE(run_until([&] { return busy_result && get_result; }, 2s)) << "the calls never completed";
    EXPECT_EQ(*busy_result, error::timeout) << busy_result->message();
    EXPECT_EQ(*get_result, error::timeout) << get_result->message();
    EXPECT_GE(busy_completed - issued, o.timeout);
    EXPECT_LE(busy_completed - issued, o.timeout + 100ms);
    EXPECT_TRUE(c.connected());
    EXPECT_EQ(c.pending(), 0u);

    // The late replies (the script's and the GET's) arrive and are thrown away; the next call
    // gets its own reply, not one of theirs.
    ASSERT_TRUE(run_until([&] { return c.counters().late_replies == 2; }, 2s))
        << "late replies seen: " << c.counters().late_replies;
    const auto [ec, r] = exec(c, {"SET", "sluice:test:key", "v"});
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.str, "OK");
    const auto [ec2, r2] = exec(c, {"GET", "sluice:test:key"});
    EXPECT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(r2.str, "v");
    EXPECT_EQ(c.counters().timeouts, 2u);
    EXPECT_EQ(c.counters().liveness_drops, 0u);
    EXPECT_EQ(changes, (std::vector<bool>{true}));
}

// 3b. A stalled server (SIGSTOP): calls time out at their deadline, then, with no reply at all for
// the liveness window, the connection is dropped; reconnects cannot complete their handshake while
// it stays stalled, and after it resumes the client reconnects and works.
TEST_F(redis_client_test, drops_the_connection_when_a_stalled_server_stops_answering_and_recovers) {
    auto o = options();
    o.timeout = 200ms;
    o.liveness = 600ms;
    client c(ioc, o);
    std::vector<bool> changes;
    c.on_connection_change([&](bool up) { changes.push_back(up); });
    connect(c);
    ASSERT_TRUE(run_until([&] { return changes.size() == 1; }, 1s));

    resume_on_exit resume{server};
    server.pause();
    std::optional<error_code> result;
    steady::time_point completed;
    const auto issued = steady::now();
    c.async_exec({"GET", "sluice:test:key"}, [&](error_code ec, reply) {
        result = ec;
        completed = steady::now();
    });
    ASSERT_TRUE(run_until([&] { return result.has_value(); }, 2s)) << "the call never completed";
    EXPECT_EQ(*result, error::timeout) << result->message();
    EXPECT_GE(completed - issued, o.timeout);
    EXPECT_LE(completed - issued, o.timeout + 100ms);
    EXPECT_EQ(c.pending(), 0u);

    // Silence for the liveness window: the server is taken for gone.
    ASSERT_TRUE(run_until([&] { return !c.connected(); }, o.liveness + 500ms)) << "never dropped";
    EXPECT_GE(steady::now() - issued, o.liveness);
    EXPECT_NE(c.last_error().find("no reply at all"), std::string::npos) << c.last_error();
    EXPECT_EQ(c.counters().liveness_drops, 1u);

    // Still stalled: the kernel accepts the reconnects, but no handshake is answered.
    run_for(2 * o.liveness);
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(changes, (std::vector<bool>{true, false}));

    server.resume();
    ASSERT_TRUE(run_until([&] { return c.connected(); }, 5s)) << "no reconnect: " << c.last_error();
    const auto [ec, r] = exec(c, {"SET", "sluice:test:key", "v"});
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.str, "OK");
    ASSERT_TRUE(run_until([&] { return changes.size() == 3; }, 1s));
    EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));
}

// 3c. An idle connection to a server that stalls is found out by its heartbeat PING.
TEST_F(redis_client_test, an_idle_connection_to_a_stalled_server_is_dropped_by_its_heartbeat) {
    auto o = options();
    o.liveness = 400ms;
    client c(ioc, o);
    connect(c);
    resume_on_exit resume{server};
    server.pause();
    // Heartbeat after liveness / 2 of idleness, then the liveness window: 1.5 x liveness plus the
    // sweep's period (and the margin of a busy machine).
    ASSERT_TRUE(run_until([&] { return !c.connected(); }, 3 * o.liveness)) << "a stalled server went unnoticed";
    server.resume();
    ASSERT_TRUE(run_until([&] { return c.connected(); }, 5s)) << "no reconnect: " << c.last_error();
}

// 3d. A connect whose handshake is not answered within the liveness window is abandoned and retried.
TEST_F(redis_client_test, abandons_a_connect_that_is_not_answered_in_time) {
    auto o = options();
    o.timeout = 100ms;
    o.liveness = 150ms;
    client c(ioc, o);
    std::vector<bool> changes;
    c.on_connection_change([&](bool up) { changes.push_back(up); });

    const auto connections_before = connections_received();
    resume_on_exit resume{server};
    server.pause();
    c.start();
    run_for(5 * o.liveness);
    EXPECT_FALSE(c.connected());
    EXPECT_TRUE(changes.empty());
    EXPECT_NE(c.last_error().find("handshake"), std::string::npos) << c.last_error();

    server.resume();
    ASSERT_TRUE(run_until([&] { return c.connected(); }, 5s)) << "no reconnect: " << c.last_error();
    EXPECT_FALSE(exec(c, {"PING"}).first);
    // The stalled server queued every attempt; now it has accepted them all. One is the INFO
    // below, one is connections_before's own; the rest are the client's: more than one means the
    // unanswered connects were abandoned and retried.
    EXPECT_GE(connections_received() - connections_before - 1, 3) << "no retry of an unanswered connect";
}

// 4. After SCRIPT FLUSH, async_eval falls back to EVAL transparently (and so reloads the script).
TEST_F(redis_client_test, eval_falls_back_to_eval_after_script_flush) {
    const script counter("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
    client c(ioc, options());
    c.register_script(counter);
    connect(c);
    EXPECT_EQ(server.command({"SCRIPT", "EXISTS", counter.sha1()}).as_array().at(0).as_integer(), 1)
        << "the handshake did not load the script";

    const std::string_view keys[] = {"sluice:test:script"};
    const std::string_view args[] = {"hello"};
    auto eval = [&](const script& s) {
        std::optional<std::pair<error_code, reply>> result;
        c.async_eval(s, keys, args, [&](error_code ec, reply r) { result.emplace(ec, std::move(r)); });
        EXPECT_TRUE(run_until([&] { return result.has_value(); }, 5s)) << "eval did not complete";
        return result.value_or(std::pair<error_code, reply>{});
    };
    auto expect_counter_reply = [&](const std::pair<error_code, reply>& result, long long count) {
        const auto& [ec, r] = result;
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_TRUE(r.is_array()) << "reply: " << r.str;
        ASSERT_EQ(r.elements.size(), 3u);
        EXPECT_EQ(r.elements[0].str, "sluice:test:script");
        EXPECT_EQ(r.elements[1].str, "hello");
        EXPECT_TRUE(r.elements[2].is_integer());
        EXPECT_EQ(r.elements[2].integer, count);
    };

    expect_counter_reply(eval(counter), 1);

    ASSERT_EQ(server.command({"SCRIPT", "FLUSH"}).as_string(), "OK");
    ASSERT_EQ(server.command({"SCRIPT", "EXISTS", counter.sha1()}).as_array().at(0).as_integer(), 0);
    expect_counter_reply(eval(counter), 2);
    EXPECT_EQ(server.command({"SCRIPT", "EXISTS", counter.sha1()}).as_array().at(0).as_integer(), 1)
        << "EVAL should have cached the script again";
    expect_counter_reply(eval(counter), 3);

    // A script never registered goes the same way on its first call.
    const script unregistered("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])} -- other");
    expect_counter_reply(eval(unregistered), 4);
    EXPECT_EQ(c.pending(), 0u);
}

// 4b. The NOSCRIPT fallback goes to the back of the line with its call's original deadline, so it
// may sit behind calls that expire later; it must still time out at its own deadline, not theirs.
TEST_F(redis_client_test, a_noscript_fallback_times_out_at_its_own_deadline) {
    auto o = options();
    o.timeout = 600ms;
    o.liveness = 5s;
    client c(ioc, o);
    connect(c);
    resume_on_exit guard{server};

    const script never_loaded("return 'fallback' -- a script this server has not seen");
    const std::string_view keys[] = {"sluice:test:early"};
    std::vector<std::string> completed;
    c.async_eval(never_loaded, keys, {}, [&](error_code ec, reply) { completed.push_back("script: " + ec.message()); });
    c.poll();  // the EVALSHA is written now; its NOSCRIPT answer waits in the socket, unread
    std::this_thread::sleep_for(300ms);
    c.async_exec({"GET", "sluice:test:early"},
                 [&](error_code ec, reply) { completed.push_back("get: " + ec.message()); });
    server.pause();  // nothing is answered from here on: the EVAL re-sent behind the GET waits
    ASSERT_TRUE(run_until([&] { return completed.size() == 2; }, 3s));
    const std::string timed_out = make_error_code(error::timeout).message();
    EXPECT_EQ(completed, (std::vector<std::string>{"script: " + timed_out, "get: " + timed_out}))
        << "the script call (deadline 300 ms before the GET's) timed out after the GET";
}

TEST_F(redis_client_test, script_sha1_is_the_one_redis_computes) {
    const script s("return redis.call('PING')");
    EXPECT_EQ(s.sha1(), server.command({"SCRIPT", "LOAD", s.source()}).as_string());
    EXPECT_EQ(script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

// 5. While not connected (before start, before the handshake is answered, while the server is
// down, after stop) calls fail at once, and never inline.
TEST_F(redis_client_test, calls_fail_at_once_while_not_connected) {
    client c(ioc, options());
    auto expect_immediate = [&](error expected, const char* when) {
        bool done = false;
        error_code got;
        steady::time_point completed;
        const auto issued = steady::now();
        c.async_exec({"PING"}, [&](error_code ec, reply) {
            done = true;
            got = ec;
            completed = steady::now();
        });
        EXPECT_FALSE(done) << when << ": the handler ran inside async_exec";
        ASSERT_TRUE(run_until([&] { return done; }, 1s)) << when << ": no completion";
        EXPECT_EQ(got, expected) << when << ": " << got.message();
        EXPECT_LT(completed - issued, at_once) << when;
    };

    expect_immediate(error::not_connected, "before start()");
    c.start();
    EXPECT_FALSE(c.connected());
    expect_immediate(error::not_connected, "before the handshake was answered");

    ASSERT_TRUE(run_until([&] { return c.connected(); }, 5s)) << c.last_error();
    EXPECT_FALSE(exec(c, {"PING"}).first);

    server.stop();
    ASSERT_TRUE(run_until([&] { return !c.connected(); }, 5s)) << "disconnect not noticed";
    expect_immediate(error::not_connected, "server stopped");
    run_for(50ms);  // whatever the reconnect backoff is doing
    expect_immediate(error::not_connected, "server still stopped");

    c.stop();
    expect_immediate(error::stopped, "after stop()");
    EXPECT_TRUE(run_for(1s)) << "the stopped client left work on the io_context";
}

// stop() is not final: start() connects again, and calls work again.
TEST_F(redis_client_test, can_be_started_again_after_stop) {
    client c(ioc, options());
    std::vector<bool> changes;
    c.on_connection_change([&](bool up) { changes.push_back(up); });
    connect(c);
    c.stop();
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(exec(c, {"PING"}).first, error::stopped);

    connect(c);
    const auto [ec, r] = exec(c, {"PING"});
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.str, "PONG");
    ASSERT_TRUE(run_until([&] { return changes.size() == 3; }, 1s));
    EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));
}

// 6. Beyond max_pending calls in flight, a call fails at once; the others are unaffected.
TEST_F(redis_client_test, fails_at_once_beyond_max_pending) {
    auto o = options();
    o.timeout = 10s;
    o.max_pending = 10;
    client c(ioc, o);
    connect(c);

    resume_on_exit resume{server};
    server.pause();  // keeps the first calls in flight
    std::vector<error_code> results;
    std::vector<long long> values;
    for (std::size_t i = 0; i < o.max_pending; ++i) {
        c.async_exec({"INCR", "sluice:test:bounded"}, [&](error_code ec, reply r) {
            results.push_back(ec);
            values.push_back(r.integer);
        });
    }
    EXPECT_EQ(c.pending(), o.max_pending);

    std::optional<error_code> extra;
    steady::time_point completed;
    const auto issued = steady::now();
    c.async_exec({"INCR", "sluice:test:bounded"}, [&](error_code ec, reply) {
        extra = ec;
        completed = steady::now();
    });
    ASSERT_TRUE(run_until([&] { return extra.has_value(); }, 1s));
    EXPECT_EQ(*extra, error::too_many_pending) << extra->message();
    EXPECT_LT(completed - issued, at_once);
    EXPECT_TRUE(results.empty());
    EXPECT_EQ(c.pending(), o.max_pending);

    server.resume();
    ASSERT_TRUE(run_until([&] { return results.size() == o.max_pending; }, 5s));
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_FALSE(results[i]) << results[i].message();
        EXPECT_EQ(values[i], static_cast<long long>(i + 1));
    }
    EXPECT_EQ(c.pending(), 0u);
}

// 7. Destroying the client with calls in flight completes each of them once, with stopped.
TEST_F(redis_client_test, destroying_the_client_completes_pending_calls_with_stopped) {
    auto c = std::make_unique<client>(ioc, options());
    std::size_t notifications = 0;
    c->on_connection_change([&](bool) { ++notifications; });
    connect(*c);
    ASSERT_TRUE(run_until([&] { return notifications == 1; }, 1s));

    constexpr std::size_t calls = 1000;
    std::vector<error_code> results;
    for (std::size_t i = 0; i < calls; ++i) {
        c->async_exec({"INCR", "sluice:test:destroyed"}, [&](error_code ec, reply) { results.push_back(ec); });
    }
    EXPECT_EQ(c->pending(), calls);
    c.reset();
    EXPECT_TRUE(results.empty()) << "completed inline in the destructor";

    ASSERT_TRUE(run_until([&] { return results.size() == calls; }, 5s));
    EXPECT_TRUE(std::all_of(results.begin(), results.end(), [](error_code ec) { return ec == error::stopped; }));
    EXPECT_TRUE(run_for(1s)) << "the destroyed client left work on the io_context";
    EXPECT_EQ(results.size(), calls);
    EXPECT_EQ(notifications, 1u) << "on_connection_change called after destruction";
}

// 7b. The same from inside a completion handler, with replies still streaming in.
TEST_F(redis_client_test, destroying_the_client_from_a_completion_handler_mid_stream) {
    auto c = std::make_unique<client>(ioc, options());
    connect(*c);

    constexpr std::size_t calls = 5000;
    std::vector<int> completions(calls, 0);
    std::vector<error_code> results(calls);
    std::size_t done = 0;
    for (std::size_t i = 0; i < calls; ++i) {
        c->async_exec({"INCR", "sluice:test:destroyed"}, [&, i](error_code ec, reply) {
            ++completions[i];
            results[i] = ec;
            ++done;
            if (i == 100) c.reset();
        });
    }
    ASSERT_TRUE(run_until([&] { return done >= calls; }, 10s)) << done << " of " << calls;
    EXPECT_TRUE(run_for(1s)) << "the destroyed client left work on the io_context";
    EXPECT_TRUE(std::all_of(completions.begin(), completions.end(), [](int n) { return n == 1; }))
        << "a call completed more than once";
    // Successes first (answered before the destruction), then stopped, nothing else.
    const auto first_stopped = std::find_if(results.begin(), results.end(), [](error_code ec) { return !!ec; });
    EXPECT_GT(first_stopped - results.begin(), 100);
    EXPECT_TRUE(std::all_of(first_stopped, results.end(), [](error_code ec) { return ec == error::stopped; }));
}

// 7c. Destroyed while connecting, and with a coroutine suspended on a call when the io_context
// goes away: no leak, no use after free (ASan builds check both).
TEST_F(redis_client_test, destroying_while_connecting_or_with_the_io_context_is_safe) {
    {
        client c(ioc, options());
        c.start();
    }
    EXPECT_TRUE(run_for(1s)) << "the destroyed client left work on the io_context";

    auto owned = std::make_unique<asio::io_context>();
    auto c = std::make_unique<client>(*owned, options());
    c->start();
    bool connected = false;
    c->on_connection_change([&](bool up) { connected = up; });
    const auto deadline = steady::now() + 5s;
    while (!connected && steady::now() < deadline) owned->run_one_for(100ms);
    ASSERT_TRUE(connected);
    bool resumed = false;
    asio::co_spawn(
        *owned,
        [&]() -> asio::awaitable<void> {
            const std::string_view ping[] = {"PING"};
            co_await c->async_exec(ping, asio::as_tuple(asio::use_awaitable));
            resumed = true;
        },
        asio::detached);
    // Run just until the coroutine has issued its call (its reply needs more handlers to arrive).
    while (c->pending() == 0 && !resumed && steady::now() < deadline) owned->run_one_for(100ms);
    ASSERT_EQ(c->pending(), 1u);
    c.reset();  // the call's completion (stopped) is posted, never run: the io_context goes first
    owned.reset();
    EXPECT_FALSE(resumed);
}

// 8. A Redis error reply is a reply, not a transport error, and leaves the connection usable.
TEST_F(redis_client_test, error_replies_arrive_as_replies) {
    client c(ioc, options());
    connect(c);

    const auto [set_ec, set_reply] = exec(c, {"SET", "sluice:test:string", "v"});
    ASSERT_FALSE(set_ec) << set_ec.message();
    EXPECT_EQ(set_reply.type, reply::kind::status);

    const auto [ec, r] = exec(c, {"LPUSH", "sluice:test:string", "x"});
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(r.is_error());
    EXPECT_TRUE(r.str.starts_with("WRONGTYPE")) << r.str;

    const auto [unknown_ec, unknown] = exec(c, {"NO-SUCH-COMMAND"});
    EXPECT_FALSE(unknown_ec);
    EXPECT_TRUE(unknown.is_error());
    EXPECT_TRUE(unknown.str.starts_with("ERR")) << unknown.str;

    const script failing("return redis.call('LPUSH', KEYS[1], 'x')");
    const std::string_view keys[] = {"sluice:test:string"};
    std::optional<std::pair<error_code, reply>> eval_result;
    c.async_eval(failing, keys, {}, [&](error_code e, reply rr) { eval_result.emplace(e, std::move(rr)); });
    ASSERT_TRUE(run_until([&] { return eval_result.has_value(); }, 5s));
    EXPECT_FALSE(eval_result->first);
    EXPECT_TRUE(eval_result->second.is_error());
    EXPECT_NE(eval_result->second.str.find("WRONGTYPE"), std::string::npos) << eval_result->second.str;

    EXPECT_TRUE(c.connected());
    const auto [get_ec, get] = exec(c, {"GET", "sluice:test:string"});
    EXPECT_FALSE(get_ec);
    EXPECT_EQ(get.str, "v");
}

// Replies of every kind, and arguments with CR, LF and NUL bytes, survive the round trip.
TEST_F(redis_client_test, replies_of_every_kind_and_binary_arguments) {
    client c(ioc, options());
    connect(c);
    const std::string binary("a\r\nb\0c$*", 8);

    EXPECT_FALSE(exec(c, {"SET", "sluice:test:binary", binary}).first);
    const auto [ec, r] = exec(c, {"GET", "sluice:test:binary"});
    EXPECT_FALSE(ec);
    EXPECT_EQ(r.type, reply::kind::string);
    EXPECT_EQ(r.str, binary);

    EXPECT_TRUE(exec(c, {"GET", "sluice:test:missing"}).second.is_nil());
    EXPECT_FALSE(exec(c, {"RPUSH", "sluice:test:list", "1", "", "3"}).first);
    const auto list = exec(c, {"LRANGE", "sluice:test:list", "0", "-1"}).second;
    ASSERT_TRUE(list.is_array());
    ASSERT_EQ(list.elements.size(), 3u);
    EXPECT_EQ(list.elements[1].str, "");
    EXPECT_EQ(exec(c, {"PING"}).second.str, "PONG");
}

// The coroutine forms the gateway uses: as_tuple(use_awaitable), and use_awaitable, which
// throws system_error for a transport error.
TEST_F(redis_client_test, works_with_coroutines) {
    client c(ioc, options());
    connect(c);
    const script echo("return ARGV[1]");
    std::vector<std::string> seen;
    bool finished = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            const std::string_view ping[] = {"PING"};
            const reply pong = co_await c.async_exec(ping, asio::use_awaitable);
            seen.push_back(pong.str);
            const std::string_view args[] = {"echoed"};
            auto [ec, r] = co_await c.async_eval(echo, {}, args, asio::as_tuple(asio::use_awaitable));
            seen.push_back(ec ? ec.message() : r.str);
            c.stop();
            try {
                co_await c.async_exec(ping, asio::use_awaitable);
                seen.push_back("no exception");
            } catch (const boost::system::system_error& e) {
                seen.push_back(e.code() == error::stopped ? "stopped" : e.code().message());
            }
            finished = true;
        },
        asio::detached);
    ASSERT_TRUE(run_until([&] { return finished; }, 5s));
    EXPECT_EQ(seen, (std::vector<std::string>{"PONG", "echoed", "stopped"}));
}

// A handshake that Redis rejects (a script that does not compile) keeps the client disconnected.
TEST_F(redis_client_test, a_rejected_handshake_keeps_the_client_disconnected) {
    client c(ioc, options());
    std::vector<bool> changes;
    c.on_connection_change([&](bool up) { changes.push_back(up); });
    c.register_script(script("this is not lua"));
    c.start();
    run_for(500ms);
    EXPECT_FALSE(c.connected());
    EXPECT_TRUE(changes.empty());
    EXPECT_NE(c.last_error().find("handshake"), std::string::npos) << c.last_error();
}

TEST(redis_options_from, reads_url_and_timeout) {
    sluice::config::settings settings;
    settings.redis.url = "redis://cache.internal:6380";
    settings.redis.timeout_ms = 300;
    const auto o = sluice::redis::options_from(settings);
    EXPECT_EQ(o.host, "cache.internal");
    EXPECT_EQ(o.port, 6380);
    EXPECT_EQ(o.timeout, 300ms);
    EXPECT_EQ(o.liveness, 2000ms);  // automatic: max(2 s, 2 x timeout)
    settings.redis.timeout_ms = 1500;
    EXPECT_EQ(sluice::redis::options_from(settings).liveness, 3000ms);
    settings.redis.liveness_ms = 5000;
    EXPECT_EQ(sluice::redis::options_from(settings).liveness, 5000ms);

    settings.redis.url = "redis+cluster://a:7000,b:7001";  // seeds, for a redis::router
    EXPECT_EQ(sluice::redis::options_from(settings).cluster_seeds.size(), 2U);
    settings.redis.url = "unix:///run/redis.sock";
    EXPECT_THROW(sluice::redis::options_from(settings), std::invalid_argument);
}

}  // namespace
