// The declarations resource (API.md "v1 additions"): a practice signs off its calculated
// achievement (POST /v1/declarations), practices and commissioners read declarations (GET one,
// GET the list), and a commissioner approves or rejects (POST /v1/declarations/{id}/decision).
//
// Read top to bottom, a write is: authenticate, check the role (403), the headers and the body
// (400/415/422), then one call that reads the idempotency record and the row the write is about,
// the checks that answer 404/409, then ONE call that writes the row and its idempotency record in
// one transaction (ledger/declarations.hpp), and 201/200 only once it committed. What the database
// refuses (a second standing declaration, a decision already made, a key taken meanwhile) is read
// back from the idempotency table: a retry of the same request replays what was committed, whoever
// won the race. Nothing here waits for a connection: PostgreSQL down is a 503 at once.
#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "gateway/detail/handlers.hpp"
#include "gateway/detail/ledger_answer.hpp"
#include "gateway/detail/ledger_documents.hpp"
#include "gateway/detail/query.hpp"
#include "gateway/detail/request_checks.hpp"
#include "gateway/detail/sign_off_bodies.hpp"
#include "gateway/problem.hpp"
#include "ledger/declarations.hpp"
#include "ledger/error.hpp"
#include "ledger/statements.hpp"
#include "ratelimit/retry_after.hpp"

#include <boost/json/parse.hpp>

#include <chrono>

