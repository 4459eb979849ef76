// sluice-worker: calculates queued submissions. `--config FILE` (the gateway's file), `--check-config`.
// Prints "sluice-worker metrics on ADDR:PORT" once it serves; SIGTERM/SIGINT drain and exit 0.
#include "config/catalogue.hpp"
#include "config/command_line.hpp"
#include "config/process.hpp"
#include "queue/consumer.hpp"
#include "worker/log.hpp"
#include "worker/worker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    namespace config = sluice::config;
    namespace worker = sluice::worker;
    using worker::log;
    using worker::log_level;
    try {
        const auto allocator = config::start_process("sluice-worker");
        auto start = config::handle_command_line(argc, argv, "calculates queued practice submissions");
        if (start.exit_code) return *start.exit_code;  // --help, --check-config, or a usage/config error
        log(log_level::info,
            "allocator: " + allocator.name + (allocator.version.empty() ? "" : " " + allocator.version));
        config::catalogue catalogue;
        try {
            catalogue = config::load_catalogue(start.config.catalogue.dir);
        } catch (const config::config_error& e) {
            log(log_level::error, e.what());
            return config::exit_bad_configuration;
        }
        log(log_level::info, "catalogue periods " + catalogue.period_names());

        boost::asio::io_context ioc(1);
        worker::worker w(ioc, {std::move(start.config), std::move(catalogue), sluice::queue::unique_consumer_name(),
                               allocator.name});
        boost::asio::signal_set stop_signals(ioc, SIGTERM, SIGINT);
        const auto endpoint = w.start();
        std::function<void()> wait_stop = [&] {
            stop_signals.async_wait([&](boost::system::error_code ec, int signal) {
                if (ec) return;
                log(log_level::info, std::string(signal == SIGTERM ? "SIGTERM" : "SIGINT") + " received");
                w.stop();  // a second signal changes nothing: the drain is bounded by Redis timeouts
                wait_stop();
            });
        };
        wait_stop();
        w.on_stopped([&] { stop_signals.cancel(); });
        // Signals are handled from here on: only now may a supervisor or test see the line.
        std::cout << "sluice-worker metrics on " << endpoint.address().to_string() << ":" << endpoint.port()
                  << std::endl;
        ioc.run();
        log(log_level::info, "exiting");
        return 0;
    } catch (const std::exception& e) {
        log(log_level::error, e.what());
        return 1;
    }
}
