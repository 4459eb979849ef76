// Roles and ledger calls of the sign-off endpoints (see ledger_answer.hpp).
#include "gateway/detail/ledger_answer.hpp"

#include "config/log.hpp"
#include "gateway/detail/practice_answer.hpp"
#include "ledger/error.hpp"
#include "ratelimit/retry_after.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace sluice::gateway::detail {

net::awaitable<const credentials::credential*> authenticate_for_sign_off(const exchange& x,
                                                                         std::chrono::system_clock::time_point now) {
    const credentials::credential* who = authenticate(x, now);
    if (who == nullptr) co_return nullptr;
    authenticated_headers(x, *who, now);
    co_await add_current_rate_limit(x, who->practice);
    co_return who;
}

bool permitted(const exchange& x, const credentials::credential& who, std::initializer_list<credentials::role> roles,
               std::string_view action) {
    if (std::find(roles.begin(), roles.end(), who.access) != roles.end()) return true;
    make_problem(x.res, problem::not_permitted,
                 "a " + std::string(credentials::role_name(who.access)) + " token may not " + std::string(action));
    return false;
}

bool covers(const exchange& x, const credentials::credential& who, std::string_view practice) {
    switch (who.access) {
    case credentials::role::practice: return who.practice == practice;
    case credentials::role::commissioner: return x.rt.organisations.covers(who.practice, practice);
    case credentials::role::operator_: return false;
    }
    return false;
}

void ledger_unavailable(const exchange& x, std::string_view detail) {
    make_problem(x.res, problem::ledger_unavailable, detail);
    x.res.add_header("Retry-After", std::to_string(ratelimit::jittered_retry_after(1, x.c.random())));
}

bool ledger_ready(const exchange& x) {
    if (x.c.ledger && x.c.ledger->connected()) return true;
    ledger_unavailable(x, x.c.ledger ? "the system of record (PostgreSQL) is unreachable; nothing was recorded, retry "
                                       "after Retry-After seconds"
                                     : "this gateway has no system of record configured (ledger.url)");
    return false;
}

net::awaitable<ledger_reply> call_ledger(const exchange& x, std::vector<ledger::statement> statements) {
    auto [ec, results] = co_await x.c.ledger->async_execute(std::move(statements), net::as_tuple(net::use_awaitable));
    co_return ledger_reply{ec, std::move(results)};
}

void answer_ledger_failure(const exchange& x, const ledger_reply& reply, std::string_view what) {
    using ledger::error;
    std::string sqlstate;
    for (const auto& r : reply.results)
        if (!r.sqlstate.empty()) sqlstate = r.sqlstate;
    if (reply.ec == error::server_error && !ledger::is_transient(reply.ec, sqlstate)) {
        std::string message;
        for (const auto& r : reply.results)
            if (!r.message.empty()) message = r.message;
        config::log(config::log_level::error,
                    std::string(what) + ": PostgreSQL refused it: " + sqlstate + " " + message);
    } else
        config::log(config::log_level::warning, std::string(what) + ": answered 503: " + reply.ec.message() +
                                                    (sqlstate.empty() ? "" : " (" + sqlstate + ")"));
    const bool busy = reply.ec == error::pool_exhausted || reply.ec == error::timeout;
    ledger_unavailable(x, std::string(busy ? "the system of record (PostgreSQL) is busy"
                                           : "the system of record (PostgreSQL) did not answer") +
                              "; retry after Retry-After seconds with the same Idempotency-Key (a write is never "
                              "recorded twice)");
}

net::awaitable<std::optional<queue::status_record>> status_in_redis(const exchange& x, std::string_view id,
                                                                    const std::string& practice) {
    const auto call = queue::build_status_call(id, practice, x.rt.settings);
    if (!call || !x.c.redis.connected(call->keys.at(0))) co_return std::nullopt;
    auto [ec, reply] =
        co_await x.c.redis.async_eval(queue::status_script(), call->key_views(), {}, net::as_tuple(net::use_awaitable));
    auto status = queue::parse_status_reply(reply, id);
    if (ec || !status.valid || !status.record || status.record->practice != practice) co_return std::nullopt;
    co_return std::move(status.record);
}

net::awaitable<std::optional<queue::latest_reading>> latest_in_redis(const exchange& x, const std::string& practice) {
    const auto call = queue::build_latest_call(practice, x.rt.settings);
    const std::string_view key = call.words.at(1);
    if (!x.c.redis.connected(key)) co_return std::nullopt;
    auto [ec, reply] = co_await x.c.redis.async_exec(key, call.views(), net::as_tuple(net::use_awaitable));
    auto reading = queue::read_latest(reply);
    if (ec || !reading.valid) co_return std::nullopt;
    co_return std::move(reading);
}

std::optional<std::string_view> superseded_by(const queue::latest_reading& reading, std::string_view period,
                                              std::string_view scheme, std::string_view submission_id) {
    const auto latest = queue::latest_id(reading, period, scheme);
    if (!latest || *latest == submission_id) return std::nullopt;
    return latest;
}

std::string random_id(core& c) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 2; ++i) {
        auto v = c.random();
        for (int j = 0; j < 16; ++j, v >>= 4) out += digits[v & 15];
    }
    return out;
}

net::awaitable<ledger_reply> call_ledger(const exchange& x, ledger::statement statement) {
    std::vector<ledger::statement> statements;
    statements.push_back(std::move(statement));
    co_return co_await call_ledger(x, std::move(statements));
}

}  // namespace sluice::gateway::detail
