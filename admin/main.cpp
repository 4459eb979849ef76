// sluice-admin: operators' tools. `dlq list|show|replay|purge` works the dead-letter streams
// (admin/dlq.hpp for the command line and exit codes, queue/dead_letter.hpp for the calls);
// `finalise --period P` makes a period's calculation final in PostgreSQL (admin/finalise.hpp).
//
// One io_context on this thread, one Redis client (dlq) or one PostgreSQL connection (finalise):
// connect (bounded), run the command as a coroutine, stop. Output on stdout, errors on stderr.
#include "admin/dlq.hpp"
#include "admin/finalise.hpp"
#include "catalogue/catalogue.hpp"
#include "ledger/migrations.hpp"
#include "config/command_line.hpp"
#include "config/config.hpp"
#include "config/log.hpp"
#include "config/rfc3339.hpp"
#include "queue/dead_letter.hpp"
#include "redis/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <exception>
#include <filesystem>
#include <iostream>

namespace {

namespace net = boost::asio;
namespace admin = sluice::admin;
namespace queue = sluice::queue;
using sluice::queue::consumer_result;

// Thrown out of the command's coroutine when Redis fails: main() reports it and exits 3.
struct redis_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename T>
T value_or_throw(consumer_result<T> r, std::string_view what) {
    if (!r)
        throw redis_failure(std::string(what) + ": " + r.ec.message() +
                            (r.detail.empty() ? "" : " (" + r.detail + ")"));
    return std::move(r.value);
}

class dlq_run {
public:
    dlq_run(queue::dead_letters& d, const admin::dlq_request& r) : dlq_(d), request_(r) {}

    net::awaitable<int> run() {
        switch (request_.action) {
        case admin::dlq_action::list: co_return co_await list();
        case admin::dlq_action::show: co_return co_await show();
        case admin::dlq_action::replay:
        case admin::dlq_action::purge: co_return co_await change();
        }
        co_return admin::exit_usage;
    }

private:
    std::vector<std::uint32_t> shards() const {
        std::vector<std::uint32_t> out;
        if (request_.shard) {
            out.push_back(*request_.shard);
        } else {
            for (std::uint32_t s = 0; s < dlq_.shards(); ++s) out.push_back(s);
        }
        return out;
    }

    net::awaitable<int> list() {
        std::uint64_t total = 0;
        std::size_t printed = 0;
        std::cout << admin::list_header();
        for (const auto shard : shards()) {
            total += value_or_throw(co_await dlq_.count(shard), "XLEN");
            std::string after;
            while (printed < request_.limit) {
                const auto page = value_or_throw(
                    co_await dlq_.list(shard, std::min<std::size_t>(request_.limit - printed, 500), after), "XRANGE");
                for (const auto& d : page) std::cout << admin::list_line(d);
                printed += page.size();
                if (page.empty() || page.size() < 500) break;
                after = page.back().dead_letter_id;
            }
        }
        std::cout << total << " dead letter(s)"
                  << (request_.shard ? " on shard " + std::to_string(*request_.shard) : "")
                  << (printed < total ? ", " + std::to_string(printed) + " shown (--limit)" : "") << "\n";
        co_return admin::exit_done;
    }

    // The dead letters the references name; a reference that names none is reported.
    net::awaitable<std::vector<queue::dead_letter>> named(bool& missing) {
        std::vector<queue::dead_letter> out;
        for (const auto& text : request_.references) {
            const auto ref = queue::parse_reference(text, dlq_.shards());
            if (!ref) {
                std::cerr << "sluice-admin: \"" << text
                          << "\" is neither a submission id nor SHARD/ID of a shard below " << dlq_.shards()
                          << " (redis.shards)\n";
                missing = true;
                continue;
            }
            auto found = value_or_throw(co_await dlq_.find(*ref), "XRANGE");
            if (found.empty()) {
                std::cerr << "sluice-admin: no dead letter " << text << "\n";
                missing = true;
            }
            for (auto& d : found) out.push_back(std::move(d));
        }
        co_return out;
    }

    net::awaitable<int> show() {
        bool missing = false;
        const auto found = co_await named(missing);
        for (std::size_t i = 0; i < found.size(); ++i) std::cout << (i > 0 ? "\n" : "") << admin::show_text(found[i]);
        co_return missing ? admin::exit_not_done : admin::exit_done;
    }

    net::awaitable<int> change() {
        bool not_done = false;
        std::size_t done = 0, seen = 0;
        auto one = [&](const queue::dead_letter& d) -> net::awaitable<void> {
            ++seen;
            if (request_.action == admin::dlq_action::replay) {
                const auto r = value_or_throw(
                    co_await dlq_.replay(d, request_.dry_run, sluice::config::utc_timestamp()), "replay");
                std::cout << admin::replay_line(d, r, request_.dry_run);
                if (r.outcome == queue::replay_outcome::requeued)
                    ++done;
                else
                    not_done = true;
            } else {
                const bool removed =
                    value_or_throw(co_await dlq_.purge(d.shard, d.dead_letter_id, request_.dry_run), "XDEL");
                std::cout << admin::purge_line(d, removed, request_.dry_run);
                if (removed)
                    ++done;
                else
                    not_done = true;
            }
        };
        if (request_.all) {
            // Page by id: a replay or purge removes what was read, and ids only grow.
            for (const auto shard : shards()) {
                std::string after;
                for (;;) {
                    const auto page = value_or_throw(co_await dlq_.list(shard, 500, after), "XRANGE");
                    for (const auto& d : page) co_await one(d);
                    if (page.size() < 500) break;
                    after = page.back().dead_letter_id;
                }
            }
        } else {
            bool missing = false;
            for (const auto& d : co_await named(missing)) co_await one(d);
            not_done = not_done || missing;
        }
        const bool replay = request_.action == admin::dlq_action::replay;
        std::cout << (request_.dry_run ? "dry run: " : "") << done << " of " << seen << " dead letter(s) "
                  << (replay ? (request_.dry_run ? "would be requeued" : "requeued")
                             : (request_.dry_run ? "would be purged" : "purged"))
                  << "\n";
        co_return not_done ? admin::exit_not_done : admin::exit_done;
    }

