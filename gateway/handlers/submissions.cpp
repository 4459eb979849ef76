// POST /v1/submissions (API.md), read top to bottom: authenticate the practice, check the
// headers, refuse at once if a rate limit or admission control says so (all before a byte of the
// body is read), then validate the body, run the one atomic admission script, answer. Nothing
// here blocks: the only wait is the Redis round trip, bounded by redis.timeout_ms, after which the
// answer is 503.
#include "config/digest.hpp"
#include "config/log.hpp"
#include "config/rfc3339.hpp"
#include "gateway/detail/practice_answer.hpp"
#include "gateway/detail/request_checks.hpp"
#include "gateway/detail/handlers.hpp"
#include "gateway/problem.hpp"
#include "queue/admission.hpp"
#include "queue/keys.hpp"
#include "queue/latest.hpp"
#include "queue/submission.hpp"
#include "ratelimit/retry_after.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <optional>

namespace sluice::gateway::detail::handlers {

namespace http = boost::beast::http;
using std::chrono::system_clock;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

void count(core& c, admission_verdict o) { c.metrics.admissions[static_cast<std::size_t>(o)].add(1); }

void shed(const exchange& x, problem p, std::string_view detail) {
    unavailable(x, p, detail);
    count(x.c, admission_verdict::shed);
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

std::string receipt_json(std::string_view id, const std::string& practice, const std::string& received_at,
                         const std::string& sha256_hex) {
    boost::json::object r;
    r["submission_id"] = id;
    r["status"] = "queued";
    r["practice"] = practice;
    r["received_at"] = received_at;
    r["content_sha256"] = sha256_hex;
    r["status_url"] = "/v1/submissions/" + std::string(id);
    return boost::json::serialize(r);
}

// durability.replicas > 0: the admission stored its idempotency record "pending" (a retry meanwhile
// gets 409). Wait for the replicas (group commit, gateway/detail/replication.hpp), then mark the
// record done whatever WAIT answered: the entry is queued on the primary either way, and a
// shortfall is counted and logged rather than turned into a 503 (a 503 promises nothing was
// queued). If the completion call fails, the record replays anyway after pending_timeout_ms.
net::awaitable<void> wait_for_replicas(const exchange& x, const std::string& practice,
                                       const std::string& submission_id) {
    const auto& durability = x.rt.settings.durability;
    // WAIT goes to the master that took the write: the one of a key the admission wrote.
    const auto call = queue::build_completion_call(practice, submission_id, x.rt.settings);
    const auto waited = co_await x.c.replication.wait(call.keys.front(), durability.replicas,
                                                      std::chrono::milliseconds(durability.wait_timeout_ms));
    if (waited.ec || waited.acknowledged < static_cast<long long>(durability.replicas)) {
        x.c.metrics.replication_shortfalls.add();
        config::log(config::log_level::warning,
                    "submission " + submission_id + " answered 202 with " +
                        (waited.ec ? "WAIT failed (" + waited.ec.message() + ")"
                                   : std::to_string(waited.acknowledged) + " of " +
                                         std::to_string(durability.replicas) + " replicas acknowledging"));
    }
    auto [ec, reply] =
        co_await x.c.redis.async_eval(queue::complete_script(), call.key_views(), call.argv_views(), use_tuple);
    if (ec || !reply.is_integer())
        config::log(config::log_level::warning,
                    "submission " + submission_id +
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

// At the headers: authentication, the Idempotency-Key and Content-Type, a rate limit known to be
// exceeded, and admission control (admission_control.hpp), so that a refusal is answered before
// the body is read, hashed or validated.
net::awaitable<void> at_headers(exchange x, request_state& state) {
    state.answered = true;  // until admitted, below
    const auto now = system_clock::now();
    const credentials::credential* who = authenticate(x, now);
    if (who == nullptr) {
        count(x.c, admission_verdict::unauthorized);
        state.wait_for_body = false;  // never wait for a stranger's body (slow-body attacks)
        co_return;
    }
    authenticated_headers(x, *who, now);
    if (who->access != credentials::role::practice) {
        make_problem(x.res, problem::not_permitted,
                     "a " + std::string(credentials::role_name(who->access)) +
                         " token may not submit: only a practice submits its own achievement");
        count(x.c, admission_verdict::forbidden);
        co_return;
    }

    // Faults of the request itself: answered with the practice's current (uncharged) rate state.
    auto refuse = [&](problem p, std::string_view detail) -> net::awaitable<void> {
        make_problem(x.res, p, detail);
        count(x.c, admission_verdict::invalid);
        co_await add_current_rate_limit(x, who->practice);
    };
    const std::string_view key = x.req["Idempotency-Key"];
    if (!valid_idempotency_key(key)) {
        co_await refuse(problem::bad_idempotency_key,
                        key.empty() ? "send an Idempotency-Key header (a UUID is typical)"
                                    : "the Idempotency-Key must be 1 to 255 printable ASCII characters");
        co_return;
    }
    if (!is_json_content_type(x.req[http::field::content_type])) {
        co_await refuse(problem::unsupported_media_type, "send Content-Type: application/json");
        co_return;
    }

    const auto steady_now = clock::now();
    if (const auto wait = locally_limited(x.c, who->practice, steady_now)) {
        const auto wait_us = std::chrono::duration_cast<std::chrono::microseconds>(*wait).count();
        make_problem(x.res, problem::rate_limited,
                     "practice " + who->practice + " is over its submission rate; nothing was queued");
        x.res.add_header("Retry-After", std::to_string(ratelimit::retry_after_seconds(wait_us)));
        add_rate_limit(x, 0, wait_us);
        count(x.c, admission_verdict::limited);
        co_return;
    }
    // Asked of the practice's shard: on a Redis Cluster a lost master stops only its shards.
    if (!x.c.redis.connected(queue::hash_tag(queue::shard_of(who->practice, x.rt.settings.redis.shards)))) {
        shed(x, problem::unavailable, "the submission store is unreachable; nothing was queued, retry later");
        x.c.metrics.refused_before_body.add();
        co_return;
    }

    const auto cls = x.c.shared.admitted_practices.contains(who->practice) ? ratelimit::submission_class::repeat
                                                                           : ratelimit::submission_class::first;
    state.ticket = x.c.admission.decide(request_hash(who->practice, key), cls, steady_now);
    if (!state.ticket.admitted) {
        unavailable(x, problem::overloaded,
                    "the gateway is taking as many submissions as it can; nothing was queued, retry after "
                    "Retry-After seconds with the same Idempotency-Key",
                    state.ticket.retry_after);
        count(x.c, admission_verdict::shed);
        x.c.metrics.refused_before_body.add();
        co_return;
    }
    state.slot = admission_slot(x.c);
    state.who = who;
    state.answered = false;
}

// The faults of a parsed body that stop it before Redis (422, 403 for another practice's body, 409
// for a closed period): answered, counted, and false.
bool admissible(const exchange& x, const queue::submission_result& parsed, const std::string& practice,
                system_clock::time_point now) {
    if (!parsed.ok()) {
        answer_fault(x.res, parsed.fault());
        count(x.c, admission_verdict::invalid);
        return false;
    }
    if (parsed.value().practice != practice) {
        make_problem(x.res, problem::forbidden,
                     "the token is practice " + practice + "'s; the body is for practice " + parsed.value().practice);
        count(x.c, admission_verdict::forbidden);
        return false;
    }
    // After its declarations close a period is view-only for practices (API.md): nothing is queued.
    if (const auto* period = x.rt.catalogue.period(parsed.value().period);
        period != nullptr && !period->declarations().accepts_submissions(now)) {
        make_problem(x.res, problem::period_closed,
                     "period " + parsed.value().period + " is closed: declarations were open " +
                         period->declarations().describe() + "; it is view-only now and nothing was queued");
        count(x.c, admission_verdict::invalid);
        return false;
    }
    return true;
}

// Every outcome of the admission script but accepted: the answer it means.
// A replay's receipt is rebuilt from the record's id and received_at: same practice, same body
// (so the same SHA-256), so the same bytes as the first answer.
void answer_refused(const exchange& x, const queue::admission_result& result, const std::string& practice,
                    const std::string& body_sha256) {
    switch (result.outcome) {
    case queue::admission_outcome::accepted: break;
    case queue::admission_outcome::replayed:
        x.res.status = static_cast<unsigned>(result.replay_status);
        x.res.body = result.replay_body.empty()
                         ? receipt_json(result.replay_submission_id, practice, result.replay_received_at, body_sha256)
                         : result.replay_body;
        x.res.add_header("Idempotent-Replayed", "true");
        x.res.add_header("Location", "/v1/submissions/" + result.replay_submission_id);
        add_rate_limit(x, result.remaining, result.reset_after_us);
        count(x.c, admission_verdict::replayed);
        if (result.replay_status / 100 == 2) x.c.shared.admitted_practices.insert(practice);
        return;
    case queue::admission_outcome::reused:
        make_problem(x.res, problem::idempotency_key_reused,
                     "this Idempotency-Key was used with a different body; use a new key for a new submission");
        add_rate_limit(x, result.remaining, result.reset_after_us);
        count(x.c, admission_verdict::reused);
        return;
    case queue::admission_outcome::in_use:
        make_problem(x.res, problem::idempotency_key_in_use,
                     "the first request with this Idempotency-Key is still being processed");
        x.res.add_header("Retry-After", "1");
        add_rate_limit(x, result.remaining, result.reset_after_us);
        count(x.c, admission_verdict::conflict);
        return;
    case queue::admission_outcome::limited:
        make_problem(x.res, problem::rate_limited,
                     "practice " + practice + " is over its submission rate; nothing was queued");
        x.res.add_header("Retry-After", std::to_string(ratelimit::retry_after_seconds(result.retry_after_us)));
        add_rate_limit(x, 0, result.reset_after_us);
        count(x.c, admission_verdict::limited);
        remember_limited(x.c, practice, result.retry_after_us);
        return;
    case queue::admission_outcome::expired:
        shed(x, problem::unavailable,
             "the submission store was too slow; nothing was queued, retry with the same Idempotency-Key");
        return;
    case queue::admission_outcome::invalid_reply: break;
    }
    config::log(config::log_level::error, "admission script answered unexpectedly: " + result.error);
    shed(x, problem::unavailable, "the submission store answered unexpectedly; nothing was queued, retry later");
}

// With the body: validation and the one atomic admission script.
net::awaitable<void> answer(exchange x, request_state& state) {
    const credentials::credential* who = state.who;
    const std::string_view key = x.req["Idempotency-Key"];
    const auto now = system_clock::now();
    const auto parsed = queue::parse_submission(x.req.body(), x.rt.catalogue);
    if (!admissible(x, parsed, who->practice, now)) {
        co_await add_current_rate_limit(x, who->practice);
        co_return;
    }

    // The connection, once more: the body may have taken a while to arrive.
    if (!x.c.redis.connected(queue::hash_tag(queue::shard_of(who->practice, x.rt.settings.redis.shards)))) {
        shed(x, problem::unavailable, "the submission store is unreachable; nothing was queued, retry later");
        co_return;
    }

    const std::string body_sha256 = config::to_hex(config::sha256(x.req.body()));
    const std::string received_at = config::rfc3339_millis(now);
    queue::admission_request request;
    request.practice = who->practice;
    request.idempotency_key = std::string(key);
    request.body_sha256_hex = body_sha256;
    request.received_at = received_at;
    request.received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    request.queue_payload = x.req.body();
    request.latest_field = queue::latest_field(parsed.value().period, parsed.value().scheme);
    // Past this, the answer is 503 (the client's timeout below); Redis must not queue it after that.
    // It is a little before the call's own deadline, so that a script that ran in time has that
    // margin to come back before the gateway gives up on it.
    const auto timeout_us = 1000LL * x.rt.settings.redis.timeout_ms;
    request.deadline_us = micros_since_epoch(system_clock::now()) + timeout_us - std::min(timeout_us / 5, 25'000LL);
    const auto call = queue::build_admission_call(std::move(request), x.rt.settings);
    const std::string& submission_id = call.submission_id;

    state.slot.used();
    x.c.metrics.admissions_inflight.add(1);
    const auto sent = clock::now();
    auto [ec, reply] =
        co_await x.c.redis.async_eval(queue::admission_script(), call.key_views(), call.argv_views(), use_tuple);
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
        x.c.admission.on_answered(state.ticket, round_trip, answered);
    }
    if (ec) {
        shed(x, problem::unavailable,
             "the submission store did not answer in time; nothing was queued, retry with the same Idempotency-Key");
        co_return;
    }

    const auto result = queue::parse_admission_reply(reply);
    if (result.outcome != queue::admission_outcome::accepted)
        co_return answer_refused(x, result, who->practice, body_sha256);
    if (x.rt.settings.durability.replicas > 0) co_await wait_for_replicas(x, who->practice, submission_id);
    x.res.status = 202;
    x.res.body = receipt_json(submission_id, who->practice, received_at, body_sha256);
    x.res.add_header("Location", "/v1/submissions/" + submission_id);
    add_rate_limit(x, result.remaining, result.reset_after_us);
    count(x.c, admission_verdict::accepted);
    x.c.shared.admitted_practices.insert(who->practice);
}

}  // namespace

const handler submissions{&at_headers, &answer};

}  // namespace sluice::gateway::detail::handlers
