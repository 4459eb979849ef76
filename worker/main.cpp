// sluice-worker: calculates queued submissions. `--config FILE` (the gateway's file), `--check-config`,
// `--migrate-only` (apply the ledger's migrations to ledger.url and exit 0). With ledger.url set it
// applies the migrations at start (under their advisory lock) before it takes any entry.
// Prints "sluice-worker metrics on ADDR:PORT" once it serves; SIGTERM/SIGINT drain and exit 0.
#include "catalogue/catalogue.hpp"
#include "config/command_line.hpp"
#include "config/process.hpp"
#include "ledger/client.hpp"
#include "ledger/migrations.hpp"
#include "queue/consumer.hpp"
#include "config/log.hpp"
#include "worker/worker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using sluice::config::log;
using sluice::config::log_level;

// How long start-up waits for PostgreSQL to accept connections (a stack starting at once).
constexpr auto migration_wait = std::chrono::seconds(30);

// Applies the ledger's migrations, retrying while PostgreSQL cannot be reached yet. Throws
// ledger::migration_error for anything else, or once migration_wait has passed.
void migrate(const std::string& url) {
    const auto deadline = std::chrono::steady_clock::now() + migration_wait;
    for (;;) {
        try {
            const auto report = sluice::ledger::apply_migrations(url);
            std::string applied;
            for (int v : report.applied) applied += (applied.empty() ? "" : ", ") + std::to_string(v);
            log(log_level::info,
                "ledger schema at version " + std::to_string(report.version) +
                    (applied.empty() ? " (nothing to apply)" : " (applied " + applied + ")") +
                    (report.unknown.empty() ? "" : "; the database has newer migrations than this build"));
            return;
        } catch (const sluice::ledger::migration_error& e) {
            const bool unreachable = std::string_view(e.what()).find("cannot connect") != std::string_view::npos;
            if (!unreachable || std::chrono::steady_clock::now() >= deadline) throw;
            log(log_level::warning, std::string(e.what()) + "; retrying");
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    namespace config = sluice::config;
    namespace worker = sluice::worker;
    try {
        const auto allocator = config::start_process("sluice-worker");
        // --migrate-only is the worker's own; the rest is the shared command line.
        bool migrate_only = false;
        std::vector<char*> args;
        for (int i = 0; i < argc; ++i) {
            if (i > 0 && std::string_view(argv[i]) == "--migrate-only") {
                migrate_only = true;
            } else {
                args.push_back(argv[i]);
            }
        }
        auto start = config::handle_command_line(static_cast<int>(args.size()), args.data(),
                                                 "calculates queued practice submissions (--migrate-only: apply the "
                                                 "ledger's schema migrations to ledger.url and exit)");
        if (start.exit_code) return *start.exit_code;  // --help, --check-config, or a usage/config error
        config::set_log_format(start.config.log.format);
        if (!start.config.ledger.url.empty()) {
            try {
                (void)sluice::ledger::options_from(start.config);  // ledger.url must parse
            } catch (const config::config_error& e) {
                log(log_level::error, e.what());
                return config::exit_bad_configuration;
            }
            try {
                migrate(start.config.ledger.url);
            } catch (const sluice::ledger::migration_error& e) {
                log(log_level::error, e.what());
                return 1;
            }
        } else if (migrate_only) {
            log(log_level::error, "--migrate-only: ledger.url is empty (no ledger to migrate)");
            return config::exit_bad_configuration;
        } else {
            log(log_level::info, "ledger.url is empty: results are kept in Redis only (idempotency.ttl_seconds)");
        }
        if (migrate_only) return 0;
        log(log_level::info,
            "allocator: " + allocator.name + (allocator.version.empty() ? "" : " " + allocator.version));
        sluice::catalogue::catalogue catalogue;
        try {
            catalogue = sluice::catalogue::load_catalogue(start.config.catalogue.dir);
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
