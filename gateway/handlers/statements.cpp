// GET /v1/statements/{practice}/{period} (API.md "v1 additions"): the practice's achievement and
// payment statement for a period, per scheme of the period's catalogue (QOF first, then its
// enhanced services): the current submission's calculation, its declaration and decision if any,
// and the scheme's state (a later submission still queued in Redis is the current one: "submitted").
// Readable by the practice and its commissioner; anything else is 404.
// Totals are summed in integer pence from the exact decimals PostgreSQL keeps. Beyond API.md: a
// calculated scheme says "calculation": "provisional", or "final" once its period is finalised
// (sluice-admin finalise), and then shows the final figures and "final_result" (README.md).
// The QOF entry also carries its payment lines, "payments" (aspiration from the previous period's
// achievement, achievement value, payment due: ledger/payments.hpp, README.md "Payment lines"),
// read in the same call (one transaction) as the statement.
#include "config/rfc3339.hpp"
#include "gateway/detail/handlers.hpp"
#include "gateway/detail/ledger_answer.hpp"
#include "gateway/detail/ledger_documents.hpp"
#include "gateway/detail/status_document.hpp"
#include "gateway/problem.hpp"
#include "ledger/payments.hpp"
#include "ledger/statements.hpp"

#include <chrono>
#include <map>

