// ledger/client.hpp against a real PostgreSQL (tests/support/postgres_server): rows and NULLs,
// server errors rolling the whole call back, pipelining on one connection, prepared statements
// across a restart, timeouts that reset the connection, pool exhaustion answered at once, and a
// server killed and restarted mid-stream.
#include "ledger/client.hpp"
#include "tests/support/postgres_environment.hpp"

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;

[[maybe_unused]] auto* const environment = add_postgres_environment();

struct answer {
    error_code ec;
    std::vector<ledger::result> results;
};

// A client on its own io_context, with helpers that run the io_context until a call completes.
class ledger_client_test : public ::testing::Test {
protected:
    void make_client(std::size_t pool_size = 2, std::chrono::milliseconds timeout = 2000ms,
                     std::size_t max_in_flight = 256) {
        ledger::client_options o;
        o.conninfo = url_ + "?application_name=" + application_name_;
        o.pool_size = pool_size;
        o.timeout = timeout;
        o.max_in_flight = max_in_flight;
        o.backoff_max = 200ms;
        client_.emplace(ioc_, o);
    }

    // Runs the io_context until `done` or `limit`; false on timeout.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            ioc_.restart();
            ioc_.run_for(10ms);
        }
        return true;
    }

    void start_and_wait_ready(std::size_t connections) {
        client_->start();
        ASSERT_TRUE(run_until([&] { return client_->ready_connections() == connections; })) << client_->last_error();
    }

    answer execute(std::vector<ledger::statement> statements, std::chrono::milliseconds limit = 10s) {
        std::optional<answer> got;
        client_->async_execute(std::move(statements), [&](error_code ec, std::vector<ledger::result> r) {
            got = answer{ec, std::move(r)};
        });
        EXPECT_TRUE(run_until([&] { return got.has_value(); }, limit)) << "no completion";
        return got.value_or(answer{ledger::error::timeout, {}});
    }

    answer query(std::string sql, std::vector<ledger::param> params = {}) {
        std::vector<ledger::statement> one;
        one.push_back({std::move(sql), std::move(params), {}});
        return execute(std::move(one));
    }

    // Connections of this test's client as the server sees them.
    int server_connections() {
        return std::stoi(postgres().scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                           application_name_ + "'"));
    }

    std::string url_ = postgres().create_database();
    std::string application_name_ = "ledger_client_test_" + std::to_string(::getpid());
    asio::io_context ioc_;
    std::optional<ledger::client> client_;
};

TEST_F(ledger_client_test, answers_rows_nulls_and_affected_counts) {
    make_client();
    start_and_wait_ready(2);
    const auto a = query("SELECT $1::int + 1 AS n, NULL::text AS nothing, $2 AS given", {"41", std::nullopt});
    ASSERT_FALSE(a.ec) << a.ec.message();
    ASSERT_EQ(a.results.size(), 1u);
    const auto& r = a.results[0];
    EXPECT_EQ(r.columns, (std::vector<std::string>{"n", "nothing", "given"}));
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.value(0, "n"), "42");
    EXPECT_FALSE(r.value(0, "nothing").has_value());
    EXPECT_FALSE(r.value(0, "given").has_value());

    ASSERT_FALSE(query("CREATE TABLE t (x int PRIMARY KEY)").ec);
    const auto inserted = query("INSERT INTO t SELECT generate_series(1, 5)");
    ASSERT_FALSE(inserted.ec);
    EXPECT_EQ(inserted.results[0].affected, 5u);
}

