// The worker process's loops (see worker.hpp). Read top to bottom: the life of one held entry is
// handle(); the loops that deliver entries are read_loop() and reclaim_loop(); stop() and drain()
// end it all.
#include "worker/worker.hpp"

#include "config/log.hpp"
#include "config/rfc3339.hpp"
#include "ledger/client.hpp"
#include "ledger/error.hpp"
#include "ledger/protection.hpp"
#include "ledger/results.hpp"
#include "ledger/retention.hpp"
#include "queue/consumer.hpp"
#include "queue/keys.hpp"
#include "queue/submission.hpp"
#include "redis/router.hpp"
#include "worker/calculation.hpp"
#include "worker/metrics_server.hpp"
#include "worker/rounding.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <optional>

namespace sluice::worker {

namespace net = boost::asio;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Protocol-free tuning of the loops (not operator keys: none changes what is computed).
constexpr std::chrono::milliseconds read_block{1000};  // XREADGROUP BLOCK; also the SIGTERM latency
constexpr std::chrono::milliseconds reclaim_max_interval{5000};
constexpr std::chrono::milliseconds reclaim_min_interval{10};
constexpr std::chrono::milliseconds trim_interval{5000};
constexpr std::chrono::milliseconds sample_interval{1000};
constexpr std::chrono::milliseconds retry_pause{100};          // after a failed Redis call, before the next
constexpr std::chrono::milliseconds error_log_interval{1000};  // Redis errors: one log line per second
constexpr std::size_t max_reason_bytes = 1000;                 // a dead letter's reason stays readable
constexpr std::size_t reported_faults = 5;
// A result PostgreSQL could not take (down, slow, restarting) is held and written again after
// this pause, doubling up to the cap; meanwhile the entry stays unacknowledged.
constexpr std::chrono::milliseconds ledger_retry_initial{50};
constexpr std::chrono::milliseconds ledger_retry_max{1000};
constexpr std::chrono::milliseconds purge_interval{std::chrono::hours(1)};

// Why a body cannot be calculated, in words an operator reading the dead-letter stream can use.
std::string describe_fault(const queue::submission_fault& fault) {
    if (fault.kind == queue::fault_kind::malformed_json) return "malformed JSON: " + fault.detail;
    std::string reason = "invalid submission:";
    for (std::size_t i = 0; i < fault.errors.size() && i < reported_faults; ++i) {
        reason += (i == 0 ? " " : "; ");
        reason += (fault.errors[i].pointer.empty() ? std::string("(body)") : fault.errors[i].pointer) + ": " +
                  fault.errors[i].detail;
    }
    if (fault.errors.size() > reported_faults)
        reason += " (and " + std::to_string(fault.errors.size() - reported_faults) + " more)";
    return reason;
}

std::string clipped(std::string reason) {
    if (reason.size() > max_reason_bytes) {
        reason.resize(max_reason_bytes);
        reason += "...";
    }
    return reason;
}

}  // namespace

struct worker::impl : std::enable_shared_from_this<impl> {
    impl(net::io_context& c, worker_options o)
        : ioc(c),
          settings(std::move(o.settings)),
          catalogue(std::move(o.catalogue)),
          allocator(std::move(o.allocator)),
          commands(ioc, redis::options_from(settings)),
          blocking(ioc, blocking_options(settings)),
          consumer(commands, blocking, reading_options(settings, std::move(o.consumer_name))),
          metrics(settings.redis.shards),
          server(ioc, [this] { return render(); }),
          changed(ioc, clock::time_point::max()),
          read_timer(ioc),
          reclaim_timer(ioc),
          trim_timer(ioc),
          sample_timer(ioc),
          purge_timer(ioc) {
        if (!settings.ledger.url.empty()) {
            ledger_client = std::make_unique<ledger::client>(ioc, ledger::options_from(settings));
            recorder = std::make_unique<ledger::result_recorder>(*ledger_client);
        }
    }

