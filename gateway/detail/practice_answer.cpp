// Authentication and the rate-limit fields of answers to practices (see practice_answer.hpp).
#include "gateway/detail/practice_answer.hpp"

#include "config/rfc3339.hpp"
#include "gateway/detail/request_checks.hpp"
#include "queue/ratelimit_state.hpp"
#include "ratelimit/gcra.hpp"
#include "ratelimit/headers.hpp"
#include "ratelimit/retry_after.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::gateway::detail {

namespace http = boost::beast::http;
using std::chrono::system_clock;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The base of a shed answer's Retry-After, spread by jitter over [base, 2*base].
constexpr int shed_retry_after_seconds = 1;

std::string client_address(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : ep.address().to_string();
}

}  // namespace

std::int64_t micros_since_epoch(system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

const credentials::credential* authenticate(const exchange& x, system_clock::time_point now) {
    const auto token = bearer_token(x.req[http::field::authorization]);
    if (token) {
        const auto result = x.rt.credentials.authenticate(*token, now);
        if (result.status == credentials::auth_status::ok) return result.who;
        if (result.status == credentials::auth_status::expired) {
            const auto expired_at = config::format_rfc3339(result.who->not_after);
            make_problem(
                x.res, problem::credential_expired,
                "the token of practice " + result.who->practice + " expired at " + expired_at + "; ask for a new one");
            x.res.add_header("WWW-Authenticate", R"(Bearer error="invalid_token")");
            x.res.add_header("Credential-Expires", expired_at);
            return nullptr;
        }
    }
    const auto decision = x.c.failed_auth.check(client_address(x.socket), micros_since_epoch(now));
    if (!decision.allowed) {
        make_problem(x.res, problem::too_many_failed_attempts,
                     "too many failed authentication attempts from this address; no account is locked, "
                     "retry with a valid token after Retry-After");
        x.res.add_header("Retry-After", std::to_string(ratelimit::retry_after_seconds(decision.retry_after_us)));
        return nullptr;
    }
    make_problem(x.res, problem::unauthorized,
                 token ? "the bearer token is not valid" : "send Authorization: Bearer <token>");
    x.res.add_header("WWW-Authenticate", "Bearer");
    return nullptr;
}

void authenticated_headers(const exchange& x, const credentials::credential& who, system_clock::time_point now) {
    x.res.practice = who.practice;
    const auto warn = std::chrono::days(x.rt.settings.credentials.warn_days);
    if (who.not_after - now <= warn) x.res.add_header("Credential-Expires", config::format_rfc3339(who.not_after));
    const ratelimit::gcra_policy policy{x.rt.settings.ratelimit.rate, x.rt.settings.ratelimit.burst};
    x.res.add_header(ratelimit::ratelimit_policy_field,
                     ratelimit::ratelimit_policy_value(ratelimit::practice_policy_name, policy));
}

void add_rate_limit(const exchange& x, std::uint32_t remaining, std::int64_t reset_after_us) {
    x.res.add_header(ratelimit::ratelimit_field,
                     ratelimit::ratelimit_value(ratelimit::practice_policy_name, remaining, reset_after_us));
}

net::awaitable<void> add_current_rate_limit(const exchange& x, const std::string& practice) {
    const auto call = queue::build_ratelimit_peek_call(practice, x.rt.settings);
    const std::string_view key = call.words.at(1);  // GET <key>: the practice's shard
    if (!x.c.redis.connected(key)) co_return;
    auto [ec, reply] = co_await x.c.redis.async_exec(key, call.views(), use_tuple);
    const auto tat = queue::read_tat(reply);
    if (ec || !tat.valid) co_return;
    const auto d = queue::ratelimit_state(tat.tat_us, x.rt.settings, micros_since_epoch(system_clock::now()));
    add_rate_limit(x, d.remaining, d.reset_after_us);
}

void unavailable(const exchange& x, problem p, std::string_view detail, int retry_after) {
    make_problem(x.res, p, detail);
    x.res.add_header("Retry-After", std::to_string(retry_after));
    add_rate_limit(x, 0, static_cast<std::int64_t>(retry_after) * 1'000'000);
}

void unavailable(const exchange& x, problem p, std::string_view detail) {
    unavailable(x, p, detail, ratelimit::jittered_retry_after(shed_retry_after_seconds, x.c.random()));
}

}  // namespace sluice::gateway::detail
