// Waiting for replicas (durability.replicas > 0) by group commit, one per core.
//
// Redis WAIT numreplicas timeout blocks the connection that sends it until the replicas have
// acknowledged everything that connection wrote before it, or the timeout passes; it answers how
// many replicas acknowledged. Each core has ONE pipelined Redis connection, so a WAIT per
// admission would serialise every admission of the core behind one replica round trip each.
// Instead, an admission whose script has answered joins the next batch; the batch's single WAIT
// is sent after all of their writes (they were answered before they joined, on the same
// connection), so its answer covers every one of them. Admissions that join while a WAIT is out
// form the next batch, sent when it returns. Under load a batch grows to what arrived during one
// replica round trip: one WAIT per round trip instead of one per admission.
//
// On a Redis Cluster (redis+cluster://) each master has its own connection and its own writes, so
// batches are kept per master: an admission joins the batch of the node its key is routed to, and
// that batch's WAIT is routed by the same key, to the master that took the write. With one server
// there is one batch queue, as before. (If a slot moves between the write and the WAIT, the WAIT
// goes to the new master and may come back short: a shortfall, counted and logged like any other.)
//
// Lives on the core's thread only. Each waiter holds its own timer through a shared_ptr, so a
// batch never points at a destroyed frame.
#pragma once

#include "gateway/metrics.hpp"
#include "redis/router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::gateway::detail {

class replication_waiter {
public:
    // What the batch's WAIT answered: the replicas that acknowledged, or an error (connection
    // lost, the client's own timeout).
    struct outcome {
        boost::system::error_code ec;
        long long acknowledged = 0;
    };

    // `waits_sent` counts the WAIT commands (one per batch), for /metrics.
    replication_waiter(redis::router& redis, counter& waits_sent) : redis_(redis), waits_sent_(waits_sent) {}

    // Call after this admission's script answered; `key` is a key the script wrote (it routes the
    // WAIT to the master that took the write). Completes when a WAIT sent on that master's
    // connection after that answer has returned.
    boost::asio::awaitable<outcome> wait(std::string_view key, std::uint32_t replicas,
                                         std::chrono::milliseconds timeout) {
        namespace net = boost::asio;
        lane& l = redis_.is_cluster() ? lanes_[redis_.node_of(key)] : single_;
        if (!l.next) l.next = std::make_shared<batch>();
        const auto joined = l.next;
        auto timer = std::make_shared<net::steady_timer>(redis_.get_executor(), net::steady_timer::time_point::max());
        joined->waiters.push_back(timer);
        if (!l.in_flight) {
            l.in_flight = true;
            net::co_spawn(redis_.get_executor(), flush(l, std::string(key), replicas, timeout), net::detached);
        }
        if (!joined->done) co_await timer->async_wait(net::as_tuple(net::use_awaitable));
        co_return joined->result;
    }

private:
    struct batch {
        std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;
        outcome result;
        bool done = false;
    };

    // The batches of one connection: the one being filled, and whether a WAIT is out.
    struct lane {
        std::shared_ptr<batch> next;
        bool in_flight = false;
    };

    // `l` stays valid: lanes are never erased (a cluster has a handful of masters over a life).
    boost::asio::awaitable<void> flush(lane& l, std::string key, std::uint32_t replicas,
                                       std::chrono::milliseconds timeout) {
        namespace net = boost::asio;
        const std::string count = std::to_string(replicas);
        const std::string millis = std::to_string(timeout.count());
        while (l.next) {
            const auto current = std::move(l.next);
            l.next.reset();
            waits_sent_.add();
            const std::array<std::string_view, 3> args{"WAIT", count, millis};
            auto [ec, reply] = co_await redis_.async_exec(key, args, net::as_tuple(net::use_awaitable));
            current->result.ec = ec;
            if (!ec && reply.is_integer()) {
                current->result.acknowledged = reply.integer;
            } else if (!ec) {
                current->result.ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
            }
            current->done = true;
            for (const auto& waiter : current->waiters) waiter->cancel();
        }
        l.in_flight = false;
    }

    redis::router& redis_;
    lane single_;                                  // one server
    std::unordered_map<std::string, lane> lanes_;  // a cluster: by master ("host:port")
    counter& waits_sent_;
};

}  // namespace sluice::gateway::detail