    static redis::client_options blocking_options(const config::settings& s) {
        auto o = redis::options_from(s);
        o.timeout = read_block + std::chrono::milliseconds(s.redis.timeout_ms);  // BLOCK holds the connection
        return o;
    }
    static queue::consumer_options reading_options(const config::settings& s, std::string name) {
        auto o = queue::consumer_options_from(s, std::move(name));
        o.block = read_block;
        return o;
    }

    net::io_context& ioc;
    config::settings settings;
    catalogue::catalogue catalogue;
    std::string allocator;
    redis::router commands;  // redis+cluster://: one connection per master, routed by shard
    redis::router blocking;
    queue::consumer consumer;
    worker_metrics metrics;
    metrics_server server;

    net::steady_timer changed;  // a broadcast: cancel() wakes every coroutine waiting for a change
    net::steady_timer read_timer, reclaim_timer, trim_timer, sample_timer, purge_timer;
    // The system of record (ledger.url set): results are written there before they are acked.
    std::unique_ptr<ledger::client> ledger_client;
    std::unique_ptr<ledger::result_recorder> recorder;
    bool stopping = false;
    std::size_t in_flight = 0;                // held entries being handled (<= concurrency)
    std::deque<queue::queued_entry> waiting;  // delivered beyond the free slots (< shards of them)
    int delivering_loops = 0;                 // read_loop and reclaim_loop still running
    clock::time_point last_error_log{};
    std::uint64_t unlogged_errors = 0;
    std::function<void()> stopped_callback;

    std::uint32_t concurrency() const { return settings.worker.concurrency; }
    bool slots_free() const { return in_flight < concurrency() && waiting.empty(); }

    std::string render() const {
        return render_prometheus(metrics, {in_flight + waiting.size(), concurrency(), stopping, allocator});
    }

    void notify() { changed.cancel(); }

    net::awaitable<void> wait_for_change() { co_await changed.async_wait(use_tuple); }

    // Sleeps; false once stopping (stop() cancels the timer).
    net::awaitable<bool> pause(net::steady_timer& timer, std::chrono::milliseconds d) {
        if (stopping) co_return false;
        timer.expires_after(d);
        co_await timer.async_wait(use_tuple);
        co_return !stopping;
    }

    // Entries are taken only while they can be finished: with a ledger, only while PostgreSQL is
    // reachable. Otherwise reads would fill the slots with entries that cannot be acked, and
    // reclaims would count deliveries (attempts) against entries that never had a chance.
    bool can_finish() const { return !ledger_client || ledger_client->connected(); }

    template <typename T>
    void redis_failed(std::string_view what, const queue::consumer_result<T>& r) {
        if (stopping && r.ec == redis::error::stopped) return;  // the end of our own drain
        metrics.redis_errors.add();
        rate_limited_warning(std::string(what) + ": " + r.ec.message() +
                             (r.detail.empty() ? "" : " (" + r.detail + ")"));
    }

    void ledger_failed(std::string_view what, boost::system::error_code ec, const ledger::record_answer& answer) {
        metrics.ledger_errors.add();
        std::string line = std::string(what) + ": " + ec.message();
        if (!answer.message.empty()) line += " (" + answer.sqlstate + " " + answer.message + ")";
        if (ec != ledger::error::server_error && ledger_client && !ledger_client->last_error().empty())
            line += " (" + ledger_client->last_error() + ")";
        rate_limited_warning(line);
    }

    void rate_limited_warning(std::string line) {
        const auto now = clock::now();
        if (now - last_error_log < error_log_interval) {
            ++unlogged_errors;
            return;
        }
        if (unlogged_errors > 0) line += "; " + std::to_string(unlogged_errors) + " more error(s) not logged";
        config::log(config::log_level::warning, line);
        last_error_log = now;
        unlogged_errors = 0;
    }

    // --- one held entry ---------------------------------------------------------------------------