namespace sluice::gateway::detail::handlers {

using credentials::role;
using std::chrono::system_clock;

namespace {

struct totals {
    std::int64_t total_pence = 0;
    std::int64_t approved_pence = 0;
};

static_assert(ledger::rate_scale == catalogue::aspiration_rate_scale);

// The QOF entry's payment lines. `row`, `pending_document`: as append_scheme's.
std::string qof_payments(const catalogue::catalogue& cat, const catalogue::period_catalogue& period,
                         const ledger::statement_row* row, const std::optional<std::string>& pending_document,
                         std::optional<ledger::previous_achievement_row> previous) {
    ledger::payment_inputs in;
    in.period = period.name();
    in.previous_period = catalogue::previous_period_name(period.name());
    in.aspiration_rate = period.aspiration_rate();
    in.pence_per_point = period.pence_per_point();
    if (const auto* before = cat.period(in.previous_period)) in.previous_pence_per_point = before->pence_per_point();
    in.previous = std::move(previous);
    if (!pending_document && row && row->submission.status == "calculated")
        in.achievement_pence = pence_of(row->submission.payment_gbp.value_or(""));
    return payments_document(ledger::payment_lines_of(in));
}

// One scheme's entry of the statement: its state, its figures (added to the totals when
// calculated), its submission (the queued one when `pending_document` is set) and declaration,
// and for QOF its payment lines (`payments`, a JSON object).
void append_scheme(std::string& list, const std::string& scheme, const ledger::statement_row* row,
                   const std::optional<std::string>& pending_document, totals& totals,
                   const std::optional<std::string>& payments) {
    std::optional<std::string_view> submitted, declared;
    bool on_current = false;
    if (row) {
        submitted = row->submission.status;
        if (row->declaration) {
            declared = row->declaration->status;
            on_current = row->declaration->submission_id == row->submission.submission_id;
        }
    }
    if (pending_document) {
        submitted = "queued";
        on_current = false;
    }
    const auto state_name = scheme_state(submitted, declared, on_current);
    if (!list.empty()) list += ',';
    list += "{\"scheme\":" + json_quoted(scheme) + ",\"state\":" + json_quoted(state_name);
    if (!pending_document && row && row->submission.status == "calculated") {
        // A finalised period (admin/finalise.hpp): the final figures, and the final result beside
        // the submission (whose own result, the one declarations hash, is never rewritten).
        const auto& final_result = row->final_result;
        const auto& payment = final_result ? final_result->payment_gbp : row->submission.payment_gbp.value_or("null");
        list += ",\"calculation\":" + std::string(final_result ? "\"final\"" : "\"provisional\"");
        list += ",\"points\":" + (final_result ? final_result->points : row->submission.points.value_or("null"));
        list += ",\"payment_gbp\":" + payment;
        if (final_result) list += ",\"final_result\":" + final_result->result;
        if (const auto p = pence_of(payment)) {
            totals.total_pence += *p;
            if (state_name == "approved") totals.approved_pence += *p;
        }
    }
    list += ",\"submission\":" + (pending_document ? *pending_document
                                  : row            ? submission_document(row->submission, true)
                                                   : std::string("null"));
    list +=
        ",\"declaration\":" + (row && row->declaration ? declaration_document(*row->declaration) : std::string("null"));
    if (payments) list += ",\"payments\":" + *payments;
    list += '}';
}

net::awaitable<void> answer(exchange x, request_state& state) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::practice, role::commissioner}, "read statements")) co_return;
    const std::string practice(state.path_param), period_name(state.path_param2);
    if (!covers(x, *who, practice))
        co_return make_problem(x.res, problem::not_found, "no practice this token covers has this code");
    const auto* period = x.rt.catalogue.period(period_name);
    if (period == nullptr)
        co_return make_problem(
            x.res, problem::not_found,
            "no period " + period_name.substr(0, 16) + " in the catalogue (" + x.rt.catalogue.period_names() + ")");
    if (!ledger_ready(x)) co_return;
    std::vector<ledger::statement> statements;
    statements.push_back(ledger::practice_statement(practice, period_name));
    statements.push_back(ledger::previous_achievement(practice, catalogue::previous_period_name(period_name)));
    const auto reply = co_await call_ledger(x, std::move(statements));
    if (reply.ec || reply.results.size() != 2) co_return answer_ledger_failure(x, reply, "statement");
    const auto rows = ledger::statement_rows(reply.results.front());
    const auto previous = ledger::previous_achievement_of(reply.results.back());

    std::vector<std::string> schemes = {std::string(catalogue::qof_scheme)};
    for (const auto& service : period->services()) schemes.push_back(service.code);
    std::map<std::string, const ledger::statement_row*> by_scheme;
    for (const auto& row : rows) {
        by_scheme[row.submission.scheme] = &row;
        if (std::find(schemes.begin(), schemes.end(), row.submission.scheme) == schemes.end())
            schemes.push_back(row.submission.scheme);
    }

    // A later submission still queued (Redis only) is the current one: the scheme is "submitted"
    // (unless a declaration stands) and shows that submission's status. Redis unreachable: the
    // statement is as PostgreSQL knows it.
    const auto latest = co_await latest_in_redis(x, practice);

    totals totals;
    std::string list;
    for (const auto& scheme : schemes) {
        const auto it = by_scheme.find(scheme);
        const ledger::statement_row* row = it == by_scheme.end() ? nullptr : it->second;
        std::optional<std::string> pending_document;
        if (latest) {
            const auto later = row ? superseded_by(*latest, period_name, scheme, row->submission.submission_id)
                                   : queue::latest_id(*latest, period_name, scheme);
            if (later) {
                const std::string id(*later);
                const auto record = co_await status_in_redis(x, id, practice);
                // Without its record (expired, or calculated and recorded since) PostgreSQL is right.
                if (record && record->status != "calculated" && record->status != "failed")
                    pending_document = status_document(id, *record);
            }
        }
        std::optional<std::string> payments;
        if (scheme == catalogue::qof_scheme)
            payments = qof_payments(x.rt.catalogue, *period, row, pending_document, previous);
        append_scheme(list, scheme, row, pending_document, totals, payments);
    }

    const auto& window = period->declarations();
    const auto commissioner = x.rt.organisations.commissioner_of(practice);
    std::string body = "{\"practice\":" + json_quoted(practice) + ",\"period\":" + json_quoted(period_name);
    body += ",\"commissioner\":" + (commissioner ? json_quoted(*commissioner) : std::string("null"));
    body += ",\"declarations_open\":" +
            (window.open ? json_quoted(config::format_rfc3339(*window.open)) : std::string("null"));
    body += ",\"declarations_close\":" +
            (window.close ? json_quoted(config::format_rfc3339(*window.close)) : std::string("null"));
    body += ",\"payment_gbp\":" + decimal_of(totals.total_pence);
    body += ",\"approved_payment_gbp\":" + decimal_of(totals.approved_pence);
    body += ",\"schemes\":[" + list + "]}";
    x.res.status = 200;
    x.res.body = std::move(body);
}

}  // namespace

const handler statement{nullptr, &answer};

}  // namespace sluice::gateway::detail::handlers
