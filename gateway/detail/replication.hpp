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
// Lives on the core's thread only. Each waiter holds its own timer through a shared_ptr, so a
// batch never points at a destroyed frame.
#pragma once

#include "gateway/metrics.hpp"
#include "redis/client.hpp"

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
    replication_waiter(redis::client& redis, counter& waits_sent) : redis_(redis), waits_sent_(waits_sent) {}

    // Call after this admission's script answered. Completes when a WAIT sent after that answer
    // has returned.
    boost::asio::awaitable<outcome> wait(std::uint32_t replicas, std::chrono::milliseconds timeout) {
        namespace net = boost::asio;
        if (!next_) next_ = std::make_shared<batch>();
        const auto joined = next_;
        auto timer = std::make_shared<net::steady_timer>(redis_.get_executor(), net::steady_timer::time_point::max());
        joined->waiters.push_back(timer);
        if (!in_flight_) {
            in_flight_ = true;
            net::co_spawn(redis_.get_executor(), flush(replicas, timeout), net::detached);
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

    boost::asio::awaitable<void> flush(std::uint32_t replicas, std::chrono::milliseconds timeout) {
        namespace net = boost::asio;
        const std::string count = std::to_string(replicas);
        const std::string millis = std::to_string(timeout.count());
        while (next_) {
            const auto current = std::move(next_);
            next_.reset();
            waits_sent_.add();
            const std::array<std::string_view, 3> args{"WAIT", count, millis};
            auto [ec, reply] = co_await redis_.async_exec(args, net::as_tuple(net::use_awaitable));
            current->result.ec = ec;
            if (!ec && reply.is_integer()) {
                current->result.acknowledged = reply.integer;
            } else if (!ec) {
                current->result.ec = boost::system::errc::make_error_code(boost::system::errc::protocol_error);
            }
            current->done = true;
            for (const auto& waiter : current->waiters) waiter->cancel();
        }
        in_flight_ = false;
    }

    redis::client& redis_;
    std::shared_ptr<batch> next_;
    bool in_flight_ = false;
    counter& waits_sent_;
};

}  // namespace sluice::gateway::detail
