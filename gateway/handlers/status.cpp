// GET /v1/submissions/{id} (API.md): a practice reads the state of one of its submissions. The
// status call and the record's fields are queue/'s (queue/status.hpp); this answers what it read.
// Another practice's submission and an unknown id get the same 404: nothing leaks.
//
// Once Redis has let the record go (idempotency.ttl_seconds), the answer comes from the system of
// record (PostgreSQL, ledger.retention_days), which holds every submission whose processing ended.
// A commissioner reads its practices' submissions from there only (Redis's status records are the
// practices' own, charged to their rate limits).
#include "gateway/detail/ledger_answer.hpp"
#include "gateway/detail/ledger_documents.hpp"
#include "gateway/detail/practice_answer.hpp"
#include "gateway/detail/status_document.hpp"
#include "gateway/detail/handlers.hpp"
#include "gateway/problem.hpp"
#include "ledger/statements.hpp"
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

// The submission from the system of record, if `who` covers it; else 404 (or 503 when the
// ledger is configured but unreachable: an honest "not now" rather than a false "no such").
net::awaitable<void> answer_from_ledger(const exchange& x, const credentials::credential& who,
                                        std::string_view submission_id) {
    if (!x.c.ledger) co_return make_problem(x.res, problem::not_found, "no submission of this practice has this id");
    if (!ledger_ready(x)) co_return;
    const auto reply = co_await call_ledger(x, ledger::find_submission(submission_id));
    if (reply.ec || reply.results.empty()) co_return answer_ledger_failure(x, reply, "submission read");
    const auto rows = ledger::submission_rows(reply.results.front());
    if (rows.empty() || !covers(x, who, rows.front().practice))
        co_return make_problem(x.res, problem::not_found, "no submission of this practice has this id");
    x.res.body = submission_document(rows.front(), true);
    x.res.status = 200;
}

net::awaitable<void> answer(exchange x, request_state& state) {
    const std::string_view submission_id = state.path_param;
    const auto now = system_clock::now();
    const credentials::credential* who = authenticate(x, now);
    if (who == nullptr) co_return;
    authenticated_headers(x, *who, now);
    if (!permitted(x, *who, {credentials::role::practice, credentials::role::commissioner}, "read submissions"))
        co_return;
    if (who->access == credentials::role::commissioner) co_return co_await answer_from_ledger(x, *who, submission_id);

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
    const auto status = queue::parse_status_reply(reply, submission_id);
    if (ec || !status.valid) {
        unavailable(x, problem::unavailable, "the submission store did not answer in time; retry later");
        co_return;
    }
    const auto rate = queue::ratelimit_state(status.tat_us, x.rt.settings, micros_since_epoch(now));
    const auto& record = status.record;
    if (!record) {  // unknown to Redis: never admitted, or its record expired
        co_await answer_from_ledger(x, *who, submission_id);
        add_rate_limit(x, rate.remaining, rate.reset_after_us);
        co_return;
    }
    if (record->practice != who->practice) {  // another practice's: no leak
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