    void dispatch(queue::queued_entry entry) {
        if (in_flight >= concurrency()) {
            waiting.push_back(std::move(entry));
            return;
        }
        ++in_flight;
        net::co_spawn(ioc, handle(std::move(entry)), [self = shared_from_this()](std::exception_ptr failure) {
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                    config::log(config::log_level::error,
                                std::string("handling an entry failed: ") + e.what() +
                                    "; it stays pending and is reclaimed after worker.claim_idle_ms");
                } catch (...) {
                    config::log(config::log_level::error, "handling an entry failed with an unknown exception");
                }
            }
            self->handled_one();
        });
    }

    void handled_one() {
        --in_flight;
        while (!waiting.empty() && in_flight < concurrency()) {
            auto next = std::move(waiting.front());
            waiting.pop_front();
            dispatch(std::move(next));
        }
        notify();
    }

    // Parse and calculate: the JSON result (with what the ledger keeps beside it), or why there
    // is none (the attempt fails). period and scheme are set whenever the body parses.
    struct outcome {
        std::string result_json;
        std::string failure;
        queue::failure_kind kind = queue::failure_kind::retryable;  // of the failure
        std::string period, scheme;
        std::string points, payment_gbp;  // exact decimals, as in result_json
        std::uint64_t list_size = 0;      // the inputs the ledger keeps for finalising (results.hpp)
        std::vector<std::pair<std::string, std::uint64_t>> registers;
    };
    // A body parsed and checked against its entry and the catalogue, ready to calculate (or the
    // failure that keeps it from being calculated, in out).
    struct parsed_entry {
        outcome out;
        std::optional<queue::submission> submission;
        const catalogue::period_catalogue* period = nullptr;
    };
    parsed_entry parse_entry(const queue::queued_entry& entry) const {
        auto parsed = queue::parse_submission(entry.body, catalogue);
        parsed_entry p;
        auto& out = p.out;
        if (!parsed) {
            out.failure = describe_fault(parsed.fault());
            // Bytes that are not JSON stay so whatever the catalogue: no retry can mend them.
            if (parsed.fault().kind == queue::fault_kind::malformed_json) out.kind = queue::failure_kind::permanent;
            return p;
        }
        auto submission = std::move(parsed).value();
        out.period = submission.period;
        out.scheme = submission.scheme;
        if (submission.practice != entry.practice) {
            out.failure =
                "the body's practice " + submission.practice + " is not the entry's practice " + entry.practice;
            out.kind = queue::failure_kind::permanent;
            return p;
        }
        p.period = catalogue.period(submission.period);
        if (p.period == nullptr) {
            out.failure = "unknown period " + submission.period + " (this worker's catalogue has " +
                          catalogue.period_names() + ")";
            return p;
        }
        p.submission = std::move(submission);
        return p;
    }

    // R7: a QOF submission of a period with income protection needs the practice's record of the
    // protection period, read from the ledger (without a ledger: decision 8).
    const std::optional<std::string>& protection_period(const parsed_entry& p) const {
        static const std::optional<std::string> none;
        if (!ledger_client || !p.submission || p.submission->scheme != catalogue::qof_scheme) return none;
        return p.period->income_protection_period();
    }

    void calculate_parsed(parsed_entry& p, const calculation_inputs& inputs) const {
        auto& out = p.out;
        try {
            const auto r = calculate(*p.submission, *p.period, inputs);
            out.result_json = result_json(r);
            out.points = fixed_decimal(r.points_hundredths, 2);
            out.payment_gbp = fixed_decimal(r.payment_pence, 2);
            out.list_size = p.submission->list_size;
            for (const auto& entry : p.submission->registers) out.registers.emplace_back(entry.condition, entry.size);
        } catch (const std::exception& e) {
            out.failure = std::string("the calculation failed: ") + e.what();
        }
    }

    // Reads the practice's protected points (ledger/protection.hpp), holding the entry through
    // any outage exactly as write_to_ledger does: a calculation never goes ahead without them.
    // Values: read (with the record); stopping (the entry stays pending for a reclaim); or
    // refused, with the reason (the attempt fails, retried like any other failure).
    enum class protection_read { read, stopping, refused };
    struct protection_answer {
        protection_read outcome = protection_read::read;
        calculation_inputs inputs;
        std::string reason;
    };
    net::awaitable<protection_answer> read_protection(const std::string& practice, const std::string& period) {
        auto pause_for = ledger_retry_initial;
        net::steady_timer retry(ioc);
        for (;;) {
            auto [ec, rows] =
                co_await ledger_client->async_query(ledger::protection_lookup(practice, period), use_tuple);
            if (!ec) {
                const auto found = ledger::protection_record_of(rows);
                if (!found) {
                    metrics.ledger_errors.add();
                    co_return protection_answer{protection_read::refused,
                                                {},
                                                "the ledger's " + period + " record of " + practice +
                                                    " could not be read (a result row of an unexpected shape)"};
                }
                co_return protection_answer{protection_read::read, protection_inputs(*found), {}};
            }
            ledger::record_answer refusal;
            refusal.sqlstate = rows.sqlstate;
            refusal.message = rows.message;
            ledger_failed("reading the " + period + " points of " + practice + " from PostgreSQL (income protection)",
                          ec, refusal);
            if (!ledger::is_transient(ec, rows.sqlstate)) {
                co_return protection_answer{
                    protection_read::refused,
                    {},
                    "PostgreSQL refused the income-protection read: " + rows.sqlstate + " " + rows.message};
            }
            if (stopping) co_return protection_answer{protection_read::stopping, {}, {}};
            retry.expires_after(pause_for);
            co_await retry.async_wait(use_tuple);
            pause_for = std::min(pause_for * 2, ledger_retry_max);
        }
    }

    ledger::submission_record ledger_record(const queue::queued_entry& entry, const outcome& calculated,
                                            std::uint64_t deliveries, std::string calculated_at) const {
        ledger::submission_record r;
        r.submission_id = entry.submission_id;
        r.practice = entry.practice;
        r.period = calculated.period;
        r.scheme = calculated.scheme;
        if (!entry.idempotency_key.empty()) r.idempotency_key = entry.idempotency_key;
        r.received_at = entry.received_at;
        r.content_sha256 = entry.sha256;
        r.attempts = static_cast<std::uint32_t>(std::min<std::uint64_t>(deliveries, 1'000'000));
        r.calculated_at = std::move(calculated_at);
        if (calculated.failure.empty()) {
            r.result_json = calculated.result_json;
            r.points = calculated.points;
            r.payment_gbp = calculated.payment_gbp;
            r.body = entry.body;
            r.list_size = calculated.list_size;
            r.registers = calculated.registers;
        } else {
            r.error = clipped(calculated.failure);
        }
        return r;
    }

    // Writes the record to PostgreSQL, holding the entry (unacknowledged) through any outage:
    // PostgreSQL down or slow means try again after a pause, for as long as it takes, and the
    // queue simply waits. Values: written; stopping (the entry stays pending for a reclaim); or
    // refused by PostgreSQL, with its reason (the attempt fails like a poison entry).
    enum class ledger_write { written, stopping, refused };
    net::awaitable<std::pair<ledger_write, std::string>> write_to_ledger(ledger::submission_record record) {
        auto pause_for = ledger_retry_initial;
        net::steady_timer retry(ioc);
        for (;;) {
            auto [ec, answer] = co_await recorder->async_record(record, use_tuple);
            if (!ec) {
                if (answer.outcome == ledger::record_outcome::recorded) metrics.ledger_recorded.add();
                co_return std::pair{ledger_write::written, std::string()};
            }
            ledger_failed("writing submission " + record.submission_id + " to PostgreSQL", ec, answer);
            if (!ledger::is_transient(ec, answer.sqlstate)) {
                co_return std::pair{ledger_write::refused,
                                    "PostgreSQL refused the record: " + answer.sqlstate + " " + answer.message};
            }
            if (stopping) co_return std::pair{ledger_write::stopping, std::string()};
            retry.expires_after(pause_for);
            co_await retry.async_wait(use_tuple);
            pause_for = std::min(pause_for * 2, ledger_retry_max);
        }
    }

    net::awaitable<void> handle(queue::queued_entry entry) {
        const auto started = co_await consumer.start(entry);
        if (!started) {  // no answer: the entry stays pending and is reclaimed after claim_idle_ms
            redis_failed("starting entry " + entry.entry_id, started);
            co_return;
        }
        const auto shard = std::to_string(entry.shard);
        switch (started.value.outcome) {
        case queue::start_outcome::not_pending:
        case queue::start_outcome::not_owner:
        case queue::start_outcome::already_calculated:
        case queue::start_outcome::already_failed: co_return;
        case queue::start_outcome::invalid_entry:
            co_await fail(entry,
                          entry.deleted ? "the stream entry was deleted before it was calculated"
                                        : "the stream entry has no valid submission id of shard " + shard + " (id \"" +
                                              entry.submission_id.substr(0, 80) + "\")",
                          queue::failure_kind::permanent);
            co_return;
        case queue::start_outcome::missing_record:
            co_await fail(entry,
                          "no status record " + queue::submission_key(entry.shard, entry.submission_id) +
                              " (it expired, or was never written)",
                          queue::failure_kind::permanent);
            co_return;
        case queue::start_outcome::exhausted:
            co_await fail(entry, "gave up after " + std::to_string(started.value.deliveries) +
                                     " deliveries without a result (worker.max_attempts = " +
                                     std::to_string(settings.worker.max_attempts) +
                                     "): the workers holding it died or timed out");
            co_return;
        case queue::start_outcome::started: break;
        }

        auto began = clock::now();
        auto parsed = parse_entry(entry);
        auto calculation_time = clock::now() - began;
        if (parsed.submission) {
            calculation_inputs inputs;
            if (const auto protected_at = protection_period(parsed)) {  // R7: before calculating, never without
                auto read = co_await read_protection(entry.practice, *protected_at);
                if (read.outcome == protection_read::stopping) co_return;  // unacknowledged: reclaimed later
                if (read.outcome == protection_read::refused) parsed.out.failure = std::move(read.reason);
                inputs = std::move(read.inputs);
            }
            if (parsed.out.failure.empty()) {
                began = clock::now();
                calculate_parsed(parsed, inputs);
                calculation_time += clock::now() - began;
            }
        }
        metrics.calculation.observe(calculation_time);
        auto calculated = std::move(parsed.out);
        const auto calculated_at = config::utc_timestamp();
        if (!calculated.failure.empty()) {
            // The last attempt: its failure goes to the system of record before the dead letter.
            const bool last = calculated.kind == queue::failure_kind::permanent ||
                              started.value.deliveries >= settings.worker.max_attempts;
            if (recorder && last) {
                const auto [written, _] =
                    co_await write_to_ledger(ledger_record(entry, calculated, started.value.deliveries, calculated_at));
                if (written == ledger_write::stopping) co_return;
            }
            co_await fail(entry, std::move(calculated.failure), calculated.kind);
            co_return;
        }
        if (recorder) {  // the system of record first; only then may the entry be acknowledged
            auto [written, refusal] =
                co_await write_to_ledger(ledger_record(entry, calculated, started.value.deliveries, calculated_at));
            if (written == ledger_write::stopping) co_return;  // unacknowledged: reclaimed later
            if (written == ledger_write::refused) {
                co_await fail(entry, std::move(refusal));
                co_return;
            }
        }
        const auto finished = co_await consumer.finish(entry, calculated.result_json, calculated_at);
        if (!finished) {
            redis_failed("finishing entry " + entry.entry_id, finished);
            co_return;
        }
        switch (finished.value) {
        case queue::finish_outcome::calculated: metrics.calculated.add(); break;
        case queue::finish_outcome::duplicate: metrics.duplicates.add(); break;
        case queue::finish_outcome::already_failed: break;
        case queue::finish_outcome::missing_record:
            co_await fail(entry, "the status record disappeared before the result could be written",
                          queue::failure_kind::permanent);
            break;
        }
    }

    net::awaitable<void> fail(const queue::queued_entry& entry, std::string reason,
                              queue::failure_kind kind = queue::failure_kind::retryable) {
        reason = clipped(std::move(reason));
        const auto failed = co_await consumer.fail(entry, reason, config::utc_timestamp(), kind);
        if (!failed) {
            redis_failed("failing entry " + entry.entry_id, failed);
            co_return;
        }
        const auto who = "submission " + (entry.submission_id.empty() ? std::string("?") : entry.submission_id) +
                         " (shard " + std::to_string(entry.shard) + ", entry " + entry.entry_id + ")";
        switch (failed.value.outcome) {
        case queue::fail_outcome::will_retry:
            metrics.failed.add();
            config::log(config::log_level::warning, "attempt " + std::to_string(failed.value.deliveries) + " of " +
                                                        std::to_string(settings.worker.max_attempts) + " failed for " +
                                                        who + ": " + reason + "; retried after worker.claim_idle_ms");
            break;
        case queue::fail_outcome::dead_lettered:
            metrics.failed.add();
            metrics.dead_lettered.add();
            config::log(config::log_level::error,
                        who + " moved to " + queue::dead_letter_key(entry.shard) + " after " +
                            std::to_string(failed.value.deliveries) + " deliveries" +
                            (kind == queue::failure_kind::permanent ? " (a failure no retry can mend)" : "") + ": " +
                            reason);
            break;
        case queue::fail_outcome::not_pending: break;
        }
    }

    // --- the loops that deliver entries ------------------------------------------------------------

    // XGROUP CREATE on every shard, until it succeeds or the worker stops.
    net::awaitable<bool> ensure_groups() {
        while (!stopping) {
            if (commands.connected()) {
                const auto created = co_await consumer.create_groups();
                if (created) {
                    if (created.value > 0)
                        config::log(config::log_level::info, "created consumer group " + consumer.options().group +
                                                                 " on " + std::to_string(created.value) + " shard(s)");
                    co_return true;
                }
                redis_failed("creating the consumer groups", created);
            }
            if (!co_await pause(read_timer, retry_pause)) break;
        }
        co_return false;
    }

    net::awaitable<void> read_loop() {
        bool groups = co_await ensure_groups();
        while (groups && !stopping) {
            if (!slots_free()) {
                co_await wait_for_change();
                continue;
            }
            if (!blocking.connected() || !can_finish()) {
                if (!co_await pause(read_timer, retry_pause)) break;
                continue;
            }
            // COUNT is per stream: ask each shard for its share of the free slots (at least 1), so
            // one read delivers at most free + shards - 1 entries; the excess waits in `waiting`.
            const std::size_t free = concurrency() - in_flight;
            const std::size_t per_shard = std::max<std::size_t>(1, free / settings.redis.shards);
            auto delivered = co_await consumer.read(per_shard);
            if (!delivered) {
                if (delivered.ec == queue::consumer_error::no_group) {
                    config::log(config::log_level::warning,
                                "consumer group missing (" + delivered.detail + "); creating it again");
                    groups = co_await ensure_groups();
                } else {
                    redis_failed("reading the queue", delivered);
                    if (!co_await pause(read_timer, retry_pause)) break;
                }
                continue;
            }
            for (auto& entry : delivered.value) dispatch(std::move(entry));  // even when stopping: we hold them
        }
        loop_ended();
    }

    std::chrono::milliseconds reclaim_interval() const {
        return std::clamp(std::chrono::milliseconds(settings.worker.claim_idle_ms / 2), reclaim_min_interval,
                          reclaim_max_interval);
    }

    net::awaitable<void> reclaim_loop() {
        while (co_await pause(reclaim_timer, reclaim_interval())) {
            if (!commands.connected() || !can_finish()) continue;
            for (std::uint32_t shard = 0; shard < settings.redis.shards && !stopping; ++shard) {
                std::string cursor = "0-0";
                do {
                    while (!stopping && !slots_free()) co_await wait_for_change();
                    if (stopping) break;
                    auto page = co_await consumer.claim_page(shard, cursor, concurrency() - in_flight);
                    if (!page) {
                        if (page.ec != queue::consumer_error::no_group) redis_failed("reclaiming idle entries", page);
                        break;
                    }
                    metrics.reclaimed.add(page.value.entries.size());
                    for (auto& entry : page.value.entries) dispatch(std::move(entry));
                    cursor = std::move(page.value.next_cursor);
                } while (cursor != "0-0");
            }
        }
        loop_ended();
    }

    void loop_ended() {
        --delivering_loops;
        notify();
    }

    // --- housekeeping ------------------------------------------------------------------------------

    net::awaitable<void> trim_loop() {
        while (co_await pause(trim_timer, trim_interval)) {
            if (!commands.connected()) continue;
            for (std::uint32_t shard = 0; shard < settings.redis.shards && !stopping; ++shard) {
                const auto trimmed = co_await consumer.trim(shard);
                if (!trimmed) {
                    redis_failed("trimming " + consumer.queue_key(shard), trimmed);
                    break;
                }
                metrics.trimmed.add(trimmed.value.removed);
            }
        }
    }

    net::awaitable<void> sample_loop() {
        while (co_await pause(sample_timer, sample_interval)) {
            if (!commands.connected()) continue;
            for (std::uint32_t shard = 0; shard < settings.redis.shards && !stopping; ++shard) {
                const auto lag = co_await consumer.lag(shard);
                auto& sampled = metrics.lag[shard];
                if (!lag) {
                    sampled = {};
                    if (lag.ec != queue::consumer_error::no_group) redis_failed("sampling the queue lag", lag);
                    continue;
                }
                sampled.pending = lag.value.pending;
                sampled.undelivered = lag.value.undelivered;
            }
        }
    }

    // ledger.retention_days: hourly, in short transactions until nothing more is due.
    net::awaitable<void> purge_loop() {
        while (co_await pause(purge_timer, purge_interval)) {
            while (!stopping && ledger_client->connected()) {
                auto [ec, results] = co_await ledger_client->async_execute(
                    ledger::purge_statements(settings.ledger.retention_days), use_tuple);
                if (ec) {
                    metrics.ledger_errors.add();
                    rate_limited_warning("purging the ledger (ledger.retention_days): " + ec.message());
                    break;
                }
                const auto purged = ledger::purged(results);
                metrics.ledger_purged.add(purged.total());
                if (purged.total() == 0) break;
                config::log(config::log_level::info,
                            "ledger retention: removed " + std::to_string(purged.submissions) + " submission(s), " +
                                std::to_string(purged.declarations) + " declaration(s), " +
                                std::to_string(purged.idempotency_records) + " idempotency record(s)");
            }
        }
    }

    // --- start and stop ----------------------------------------------------------------------------

    net::ip::tcp::endpoint start() {
        const auto endpoint = server.listen(settings.worker.metrics_address, settings.worker.metrics_port);
        consumer.register_scripts(commands);
        for (auto* c : {&commands, &blocking}) {
            const std::string role = c == &commands ? "commands" : "blocking reads";
            c->on_connection_change([this, c, role](bool up) {
                if (!up && stopping) return;  // our own stop() at the end of the drain
                config::log(
                    up ? config::log_level::info : config::log_level::warning,
                    "Redis (" + role + ") " + (up ? std::string("connected") : "connection lost: " + c->last_error()));
            });
            if (c->is_cluster()) {
                c->on_node_change([this, role](const std::string& node, bool up) {
                    if (!up && stopping) return;
                    config::log(
                        up ? config::log_level::info : config::log_level::warning,
                        "Redis Cluster node " + node + " (" + role + ") " + (up ? "connected" : "connection lost"));
                });
            }
            c->start();
        }
        if (ledger_client) {
            ledger_client->on_connection_change([this](std::size_t ready) {
                if (ready == 0 && stopping) return;
                config::log(
                    ready > 0 ? config::log_level::info : config::log_level::warning,
                    "PostgreSQL: " + std::to_string(ready) + " of " + std::to_string(settings.ledger.pool_size) +
                        " connection(s) ready" +
                        (ready == 0 ? " (" + ledger_client->last_error() + "); holding results, not acknowledging"
                                    : std::string()));
            });
            ledger_client->start();
        }
        server.start();
        auto self = shared_from_this();
        delivering_loops = 2;
        net::co_spawn(ioc, read_loop(), [self](std::exception_ptr) {});
        net::co_spawn(ioc, reclaim_loop(), [self](std::exception_ptr) {});
        net::co_spawn(ioc, trim_loop(), [self](std::exception_ptr) {});
        net::co_spawn(ioc, sample_loop(), [self](std::exception_ptr) {});
        if (ledger_client) net::co_spawn(ioc, purge_loop(), [self](std::exception_ptr) {});
        config::log(config::log_level::info, "consumer " + consumer.options().name + " in group " +
                                                 consumer.options().group + " on " +
                                                 std::to_string(settings.redis.shards) + " shard(s); concurrency " +
                                                 std::to_string(concurrency()) + ", claim_idle_ms " +
                                                 std::to_string(settings.worker.claim_idle_ms) + ", max_attempts " +
                                                 std::to_string(settings.worker.max_attempts));
        return endpoint;
    }

    void stop() {
        if (stopping) return;
        stopping = true;
        config::log(config::log_level::info, "draining: no new reads; finishing the " +
                                                 std::to_string(in_flight + waiting.size()) + " submission(s) held");
        for (auto* t : {&read_timer, &reclaim_timer, &trim_timer, &sample_timer, &purge_timer}) t->cancel();
        notify();
        net::co_spawn(ioc, drain(), [self = shared_from_this()](std::exception_ptr) {});
    }

    net::awaitable<void> drain() {
        while (delivering_loops > 0 || in_flight > 0 || !waiting.empty()) co_await wait_for_change();
        std::uint32_t still_holding = 0;
        if (commands.connected()) {
            for (std::uint32_t shard = 0; shard < settings.redis.shards; ++shard) {
                const auto left = co_await consumer.leave(shard);
                if (left && !left.value) ++still_holding;
            }
        }
        config::log(config::log_level::info,
                    "drained: " + std::to_string(metrics.calculated.value()) + " calculated, " +
                        std::to_string(metrics.failed.value()) + " failed attempt(s), " +
                        std::to_string(metrics.dead_lettered.value()) + " dead-lettered" +
                        (still_holding > 0 ? "; failed attempts held on " + std::to_string(still_holding) +
                                                 " shard(s) are left for reclaim"
                                           : std::string()));
        server.stop();
        commands.stop();
        blocking.stop();
        if (ledger_client) ledger_client->stop();
        if (stopped_callback) stopped_callback();
    }
};

worker::worker(net::io_context& ioc, worker_options options) : impl_(std::make_shared<impl>(ioc, std::move(options))) {}

worker::~worker() = default;

net::ip::tcp::endpoint worker::start() { return impl_->start(); }
void worker::stop() { impl_->stop(); }
void worker::on_stopped(std::function<void()> f) { impl_->stopped_callback = std::move(f); }
const worker_metrics& worker::metrics() const noexcept { return impl_->metrics; }
std::size_t worker::in_flight() const noexcept { return impl_->in_flight + impl_->waiting.size(); }

calculation_inputs protection_inputs(const ledger::protection_record& found) {
    calculation_inputs inputs;
    auto& record = inputs.protection.emplace();
    record.found = found.found;
    record.submission_id = found.submission_id;
    record.points.reserve(found.points.size());
    for (const auto& entry : found.points) record.points.push_back({entry.code, entry.hundredths});
    return inputs;
}

}  // namespace sluice::worker