TEST_F(ledger_client_test, a_refused_statement_rolls_back_its_whole_call) {
    make_client(1);
    start_and_wait_ready(1);
    ASSERT_FALSE(query("CREATE TABLE t (x int PRIMARY KEY)").ec);
    const auto a = execute({{"INSERT INTO t VALUES (1)", {}, {}},
                            {"INSERT INTO t VALUES (1)", {}, {}},
                            {"INSERT INTO t VALUES (2)", {}, {}}});
    EXPECT_EQ(a.ec, ledger::error::server_error);
    ASSERT_EQ(a.results.size(), 3u);
    EXPECT_TRUE(a.results[0].sqlstate.empty());
    EXPECT_EQ(a.results[1].sqlstate, "23505");  // unique_violation
    EXPECT_NE(a.results[1].message.find("duplicate key"), std::string::npos) << a.results[1].message;
    EXPECT_TRUE(a.results[2].skipped);
    EXPECT_FALSE(ledger::is_transient(a.ec, a.results[1].sqlstate));
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM t", url_), "0");  // one transaction, rolled back
    const auto after = query("SELECT count(*) AS n FROM t");            // the connection is fine
    ASSERT_FALSE(after.ec);
    EXPECT_EQ(after.results[0].value(0, "n"), "0");
}

// A named prepared statement is not transactional: once its Parse was answered it exists, even if
// the call then failed (a unique violation of its own first execution). The next call of that
// statement must execute it, not prepare it again ("prepared statement already exists").
TEST_F(ledger_client_test, a_prepare_answered_before_a_failure_is_kept) {
    make_client(1);
    start_and_wait_ready(1);
    ASSERT_FALSE(query("CREATE TABLE t (x int PRIMARY KEY)").ec);
    ASSERT_FALSE(query("INSERT INTO t VALUES (1)").ec);
    const auto insert = [](const char* value) {
        std::vector<ledger::statement> one;
        one.push_back({"INSERT INTO t VALUES ($1::int)", {value}, "insert_t"});
        return one;
    };
    const auto refused = execute(insert("1"));
    EXPECT_EQ(refused.ec, ledger::error::server_error);
    EXPECT_EQ(refused.results.at(0).sqlstate, "23505");
    for (const auto* value : {"2", "3"}) {
        const auto a = execute(insert(value));
        EXPECT_FALSE(a.ec) << a.ec.message() << " " << (a.results.empty() ? "" : a.results[0].message);
    }
    // A prepare that was itself refused (a syntax error) is sent again next time, and fails again.
    std::vector<ledger::statement> broken;
    broken.push_back({"INSERT INTO t VALUES (", {}, "broken_t"});
    EXPECT_EQ(execute(broken).results.at(0).sqlstate, "42601");
    EXPECT_EQ(execute(broken).results.at(0).sqlstate, "42601");
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM t", url_), "3");
}

TEST_F(ledger_client_test, pipelines_many_calls_on_one_connection_in_order) {
    make_client(1, 5000ms, 1000);
    start_and_wait_ready(1);
    constexpr int calls = 500;
    std::vector<std::optional<answer>> got(calls);
    for (int i = 0; i < calls; ++i) {
        client_->async_query({"SELECT $1::int * 2 AS twice", {std::to_string(i)}, "twice"},
                             [&got, i](error_code ec, ledger::result r) {
                                 std::vector<ledger::result> one;
                                 one.push_back(std::move(r));
                                 got[i] = answer{ec, std::move(one)};
                             });
    }
    EXPECT_EQ(client_->in_flight(), static_cast<std::size_t>(calls));  // all written, none waited for
    ASSERT_TRUE(run_until([&] { return got.back().has_value(); }));
    for (int i = 0; i < calls; ++i) {
        ASSERT_TRUE(got[i].has_value()) << i;
        ASSERT_FALSE(got[i]->ec) << i << ": " << got[i]->ec.message();
        EXPECT_EQ(got[i]->results[0].value(0, "twice"), std::to_string(2 * i));
    }
    EXPECT_EQ(server_connections(), 1);
}

