// GET /status, GET /status.json and the sampler of their figures (detail/status_handler.hpp).
//
// The figures are sampled by core 0 once a second (one script call per queue shard, never per
// request) and kept in shared_state, so the page and /metrics read the same atomics. The drain
// rate is measured here, over the last minute of samples, from the consumer group's counters in
// Redis: it is the rate of the whole system, whichever gateway or worker did the work.
#include "gateway/detail/status_handler.hpp"
#include "gateway/detail/handlers.hpp"

#include "embedded/queue_stats_lua.hpp"
#include "gateway/status_page.hpp"
#include "ledger/statements.hpp"
#include "queue/consumer.hpp"
#include "queue/keys.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>

namespace sluice::gateway::detail {

namespace {

// A day's counter outlives its day by a week: yesterday's figure stays readable with redis-cli.
constexpr std::int64_t day_counter_ttl_seconds = 8 * 86'400;
// The page's own refresh, and Cache-Control: figures change every second, people look every few.
constexpr std::int64_t refresh_seconds = 5;

std::string utc_date(std::chrono::system_clock::time_point now) {
    const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(now)};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()), static_cast<unsigned>(day.month()),
                  static_cast<unsigned>(day.day()));
    return text;
}

std::optional<std::int64_t> known(const std::atomic<std::int64_t>& v) {
    const auto n = v.load(std::memory_order_relaxed);
    if (n < 0) return std::nullopt;
    return n;
}

}  // namespace

const redis::script& queue_stats_script() {
    static const redis::script s{std::string(embedded::queue_stats_lua)};
    return s;
}

void add_queue_figures(const shared_state& shared, process_facts& facts) {
    facts.queue_waiting = shared.queue_waiting.load(std::memory_order_relaxed);
    const auto rate = shared.drain_millis_per_second.load(std::memory_order_relaxed);
    facts.drain_per_second = rate < 0 ? -1.0 : static_cast<double>(rate) / 1000.0;
    facts.submissions_today = shared.submissions_today.load(std::memory_order_relaxed);
    facts.declarations_today = shared.declarations_today.load(std::memory_order_relaxed);
}

void answer_service_status(const core& c, response& out, bool json) {
    status_inputs in;
    in.ready = c.shared.ready();
    in.draining = c.shared.draining.load(std::memory_order_relaxed);
    for (const metrics_shard* s : c.shared.shards)
        in.retry_after_seconds = std::max(in.retry_after_seconds, s->retry_backlog_seconds.value());
    in.queue_waiting = known(c.shared.queue_waiting);
    if (const auto rate = known(c.shared.drain_millis_per_second))
        in.drain_per_second = static_cast<double>(*rate) / 1000.0;
    in.submissions_today = known(c.shared.submissions_today);
    in.declarations_today = known(c.shared.declarations_today);
    in.operator_message = c.state->operator_message;
    in.now = std::chrono::system_clock::now();
    in.refresh_seconds = refresh_seconds;
    const auto view = describe_status(std::move(in));
    if (json) {
        out.body = render_status_json(view);
    } else {
        out.content_type = "text/html; charset=utf-8";
        out.body = render_status_html(view);
    }
    out.add_header("Cache-Control", "no-store");
}

net::awaitable<void> sample_queue_figures(core& c) {
    drain_rate rate;
    const std::string group(queue::consumer_group);
    const std::string ttl = std::to_string(day_counter_ttl_seconds);
    for (;;) {
        c.sample_timer.expires_after(std::chrono::seconds(1));
        auto [ec] = co_await c.sample_timer.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || c.draining) co_return;
        if (c.ledger && c.ledger->connected()) {
            std::vector<ledger::statement> count;
            count.push_back(ledger::declarations_today());
            auto [lec, results] = co_await c.ledger->async_execute(std::move(count), net::as_tuple(net::use_awaitable));
            if (c.draining) co_return;
            if (!lec && results.size() == 1)
                if (const auto n = ledger::declarations_today_count(results.front()))
                    c.shared.declarations_today.store(*n);
        }
        if (!c.redis.connected()) continue;
        const auto today = utc_date(std::chrono::system_clock::now());
        std::int64_t waiting = 0, drained = 0, submitted = 0;
        bool complete = true;
        for (std::uint32_t shard = 0; shard < c.shared.queue_lengths.size(); ++shard) {
            const auto prefix = "sluice:" + queue::hash_tag(shard) + ":stats:";
            const std::string queue = queue::queue_key(shard), counted = prefix + "counted",
                              day = prefix + "day:" + today;
            const std::array<std::string_view, 3> keys{queue, counted, day};  // (GCC 12: no braced lists in coroutines)
            const std::array<std::string_view, 2> args{group, ttl};
            auto [xec, reply] =
                co_await c.redis.async_eval(queue_stats_script(), keys, args, net::as_tuple(net::use_awaitable));
            if (xec || !reply.is_array() || reply.elements.size() != 4 ||
                !std::all_of(reply.elements.begin(), reply.elements.end(),
                             [](const auto& e) { return e.is_integer(); })) {
                complete = false;
                continue;
            }
            c.shared.queue_lengths[shard].store(reply.elements[0].integer);
            if (reply.elements[1].integer < 0) complete = false;  // Redis cannot tell this shard's lag
            waiting += reply.elements[1].integer;
            drained += reply.elements[2].integer;
            submitted += reply.elements[3].integer;
        }
        if (c.draining) co_return;
        if (!complete) continue;  // a partial sum would show a wrong figure: keep the last whole one
        rate.add(clock::now(), drained);
        c.shared.queue_waiting.store(waiting);
        c.shared.submissions_today.store(submitted);
        if (const auto r = rate.per_second()) c.shared.drain_millis_per_second.store(std::llround(*r * 1000.0));
    }
}

namespace handlers {

namespace {

net::awaitable<void> answer_page(exchange x, request_state&) {
    answer_service_status(x.c, x.res, false);
    co_return;
}

net::awaitable<void> answer_json(exchange x, request_state&) {
    answer_service_status(x.c, x.res, true);
    co_return;
}

}  // namespace

const handler service_status{nullptr, &answer_page};
const handler service_status_json{nullptr, &answer_json};

}  // namespace handlers

}  // namespace sluice::gateway::detail
