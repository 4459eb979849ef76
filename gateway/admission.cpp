// The admission of a submission, read top to bottom: authenticate the practice, check the
// headers, validate the body, shed if this thread or Redis cannot take it in time, run the one
// atomic admission script, answer. Nothing here blocks: the only wait is the Redis round trip,
// bounded by redis.timeout_ms, after which the answer is 503.
//
// Every answer to an authenticated request carries RateLimit-Policy and, when the rate-limit
// state is known (from the admission script, or read from Redis for answers that were not
// charged), RateLimit. A 503 never reaches Redis (or Redis did not answer), so it has no RateLimit.
#include "gateway/admission.hpp"

#include "gateway/log.hpp"
#include "gateway/problem.hpp"
#include "queue/submission.hpp"
#include "queue/admission.hpp"
#include "queue/keys.hpp"
#include "ratelimit/gcra.hpp"
#include "ratelimit/headers.hpp"
#include "ratelimit/retry_after.hpp"

#include "embedded/status_lua.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <ctime>

namespace sluice::gateway::detail {

namespace http = boost::beast::http;
using std::chrono::system_clock;

const redis::script& admission_script() {
    static const redis::script s{std::string(queue::admission_script_source())};
    return s;
}

const redis::script& complete_script() {
    static const redis::script s{std::string(queue::complete_script_source())};
    return s;
}

const redis::script& status_script() {
    static const redis::script s{std::string(embedded::status_lua)};
    return s;
}

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The base of a shed answer's Retry-After, spread by jitter over [base, 2*base].
constexpr int shed_retry_after_seconds = 1;

std::int64_t micros_since_epoch(system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// API.md: 1 to 255 printable ASCII characters.
bool valid_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > 255) return false;
    for (char ch : key)
        if (ch < 0x20 || ch > 0x7e) return false;
    return true;
}

// application/json, with or without parameters (charset=utf-8).
bool is_json(std::string_view content_type) {
    const auto semicolon = content_type.find(';');
    auto media = content_type.substr(0, semicolon);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    return boost::beast::iequals(media, "application/json");
}

std::optional<std::string_view> bearer_token(const http_request& req) {
    const std::string_view value = req[http::field::authorization];
    constexpr std::string_view scheme = "Bearer ";
    if (value.size() <= scheme.size() || !boost::beast::iequals(value.substr(0, scheme.size()), scheme))
        return std::nullopt;
    auto token = value.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    return token;
}

std::string client_address(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : ep.address().to_string();
}

void count(core& c, admission_outcome o) { c.metrics.admissions[static_cast<std::size_t>(o)].add(1); }

