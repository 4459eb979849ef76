// sluice's async PostgreSQL client: libpq's non-blocking API driven by the caller's io_context, a
// bounded pool of pipelined connections, no threads of its own. Callers never see libpq types.
//
// A call is a list of statements sent together and answered together: they run as ONE implicit
// transaction (the extended protocol's statements between two Syncs), in one round trip. One
// statement is a query; several are a batch that commits or rolls back whole.
//
// Guarantees (each has a test in tests/integration/ledger/):
// - Every call completes exactly once, never inline inside async_execute: the completion is
//   posted to the handler's associated executor.
// - Nothing waits for a connection: a call made while no connection is ready completes at once
//   with error::not_connected, after stop() with error::stopped, and when every ready connection
//   already holds options.max_in_flight calls with error::pool_exhausted.
// - Every call has a deadline (options.timeout). A connection whose oldest call is overdue is
//   stuck (calls are answered in order), so it is reset: its overdue calls complete with
//   error::timeout, the others in flight with error::connection_lost, and it reconnects. Each
//   connection also sets statement_timeout to twice that value (so the client's own deadline, not a
//   race with the server's cancel, decides a busy call's outcome) and client_connection_check_interval,
//   so the server stops work nobody waits for. A call that timed out may still have committed:
//   writes through this client are idempotent (upserts keyed by id), so a retry is safe.
// - Each connection reconnects forever (capped exponential backoff, full jitter) until stop(). It
//   counts as ready only once its handshake (the session settings above) was answered within
//   options.timeout.
// - A PostgreSQL error is error::server_error; the failing statement's result carries its
//   SQLSTATE and message, and the whole call was rolled back.
//
// Threading: a client belongs to its io_context: call its members from the thread running it
// (or before it runs), and destroy it before the io_context.
#pragma once

#include "ledger/error.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::config {
struct settings;
}

namespace sluice::ledger {

// A parameter in text form ($1, $2, ...); nullopt is SQL NULL.
using param = std::optional<std::string>;

struct statement {
    std::string sql;
    std::vector<param> params;
    // Non-empty: prepared once per connection under this name (PQsendPrepare, in the same
    // pipeline as its first use) and executed by name afterwards. For statements sent often.
    std::string prepared_name;
};

// One statement's answer. Values are PostgreSQL's text output; nullopt is NULL.
struct result {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::uint64_t affected = 0;  // rows inserted, updated, deleted or returned
    // Set when the server refused this statement (the call's ec is error::server_error):
    std::string sqlstate;  // "23505" ...
    std::string message;   // the primary message
    bool skipped = false;  // not run: an earlier statement of the same call failed

    // The value of `column` in `row`; nullopt for NULL, or when there is no such row or column.
    std::optional<std::string> value(std::size_t row, std::string_view column) const;
};

struct client_options {
    std::string conninfo;                           // a libpq URI or key=value string (ledger.url)
    std::size_t pool_size = 4;                      // connections
    std::size_t max_in_flight = 256;                // calls pipelined on one connection at most
    std::chrono::milliseconds timeout{2000};        // per call, and for connect + handshake
    std::chrono::milliseconds backoff_initial{50};  // reconnect backoff: capped exponential, full jitter
    std::chrono::milliseconds backoff_max{2000};
};

// ledger.url, ledger.pool_size and ledger.timeout_ms. Throws config::config_error naming
// ledger.url when libpq cannot parse it (or it is empty: there is no ledger to connect to).
client_options options_from(const config::settings& settings);

namespace detail {
class client_state;
}

class client {
public:
    using executor_type = boost::asio::io_context::executor_type;
    using execute_signature = void(boost::system::error_code, std::vector<result>);
    using execute_handler = boost::asio::any_completion_handler<execute_signature>;

    client(boost::asio::io_context& ioc, client_options options);
    ~client();  // as stop()
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    executor_type get_executor() const noexcept;
    const client_options& options() const noexcept;

    void start();  // connect every connection of the pool; reconnect forever until stop()
    void stop();   // calls in flight complete with error::stopped; start() may follow

    std::size_t ready_connections() const noexcept;  // handshake answered, not broken
    bool connected() const noexcept { return ready_connections() > 0; }
    std::size_t in_flight() const noexcept;  // calls sent and not yet answered, all connections

    // Why a connection last failed or was reset ("" if none did), for logs.
    const std::string& last_error() const noexcept;

    // Called with the number of ready connections whenever it changes. Posted to the io_context.
    void on_connection_change(std::function<void(std::size_t ready)> f);

    // The statements as one transaction, one round trip. Completion:
    // void(error_code, std::vector<result>) with one result per statement.
    template <typename CompletionToken>
    auto async_execute(std::vector<statement> statements, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, execute_signature>(initiate_execute{this}, token,
                                                                               std::move(statements));
    }

    // One statement. Completion: void(error_code, result).
    template <typename CompletionToken>
    auto async_query(statement s, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, result)>(
            initiate_query{this}, token, std::move(s));
    }

private:
    struct initiate_execute {
        client* self;
        template <typename Handler>
        void operator()(Handler&& handler, std::vector<statement> statements) const {
            self->submit(std::move(statements), execute_handler(std::forward<Handler>(handler)));
        }
    };

    struct initiate_query {
        client* self;
        template <typename Handler>
        void operator()(Handler&& handler, statement s) const {
            auto executor = boost::asio::get_associated_executor(handler, self->get_executor());
            std::vector<statement> one;
            one.push_back(std::move(s));
            self->submit(std::move(one),
                         execute_handler(boost::asio::bind_executor(
                             executor, [h = std::forward<Handler>(handler)](boost::system::error_code ec,
                                                                            std::vector<result> results) mutable {
                                 std::move(h)(ec, results.empty() ? result{} : std::move(results.front()));
                             })));
        }
    };

    void submit(std::vector<statement> statements, execute_handler handler);

    boost::asio::io_context& ioc_;
    std::shared_ptr<detail::client_state> state_;
};

}  // namespace sluice::ledger
