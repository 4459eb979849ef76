// The gateway server (see server.hpp): cores, their sweep and drain, and the control thread that
// turns signals into drain and reload.
#include "gateway/server.hpp"

#include "gateway/detail/core.hpp"
#include "config/log.hpp"
#include "queue/admission.hpp"
#include "gateway/detail/status_handler.hpp"
#include "queue/keys.hpp"
#include "queue/status.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <iostream>
#include <thread>

namespace sluice::gateway {

namespace detail {

namespace {

using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// The sweep runs often enough to cut a connection off within a tenth of its shortest timeout
// (at least every 100 ms, at most every 5 ms).
std::chrono::milliseconds sweep_interval(const config::limits_settings& l) {
    const auto shortest = std::min({l.header_timeout_ms, l.body_timeout_ms, l.idle_timeout_ms});
    return std::chrono::milliseconds(std::clamp<std::uint32_t>(shortest / 10, 5, 100));
}

timeout_phase phase_of(session_phase p) {
    switch (p) {
    case session_phase::idle: return timeout_phase::idle;
    case session_phase::header: return timeout_phase::header;
    case session_phase::body: return timeout_phase::body;
    default: return timeout_phase::write;
    }
}

admission_control_options admission_options(const config::settings& s) {
    admission_control_options o;
    o.limit.target_delay = std::chrono::milliseconds(s.admission.target_queue_delay_ms);
    o.limit.max_limit = s.limits.max_inflight_per_thread;
    o.limit.min_limit = std::min<std::uint32_t>(4, s.limits.max_inflight_per_thread);
    o.limit.initial_limit = std::min<std::uint32_t>(64, s.limits.max_inflight_per_thread);
    // Before it has measured anything (started or restarted into a surge) a thread assumes 1,000
    // admissions/s: this machine's 2 cores make about 7,000 per thread; erring high costs a cheap
    // second refusal, erring low tells the first burst to come back minutes later.
    o.schedule.capacity_floor = 1000;
    return o;
}

// What the metric shard shows of the core's admission control and Redis client: copied by the
// sweep, so that the request path does not update them.
void publish_gauges(core& c) {
    c.metrics.admission_limit.set(c.admission.limit().limit());
    c.metrics.retry_backlog_seconds.set(c.admission.schedule().backlog_seconds(clock::now()));
    const auto& counters = c.redis.counters();
    c.metrics.redis_late_replies.mirror(counters.late_replies);
    c.metrics.redis_liveness_drops.mirror(counters.liveness_drops);
}

net::awaitable<void> sweep_loop(core& c) {
    for (;;) {
        c.sweep_timer.expires_after(sweep_interval(c.state->settings.limits));
        auto [ec] = co_await c.sweep_timer.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        publish_gauges(c);
        const auto now = clock::now();
        for (auto& s : c.sessions) {
            if (s.deadline <= now && s.socket.is_open()) {
                if (s.phase != session_phase::linger)
                    c.metrics.timeouts[static_cast<std::size_t>(phase_of(s.phase))].add(1);
                s.deadline = clock::time_point::max();
                s.cut_off();
            }
        }
        if (c.draining && c.sessions.empty()) {
            c.finish_drain();
            co_return;  // nothing left: the core's io_context runs out of work and its thread ends
        }
    }
}

// Failed authentication is throttled per client address; at most this many addresses are tracked
// per core (an attacker with more addresses only loosens the limit, never grows memory).
constexpr std::size_t failed_auth_addresses = 65536;
constexpr ratelimit::gcra_policy failed_auth_policy{1.0, 10};

}  // namespace

core::core(shared_state& s, std::shared_ptr<const runtime> rt, std::size_t i)
    : ioc(1),
      acceptor(ioc),
      tls_acceptor(ioc),
      shared(s),
      state(std::move(rt)),
      sweep_timer(ioc),
      drain_timer(ioc),
      sample_timer(ioc),
      redis(ioc, redis::options_from(state->settings)),
      failed_auth(failed_auth_policy, failed_auth_addresses),
      admission(admission_options(state->settings), clock::now()),
      random(std::random_device{}()),
      index(i) {}

void core::start() {
    redis.register_script(queue::admission_script());
    redis.register_script(queue::status_script());
    redis.register_script(queue_stats_script());
    redis.on_connection_change([this](bool up) {
        if (up)
            shared.redis_connected.fetch_add(1);
        else
            shared.redis_connected.fetch_sub(1);
        config::log(up ? config::log_level::info : config::log_level::warning,
                    "thread " + std::to_string(index) + ": Redis " +
                        (up ? "connected" : "connection lost: " + redis.last_error()));
    });
    if (redis.is_cluster()) {
        redis.on_node_change([this](const std::string& node, bool up) {
            config::log(up ? config::log_level::info : config::log_level::warning,
                "thread " + std::to_string(index) + ": Redis Cluster master " + node +
                    (up ? " connected" : " lost: its shards answer 503 until it or its replica is back"));
        });
    }
    redis.start();
    if (!state->settings.ledger.url.empty()) {
        // ledger.pool_size is per process: the cores share it out (each has at least one).
        auto options = sluice::ledger::options_from(state->settings);
        const std::size_t cores = std::max<std::size_t>(shared.core_count, 1);
        options.pool_size = std::max<std::size_t>((options.pool_size + cores - 1) / cores, 1);
        ledger = std::make_unique<sluice::ledger::client>(ioc, std::move(options));
        ledger->on_connection_change([this](std::size_t ready) {
            const bool up = ready > 0;
            if (up == ledger_up) return;
            ledger_up = up;
            config::log(up ? config::log_level::info : config::log_level::warning,
                        "thread " + std::to_string(index) + ": PostgreSQL " +
                            (up ? "connected"
                                : "connection lost: " + ledger->last_error() +
                                      " (the sign-off endpoints answer 503; submissions go on)"));
        });
        ledger->start();
    }
    if (acceptor.is_open()) net::co_spawn(ioc, accept_loop(*this), net::detached);
    if (tls_acceptor.is_open()) net::co_spawn(ioc, tls_accept_loop(*this), net::detached);
    net::co_spawn(ioc, sweep_loop(*this), net::detached);
    if (index == 0) net::co_spawn(ioc, sample_queue_figures(*this), net::detached);
}

void core::finish_drain() {
    drain_timer.cancel();
    sample_timer.cancel();
    redis.stop();
    if (ledger) ledger->stop();
}

void core::begin_drain() {
    if (draining) return;
    draining = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    tls_acceptor.close(ignored);
    // Idle keep-alives have nothing in flight: close them now. The others finish their request
    // and answer it with Connection: close (session.cpp checks `draining`).
    for (auto& s : sessions)
        if (s.waiting_for_request()) s.cut_off();
    drain_timer.expires_after(std::chrono::seconds(state->settings.shutdown.drain_seconds));
    drain_timer.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        if (!sessions.empty())
            config::log(config::log_level::warning,
                        "drain deadline reached on thread " + std::to_string(index) + ": closing " +
                            std::to_string(std::distance(sessions.begin(), sessions.end())) +
                            " connection(s) with requests unfinished");
        cut_off_all();
    });
}