// Authenticates the request; on failure fills the answer (401, or 429 for an address that keeps
// failing) and returns null.
const config::credential* authenticate(const exchange& x, system_clock::time_point now) {
    const auto token = bearer_token(x.req);
    if (token) {
        const auto result = x.rt.credentials.authenticate(*token, now);
        if (result.status == config::auth_status::ok) return result.who;
        if (result.status == config::auth_status::expired) {
            const auto expired_at = config::format_rfc3339(result.who->not_after);
            make_problem(x.res, problem::credential_expired,
                         "the token of practice " + result.who->practice + " expired at " + expired_at +
                             "; ask for a new one");
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

// Credential-Expires within credentials.warn_days of the token's end, and RateLimit-Policy.
void authenticated_headers(const exchange& x, const config::credential& who, system_clock::time_point now) {
    x.res.practice = who.practice;
    const auto warn = std::chrono::days(x.rt.settings.credentials.warn_days);
    if (who.not_after - now <= warn) x.res.add_header("Credential-Expires", config::format_rfc3339(who.not_after));
    const ratelimit::gcra_policy policy{x.rt.settings.ratelimit.rate, x.rt.settings.ratelimit.burst};
    x.res.add_header(ratelimit::ratelimit_policy_field,
                     ratelimit::ratelimit_policy_value(ratelimit::practice_policy_name, policy));
}

std::optional<std::int64_t> parse_tat(const redis::reply& r) {
    if (!r.is_string()) return std::nullopt;
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
    if (ec != std::errc() || p != r.str.data() + r.str.size()) return std::nullopt;
    return v;
}

void add_rate_limit(const exchange& x, std::uint32_t remaining, std::int64_t reset_after_us) {
    x.res.add_header(ratelimit::ratelimit_field,
                     ratelimit::ratelimit_value(ratelimit::practice_policy_name, remaining, reset_after_us));
}

// For answers that did not run the admission script: the practice's current state, uncharged.
net::awaitable<void> add_current_rate_limit(const exchange& x, const std::string& practice) {
    if (!x.c.redis.connected()) co_return;
    const auto shard = queue::shard_of(practice, x.rt.settings.redis.shards);
    const auto key = queue::ratelimit_key(shard, practice);
    const std::array<std::string_view, 2> args{"GET", key};
    auto [ec, reply] = co_await x.c.redis.async_exec(args, use_tuple);
    if (ec || !(reply.is_nil() || reply.is_string())) co_return;
    const ratelimit::gcra_policy policy{x.rt.settings.ratelimit.rate, x.rt.settings.ratelimit.burst};
    const auto d = ratelimit::gcra_peek(policy, parse_tat(reply), micros_since_epoch(system_clock::now()));
    add_rate_limit(x, d.remaining, d.reset_after_us);
}

// 503 to an authenticated request: nothing was done and the practice's state in Redis is unknown.
// RateLimit says what is true of this answer: nothing is allowed now (r=0) until Retry-After
// (t), so every authenticated answer carries the field (API.md) without inventing a quota.
void unavailable(const exchange& x, problem p, std::string_view detail, int retry_after) {
    make_problem(x.res, p, detail);
    x.res.add_header("Retry-After", std::to_string(retry_after));
    add_rate_limit(x, 0, static_cast<std::int64_t>(retry_after) * 1'000'000);
}

// Redis is unreachable or answered wrongly: nothing says when it will be back, so the base is
// jittered over [1, 2] s (retry_after.hpp): the clients that came in one second come back over two.
void unavailable(const exchange& x, problem p, std::string_view detail) {
    unavailable(x, p, detail, ratelimit::jittered_retry_after(shed_retry_after_seconds, x.c.random()));
}

void shed(const exchange& x, problem p, std::string_view detail) {
    unavailable(x, p, detail);
    count(x.c, admission_outcome::shed);
}

void answer_fault(response& res, const queue::submission_fault& fault) {
    if (fault.kind == queue::fault_kind::malformed_json) {
        make_problem(res, problem::malformed_json, fault.detail);
        return;
    }
    std::vector<field_fault> errors;
    errors.reserve(fault.errors.size());
    for (const auto& e : fault.errors) errors.push_back({e.pointer, e.detail});
    make_problem(res, problem::invalid_submission, fault.detail, errors);
}

std::string receipt_json(const std::string& id, const std::string& practice, const std::string& received_at,
                         const std::string& sha256_hex) {
    boost::json::object r;
    r["submission_id"] = id;
    r["status"] = "queued";
    r["practice"] = practice;
    r["received_at"] = received_at;
    r["content_sha256"] = sha256_hex;
    r["status_url"] = "/v1/submissions/" + id;
    return boost::json::serialize(r);
}

// durability.replicas > 0: the admission stored its idempotency record "pending" (a retry meanwhile
// gets 409). Wait for the replicas (group commit, gateway/detail/replication.hpp), then mark the
// record done whatever WAIT answered: the entry is queued on the primary either way, and a
// shortfall is counted and logged rather than turned into a 503 (a 503 promises nothing was
// queued). If the completion call fails, the record replays anyway after pending_timeout_ms.
net::awaitable<void> wait_for_replicas(const exchange& x, const std::string& practice, std::string_view idempotency_key,
                                       const std::string& submission_id) {
    const auto& durability = x.rt.settings.durability;
    const auto waited =
        co_await x.c.replication.wait(durability.replicas, std::chrono::milliseconds(durability.wait_timeout_ms));
    if (waited.ec || waited.acknowledged < static_cast<long long>(durability.replicas)) {
        x.c.metrics.replication_shortfalls.add();
        log(log_level::warning, "submission " + submission_id + " answered 202 with " +
                                    (waited.ec ? "WAIT failed (" + waited.ec.message() + ")"
                                               : std::to_string(waited.acknowledged) + " of " +
                                                     std::to_string(durability.replicas) + " replicas acknowledging"));
    }
    const auto call = queue::build_completion_call(practice, idempotency_key, submission_id, x.rt.settings);
    auto [ec, reply] = co_await x.c.redis.async_eval(complete_script(), call.key_views(), call.argv_views(), use_tuple);
    if (ec || !reply.is_integer())
        log(log_level::warning, "submission " + submission_id +
                                    ": could not mark its idempotency record done; it replays after the pending timeout");
}

// The name of a submission across its retries: the practice and its Idempotency-Key (FNV-1a).
std::uint64_t request_hash(std::string_view practice, std::string_view key) noexcept {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&h](std::string_view bytes) {
        for (const unsigned char ch : bytes) {
            h ^= ch;
            h *= 1099511628211ull;
        }
    };
    mix(practice);
    mix(std::string_view("\n", 1));
    mix(key);
    return h;
}

// A practice this thread was told is over its rate limit, until when (from a 'limited' reply; the
// GCRA's theoretical arrival time only moves forward, so the refusal stays true until then).
std::optional<clock::duration> locally_limited(core& c, const std::string& practice, clock::time_point now) {
    const auto it = c.limited_until.find(practice);
    if (it == c.limited_until.end()) return std::nullopt;
    if (it->second <= now) {
        c.limited_until.erase(it);
        return std::nullopt;
    }
    return it->second - now;
}

void remember_limited(core& c, const std::string& practice, std::int64_t retry_after_us) {
    // Bounded: beyond this many practices limited at once, start again (a 429 from Redis instead
    // of a local one costs a round trip, nothing more).
    constexpr std::size_t max_remembered = 100'000;
    if (c.limited_until.size() >= max_remembered) c.limited_until.clear();
    c.limited_until[practice] = clock::now() + std::chrono::microseconds(retry_after_us);
}

}  // namespace

net::awaitable<submit_gate> check_submission_headers(exchange x) {
    submit_gate gate;
    const auto now = system_clock::now();
    const config::credential* who = authenticate(x, now);
    if (who == nullptr) {
        count(x.c, admission_outcome::unauthorized);
        gate.wait_for_body = false;  // never wait for a stranger's body (slow-body attacks)
        co_return gate;
    }
    authenticated_headers(x, *who, now);

    // Faults of the request itself: answered with the practice's current (uncharged) rate state.
    auto refuse = [&](problem p, std::string_view detail) -> net::awaitable<void> {
        make_problem(x.res, p, detail);
        count(x.c, admission_outcome::invalid);
        co_await add_current_rate_limit(x, who->practice);
    };
    const std::string_view key = x.req["Idempotency-Key"];
    if (!valid_idempotency_key(key)) {
        co_await refuse(problem::bad_idempotency_key,
                        key.empty() ? "send an Idempotency-Key header (a UUID is typical)"
                                    : "the Idempotency-Key must be 1 to 255 printable ASCII characters");
        co_return gate;
    }
    if (!is_json(x.req[http::field::content_type])) {
        co_await refuse(problem::unsupported_media_type, "send Content-Type: application/json");
        co_return gate;
    }

    const auto steady_now = clock::now();
    if (const auto wait = locally_limited(x.c, who->practice, steady_now)) {
        const auto wait_us = std::chrono::duration_cast<std::chrono::microseconds>(*wait).count();
        make_problem(x.res, problem::rate_limited,
                     "practice " + who->practice + " is over its submission rate; nothing was queued");
        x.res.add_header("Retry-After", std::to_string(ratelimit::retry_after_seconds(wait_us)));
        add_rate_limit(x, 0, wait_us);
        count(x.c, admission_outcome::limited);
        co_return gate;
    }
    if (!x.c.redis.connected()) {
        shed(x, problem::unavailable, "the submission store is unreachable; nothing was queued, retry later");
        x.c.metrics.refused_before_body.add();
        co_return gate;
    }

    const auto cls = x.c.shared.admitted_practices.contains(who->practice) ? ratelimit::submission_class::repeat
                                                                          : ratelimit::submission_class::first;
    gate.ticket = x.c.admission.decide(request_hash(who->practice, key), cls, steady_now);
    if (!gate.ticket.admitted) {
        unavailable(x, problem::overloaded,
                    "the gateway is taking as many submissions as it can; nothing was queued, retry after "
                    "Retry-After seconds with the same Idempotency-Key",
                    gate.ticket.retry_after);
        count(x.c, admission_outcome::shed);
        x.c.metrics.refused_before_body.add();
        co_return gate;
    }
    gate.slot = admission_slot(x.c);
    gate.who = who;
    co_return gate;
}

net::awaitable<void> submit(exchange x, submit_gate& gate) {
    const config::credential* who = gate.who;
    const std::string_view key = x.req["Idempotency-Key"];
    const auto now = system_clock::now();
    const auto parsed = queue::parse_submission(x.req.body(), x.rt.catalogue);
    if (!parsed.ok()) {
        answer_fault(x.res, parsed.fault());
        count(x.c, admission_outcome::invalid);
        co_await add_current_rate_limit(x, who->practice);
        co_return;
    }
    if (parsed.value().practice != who->practice) {
        make_problem(x.res, problem::forbidden,
                     "the token is practice " + who->practice + "'s; the body is for practice " +
                         parsed.value().practice);
        count(x.c, admission_outcome::forbidden);
        co_await add_current_rate_limit(x, who->practice);
        co_return;
    }

    // The connection, once more: the body may have taken a while to arrive.
    if (!x.c.redis.connected()) {
        shed(x, problem::unavailable, "the submission store is unreachable; nothing was queued, retry later");
        co_return;
    }

    const auto shard = queue::shard_of(who->practice, x.rt.settings.redis.shards);
    queue::admission_request request;
    request.practice = who->practice;
    request.idempotency_key = std::string(key);
    request.submission_id = queue::new_submission_id(shard, x.c.random);
    request.body_sha256_hex = config::to_hex(config::sha256(x.req.body()));
    request.received_at = config::rfc3339_millis(now);
    request.receipt_json =
        receipt_json(request.submission_id, request.practice, request.received_at, request.body_sha256_hex);
    request.queue_payload = x.req.body();
    // Past this, the answer is 503 (the client's timeout below); Redis must not queue it after that.
    // It is a little before the call's own deadline, so that a script that ran in time has that
    // margin to come back before the gateway gives up on it.
    const auto timeout_us = 1000LL * x.rt.settings.redis.timeout_ms;
    request.deadline_us = micros_since_epoch(system_clock::now()) + timeout_us - std::min(timeout_us / 5, 25'000LL);
    const std::string submission_id = request.submission_id;
    const std::string receipt = request.receipt_json;
    const auto call = queue::build_admission_call(std::move(request), x.rt.settings);

    gate.slot.used();
    x.c.metrics.admissions_inflight.add(1);
    const auto sent = clock::now();
    auto [ec, reply] =
        co_await x.c.redis.async_eval(admission_script(), call.key_views(), call.argv_views(), use_tuple);
    const auto answered = clock::now();
    // The limit learns from Redis's own round trip (write to read), not from our event loop's
    // delays around it: a loop busy refusing a flood must not be taken for a slow Redis.
    const auto round_trip = reply.round_trip.count() > 0 ? reply.round_trip : answered - sent;
    x.c.metrics.redis_round_trip.observe(round_trip);
    x.c.metrics.admissions_inflight.add(-1);
    if (ec == redis::error::timeout) {
        x.c.admission.on_timed_out(answered - sent, answered);
        x.c.metrics.redis_call_timeouts.add();
    } else if (ec) {
        x.c.admission.on_abandoned();
    } else {
        x.c.admission.on_answered(gate.ticket, round_trip, answered);
    }
    if (ec) {
        shed(x, problem::unavailable,
             "the submission store did not answer in time; nothing was queued, retry with the same Idempotency-Key");
        co_return;
    }

    const auto result = queue::parse_admission_reply(reply);
    switch (result.outcome) {
        case queue::admission_outcome::accepted:
            if (x.rt.settings.durability.replicas > 0)
                co_await wait_for_replicas(x, who->practice, key, submission_id);
            x.res.status = 202;
            x.res.body = receipt;
            x.res.add_header("Location", "/v1/submissions/" + submission_id);
            add_rate_limit(x, result.remaining, result.reset_after_us);
            count(x.c, admission_outcome::accepted);
            x.c.shared.admitted_practices.insert(who->practice);
            co_return;
        case queue::admission_outcome::replayed:
            x.res.status = static_cast<unsigned>(result.replay_status);
            x.res.body = result.replay_body;
            x.res.add_header("Idempotent-Replayed", "true");
            x.res.add_header("Location", "/v1/submissions/" + result.replay_submission_id);
            add_rate_limit(x, result.remaining, result.reset_after_us);
            count(x.c, admission_outcome::replayed);
            if (result.replay_status / 100 == 2) x.c.shared.admitted_practices.insert(who->practice);
            co_return;
        case queue::admission_outcome::reused:
            make_problem(x.res, problem::idempotency_key_reused,
                         "this Idempotency-Key was used with a different body; use a new key for a new submission");
            add_rate_limit(x, result.remaining, result.reset_after_us);
            count(x.c, admission_outcome::reused);
            co_return;
        case queue::admission_outcome::in_use:
            make_problem(x.res, problem::idempotency_key_in_use,
                         "the first request with this Idempotency-Key is still being processed");
            x.res.add_header("Retry-After", "1");
            add_rate_limit(x, result.remaining, result.reset_after_us);
            count(x.c, admission_outcome::conflict);
            co_return;
        case queue::admission_outcome::limited:
            make_problem(x.res, problem::rate_limited,
                         "practice " + who->practice + " is over its submission rate; nothing was queued");
            x.res.add_header("Retry-After", std::to_string(ratelimit::retry_after_seconds(result.retry_after_us)));
            add_rate_limit(x, 0, result.reset_after_us);
            count(x.c, admission_outcome::limited);
            remember_limited(x.c, who->practice, result.retry_after_us);
            co_return;
        case queue::admission_outcome::expired:
            shed(x, problem::unavailable,
                 "the submission store was too slow; nothing was queued, retry with the same Idempotency-Key");
            co_return;
        case queue::admission_outcome::invalid_reply: break;
    }
    log(log_level::error, "admission script answered unexpectedly: " + result.error);
    shed(x, problem::unavailable, "the submission store answered unexpectedly; nothing was queued, retry later");
}

net::awaitable<void> submission_status(exchange x, std::string_view submission_id) {
    const auto now = system_clock::now();
    const config::credential* who = authenticate(x, now);
    if (who == nullptr) co_return;
    authenticated_headers(x, *who, now);

    const auto shards = x.rt.settings.redis.shards;
    const auto shard = queue::shard_of_submission_id(submission_id, shards);
    auto not_found = [&]() -> net::awaitable<void> {
        make_problem(x.res, problem::not_found, "no submission of this practice has this id");
        co_await add_current_rate_limit(x, who->practice);
    };
    if (!shard) {
        co_await not_found();
        co_return;
    }
    if (!x.c.redis.connected()) {
        unavailable(x, problem::unavailable, "the submission store is unreachable; retry later");
        co_return;
    }
    const auto sub_key = queue::submission_key(*shard, submission_id);
    const auto rl_key = queue::ratelimit_key(queue::shard_of(who->practice, shards), who->practice);
    const std::array<std::string_view, 2> keys{sub_key, rl_key};
    const auto sent = clock::now();
    auto [ec, reply] = co_await x.c.redis.async_eval(status_script(), keys, {}, use_tuple);
    x.c.metrics.redis_round_trip.observe(clock::now() - sent);
    if (ec || !reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_array()) {
        unavailable(x, problem::unavailable, "the submission store did not answer in time; retry later");
        co_return;
    }
    const ratelimit::gcra_policy policy{x.rt.settings.ratelimit.rate, x.rt.settings.ratelimit.burst};
    const auto rate = ratelimit::gcra_peek(policy, parse_tat(reply.elements[1]), micros_since_epoch(now));

    // The record's fields: id, practice, status, attempts, received_at, content_sha256, receipt,
    // entry_id; the worker adds result (JSON) and error.
    const auto& fields = reply.elements[0].elements;
    auto field = [&](std::string_view name) -> const std::string* {
        for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
            if (fields[i].str == name) return &fields[i + 1].str;
        return nullptr;
    };
    const auto* practice = field("practice");
    if (practice == nullptr || *practice != who->practice) {  // unknown, or another practice's: no leak
        make_problem(x.res, problem::not_found, "no submission of this practice has this id");
        add_rate_limit(x, rate.remaining, rate.reset_after_us);
        co_return;
    }
    boost::json::object body;
    body["submission_id"] = std::string(submission_id);
    body["practice"] = *practice;
    for (const auto name : {"received_at", "content_sha256"})
        if (const auto* v = field(name)) body[name] = *v;
    body["status_url"] = "/v1/submissions/" + std::string(submission_id);
    if (const auto* v = field("status")) body["status"] = *v;
    if (const auto* v = field("attempts")) {
        long long attempts = 0;
        std::from_chars(v->data(), v->data() + v->size(), attempts);
        body["attempts"] = attempts;
    }
    if (const auto* v = field("result")) {
        boost::system::error_code jec;
        auto parsed = boost::json::parse(*v, jec);
        if (!jec) body["result"] = std::move(parsed);
    }
    if (const auto* v = field("error")) body["error"] = *v;
    x.res.status = 200;
    x.res.body = boost::json::serialize(body);
    add_rate_limit(x, rate.remaining, rate.reset_after_us);
}

}  // namespace sluice::gateway::detail