    queue::dead_letters& dlq_;
    const admin::dlq_request& request_;
};

// sluice-admin finalise: the ledger's migrations (finalise needs 0002), then the run on one
// connection (the period's advisory lock is a session's), each page bounded by a long timeout.
int run_finalise(const std::string& program, const sluice::config::settings& settings,
                 const admin::finalise_request& request) {
    sluice::catalogue::catalogue catalogue;
    sluice::ledger::client_options options;
    try {
        catalogue = sluice::catalogue::load_catalogue(settings.catalogue.dir);
        options = sluice::ledger::options_from(settings);
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return admin::exit_usage;
    }
    if (catalogue.period(request.period) == nullptr) {
        std::cerr << program << ": no period " << request.period << " in the catalogue (" << catalogue.period_names()
                  << ")\n";
        return admin::exit_usage;
    }
    try {
        sluice::ledger::apply_migrations(options.conninfo);
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return admin::exit_ledger;
    }
    options.pool_size = 1;
    options.timeout = std::max(options.timeout, std::chrono::milliseconds(120'000));  // a page, not a request

    net::io_context ioc(1);
    sluice::ledger::client ledger(ioc, options);
    ledger.start();
    net::steady_timer connect_deadline(ioc);
    connect_deadline.expires_after(std::chrono::seconds(10));
    connect_deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec && !ledger.connected()) ioc.stop();
    });
    while (!ledger.connected() && !ioc.stopped()) ioc.run_one();
    if (!ledger.connected()) {
        std::cerr << program << ": cannot reach PostgreSQL (ledger.url): " << ledger.last_error() << "\n";
        return admin::exit_ledger;
    }
    connect_deadline.cancel();

    int code = admin::exit_ledger;
    admin::finalise_options run{request.period, request.batch};
    net::co_spawn(ioc, admin::finalise(ledger, catalogue, run),
                  [&](std::exception_ptr failure, admin::finalise_report report) {
                      if (failure) {
                          try {
                              std::rethrow_exception(failure);
                          } catch (const admin::finalise_ledger_error& e) {
                              std::cerr << program << ": " << e.what() << "\n";
                              code = admin::exit_ledger;
                          } catch (const admin::finalise_error& e) {
                              std::cerr << program << ": " << e.what() << "\n";
                              code = admin::exit_not_done;
                          } catch (const std::exception& e) {
                              std::cerr << program << ": " << e.what() << "\n";
                              code = admin::exit_ledger;
                          }
                      } else {
                          std::cout << admin::report_text(request.period, report);
                          code = report.failed.empty() ? admin::exit_done : admin::exit_not_done;
                      }
                      ledger.stop();
                  });
    ioc.restart();
    ioc.run();
    std::cout.flush();
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    namespace config = sluice::config;
    std::signal(SIGPIPE, SIG_IGN);
    const std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "sluice-admin";
    admin::admin_command_line args;
    config::settings settings;
    try {
        args = admin::parse_admin_command_line(argc, argv);
        if (args.help) {
            std::cout << admin::admin_usage(program);
            return admin::exit_done;
        }
        settings =
            config::load(args.config_file ? std::optional<std::filesystem::path>(*args.config_file) : std::nullopt,
                         config::process_environment());
        if (args.dlq.shard && *args.dlq.shard >= settings.redis.shards)
            throw config::usage_error("--shard " + std::to_string(*args.dlq.shard) + ": redis.shards is " +
                                      std::to_string(settings.redis.shards) + " (shards 0 to " +
                                      std::to_string(settings.redis.shards - 1) + ")");
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return admin::exit_usage;
    }
    if (args.command == admin::admin_command::finalise) return run_finalise(program, settings, args.finalise);

    try {
        net::io_context ioc(1);
        auto options = sluice::redis::options_from(settings);
        options.timeout =
            std::max(options.timeout, std::chrono::milliseconds(2000));  // an operator's call, not a request's
        sluice::redis::router redis(ioc, options);
        queue::dead_letters dlq(redis, settings.redis.shards);
        redis.start();
        net::steady_timer connect_deadline(ioc);
        connect_deadline.expires_after(options.liveness + std::chrono::seconds(1));
        connect_deadline.async_wait([&](boost::system::error_code ec) {
            if (!ec && !redis.connected()) ioc.stop();
        });
        while (!redis.connected() && !ioc.stopped()) ioc.run_one();
        if (!redis.connected()) {
            std::cerr << program << ": cannot reach Redis at " << settings.redis.url << ": " << redis.last_error()
                      << "\n";
            return admin::exit_redis;
        }
        connect_deadline.cancel();

        int code = admin::exit_redis;
        dlq_run run(dlq, args.dlq);
        net::co_spawn(ioc, run.run(), [&](std::exception_ptr failure, int result) {
            code = result;
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                    std::cerr << program << ": " << e.what() << "\n";
                    code = admin::exit_redis;
                }
            }
            redis.stop();
        });
        ioc.restart();
        ioc.run();
        std::cout.flush();
        return code;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return admin::exit_redis;
    }
}
