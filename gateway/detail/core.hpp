// Per-thread state of the gateway (internal to gateway/).
//
// A `core` is one io_context with the one thread that runs it, its acceptor, its sessions and its
// metric shard. Nothing in a core is touched from another thread except through post(); the only
// cross-thread state is `shared_state`, which is atomics and immutable facts.
//
// Timeouts: instead of one timer per connection re-armed on every read, each session records the
// phase it is in and the deadline of that phase, and one sweep timer per core closes the sessions
// whose deadline has passed. Re-arming is then a store, and 20,000 idle connections cost one
// timer.
#pragma once

#include "config/allocator.hpp"
#include "config/config.hpp"
#include "gateway/admission/admission_control.hpp"
#include "gateway/detail/replication.hpp"
#include "gateway/detail/tls.hpp"
#include "gateway/metrics.hpp"
#include "gateway/admission/practice_set.hpp"
#include "gateway/runtime.hpp"
#include "ledger/client.hpp"
#include "ratelimit/gcra.hpp"
#include "redis/router.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice::gateway::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

struct core;

struct shared_state {
    std::atomic<bool> draining{false};
    std::atomic<std::uint32_t> open_connections{0};
    std::atomic<std::uint32_t> max_connections{0};
    std::atomic<std::uint32_t> redis_connected{0};  // cores whose Redis is up (a cluster: some master)
    std::uint32_t core_count = 0;
    config::allocator_report allocator;
    std::vector<const metrics_shard*> shards;              // fixed once all cores exist
    std::vector<std::atomic<std::int64_t>> queue_lengths;  // per queue shard, sampled by core 0; -1 unknown
    practice_set admitted_practices;                       // fairness while shedding
    // The status page's figures over every queue shard, sampled with the lengths; -1: unknown.
    std::atomic<std::int64_t> queue_waiting{-1};
    std::atomic<std::int64_t> drain_millis_per_second{-1};  // thousandths of an entry per second
    std::atomic<std::int64_t> submissions_today{-1};
    std::atomic<std::int64_t> declarations_today{-1};  // from PostgreSQL, sampled by core 0
    // [tls]: on at start (a restart turns it on or off); reloads that kept the running pair because
    // the new one did not load; the running certificate's expiry (Unix seconds).
    bool tls = false;
    std::atomic<std::uint64_t> tls_reload_failures{0};
    std::atomic<std::int64_t> tls_not_after{0};

    // Ready for submissions: not draining, and every core can reach Redis.
    bool ready() const noexcept {
        return !draining.load(std::memory_order_relaxed) &&
               redis_connected.load(std::memory_order_relaxed) == core_count;
    }
};

enum class session_phase : std::uint8_t {
    idle,      // keep-alive, waiting for the first byte of a request (limits.idle_timeout_ms)
    header,    // reading a request's header (limits.header_timeout_ms)
    body,      // reading its body (limits.body_timeout_ms)
    handling,  // the request is being answered: no read deadline
    write,     // writing the answer (limits.body_timeout_ms: a client that does not read)
    linger,    // after an error answer: draining what the client still sends, briefly
};

using session_hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// What the sweep and the drain need of a session.
struct session_base : session_hook {
    explicit session_base(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    session_phase phase = session_phase::idle;
    clock::time_point deadline = clock::time_point::max();
    bool waiting_for_request() const noexcept { return phase == session_phase::idle; }

    // Closes the socket: the pending operation completes with an error and the session ends.
    void cut_off() noexcept {
        boost::system::error_code ignored;
        socket.close(ignored);
    }
};

using session_list = boost::intrusive::list<session_base, boost::intrusive::constant_time_size<false>>;

struct core {
    core(shared_state& shared, std::shared_ptr<const runtime> state, std::size_t index);

    net::io_context ioc;
    tcp::acceptor acceptor;      // plain HTTP (closed when listen.plain_http is false)
    tcp::acceptor tls_acceptor;  // HTTPS (closed while [tls] is off)
    shared_state& shared;
    std::shared_ptr<const runtime> state;  // settings, credentials, catalogue; replaced by SIGHUP
    std::shared_ptr<const tls_context> tls;  // what new TLS connections use; replaced by SIGHUP
    metrics_shard metrics;
    session_list sessions;
    net::steady_timer sweep_timer;
    net::steady_timer drain_timer;
    net::steady_timer sample_timer;  // core 0: queue lengths
    redis::router redis;             // this core's pipelined connection (one per master of a cluster)
    // ledger.url set: this core's PostgreSQL pool (ledger/client.hpp; its share of ledger.pool_size,
    // at least one connection, made in start()), used by the sign-off endpoints only. The admission path never touches it: a database problem is never a 503 for
    // an upload. Null without a ledger (those endpoints then answer 503 ledger-unavailable).
    std::unique_ptr<sluice::ledger::client> ledger;
    replication_waiter replication{redis, metrics.replication_waits};  // durability.replicas > 0: group-commit WAIT
    ratelimit::local_limiter failed_auth;
    admission_control admission;  // the adaptive limit on admissions in flight, and the retry schedule
    std::unordered_map<std::string, clock::time_point> limited_until;  // practices known to be over their rate
    std::mt19937_64 random;
    std::size_t index;
    std::uint32_t rejecting = 0;  // connections being answered 503 for max_connections
    std::uint32_t requests_since_redis_poll = 0;
    // Where an idle connection's first read lands (sessions hold no buffer while idle); one per
    // core, used by one read at a time on the core's thread.
    std::array<char, 64 * 1024> scratch;
    bool draining = false;
    bool ledger_up = false;  // for the log: whether some connection of the pool is ready

    // Called for every request that arrives: every few of them, the Redis connection is serviced
    // at once (redis::router::poll), so that thousands of ready client sockets cannot keep its
    // replies waiting in the socket or its commands in the client's buffer.
    void note_request() {
        if (++requests_since_redis_poll < redis_poll_every) return;
        requests_since_redis_poll = 0;
        redis.poll();
    }
    static constexpr std::uint32_t redis_poll_every = 8;

    // Starts accepting and sweeping; call from the core's thread (or before it runs).
    void start();
    // Stops accepting, closes idle keep-alives, and closes everything at the drain deadline.
    void begin_drain();
    // Closes every session now (second SIGTERM, or drain deadline).
    void cut_off_all() noexcept;
    // The last session is gone while draining: stop Redis and timers so run() returns.
    void finish_drain();
};

// The plain listener's accept loop and one client connection (session.cpp; TLS: tls.hpp).
net::awaitable<void> accept_loop(core& c);

}  // namespace sluice::gateway::detail
