// GET /v1/admin/outstanding?period=P (API.md "v1 additions", operator token): every practice of the
// organisations file with its state for the period (its QOF state, and each scheme's it has
// submitted) and its token's not_after, so that the service desk calls practices that have not
// submitted or declared, or whose token runs out before the close, days before the deadline.
// Sorted by practice; `counts` totals the QOF states.
#include "config/rfc3339.hpp"
#include "gateway/detail/handlers.hpp"
#include "gateway/detail/ledger_answer.hpp"
#include "gateway/detail/ledger_documents.hpp"
#include "gateway/detail/query.hpp"
#include "gateway/problem.hpp"
#include "ledger/statements.hpp"

#include <chrono>
#include <map>

namespace sluice::gateway::detail::handlers {

using credentials::role;
using std::chrono::system_clock;

namespace {

net::awaitable<void> answer(exchange x, request_state&) {
    const auto now = system_clock::now();
    const credentials::credential* who = co_await authenticate_for_sign_off(x, now);
    if (who == nullptr) co_return;
    if (!permitted(x, *who, {role::operator_}, "read the outstanding list: it is the operators'")) co_return;
    const auto q = parse_query(x.req.target(), {"period"});
    if (!q.fault.empty()) co_return make_problem(x.res, problem::invalid_query, q.fault);
    const auto period_name = q.get("period");
    const auto* period = period_name ? x.rt.catalogue.period(*period_name) : nullptr;
    if (period == nullptr)
        co_return make_problem(x.res, problem::invalid_query,
                               "period is required: one of the catalogue's (" + x.rt.catalogue.period_names() + ")");

    std::vector<std::string> practices;
    for (const auto& link : x.rt.organisations.links()) practices.push_back(link.practice);
    std::vector<ledger::outstanding_row> rows;
    if (!practices.empty()) {
        if (!ledger_ready(x)) co_return;
        const auto reply = co_await call_ledger(x, ledger::outstanding(period->name(), practices));
        if (reply.ec || reply.results.empty()) co_return answer_ledger_failure(x, reply, "outstanding list");
        rows = ledger::outstanding_rows(reply.results.front());
    }
    // Each practice's latest not_after over its practice tokens.
    std::map<std::string_view, std::chrono::sys_seconds> not_after;
    for (const auto& c : x.rt.credentials.credentials()) {
        if (c.access != role::practice) continue;
        auto [it, inserted] = not_after.emplace(c.practice, c.not_after);
        if (!inserted && c.not_after > it->second) it->second = c.not_after;
    }
    const auto& window = period->declarations();

    std::map<std::string, std::size_t> counts;
    std::string list;
    std::map<std::string_view, std::vector<const ledger::outstanding_row*>> by_practice;
    for (const auto& row : rows) by_practice[row.practice].push_back(&row);
    for (const auto& link : x.rt.organisations.links()) {
        std::string schemes;
        std::string_view qof_state = "not-submitted";
        const auto found = by_practice.find(link.practice);
        for (const auto* row_of :
             found == by_practice.end() ? std::vector<const ledger::outstanding_row*>{} : found->second) {
            const auto& row = *row_of;
            std::optional<std::string_view> declared;
            if (row.declaration_status) declared = *row.declaration_status;
            const auto state = scheme_state(row.submission_status, declared, true);
            if (row.scheme == catalogue::qof_scheme) qof_state = state;
            if (!schemes.empty()) schemes += ',';
            schemes += json_quoted(row.scheme) + ":" + json_quoted(state);
        }
        ++counts[std::string(qof_state)];
        if (!list.empty()) list += ',';
        list += "{\"practice\":" + json_quoted(link.practice) + ",\"commissioner\":" + json_quoted(link.commissioner) +
                ",\"state\":" + json_quoted(qof_state) + ",\"schemes\":{" + schemes + "}";
        const auto token = not_after.find(link.practice);
        list += ",\"token_not_after\":" +
                (token == not_after.end() ? std::string("null") : json_quoted(config::format_rfc3339(token->second)));
        const bool expires_early =
            token == not_after.end() || (window.close && token->second < *window.close) || token->second < now;
        list += std::string(",\"token_expires_before_close\":") + (expires_early ? "true" : "false") + "}";
    }
    std::string count_text;
    for (const auto& [state, n] : counts)
        count_text += (count_text.empty() ? "" : ",") + json_quoted(state) + ":" + std::to_string(n);
    x.res.status = 200;
    x.res.body = "{\"period\":" + json_quoted(period->name()) + ",\"declarations_close\":" +
                 (window.close ? json_quoted(config::format_rfc3339(*window.close)) : std::string("null")) +
                 ",\"counts\":{" + count_text + "},\"practices\":[" + list + "]}";
}

}  // namespace

const handler outstanding{nullptr, &answer};

}  // namespace sluice::gateway::detail::handlers
