// The journey's JSON (journey_report.hpp), both ways.
#include "loadtest/journey_report.hpp"

#include <stdexcept>

namespace sluice::loadtest {

namespace {

namespace json = boost::json;

json::value optional_int(const std::optional<std::int64_t>& value) {
    return value ? json::value(*value) : json::value(nullptr);
}

double ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

json::object stage_json(const stage_stats& stage) {
    json::object statuses;
    for (const auto& [code, count] : stage.statuses) statuses[std::to_string(code)] = count;
    json::object latency;
    const auto& h = stage.latency;
    latency["count"] = h.count();
    if (h.count() > 0) {
        latency["p50"] = ms(h.percentile(50));
        latency["p90"] = ms(h.percentile(90));
        latency["p99"] = ms(h.percentile(99));
        latency["max"] = ms(h.max());
    }
    const auto epoch_ms = [](std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    };
    return {{"started_at_ms", epoch_ms(stage.started_at)},
            {"ended_at_ms", epoch_ms(stage.started_at) + static_cast<std::int64_t>(ms(stage.elapsed))},
            {"name", stage.name},
            {"calls", stage.calls},
            {"requests", stage.requests},
            {"rate_per_s", stage.rate()},
            {"elapsed_ms", ms(stage.elapsed)},
            {"statuses", std::move(statuses)},
            {"latency_ms", std::move(latency)}};
}

json::object verdict_json(const journey_verdict& v) {
    json::array violations;
    for (const auto& x : v.violations)
        violations.push_back(
            json::object{{"kind", journey_violation_name(x.kind)}, {"practice", x.practice}, {"detail", x.detail}});
    return {{"ok", v.ok()},
            {"practices", v.practices},
            {"declared_201", v.declared_201},
            {"standing_verified", v.standing_verified},
            {"decisions_200", v.decisions_200},
            {"decisions_recorded", v.decisions_recorded},
            {"unknown_declarations", v.unknown_declarations},
            {"unknown_landed", v.unknown_landed},
            {"unknown_decisions", v.unknown_decisions},
            {"refused", v.refused},
            {"violations", std::move(violations)}};
}

const json::value& member(const json::object& o, std::string_view name, std::string_view where) {
    const auto* v = o.if_contains(name);
    if (v == nullptr) throw std::invalid_argument(std::string(where) + ": no \"" + std::string(name) + "\"");
    return *v;
}

std::string text_of(const json::object& o, std::string_view name, std::string_view where) {
    const auto& v = member(o, name, where);
    if (v.is_null()) return {};
    if (!v.is_string())
        throw std::invalid_argument(std::string(where) + ": \"" + std::string(name) + "\" is not a string");
    return std::string(v.get_string());
}

std::optional<std::int64_t> int_of(const json::object& o, std::string_view name, std::string_view where) {
    const auto& v = member(o, name, where);
    if (v.is_null()) return std::nullopt;
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
    throw std::invalid_argument(std::string(where) + ": \"" + std::string(name) + "\" is not a whole number");
}

}  // namespace

json::object journey_json(const journey_result& result, const journey_replay& scope,
                          const std::optional<journey_verdict>& verdict) {
    json::array practices;
    for (const auto& p : scope.practices) practices.push_back(json::string(p));
    json::array stages;
    for (const auto& stage : result.stages) stages.push_back(stage_json(stage));
    json::array records;
    for (const auto& r : result.records) {
        json::object o;
        o["practice"] = r.practice;
        o["submission_id"] = r.submission_id;
        o["state"] = r.state;
        o["statement_sha256"] = r.statement_sha256;
        o["points"] = optional_int(r.figures ? std::optional<std::int64_t>(r.figures->points) : std::nullopt);
        o["payment_pence"] =
            optional_int(r.figures ? std::optional<std::int64_t>(r.figures->payment_pence) : std::nullopt);
        o["declare_status"] = optional_int(r.declared ? std::optional<std::int64_t>(r.declared->status) : std::nullopt);
        o["declare_attempts"] =
            optional_int(r.declared ? std::optional<std::int64_t>(r.declared->attempts) : std::nullopt);
        o["declaration_id"] = r.declaration_id;
        o["declared_points"] =
            optional_int(r.declared_figures ? std::optional<std::int64_t>(r.declared_figures->points) : std::nullopt);
        o["declared_payment_pence"] = optional_int(
            r.declared_figures ? std::optional<std::int64_t>(r.declared_figures->payment_pence) : std::nullopt);
        o["decision"] = decision_name(r.decision);
        o["decide_status"] = optional_int(r.decided ? std::optional<std::int64_t>(r.decided->status) : std::nullopt);
        records.push_back(std::move(o));
    }
    return {{"spec", format_journey_spec(result.spec)},
            {"period", scope.period},
            {"practices", std::move(practices)},
            {"waited_out", result.waited_out},
            {"stages", std::move(stages)},
            {"verdict", verdict ? json::value(verdict_json(*verdict)) : json::value(nullptr)},
            {"records", std::move(records)}};
}

journey_replay read_journey_json(const json::value& report) {
    if (!report.is_object()) throw std::invalid_argument("the report is not a JSON object");
    const auto* journey = report.get_object().if_contains("journey");
    if (journey == nullptr || !journey->is_object())
        throw std::invalid_argument("the report has no \"journey\" (was the run made with --journey and --json?)");
    const auto& j = journey->get_object();
    journey_replay replay;
    replay.period = text_of(j, "period", "journey");
    const auto& practices = member(j, "practices", "journey");
    const auto& records = member(j, "records", "journey");
    if (!practices.is_array() || !records.is_array())
        throw std::invalid_argument("journey: \"practices\" and \"records\" must be arrays");
    for (const auto& p : practices.get_array()) {
        if (!p.is_string()) throw std::invalid_argument("journey: a practice that is not a string");
        replay.practices.emplace_back(p.get_string());
    }
    for (const auto& value : records.get_array()) {
        if (!value.is_object()) throw std::invalid_argument("journey: a record that is not an object");
        const auto& o = value.get_object();
        journey_record r;
        r.practice = text_of(o, "practice", "journey record");
        const std::string where = "journey record of " + r.practice;
        r.submission_id = text_of(o, "submission_id", where);
        r.state = text_of(o, "state", where);
        r.statement_sha256 = text_of(o, "statement_sha256", where);
        const auto points = int_of(o, "points", where), payment = int_of(o, "payment_pence", where);
        if (points && payment) r.figures = statement_figures{*points, *payment};
        if (const auto status = int_of(o, "declare_status", where)) {
            r.declared = call_outcome{
                static_cast<int>(*status), {}, static_cast<int>(int_of(o, "declare_attempts", where).value_or(1))};
        }
        r.declaration_id = text_of(o, "declaration_id", where);
        const auto dp = int_of(o, "declared_points", where), dg = int_of(o, "declared_payment_pence", where);
        if (dp && dg) r.declared_figures = statement_figures{*dp, *dg};
        const auto decision = text_of(o, "decision", where);
        if (decision == "approved") {
            r.decision = decision_kind::approve;
        } else if (decision == "rejected") {
            r.decision = decision_kind::reject;
        } else if (decision != "none") {
            throw std::invalid_argument(where + ": decision \"" + decision + "\"");
        }
        if (const auto status = int_of(o, "decide_status", where))
            r.decided = call_outcome{static_cast<int>(*status), {}, 1};
        replay.records.push_back(std::move(r));
    }
    return replay;
}

}  // namespace sluice::loadtest
