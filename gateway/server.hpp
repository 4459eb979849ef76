// The gateway's HTTP server: one io_context per thread, each with its own SO_REUSEPORT
// acceptor, sessions, metric shard and copy of the settings (shared-nothing, DESIGN.md).
//
// Lifecycle: run() binds every acceptor, prints the listening line on stdout, serves until
// SIGTERM/SIGINT, then drains (stops accepting, lets in-flight requests finish within
// shutdown.drain_seconds, answers them with Connection: close, closes idle keep-alives) and
// returns 0. SIGHUP re-reads the configuration and applies what can change at runtime; the rest
// (listen.*, redis.*) needs a restart and a reload that changes it says so in the log.
#pragma once

#include "config/allocator.hpp"
#include "config/config.hpp"

#include <filesystem>
#include <memory>
#include <optional>

namespace sluice::gateway {

struct server_options {
    config::settings settings;
    std::optional<std::filesystem::path> config_file;  // re-read on SIGHUP, with the SLUICE_* environment
    config::allocator_report allocator;
};

class server {
public:
    explicit server(server_options options);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Serves until drained after SIGTERM or SIGINT. Returns the process exit code.
    // Throws std::system_error when the listening address cannot be bound.
    int run();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::gateway
