// The two shapes behind redis::router (router.hpp): one server, or a Redis Cluster. Calls arrive
// with their key's slot already computed (0 for one server).
#pragma once

#include "redis/client.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sluice::redis::detail {

class route_table {
public:
    virtual ~route_table() = default;

    virtual const client_options& options() const noexcept = 0;
    virtual void register_script(const script& s) = 0;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual void poll() = 0;
    virtual bool connected() const noexcept = 0;
    virtual bool connected(std::uint16_t slot) const noexcept = 0;
    virtual std::string node_of(std::uint16_t slot) const = 0;
    virtual std::size_t pending() const noexcept = 0;
    virtual std::string last_error() const = 0;
    virtual client_counters counters() const noexcept = 0;
    virtual void on_connection_change(std::function<void(bool)> f) = 0;
    virtual void on_node_change(std::function<void(const std::string&, bool)> f) = 0;
    virtual void submit(std::uint16_t slot, command cmd, std::shared_ptr<const script_text> eval_script,
                        client::completion_handler handler) = 0;
};

// redis+cluster:// (cluster.cpp).
std::unique_ptr<route_table> make_cluster_table(boost::asio::io_context& ioc, client_options options);

}  // namespace sluice::redis::detail