void core::cut_off_all() noexcept {
    for (auto& s : sessions) s.cut_off();
}

}  // namespace detail

namespace {

std::string describe_endpoint(const detail::tcp::endpoint& ep) {
    const auto addr = ep.address();
    return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

// Keys that only a restart can change; a reload that changes them says so and keeps the old value.
void warn_about_restart_only_changes(const config::settings& old_s, const config::settings& new_s) {
    if (old_s.listen.address != new_s.listen.address || old_s.listen.port != new_s.listen.port ||
        old_s.listen.threads != new_s.listen.threads)
        config::log(config::log_level::warning, "reload: listen.* changed; it takes effect only after a restart");
    if (old_s.listen.plain_http != new_s.listen.plain_http || old_s.tls.enabled() != new_s.tls.enabled() ||
        old_s.tls.port != new_s.tls.port)
        config::log(config::log_level::warning,
                    "reload: listen.plain_http, tls.port or turning [tls] on or off takes effect only after a restart");
    if (old_s.redis != new_s.redis)
        config::log(config::log_level::warning, "reload: redis.* changed; it takes effect only after a restart");
}

}  // namespace

struct server::impl {
    explicit impl(server_options o) : options(std::move(o)) {}

    server_options options;
    detail::shared_state shared;
    std::shared_ptr<const runtime> state;  // the control thread's copy; cores get theirs by post()
    std::vector<std::unique_ptr<detail::core>> cores;
    detail::net::io_context control{1};

