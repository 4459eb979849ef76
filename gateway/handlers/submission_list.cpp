// GET /v1/submissions (API.md "v1 additions"): a practice's submissions for a period, newest first,
// with `current`; or, with idempotency_key=K alone, "did my request with key K go through?".
//
// The list is read from the system of record (PostgreSQL), which holds every submission whose
// processing ended; one still queued is in Redis only and is listed once calculated, but it is
// already the current one: a listed submission it supersedes (queue/latest.hpp) is not current.
// Redis unreachable: `current` is as PostgreSQL knows it. The key
// look-up asks PostgreSQL first, then the idempotency record in Redis (a submission admitted a
// moment ago, not calculated yet): 200 with its receipt and status if either knows it, 404 if
// neither does (not admitted: retry with the same key).
#include "gateway/detail/handlers.hpp"
#include "gateway/detail/ledger_answer.hpp"
#include "gateway/detail/ledger_documents.hpp"
#include "gateway/detail/query.hpp"
#include "gateway/detail/request_checks.hpp"
#include "gateway/detail/status_document.hpp"
#include "gateway/problem.hpp"
#include "ledger/statements.hpp"
#include "queue/keys.hpp"
#include "queue/status.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

namespace sluice::gateway::detail::handlers {

using credentials::role;
using std::chrono::system_clock;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The id in the record `key` (the submission's, or a legacy idempotency record), if any.
net::awaitable<std::optional<std::string>> id_in(const exchange& x, const std::string& key) {
    const std::vector<std::string_view> words = {"HGET", key, "id"};
    auto [ec, id] = co_await x.c.redis.async_exec(key, words, use_tuple);
    if (ec || !id.is_string() || id.str.empty()) co_return std::nullopt;
    co_return std::move(id.str);
}

// The submission Redis admitted for (practice, key), if its record is still there: its status
// document. nullopt: unknown to Redis (or Redis unreachable). A key admitted before records were
// merged is found through its legacy idempotency record (queue/keys.hpp).
net::awaitable<std::optional<std::string>> admitted_in_redis(const exchange& x, const std::string& practice,
                                                             std::string_view idempotency_key) {
    const auto shard = queue::shard_of(practice, x.rt.settings.redis.shards);
    const auto key = queue::record_key(shard, practice, idempotency_key);
    if (!x.c.redis.connected(key)) co_return std::nullopt;
    auto id = co_await id_in(x, key);
    if (!id) id = co_await id_in(x, queue::idem_key(shard, practice, idempotency_key));
    if (!id) co_return std::nullopt;
    const auto record = co_await status_in_redis(x, *id, practice);
    if (!record) co_return std::nullopt;
    co_return status_document(*id, *record);
}

net::awaitable<void> answer(exchange x, request_state&) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::practice, role::commissioner}, "read submissions")) co_return;
    const auto q = parse_query(x.req.target(), {"period", "scheme", "limit", "cursor", "idempotency_key", "practice"});
    if (!q.fault.empty()) co_return make_problem(x.res, problem::invalid_query, q.fault);

    // Whose: a practice its own; a commissioner names one of its practices.
    std::string practice = who->practice;
    if (who->access == role::commissioner) {
        const auto named = q.get("practice");
        if (!named)
            co_return make_problem(x.res, problem::invalid_query,
                                   "a commissioner names the practice: practice=CODE (one of its practices)");
        practice = std::string(*named);
    } else if (const auto named = q.get("practice"); named && *named != who->practice) {
        practice = std::string(*named);
    }
    if (!covers(x, *who, practice))
        co_return make_problem(x.res, problem::not_found, "no practice this token covers has this code");

    if (const auto key = q.get("idempotency_key")) {
        if (q.has("period") || q.has("scheme") || q.has("limit") || q.has("cursor"))
            co_return make_problem(x.res, problem::invalid_query,
                                   "idempotency_key is asked alone (with practice=CODE for a commissioner)");
        if (!valid_idempotency_key(*key))
            co_return make_problem(x.res, problem::invalid_query,
                                   "idempotency_key must be 1 to 255 printable ASCII characters");
        if (!ledger_ready(x)) co_return;
        const auto reply = co_await call_ledger(x, ledger::find_submission_by_key(practice, *key));
        if (reply.ec || reply.results.empty()) co_return answer_ledger_failure(x, reply, "submission by key");
        const auto rows = ledger::submission_rows(reply.results.front());
        if (!rows.empty()) {
            x.res.status = 200;
            x.res.body = submission_document(rows.front(), true);
            co_return;
        }
        if (auto document = co_await admitted_in_redis(x, practice, *key)) {
            x.res.status = 200;
            x.res.body = std::move(*document);
            co_return;
        }
        co_return make_problem(x.res, problem::not_found,
                               "no submission was admitted with this Idempotency-Key: it did not go through; send "
                               "it again with the same key");
    }

    ledger::submission_filter filter;
    filter.practice = practice;
    const auto period = q.get("period");
    if (!period || !catalogue::is_period_name(*period))
        co_return make_problem(x.res, problem::invalid_query,
                               "period is required (a financial year such as 2024-25), or idempotency_key alone");
    filter.period = std::string(*period);
    if (const auto scheme = q.get("scheme")) {
        if (scheme->empty() || scheme->size() > 32)
            co_return make_problem(x.res, problem::invalid_query, "scheme must be QOF or an enhanced-service code");
        filter.scheme = std::string(*scheme);
    }
    if (const auto fault = read_page(q, filter.limit, filter.after))
        co_return make_problem(x.res, problem::invalid_query, *fault);
    if (!ledger_ready(x)) co_return;
    const auto reply = co_await call_ledger(x, ledger::list_submissions(filter));
    if (reply.ec || reply.results.empty()) co_return answer_ledger_failure(x, reply, "submission list");
    auto rows = ledger::submission_rows(reply.results.front());
    // The latest of a period and scheme may still be queued (Redis only): then none listed is current.
    if (std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.current; })) {
        if (const auto latest = co_await latest_in_redis(x, practice)) {
            for (auto& r : rows)
                if (r.current && superseded_by(*latest, r.period, r.scheme, r.submission_id)) r.current = false;
        }
    }
    x.res.status = 200;
    x.res.body = list_page(
        "submissions", rows, filter.limit, [](const auto& row) { return submission_document(row, true); },
        [](const auto& last) { return make_cursor(last.received_key, last.submission_id); });
}

}  // namespace

const handler submission_list{nullptr, &answer};

}  // namespace sluice::gateway::detail::handlers
