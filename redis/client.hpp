// sluice's async Redis client: hiredis's async API driven by the caller's io_context, one
// pipelined connection per client, no threads of its own. The gateway makes one client per
// io_context (DESIGN.md: shared nothing per core).
//
// Guarantees (each has a test in tests/integration/redis/):
// - Every call completes exactly once, never inline inside async_exec/async_eval: the completion
//   is posted to the handler's associated executor (the io_context's by default), so a coroutine
//   that co_awaits a call is always resumed from the io_context's queue, never re-entrantly.
// - Nothing waits for a connection: a call made while not connected (before start(), before the
//   handshake was answered, during a reconnect) completes at once with error::not_connected, after
//   stop() with error::stopped, and beyond options.max_pending with error::too_many_pending.
// - Every call has a deadline (options.timeout). A call that misses it completes with
//   error::timeout, and that is all: the connection stays, the call's reply is matched in order
//   when it comes and discarded (counters().late_replies), and every other call goes on.
// - The connection is dropped only when the server stops answering: commands outstanding and no
//   reply at all for options.liveness (an idle connection sends a heartbeat PING after half of
//   it, so a stalled server is found while idle too). Then the calls past their deadline complete
//   with error::timeout, the others with error::connection_lost, and the client reconnects.
// - Replies the server has already sent are read before any deadline is judged, so a busy event
//   loop that is late in reading them does not turn them into timeouts.
// - Reconnects forever (capped exponential backoff with full jitter) until stop(). A connection
//   counts as connected only once its handshake (SCRIPT LOAD of every registered script, or PING)
//   was answered within options.liveness.
// - A Redis error reply is not a transport error: ec == {} and reply.is_error().
//
// Threading: a client belongs to its io_context. Call its members only from the thread running
// that io_context (or before the io_context runs), and destroy it before the io_context. With a
// deferred token (use_awaitable, deferred) the call starts when awaited: the client must still
// exist then (the arguments were copied already).
//
// Signals: hiredis writes with write(), so a process using this client must ignore SIGPIPE
// (every sluice main() does); otherwise a Redis that dies mid-write ends the process silently.
#pragma once

#include "redis/detail/command.hpp"
#include "redis/endpoint.hpp"
#include "redis/error.hpp"
#include "redis/reply.hpp"
#include "redis/script.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::config {
struct settings;
}

namespace sluice::redis {

struct client_options {
    std::string host = "127.0.0.1";  // a name is resolved (blocking getaddrinfo) at every connect
    std::uint16_t port = 6379;
    std::chrono::milliseconds timeout{250};    // per call
    std::chrono::milliseconds liveness{2000};  // no reply at all for this long: the server is gone;
                                               // also bounds connect + handshake
    // Reconnect backoff: capped exponential, full jitter. The cap bounds how long a thread stays
    // without Redis after the server is back (readiness follows within it).
    std::chrono::milliseconds backoff_initial{25};
    std::chrono::milliseconds backoff_max{300};
    std::size_t max_pending = 100000;  // beyond: fail at once with too_many_pending

    // redis+cluster:// (redis::router only; a redis::client refuses options with seeds): the
    // nodes first asked for the topology. Every connection the router makes to a master uses the
    // options above with that master's host and port.
    std::vector<endpoint> cluster_seeds;
    // The topology is asked again this often while every slot has a connected master, and after
    // degraded_refresh (doubling up to 1 s) while some slot has not, so a replica promoted in a
    // failover is found within that.
    std::chrono::milliseconds topology_refresh{5000};
    std::chrono::milliseconds degraded_refresh{100};
};

// What the client has counted since it was made (for metrics).
struct client_counters {
    std::uint64_t timeouts = 0;        // calls completed with error::timeout at their deadline
    std::uint64_t late_replies = 0;    // replies to such calls, received and discarded
    std::uint64_t liveness_drops = 0;  // connections dropped because the server stopped answering
    // A cluster router's only (router.hpp), summed over its connections with the above:
    std::uint64_t moved = 0;               // MOVED replies followed
    std::uint64_t asked = 0;               // ASK replies followed
    std::uint64_t try_again = 0;           // calls completed with error::try_again
    std::uint64_t cluster_down = 0;        // calls completed with error::cluster_down
    std::uint64_t topology_refreshes = 0;  // topology replies applied
    std::uint64_t topology_changes = 0;    // ... that moved a slot to another master
    std::uint64_t topology_failures = 0;   // refreshes no node answered
};

// The client options of a loaded configuration: redis.url, redis.timeout_ms and
// redis.liveness_ms. redis:// gives host and port; redis+cluster:// gives cluster_seeds (and host
// and port of the first seed), for a redis::router. unix:// throws std::invalid_argument naming
// the key.
client_options options_from(const config::settings& settings);

namespace detail {
class client_state;
struct client_access;
}

class client {
public:
    using executor_type = boost::asio::io_context::executor_type;
    using completion_signature = void(boost::system::error_code, reply);
    using completion_handler = boost::asio::any_completion_handler<completion_signature>;

