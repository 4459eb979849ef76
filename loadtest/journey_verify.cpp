// The journey's verdict (journey_verify.hpp): judge_journey() is pure; fetch_declarations() is the
// one libpq read, a blocking connection of its own after the run (never on a request path).
#include "loadtest/journey_verify.hpp"

#include <libpq-fe.h>

#include <map>
#include <memory>
#include <stdexcept>

namespace sluice::loadtest {

namespace {

std::string show(const std::optional<std::int64_t>& hundredths) {
    if (!hundredths) return "unreadable";
    const auto value = *hundredths < 0 ? -*hundredths : *hundredths;
    std::string cents = std::to_string(value % 100);
    if (cents.size() < 2) cents.insert(0, "0");
    return (*hundredths < 0 ? "-" : "") + std::to_string(value / 100) + "." + cents;
}

// What differs between the row and what the practice declared ("" when nothing).
std::string figures_difference(const journey_record& record, const declaration_row& row) {
    std::string out;
    const auto add = [&out](const std::string& what) { out += (out.empty() ? "" : "; ") + what; };
    if (row.submission_id != record.submission_id)
        add("submission " + row.submission_id + ", declared " + record.submission_id);
    if (row.statement_sha256 != record.statement_sha256) add("statement_sha256 differs from the one sent");
    if (!record.figures) {
        add("the result read had no readable points and payment_gbp");
    } else {
        if (row.points != record.figures->points)
            add("points " + show(row.points) + ", read " + show(record.figures->points));
        if (row.payment_pence != record.figures->payment_pence)
            add("payment_gbp " + show(row.payment_pence) + ", read " + show(record.figures->payment_pence));
    }
    if (record.declared_figures && record.figures && *record.declared_figures != *record.figures)
        add("the 201 said points " + show(record.declared_figures->points) + ", payment_gbp " +
            show(record.declared_figures->payment_pence));
    return out;
}

}  // namespace

std::string_view journey_violation_name(journey_violation_kind kind) noexcept {
    switch (kind) {
    case journey_violation_kind::missing: return "missing";
    case journey_violation_kind::extra: return "extra";
    case journey_violation_kind::wrong_figures: return "wrong-figures";
    case journey_violation_kind::not_standing: return "not-standing";
    case journey_violation_kind::decision_not_recorded: return "decision-not-recorded";
    case journey_violation_kind::decided_anyway: return "decided-anyway";
    }
    return "missing";
}

journey_verdict judge_journey(const std::vector<std::string>& practices, const std::vector<journey_record>& records,
                              const std::vector<declaration_row>& rows) {
    journey_verdict verdict;
    std::map<std::string, std::vector<const declaration_row*>> rows_of;
    for (const auto& row : rows) rows_of[row.practice].push_back(&row);
    std::map<std::string, const journey_record*> record_of;
    for (const auto& record : records) record_of.emplace(record.practice, &record);

    for (const auto& practice : practices) {
        ++verdict.practices;
        const auto found = rows_of.find(practice);
        const std::vector<const declaration_row*> none;
        const auto& held = found == rows_of.end() ? none : found->second;
        const auto it = record_of.find(practice);
        const journey_record* record = it == record_of.end() ? nullptr : it->second;
        const auto flag = [&](journey_violation_kind kind, std::string detail) {
            verdict.violations.push_back({kind, practice, std::move(detail)});
        };
        const auto list_ids = [&held] {
            std::string ids;
            for (const auto* row : held)
                ids += (ids.empty() ? "" : ", ") + row->declaration_id + " (" + row->status + ")";
            return ids;
        };

        const bool told_201 = record != nullptr && record->declared && record->declared->status == 201;
        const bool unknown = record != nullptr && record->declared && record->declared->unknown();
        if (!told_201 && !unknown) {
            if (held.empty()) {
                ++verdict.refused;
            } else {
                const auto told = record == nullptr || !record->declared
                                      ? std::string("never declared")
                                      : "told " + std::to_string(record->declared->status);
                flag(journey_violation_kind::extra, told + ", yet the database holds " + list_ids());
            }
            continue;
        }
        if (unknown) {
            ++verdict.unknown_declarations;
            if (held.empty()) continue;  // it did not land: allowed
            ++verdict.unknown_landed;
            if (held.size() > 1) {
                flag(journey_violation_kind::extra,
                     "one declaration with no answer, yet the database holds " + list_ids());
                continue;
            }
            if (const auto difference = figures_difference(*record, *held.front()); !difference.empty())
                flag(journey_violation_kind::wrong_figures, held.front()->declaration_id + ": " + difference);
            continue;
        }

        ++verdict.declared_201;
        const declaration_row* mine = nullptr;
        bool others = false;
        for (const auto* row : held) {
            if (row->declaration_id == record->declaration_id) {
                mine = row;
            } else {
                others = true;
            }
        }
        if (mine == nullptr) {
            flag(journey_violation_kind::missing,
                 "told 201 with declaration " + record->declaration_id + ", not in the database" +
                     (held.empty() ? std::string() : " (it holds " + list_ids() + ")"));
            continue;
        }
        if (others)
            flag(journey_violation_kind::extra,
                 "told 201 with " + record->declaration_id + ", but the database holds " + list_ids());
        bool right = !others;
        if (const auto difference = figures_difference(*record, *mine); !difference.empty()) {
            flag(journey_violation_kind::wrong_figures, mine->declaration_id + ": " + difference);
            right = false;
        }
        const bool decided_200 = record->decided && record->decided->status == 200;
        const bool decision_unknown = record->decided && record->decided->unknown();
        if (decision_unknown) ++verdict.unknown_decisions;
        if (decided_200) {
            ++verdict.decisions_200;
            if (mine->status == decision_name(record->decision)) {
                ++verdict.decisions_recorded;
            } else {
                flag(journey_violation_kind::decision_not_recorded, mine->declaration_id + " told 200 for " +
                                                                        std::string(decision_name(record->decision)) +
                                                                        ", the database says " + mine->status);
                right = false;
            }
        } else if (!decision_unknown && mine->status != "awaiting-approval") {
            if (record->decided) {
                flag(journey_violation_kind::decided_anyway, mine->declaration_id + ": decision told " +
                                                                 std::to_string(record->decided->status) +
                                                                 ", yet the database says " + mine->status);
            } else {
                flag(journey_violation_kind::not_standing,
                     mine->declaration_id + " is " + mine->status + ", though no decision was sent for it");
            }
            right = false;
        }
        if (right) ++verdict.standing_verified;
    }
    return verdict;
}

std::string format_journey_verdict(const journey_verdict& verdict, std::size_t max_listed) {
    std::string out = "journey verify: ";
    out += verdict.ok() ? "OK: " : "FAILED: ";
    out += std::to_string(verdict.standing_verified) + " of " + std::to_string(verdict.declared_201) +
           " declarations told 201 found exactly as declared, " + std::to_string(verdict.decisions_recorded) + " of " +
           std::to_string(verdict.decisions_200) + " decisions told 200 recorded, " + std::to_string(verdict.refused) +
           " practices not told 201 with no declaration; unknown outcomes: " +
           std::to_string(verdict.unknown_declarations) + " declarations (" + std::to_string(verdict.unknown_landed) +
           " landed), " + std::to_string(verdict.unknown_decisions) + " decisions; " +
           std::to_string(verdict.violations.size()) + " violations\n";
    const auto listed = std::min(max_listed, verdict.violations.size());
    for (std::size_t i = 0; i < listed; ++i) {
        const auto& v = verdict.violations[i];
        out += "  " + std::string(journey_violation_name(v.kind)) + ": practice " + v.practice + ": " + v.detail + '\n';
    }
    if (listed < verdict.violations.size())
        out += "  ... and " + std::to_string(verdict.violations.size() - listed) + " more\n";
    return out;
}

std::vector<declaration_row> fetch_declarations(const std::string& url, const std::string& period,
                                                const std::vector<std::string>& practices) {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(url.c_str()), &PQfinish);
    if (PQstatus(connection.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("cannot connect to the database: ") + PQerrorMessage(connection.get()));
    // ODS practice codes (tokens.hpp checked them): safe inside an array literal.
    std::string array = "{";
    for (const auto& practice : practices) array += (array.size() > 1 ? "," : "") + practice;
    array += "}";
    const char* values[] = {period.c_str(), array.c_str()};
    const std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexecParams(connection.get(),
                     "SELECT declaration_id, practice, submission_id, status, points::text, payment_gbp::text, "
                     "statement_sha256 FROM declarations WHERE period = $1 AND practice = ANY($2::text[])",
                     2, nullptr, values, nullptr, nullptr, 0),
        &PQclear);
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK)
        throw std::runtime_error(std::string("reading the declarations: ") + PQerrorMessage(connection.get()));
    std::vector<declaration_row> rows;
    const int count = PQntuples(result.get());
    for (int i = 0; i < count; ++i) {
        const auto text = [&](int column) { return std::string(PQgetvalue(result.get(), i, column)); };
        declaration_row row;
        row.declaration_id = text(0);
        row.practice = text(1);
        row.submission_id = text(2);
        row.status = text(3);
        row.points = hundredths(text(4));
        row.payment_pence = hundredths(text(5));
        row.statement_sha256 = text(6);
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace sluice::loadtest