namespace sluice::gateway::detail::handlers {

namespace http = boost::beast::http;
using credentials::role;
using std::chrono::system_clock;

namespace {

// Faults of a write's request before its body is looked at: the key and the content type.
bool write_headers_ok(const exchange& x) {
    const std::string_view key = x.req["Idempotency-Key"];
    if (!valid_idempotency_key(key)) {
        make_problem(x.res, problem::bad_idempotency_key,
                     key.empty() ? "send an Idempotency-Key header (a UUID is typical)"
                                 : "the Idempotency-Key must be 1 to 255 printable ASCII characters");
        return false;
    }
    if (!is_json_content_type(x.req[http::field::content_type])) {
        make_problem(x.res, problem::unsupported_media_type, "send Content-Type: application/json");
        return false;
    }
    return true;
}

void answer_body_fault(const exchange& x, const body_fault& fault, problem invalid) {
    if (fault.malformed) return make_problem(x.res, problem::malformed_json, fault.detail);
    std::vector<field_fault> errors;
    for (const auto& e : fault.errors) errors.push_back({e.pointer, e.detail});
    make_problem(x.res, invalid, fault.detail, errors);
}

// The answer a committed write's idempotency record holds, again; or 422 for another body.
void replay(const exchange& x, const ledger::idempotency_record& record, const std::string& request_sha256) {
    if (record.request_sha256 != request_sha256) {
        make_problem(x.res, problem::idempotency_key_reused,
                     "this Idempotency-Key was used with a different request; use a new key for a new one");
        return;
    }
    x.res.status = static_cast<unsigned>(record.response_status);
    x.res.body = record.response_body;
    x.res.add_header("Idempotent-Replayed", "true");
    boost::system::error_code ec;
    const auto doc = boost::json::parse(record.response_body, ec);
    if (!ec && doc.is_object()) {
        if (const auto* id = doc.get_object().if_contains("declaration_id"); id != nullptr && id->is_string())
            x.res.add_header("Location", "/v1/declarations/" + std::string(id->get_string()));
    }
}

// After the database refused a write for a conflict: the record of this key, if the winner was
// a request with this key (replayed), else false (the caller answers the conflict).
net::awaitable<bool> replayed_after_conflict(const exchange& x, std::string_view organisation,
                                             std::string_view operation, std::string_view key,
                                             const std::string& request_sha256) {
    std::vector<ledger::statement> lookup;
    lookup.push_back(ledger::find_idempotency_record(organisation, operation, key));
    const auto reply = co_await call_ledger(x, std::move(lookup));
    if (reply.ec || reply.results.empty()) co_return false;
    const auto record = ledger::idempotency_record_from(reply.results.front());
    if (!record) co_return false;
    replay(x, *record, request_sha256);
    co_return true;
}

std::string sha256_hex(std::string_view bytes) { return config::to_hex(config::sha256(bytes)); }

// Whether the practice's `submission` may be declared as `body` says; otherwise answers 409 (or
// 503 when Redis cannot say whether a later submission is queued) and returns false.
net::awaitable<bool> declarable(const exchange& x, const ledger::submission_row& submission,
                                const declaration_body& body, system_clock::time_point now) {
    const std::string& practice = submission.practice;
    if (submission.status != "calculated" || !submission.result) {
        make_problem(x.res, problem::not_calculated,
                     "submission " + submission.submission_id + " failed (" + submission.error.value_or("no result") +
                         "); submit again and declare the new one once calculated");
        co_return false;
    }
    if (!submission.current) {
        make_problem(x.res, problem::submission_superseded,
                     "submission " + submission.submission_id + " was superseded by a later submission for " +
                         submission.period + " " + submission.scheme + "; declare the current one");
        co_return false;
    }
    // A later submission the worker has not recorded yet supersedes it too: only Redis knows of it.
    const auto latest = co_await latest_in_redis(x, practice);
    if (!latest) {
        make_problem(x.res, problem::unavailable,
                     "the submission store (Redis) is unreachable, so whether a later submission for " +
                         submission.period + " " + submission.scheme +
                         " is still being calculated cannot be checked; nothing was recorded, retry after "
                         "Retry-After seconds with the same Idempotency-Key");
        x.res.add_header("Retry-After", std::to_string(ratelimit::jittered_retry_after(1, x.c.random())));
        co_return false;
    }
    if (const auto later = superseded_by(*latest, submission.period, submission.scheme, submission.submission_id)) {
        make_problem(x.res, problem::submission_superseded,
                     "submission " + submission.submission_id + " was superseded by submission " + std::string(*later) +
                         " for " + submission.period + " " + submission.scheme +
                         ", still being calculated; declare that one once GET /v1/submissions/" + std::string(*later) +
                         " says calculated");
        co_return false;
    }
    if (sha256_hex(*submission.result) != body.statement_sha256) {
        make_problem(x.res, problem::statement_changed,
                     "statement_sha256 is not the SHA-256 of the result of submission " + submission.submission_id +
                         " as GET /v1/submissions/" + submission.submission_id +
                         " serves it; review the result again and declare what it shows");
        co_return false;
    }
    if (const auto* period = x.rt.catalogue.period(submission.period)) {
        const auto& window = period->declarations();
        const auto received = config::parse_rfc3339(submission.received_at);
        if (!window.declarable(now, received ? system_clock::time_point(*received) : now)) {
            make_problem(x.res, problem::period_closed,
                         "declarations for " + submission.period + " are open " + window.describe() + "; now is " +
                             config::format_rfc3339(std::chrono::floor<std::chrono::seconds>(now)));
            co_return false;
        }
    }
    co_return true;
}

// ---- POST /v1/declarations ----------------------------------------------------------------------

net::awaitable<void> declare_answer(exchange x, request_state&) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::practice}, "declare: only a practice signs off its own achievement")) co_return;
    if (!write_headers_ok(x)) co_return;
    const std::string key(x.req["Idempotency-Key"]);
    auto parsed = parse_declaration_body(x.req.body());
    if (!parsed.body) co_return answer_body_fault(x, parsed.fault, problem::invalid_declaration);
    const auto& body = *parsed.body;
    if (!ledger_ready(x)) co_return;
    const auto request_sha256 = sha256_hex(x.req.body());
    const std::string& practice = who->practice;

    std::vector<ledger::statement> reads;
    reads.push_back(ledger::find_idempotency_record(practice, ledger::declare_operation, key));
    reads.push_back(ledger::find_submission(body.submission_id));
    const auto first = co_await call_ledger(x, std::move(reads));
    if (first.ec || first.results.size() != 2) co_return answer_ledger_failure(x, first, "declaration lookup");
    if (const auto record = ledger::idempotency_record_from(first.results[0]))
        co_return replay(x, *record, request_sha256);

    const auto rows = ledger::submission_rows(first.results[1]);
    if (rows.empty() || rows.front().practice != practice) {
        if (co_await status_in_redis(x, body.submission_id, practice)) {
            make_problem(x.res, problem::not_calculated,
                         "submission " + body.submission_id + " is not calculated yet; declare it once GET " +
                             "/v1/submissions/" + body.submission_id + " says calculated");
        } else {
            make_problem(x.res, problem::not_found, "no submission of this practice has this id");
        }
        co_return;
    }
    const auto& submission = rows.front();
    if (!co_await declarable(x, submission, body, now)) co_return;
    const auto commissioner = x.rt.organisations.commissioner_of(practice);
    if (!commissioner) {
        make_problem(x.res, problem::no_commissioner,
                     "the organisations file names no commissioner for practice " + practice +
                         "; nobody could approve the declaration: ask the service desk");
        co_return;
    }

    ledger::new_declaration d;
    d.declaration_id = random_id(x.c);
    d.submission_id = submission.submission_id;
    d.practice = practice;
    d.commissioner = std::string(*commissioner);
    d.period = submission.period;
    d.scheme = submission.scheme;
    d.declared_by = body.declared_by;
    d.declared_at = config::rfc3339_millis(now);
    d.statement_sha256 = body.statement_sha256;
    d.points = submission.points.value_or("0.00");
    d.payment_gbp = submission.payment_gbp.value_or("0.00");
    ledger::declaration_row shown{d.declaration_id,
                                  d.submission_id,
                                  d.practice,
                                  d.commissioner,
                                  d.period,
                                  d.scheme,
                                  d.declared_by,
                                  d.declared_at,
                                  {},
                                  d.points,
                                  d.payment_gbp,
                                  d.statement_sha256,
                                  "awaiting-approval",
                                  {},
                                  {},
                                  {}};
    const auto document = declaration_document(shown);
    const ledger::idempotency_write record{practice, key,      request_sha256,
                                           201,      document, x.rt.settings.idempotency.ttl_seconds};

    const auto written = co_await call_ledger(x, ledger::declare(d, record));
    if (written.ec == ledger::error::server_error) {
        const auto conflict = ledger::conflict_of(written.results);
        if (conflict == ledger::write_conflict::already_declared || conflict == ledger::write_conflict::key_taken) {
            if (co_await replayed_after_conflict(x, practice, ledger::declare_operation, key, request_sha256))
                co_return;
            if (conflict == ledger::write_conflict::already_declared) {
                make_problem(x.res, problem::already_declared,
                             "practice " + practice + " has a declaration for " + d.period + " " + d.scheme +
                                 " awaiting approval or approved; another may follow only a rejection");
                co_return;
            }
        }
    }
    if (written.ec) co_return answer_ledger_failure(x, written, "declaration " + d.declaration_id);
    x.res.status = 201;
    x.res.body = document;
    x.res.add_header("Location", "/v1/declarations/" + d.declaration_id);
}

