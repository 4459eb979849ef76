// GET /v1/submissions/{id} (API.md): a practice reads the state of one of its submissions. The
// status call and the record's fields are queue/'s (queue/status.hpp); this answers what it read.
// Another practice's submission and an unknown id get the same 404: nothing leaks.
#include "gateway/detail/practice_answer.hpp"
#include "gateway/detail/status_document.hpp"
#include "gateway/detail/handlers.hpp"
#include "gateway/problem.hpp"
#include "queue/ratelimit_state.hpp"
#include "queue/status.hpp"
#include "redis/slot.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace sluice::gateway::detail::handlers {

using std::chrono::system_clock;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

net::awaitable<void> answer(exchange x, request_state& state) {
    const std::string_view submission_id = state.path_param;
    const auto now = system_clock::now();
    const credentials::credential* who = authenticate(x, now);
    if (who == nullptr) co_return;
    authenticated_headers(x, *who, now);

    const auto call = queue::build_status_call(submission_id, who->practice, x.rt.settings);
    if (!call) {  // not an id this deployment mints: no such submission
        make_problem(x.res, problem::not_found, "no submission of this practice has this id");
        co_await add_current_rate_limit(x, who->practice);
        co_return;
    }
    // On a Redis Cluster the script's two keys (the record, the practice's rate limit) must share a
    // slot: an id of another shard than the practice's is not this practice's submission (ids carry
    // their practice's shard), so it is answered as one without reading it. One server reads it
    // and finds the same.
    if (x.c.redis.is_cluster() && redis::key_slot(call->keys.at(0)) != redis::key_slot(call->keys.at(1))) {
        make_problem(x.res, problem::not_found, "no submission of this practice has this id");
        co_await add_current_rate_limit(x, who->practice);
        co_return;
    }
    if (!x.c.redis.connected(call->keys.at(0))) {
        unavailable(x, problem::unavailable, "the submission store is unreachable; retry later");
        co_return;
    }
    const auto sent = clock::now();
    auto [ec, reply] = co_await x.c.redis.async_eval(queue::status_script(), call->key_views(), {}, use_tuple);
    x.c.metrics.redis_round_trip.observe(clock::now() - sent);
    const auto status = queue::parse_status_reply(reply);
    if (ec || !status.valid) {
        unavailable(x, problem::unavailable, "the submission store did not answer in time; retry later");
        co_return;
    }
    const auto rate = queue::ratelimit_state(status.tat_us, x.rt.settings, micros_since_epoch(now));
    const auto& record = status.record;
    if (!record || record->practice != who->practice) {  // unknown, or another practice's: no leak
        make_problem(x.res, problem::not_found, "no submission of this practice has this id");
        add_rate_limit(x, rate.remaining, rate.reset_after_us);
        co_return;
    }
    x.res.body = status_document(submission_id, *record);
    x.res.status = 200;
    add_rate_limit(x, rate.remaining, rate.reset_after_us);
}

}  // namespace

const handler status{nullptr, &answer};

}  // namespace sluice::gateway::detail::handlers