TEST_F(ledger_client_test, fails_at_once_before_start_after_stop_and_when_the_pool_is_exhausted) {
    make_client(1, 5000ms, 2);
    EXPECT_EQ(query("SELECT 1").ec, ledger::error::not_connected);
    start_and_wait_ready(1);
    std::vector<std::optional<answer>> sleeping(2);
    for (auto& s : sleeping) {
        client_->async_query({"SELECT pg_sleep(0.5)", {}, {}}, [&s](error_code ec, ledger::result) {
            s = answer{ec, {}};
        });
    }
    const auto began = std::chrono::steady_clock::now();
    const auto refused = query("SELECT 1");
    EXPECT_EQ(refused.ec, ledger::error::pool_exhausted);
    EXPECT_FALSE(sleeping[0].has_value()) << "the refusal did not wait for the calls ahead of it";
    EXPECT_LT(std::chrono::steady_clock::now() - began, 450ms);
    ASSERT_TRUE(run_until([&] { return sleeping[1].has_value(); }));
    EXPECT_FALSE(sleeping[0]->ec);
    EXPECT_FALSE(query("SELECT 1").ec);  // free again
    client_->stop();
    EXPECT_EQ(query("SELECT 1").ec, ledger::error::stopped);
}

TEST_F(ledger_client_test, an_overdue_call_times_out_and_its_connection_is_reset) {
    make_client(1, 300ms);
    start_and_wait_ready(1);
    const auto began = std::chrono::steady_clock::now();
    const auto slow = query("SELECT pg_sleep(30)");
    EXPECT_EQ(slow.ec, ledger::error::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
    EXPECT_TRUE(ledger::is_transient(slow.ec));
    // It reconnects, and the server does not keep running the abandoned query.
    ASSERT_TRUE(run_until([&] { return client_->ready_connections() == 1; })) << client_->last_error();
    const auto fine = query("SELECT 7 AS n");
    ASSERT_FALSE(fine.ec) << fine.ec.message();
    EXPECT_EQ(fine.results[0].value(0, "n"), "7");
    EXPECT_TRUE(run_until(
        [&] {
            return postgres().scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'") ==
                   "0";
        },
        10s));
}

TEST_F(ledger_client_test, survives_the_server_killed_and_restarted_mid_stream) {
    make_client(2, 1000ms);
    start_and_wait_ready(2);
    ASSERT_FALSE(query("CREATE TABLE t (x int PRIMARY KEY)").ec);
    int ok = 0, failed = 0, completed = 0, sent = 0;
    std::function<void()> next = [&] {
        if (sent >= 400) return;
        const int x = sent++;
        client_->async_query({"INSERT INTO t VALUES ($1) ON CONFLICT DO NOTHING", {std::to_string(x)}, "insert_t"},
                             [&](error_code ec, ledger::result) {
                                 ++completed;
                                 ec ? ++failed : ++ok;
                                 next();
                             });
    };
    for (int i = 0; i < 8; ++i) next();
    ASSERT_TRUE(run_until([&] { return completed >= 100; }));
    postgres().kill();
    ASSERT_TRUE(run_until([&] { return client_->ready_connections() == 0; }));
    postgres().start();
    ASSERT_TRUE(run_until([&] { return completed == 400; }, 30s)) << completed << " " << client_->last_error();
    EXPECT_GT(failed, 0);  // calls during the outage failed at once rather than hanging
    EXPECT_TRUE(run_until([&] { return client_->ready_connections() == 2; }));
    // Prepared statements are prepared again on the new connections.
    const auto again = query("SELECT count(*) AS n FROM t");
    ASSERT_FALSE(again.ec) << again.ec.message();
    EXPECT_GE(std::stoi(*again.results[0].value(0, "n")), ok);  // every acknowledged insert survived the crash
}

TEST(ledger_options, come_from_the_ledger_section_and_name_it_when_wrong) {
    config::settings settings;
    settings.ledger.url = "postgresql://sluice@127.0.0.1:5433/sluice";
    settings.ledger.pool_size = 3;
    settings.ledger.timeout_ms = 750;
    const auto o = ledger::options_from(settings);
    EXPECT_EQ(o.conninfo, settings.ledger.url);
    EXPECT_EQ(o.pool_size, 3u);
    EXPECT_EQ(o.timeout, 750ms);
    settings.ledger.url = "dbname='unterminated";  // libpq: unterminated quoted string
    try {
        (void)ledger::options_from(settings);
        FAIL() << "accepted " << settings.ledger.url;
    } catch (const config::config_error& e) {
        EXPECT_EQ(e.key(), "ledger.url");
    }
}

}  // namespace
}  // namespace sluice::test
