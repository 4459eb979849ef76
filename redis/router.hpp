// The Redis connections of one io_context as their owner uses them: every call names the key it
// is about, and the router sends it to the server that holds that key. One type for both shapes
// of deployment, chosen by the configuration (client_options::cluster_seeds, from redis.url):
//
//   redis://HOST:PORT          one pipelined connection (a redis::client); the key is ignored.
//   redis+cluster://H:P,H:P    Redis Cluster: one pipelined connection (a redis::client) per
//                              master; each call goes to the master of its key's hash slot
//                              (slot.hpp). The topology comes from CLUSTER SHARDS (CLUSTER SLOTS on
//                              servers without it), asked of the seeds first, then of the masters.
//
// Guarantees: every guarantee of client.hpp holds for every call (completed exactly once, never
// inline; no waiting for a connection; a deadline of options.timeout per call, kept across
// redirections; replies carry round_trip). On a cluster, in addition:
// - MOVED: the slot is mapped to the named master at once, the topology is asked again, and the
//   call is re-sent there once. ASK: ASKING and the call (a script as EVAL) are sent to the named
//   node once; the map is not changed. A second redirection of the same kind completes the call
//   with error::redirected.
// - TRYAGAIN completes with error::try_again, CLUSTERDOWN with error::cluster_down (the topology
//   is asked again); a slot with no known master completes at once with error::cluster_down
//   (error::not_connected while no topology was ever received).
// - Scripts are loaded on every master at each (re)connect (register_script) and run by EVALSHA;
//   a NOSCRIPT answer is followed by EVAL on the same node.
// - A master that stops answering fails only the calls of its own slots (error::not_connected
//   while its connection is down); the others never notice. The topology is asked again at once
//   and then every options.degraded_refresh (doubling up to 1 s) until every slot has a connected
//   master again, so a replica promoted in its place is used within that; and every
//   options.topology_refresh while all is well.
// - Every key of one call must hash to one slot (Redis refuses others with CROSSSLOT, an error
//   reply). Commands without a key (PING, WAIT) run on the master of the key they are given:
//   WAIT belongs on the master that took the writes it waits for, so give it their key.
//
// connected() is "some calls can be served": on a cluster, a topology is known and at least one
// of its masters is connected. connected(key) is "this key's calls can be served". A gateway's
// readiness follows connected() (one lost master must not take every gateway out of service),
// its per-request checks follow connected(key).
//
// Threading and lifetime as client.hpp: members from the io_context's thread only; destroy the
// router before the io_context, and not from inside one of its own callbacks.
#pragma once

#include "redis/client.hpp"
#include "redis/detail/command.hpp"
#include "redis/slot.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::redis {

namespace detail {
class route_table;
}

class router {
public:
    using executor_type = client::executor_type;
    using completion_signature = client::completion_signature;
    using completion_handler = client::completion_handler;

    // A cluster when options.cluster_seeds is not empty, else one server at options.host:port.
    router(boost::asio::io_context& ioc, client_options options);
    ~router();  // as stop(); no callback is called any more
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    executor_type get_executor() const noexcept;
    const client_options& options() const noexcept;
    bool is_cluster() const noexcept { return cluster_; }

    // As client::register_script, on every connection (every master of a cluster).
    void register_script(const script& s);

    void start();  // connect (a cluster: ask the seeds for the topology); reconnect until stop()
    void stop();   // pending calls complete with error::stopped; start() may follow
    void poll();   // client::poll on every connection

    bool connected() const noexcept;                      // some calls can be served (see above)
    bool connected(std::string_view key) const noexcept;  // calls about `key` can be served
    // "host:port" of the server that gets calls about `key` now ("" if none is known).
    std::string node_of(std::string_view key) const;
    std::size_t pending() const noexcept;       // calls in flight, over all connections
    std::string last_error() const;             // for logs: what last went wrong, and where
    client_counters counters() const noexcept;  // summed over all connections, ever

    // Called with true when connected() becomes true and with false when it becomes false.
    // Posted, never called from inside a call; connected() may have changed again by then.
    void on_connection_change(std::function<void(bool connected)> f);
    // Called when a server that gets calls ("host:port": the one server, or a master of the
    // cluster's map) becomes reachable, and when it stops being so (its connection went down, or
    // it left the map), for logs.
    void on_node_change(std::function<void(const std::string& node, bool connected)> f);

    // One command about `key` (every key in args must share its slot); args are copied before
    // return. Completion: void(error_code, reply).
    template <typename CompletionToken>
    auto async_exec(std::string_view key, std::span<const std::string_view> args, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            initiate{this}, token, route(key), detail::command{detail::format_command(args), 0},
            std::shared_ptr<const detail::script_text>());
    }

    template <typename CompletionToken>
    auto async_exec(std::string_view key, std::initializer_list<std::string_view> args, CompletionToken&& token) {
        return async_exec(key, std::span<const std::string_view>(args.begin(), args.size()),
                          std::forward<CompletionToken>(token));
    }

    // EVALSHA (EVAL after NOSCRIPT), routed by keys.front() (a script without keys: by ""); all
    // keys must share one slot.
    template <typename CompletionToken>
    auto async_eval(const script& s, std::span<const std::string_view> keys, std::span<const std::string_view> args,
                    CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, completion_signature>(
            initiate{this}, token, route(keys.empty() ? std::string_view() : keys.front()),
            detail::format_evalsha(s.sha1(), keys, args), s.text());
    }

private:
    struct initiate {
        router* self;
        template <typename Handler>
        void operator()(Handler&& handler, std::uint16_t slot, detail::command cmd,
                        std::shared_ptr<const detail::script_text> text) const {
            self->submit(slot, std::move(cmd), std::move(text), completion_handler(std::forward<Handler>(handler)));
        }
    };

    std::uint16_t route(std::string_view key) const noexcept { return cluster_ ? key_slot(key) : 0; }
    void submit(std::uint16_t slot, detail::command cmd, std::shared_ptr<const detail::script_text> eval_script,
                completion_handler handler);

    boost::asio::io_context& ioc_;
    bool cluster_;
    std::unique_ptr<detail::route_table> table_;
};

}  // namespace sluice::redis
