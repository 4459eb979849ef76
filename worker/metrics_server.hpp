// The worker's own small HTTP server: GET /metrics (Prometheus text 0.0.4) and 404 for anything
// else. Beast on the worker's io_context; keep-alive connections with a read timeout; stop()
// closes the listener and every connection, so the io_context can run out of work.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sluice::worker {

class metrics_server {
public:
    using render_function = std::function<std::string()>;

    metrics_server(boost::asio::io_context& ioc, render_function render);
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    // Binds address:port (port 0: the kernel picks) and listens. Throws std::runtime_error
    // naming worker.metrics_address/metrics_port when it cannot. Returns the bound endpoint.
    boost::asio::ip::tcp::endpoint listen(const std::string& address, std::uint16_t port);

    void start();  // accepts connections until stop()
    void stop();   // closes the listener and every open connection

    struct state;  // what the connection coroutines share with the server (metrics_server.cpp)

private:
    std::shared_ptr<state> state_;
};

}  // namespace sluice::worker
