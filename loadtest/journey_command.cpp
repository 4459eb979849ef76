// --journey on sluice-loadtest's command line (see journey_command.hpp).
#include "loadtest/journey_command.hpp"

#include "config/config.hpp"
#include "credentials/organisations.hpp"
#include "loadtest/command_line.hpp"
#include "loadtest/journey_report.hpp"
#include "loadtest/journey_verify.hpp"
#include "loadtest/tokens.hpp"

#include <boost/json/parse.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <stdexcept>

namespace sluice::loadtest {

using arguments = config::parsed_options;
using config::bad_value;
using config::usage_error;

std::optional<journey_setup> journey_of(const arguments& args, run_options& run, bool verify) {
    if (!args.given("--journey")) {
        for (const auto* flag : {"--organisations", "--commissioner-tokens", "--database"})
            if (args.given(flag)) throw usage_error(std::string(flag) + " goes with --journey");
        return std::nullopt;
    }
    journey_setup setup;
    auto& o = setup.options;
    const auto spec = args.value("--journey").value_or("");
    try {
        o.spec = parse_journey_spec(spec);
    } catch (const std::invalid_argument& error) {
        throw bad_value("--journey", spec, error.what());
    }
    if (run.submissions_per_practice != 1)
        throw usage_error(
            "--journey needs --submissions-per-practice 1: a later submission supersedes the one "
            "a practice declares");
    for (const auto& entry : run.practices) o.practice_tokens.emplace(entry.practice, entry.token);
    const bool deciding = o.spec.approve_percent + o.spec.reject_percent > 0;
    if (deciding || args.given("--organisations") || args.given("--commissioner-tokens")) {
        if (!args.given("--organisations") || !args.given("--commissioner-tokens"))
            throw bad_value("--journey", spec,
                            "approve= and reject= need --organisations FILE and --commissioner-tokens FILE (sluice-"
                            "loadtest generate --commissioners N writes both)");
        const auto& organisations = required_flag(args, "--organisations");
        try {
            const auto table = credentials::organisation_table::load(organisations);
            for (const auto& link : table.links()) o.commissioner_of.emplace(link.practice, link.commissioner);
        } catch (const config::config_error& error) {
            throw bad_value("--organisations", organisations, error.what());
        }
        try {
            for (const auto& entry : read_commissioner_tokens(required_flag(args, "--commissioner-tokens")))
                o.commissioner_tokens.emplace(entry.practice, entry.token);
        } catch (const std::invalid_argument& error) {
            throw usage_error(std::string("--commissioner-tokens: ") + error.what());
        }
    }
    if (const auto database = args.value("--database")) {
        if (database->empty()) throw bad_value("--database", *database, "expected a PostgreSQL URL");
        setup.database = *database;
    }
    if (verify && !setup.database)
        throw usage_error("--verify with --journey needs --database URL (the gateway's ledger.url)");
    if (run.run_id.empty()) run.run_id = new_run_id();  // the journey's keys share it
    o.run_id = run.run_id;
    o.host = run.target.address;
    o.port = run.target.port;
    o.timeout = run.timeout;
    o.seed = run.seed;
    return setup;
}

namespace {

// The run's practices, each once, in the order of their first submission.
std::vector<std::string> practices_of(const run_result& result) {
    std::vector<std::string> practices;
    std::set<std::string> seen;
    for (const auto& record : result.submissions)
        if (seen.insert(record.practice).second) practices.push_back(record.practice);
    return practices;
}

}  // namespace

journey_outcome journey(const run_result& sent, journey_setup& setup, const std::string& period, bool verify,
                        const std::atomic<bool>* stop, std::function<void(const std::string&)> on_note) {
    journey_outcome outcome;
    setup.options.stop = stop;
    if (on_note) setup.options.on_note = std::move(on_note);
    outcome.result = run_journey(sent.submissions, setup.options);
    outcome.scope.period = period;
    outcome.scope.practices = practices_of(sent);
    if (verify) {
        const auto rows = fetch_declarations(*setup.database, period, outcome.scope.practices);
        outcome.verdict = judge_journey(outcome.scope.practices, outcome.result.records, rows);
    }
    return outcome;
}

// `verify-journey`: a report's journey against the database now.
bool verify_journey(const arguments& args) {
    args.allow_only(verify_journey_flags, "verify-journey");
    const auto& report_file = required_flag(args, "--report");
    const auto& database = required_flag(args, "--database");
    std::ifstream in(report_file, std::ios::binary);
    if (!in) throw bad_value("--report", report_file, std::string("cannot be read: ") + std::strerror(errno));
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    boost::system::error_code ec;
    const auto document = boost::json::parse(text, ec);
    if (ec) throw bad_value("--report", report_file, "not JSON: " + ec.message());
    journey_replay replay;
    try {
        replay = read_journey_json(document);
    } catch (const std::invalid_argument& error) {
        throw bad_value("--report", report_file, error.what());
    }
    const auto rows = fetch_declarations(database, replay.period, replay.practices);
    const auto verdict = judge_journey(replay.practices, replay.records, rows);
    std::cout << format_journey_verdict(verdict) << std::flush;
    return verdict.ok();
}

}  // namespace sluice::loadtest