// ---- GET /v1/declarations/{id} ------------------------------------------------------------------

net::awaitable<void> declaration_answer(exchange x, request_state& state) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::practice, role::commissioner}, "read declarations")) co_return;
    if (!ledger_ready(x)) co_return;
    const auto reply = co_await call_ledger(x, ledger::find_declaration(state.path_param));
    if (reply.ec || reply.results.empty()) co_return answer_ledger_failure(x, reply, "declaration read");
    const auto rows = ledger::declaration_rows(reply.results.front());
    if (rows.empty() || !covers(x, *who, rows.front().practice)) {
        make_problem(x.res, problem::not_found, "no declaration this token may see has this id");
        co_return;
    }
    x.res.status = 200;
    x.res.body = declaration_document(rows.front());
}

// ---- GET /v1/declarations -----------------------------------------------------------------------

net::awaitable<void> declaration_list_answer(exchange x, request_state&) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::practice, role::commissioner}, "read declarations")) co_return;
    const auto q = parse_query(x.req.target(), {"period", "status", "limit", "cursor"});
    if (!q.fault.empty()) co_return make_problem(x.res, problem::invalid_query, q.fault);
    ledger::declaration_filter filter;
    const auto period = q.get("period");
    if (!period || !catalogue::is_period_name(*period))
        co_return make_problem(x.res, problem::invalid_query, "period is required: a financial year such as 2024-25");
    filter.period = std::string(*period);
    if (const auto status = q.get("status")) {
        if (*status != "awaiting-approval" && *status != "approved" && *status != "rejected")
            co_return make_problem(x.res, problem::invalid_query,
                                   "status must be awaiting-approval, approved or rejected");
        filter.status = std::string(*status);
    }
    if (const auto fault = read_page(q, filter.limit, filter.after))
        co_return make_problem(x.res, problem::invalid_query, *fault);
    if (who->access == role::practice) {
        filter.practices.push_back(who->practice);
    } else {
        for (const auto p : x.rt.organisations.practices_of(who->practice)) filter.practices.emplace_back(p);
    }
    if (filter.practices.empty()) {
        x.res.status = 200;
        x.res.body = R"({"declarations":[],"next_cursor":null})";
        co_return;
    }
    if (!ledger_ready(x)) co_return;
    const auto reply = co_await call_ledger(x, ledger::list_declarations(filter));
    if (reply.ec || reply.results.empty()) co_return answer_ledger_failure(x, reply, "declaration list");
    auto rows = ledger::declaration_rows(reply.results.front());
    x.res.status = 200;
    x.res.body = list_page("declarations", rows, filter.limit, declaration_document,
                           [](const auto& last) { return make_cursor(last.declared_key, last.declaration_id); });
}