    // Throws std::invalid_argument for options with cluster_seeds (use redis::router).
    client(boost::asio::io_context& ioc, client_options options);
    ~client();  // as stop(); on_connection_change is not called any more
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    executor_type get_executor() const noexcept;
    const client_options& options() const noexcept;

    // Scripts to SCRIPT LOAD on every (re)connect, as part of the handshake. Register before
    // start(); a script registered later is loaded from the next reconnect on (async_eval works
    // either way, through its EVAL fallback).
    void register_script(const script& s);

    void start();  // connect; reconnect forever with backoff until stop()
    void stop();   // pending calls complete with error::stopped; no reconnect; start() may follow

    // Reads the replies already in the socket and writes the commands already made, now, instead
    // of when the reactor reports the socket ready. A busy owner calls it every few events: with
    // thousands of other sockets ready, the reactor reports this one after all of them.
    // Completions are posted as always, never run inside poll().
    void poll();

    bool connected() const noexcept;  // true only after the handshake was answered
    std::size_t pending() const noexcept;  // calls in flight

    // Why the client last failed to connect or lost its connection ("" if it never did), for
    // logs and readiness reports.
    const std::string& last_error() const noexcept;

    const client_counters& counters() const noexcept;

    // Called with true once a handshake was answered and with false when that connection ends.
    // Posted to the io_context, so connected() may have changed again by the time it runs.
    void on_connection_change(std::function<void(bool connected)> f);

    // One command; args are copied before return. Completion: void(error_code, reply).
    template <typename CompletionToken>
    auto async_exec(std::span<const std::string_view> args, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            initiate_exec{this}, token, detail::format_command(args));
    }

    template <typename CompletionToken>
    auto async_exec(std::initializer_list<std::string_view> args, CompletionToken&& token) {
        return async_exec(std::span<const std::string_view>(args.begin(), args.size()),
                          std::forward<CompletionToken>(token));
    }

    // EVALSHA sha numkeys keys... args...; on a NOSCRIPT error reply, falls back to EVAL with the
    // source (which also caches it) and completes with that reply. The fallback keeps the call's
    // original deadline.
    template <typename CompletionToken>
    auto async_eval(const script& s, std::span<const std::string_view> keys,
                    std::span<const std::string_view> args, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            initiate_eval{this}, token, detail::format_evalsha(s.sha1(), keys, args), s.text());
    }

private:
    friend struct detail::client_access;  // the router: calls with a deadline of their own

    struct initiate_exec {
        client* self;
        template <typename Handler>
        void operator()(Handler&& handler, std::string resp) const {
            self->submit(detail::command{std::move(resp), 0}, nullptr,
                         completion_handler(std::forward<Handler>(handler)));
        }
    };

    struct initiate_eval {
        client* self;
        template <typename Handler>
        void operator()(Handler&& handler, detail::command evalsha,
                        std::shared_ptr<const detail::script_text> text) const {
            self->submit(std::move(evalsha), std::move(text), completion_handler(std::forward<Handler>(handler)));
        }
    };

    void submit(detail::command cmd, std::shared_ptr<const detail::script_text> eval_script,
                completion_handler handler);

    boost::asio::io_context& ioc_;
    std::shared_ptr<detail::client_state> state_;
};

}  // namespace sluice::redis