    std::shared_ptr<const detail::tls_context> tls;  // [tls] on: the pair new connections get

    std::string listening;  // "address:port threads=N [tls address:port]", for the ready line

    void bind_all();
    void reload_tls(const config::tls_settings& tls_settings);
    void drain(bool force);
    void reload();
};

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
server::~server() = default;

namespace {

// Opens `acceptor` on `endpoint` as one of a port's SO_REUSEPORT group.
void open_acceptor(detail::tcp::acceptor& acceptor, const detail::tcp::endpoint& endpoint) {
    namespace net = detail::net;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.set_option(detail::reuse_port(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
}

}  // namespace

void server::impl::bind_all() {
    namespace net = detail::net;
    const auto& listen = state->settings.listen;
    const auto& tls_settings = state->settings.tls;
    const auto thread_count = listen.threads != 0 ? listen.threads : std::max(1u, std::thread::hardware_concurrency());
    const auto address = net::ip::make_address(listen.address);
    detail::tcp::endpoint endpoint(address, listen.port);
    detail::tcp::endpoint tls_endpoint(address, tls_settings.port);
    for (std::uint32_t i = 0; i < thread_count; ++i) {
        auto c = std::make_unique<detail::core>(shared, state, i);
        // Port 0 asks the kernel for a free port; the other acceptors join the one it gave.
        if (listen.plain_http) {
            open_acceptor(c->acceptor, endpoint);
            if (i == 0) endpoint = c->acceptor.local_endpoint();
        }
        if (tls) {
            open_acceptor(c->tls_acceptor, tls_endpoint);
            if (i == 0) tls_endpoint = c->tls_acceptor.local_endpoint();
            c->tls = tls;
        }
        shared.shards.push_back(&c->metrics);
        cores.push_back(std::move(c));
    }
    shared.core_count = thread_count;
    const std::string threads = " threads=" + std::to_string(thread_count);
    if (listen.plain_http)
        listening = describe_endpoint(endpoint) + threads + (tls ? " tls " + describe_endpoint(tls_endpoint) : "");
    else
        listening = "tls " + describe_endpoint(tls_endpoint) + threads;
}

// A new pair for new connections, or the running one kept (and the failure logged and counted).
void server::impl::reload_tls(const config::tls_settings& tls_settings) {
    if (const auto now = detail::tls_pair_fingerprint(tls_settings); !now.empty() && now == tls->fingerprint()) {
        config::log(config::log_level::info, "TLS certificate and key unchanged: kept, with their session tickets");
        return;
    }
    try {
        tls = detail::load_tls_context(tls_settings);
    } catch (const std::exception& e) {
        shared.tls_reload_failures.fetch_add(1, std::memory_order_relaxed);
        config::log(
            config::log_level::error,
            std::string("reload: TLS certificate not reloaded, new connections keep the running one: ") + e.what());
        return;
    }
    shared.tls_not_after.store(tls->not_after(), std::memory_order_relaxed);
    for (auto& c : cores) boost::asio::post(c->ioc, [core = c.get(), t = tls] { core->tls = t; });
    config::log(config::log_level::info, "reloaded TLS certificate " + tls->subject() + " for new connections");
}

void server::impl::drain(bool force) {
    if (force) {
        config::log(config::log_level::warning, "second stop signal: closing every connection now");
        for (auto& c : cores) boost::asio::post(c->ioc, [core = c.get()] { core->cut_off_all(); });
        return;
    }
    config::log(config::log_level::info, "draining: no new connections; finishing requests in flight (at most " +
                                             std::to_string(state->settings.shutdown.drain_seconds) + " s)");
    shared.draining.store(true);
    for (auto& c : cores) boost::asio::post(c->ioc, [core = c.get()] { core->begin_drain(); });
}

void server::impl::reload() {
    try {
        auto fresh = config::load(options.config_file, config::process_environment());
        warn_about_restart_only_changes(state->settings, fresh);
        // Keep what needs a restart as it is, so that every part of the process agrees.
        fresh.listen = state->settings.listen;
        fresh.redis = state->settings.redis;
        // [tls] on or off and its port need a restart; its files are re-read now (a pair that does
        // not load is refused alone: the rest of the reload still applies).
        if (fresh.tls.enabled() != state->settings.tls.enabled()) fresh.tls = state->settings.tls;
        fresh.tls.port = state->settings.tls.port;
        state = load_runtime(std::move(fresh));  // credentials and catalogue re-read too
        config::set_log_format(state->settings.log.format);  // log.requests is read per request
        shared.max_connections.store(state->settings.limits.max_connections);
        for (auto& c : cores) boost::asio::post(c->ioc, [core = c.get(), s = state] { core->state = s; });
        if (shared.tls) reload_tls(state->settings.tls);
        config::log(config::log_level::info, "reloaded configuration: " + std::to_string(state->credentials.size()) +
                                                 " credential(s), " + std::to_string(state->organisations.size()) +
                                                 " practice(s) in the organisations file, catalogue periods " +
                                                 state->catalogue.period_names());
    } catch (const std::exception& e) {
        config::log(config::log_level::error,
                    std::string("reload refused, keeping the running configuration: ") + e.what());
    }
}

int server::run() {
    auto& s = *impl_;
    s.state = load_runtime(s.options.settings);
    s.shared.allocator = s.options.allocator;
    s.shared.max_connections.store(s.state->settings.limits.max_connections);
    s.shared.queue_lengths = std::vector<std::atomic<std::int64_t>>(s.state->settings.redis.shards);
    for (auto& n : s.shared.queue_lengths) n.store(-1);
    if (s.state->settings.tls.enabled()) {
        s.tls = detail::load_tls_context(s.state->settings.tls);  // a bad pair: config_error, exit 1
        s.shared.tls = true;
        s.shared.tls_not_after.store(s.tls->not_after());
    }
    s.bind_all();

    boost::asio::signal_set stop_signals(s.control, SIGTERM, SIGINT);
    boost::asio::signal_set reload_signal(s.control, SIGHUP);
    bool stopping = false;
    std::function<void()> wait_stop = [&] {
        stop_signals.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            s.drain(stopping);
            stopping = true;
            wait_stop();
        });
    };
    std::function<void()> wait_reload = [&] {
        reload_signal.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            s.reload();
            wait_reload();
        });
    };
    wait_stop();
    wait_reload();
    // Signals are handled from here on: only now may a supervisor or test see "listening".
    std::cout << "sluice-gateway listening on " << s.listening << std::endl;

    std::vector<std::thread> threads;
    std::atomic<std::size_t> running{s.cores.size()};
    for (auto& c : s.cores) {
        c->start();
        threads.emplace_back([&, core = c.get()] {
            core->ioc.run();
            if (running.fetch_sub(1) == 1) boost::asio::post(s.control, [&] { s.control.stop(); });
        });
    }
    s.control.run();
    for (auto& t : threads) t.join();
    config::log(config::log_level::info, "drained; exiting");
    return 0;
}

}  // namespace sluice::gateway