// ---- POST /v1/declarations/{id}/decision --------------------------------------------------------

net::awaitable<void> decision_answer(exchange x, request_state& state) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::commissioner}, "decide declarations: only the practice's commissioner does"))
        co_return;
    if (!write_headers_ok(x)) co_return;
    const std::string key(x.req["Idempotency-Key"]);
    auto parsed = parse_decision_body(x.req.body());
    if (!parsed.body) co_return answer_body_fault(x, parsed.fault, problem::invalid_decision);
    const auto& body = *parsed.body;
    if (!ledger_ready(x)) co_return;
    const std::string declaration_id(state.path_param);
    // The key is the commissioner's for all its decisions: the declaration is part of the request.
    const auto request_sha256 = sha256_hex(declaration_id + "\n" + x.req.body());
    const std::string& commissioner = who->practice;

    std::vector<ledger::statement> reads;
    reads.push_back(ledger::find_idempotency_record(commissioner, ledger::decide_operation, key));
    reads.push_back(ledger::find_declaration(declaration_id));
    const auto first = co_await call_ledger(x, std::move(reads));
    if (first.ec || first.results.size() != 2) co_return answer_ledger_failure(x, first, "decision lookup");
    if (const auto record = ledger::idempotency_record_from(first.results[0]))
        co_return replay(x, *record, request_sha256);
    const auto rows = ledger::declaration_rows(first.results[1]);
    if (rows.empty() || !covers(x, *who, rows.front().practice)) {
        make_problem(x.res, problem::not_found, "no declaration of this commissioner's practices has this id");
        co_return;
    }
    auto decided = rows.front();
    auto answer_already_decided = [&] {
        make_problem(x.res, problem::already_decided,
                     "declaration " + declaration_id + " was " + decided.status + " already" +
                         (decided.decided_by ? " by " + *decided.decided_by : std::string()));
    };
    if (decided.status != "awaiting-approval") co_return answer_already_decided();

    ledger::decision d{declaration_id, body.decision, body.decided_by, config::rfc3339_millis(now), body.reason};
    decided.status = d.status;
    decided.decided_by = d.decided_by;
    decided.decided_at = d.decided_at;
    decided.reason = d.reason;
    const auto document = declaration_document(decided);
    const ledger::idempotency_write record{commissioner, key,      request_sha256,
                                           200,          document, x.rt.settings.idempotency.ttl_seconds};
    const auto written = co_await call_ledger(x, ledger::decide(d, record));
    const bool conflict = written.ec == ledger::error::server_error &&
                          ledger::conflict_of(written.results) == ledger::write_conflict::key_taken;
    if (written.ec && !conflict) co_return answer_ledger_failure(x, written, "decision on " + declaration_id);
    if (!conflict && ledger::decided(written.results)) {
        x.res.status = 200;
        x.res.body = document;
        co_return;
    }
    // Someone decided first (or took this key meanwhile): this key's record, or already decided.
    if (co_await replayed_after_conflict(x, commissioner, ledger::decide_operation, key, request_sha256)) co_return;
    decided.status = "decided";
    decided.decided_by.reset();
    answer_already_decided();
}

}  // namespace

const handler declare{nullptr, &declare_answer};
const handler declaration{nullptr, &declaration_answer};
const handler declaration_list{nullptr, &declaration_list_answer};
const handler decision{nullptr, &decision_answer};

}  // namespace sluice::gateway::detail::handlers
