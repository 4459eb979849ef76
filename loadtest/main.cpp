// sluice-loadtest: the deadline-surge load generator (issue #5).
//
//   sluice-loadtest --target http://127.0.0.1:8080 --tokens FILE --schedule SPEC [options]
//   sluice-loadtest generate --practices N --credentials FILE --tokens FILE [--letter L] [--valid-days N]
//   sluice-loadtest body --practice CODE [--n N] [--seed N] [--period P] [--catalogue DIR] [--es-share X]
//   sluice-loadtest verify-journey --report FILE --database URL
//
// The run: open every connection, send the schedule open-loop (client.hpp), show progress
// (progress.hpp), optionally check the gateway's promise (--verify, verify.hpp), then print the
// summary table (report.hpp) and write the JSON and HTML reports when asked. With --journey, the
// accepted submissions then go through the sign-off journey (journey_client.hpp) and --verify
// also checks PostgreSQL's declarations against what the practices were told (journey_verify.hpp).
//
// Exit status: 0 done; 1 --verify found a violation, or --find-capacity found no step that held;
// 2 a usage or configuration error (one line on stderr naming the flag and the value), or a
// target that cannot be reached at all; 130 stopped early by SIGINT or SIGTERM (after reporting).
#include "catalogue/catalogue.hpp"
#include "config/command_line.hpp"
#include "config/config.hpp"
#include "credentials/credentials.hpp"
#include "credentials/organisations.hpp"
#include "config/process.hpp"
#include "loadtest/behaviour.hpp"
#include "loadtest/bodies.hpp"
#include "loadtest/client.hpp"
#include "loadtest/command_line.hpp"
#include "loadtest/detail/spec_fields.hpp"
#include "loadtest/journey.hpp"
#include "loadtest/journey_command.hpp"
#include "loadtest/journey_client.hpp"
#include "loadtest/journey_report.hpp"
#include "loadtest/journey_verify.hpp"
#include "loadtest/progress.hpp"
#include "loadtest/report.hpp"
#include "loadtest/schedule.hpp"
#include "loadtest/tokens.hpp"
#include "loadtest/verify.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace {

namespace loadtest = sluice::loadtest;
namespace catalogue = sluice::catalogue;
namespace config = sluice::config;
namespace credentials = sluice::credentials;
using namespace std::chrono_literals;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_interrupted = 130;  // 128 + SIGINT, as a shell reports it

constexpr std::string_view program = "sluice-loadtest";

std::string help_text() {
    return R"(usage: sluice-loadtest --target URL --tokens FILE --schedule SPEC [options]
       sluice-loadtest --target URL --tokens FILE --preset deadline[:window=W,practices=N] [options]
       sluice-loadtest generate --practices N --credentials FILE --tokens FILE [--letter L] [--valid-days N]
       sluice-loadtest body --practice CODE [--n N] [--seed N] [--period P] [--catalogue DIR] [--es-share X]
       sluice-loadtest verify-journey --report FILE --database URL
       sluice-loadtest --help

Sends POST /v1/submissions to a sluice gateway on an open-loop schedule: request i goes at its
intended time whatever the gateway does, and its latency counts from that time (no coordinated
omission). Each practice of the tokens file signs off one submission (its own Idempotency-Key,
kept across retries and copies) unless --submissions-per-practice says more.

  --target URL               http://HOST:PORT; HOST an IP address or localhost (required)
  --tokens FILE              PRACTICE,TOKEN lines, as `generate` writes them (required)
  --schedule SPEC            (required unless a --preset gives it) one of
                               constant:rate=500,duration=30s
                               ramp:from=10,to=1000,duration=60s
                               surge:practices=7000,window=10m,peak_share=0.6
                               steps:start=100,step=100,every=10s,max=2000
  --preset NAME[:FIELDS]     a scenario's flags under one name; a flag given too overrides the
                             preset's. One preset:
                               deadline[:window=2m,practices=9000]  the deadline night that
                               broke QMAS in 2007: 9,000 practices each signing off once, ever
                               faster towards the end of the window, a mix of impatient and
                               double-clicking users; it stands for
                                 --schedule surge:practices=9000,window=2m,peak_share=0.6
                                 --mix polite=70,impatient=20,double=10 --connections 2000
                               (window= and practices= change the surge: the default window keeps
                               a rehearsal short; the tokens file needs that many practices)
  --mix SPEC                 client behaviours by percentage, default polite=100; e.g.
                             polite=70,impatient=20,double=10 (impatient: retries at once;
                             double: sends every submission twice at once)
  --connections N            keep-alive connections, all opened before the schedule starts
                             (default 1000)
  --threads N                threads, each with its own share of the connections (default 1)
  --submissions-per-practice K   submissions each practice signs off (default 1)
  --seed N                   behaviours and bodies are a function of it (default 1)
  --timeout DURATION         per request, connect included; then it counts as a transport
                             error, status 0 (default 10s)
  --period YYYY-YY           the catalogue period of the bodies (default 2024-25)
  --catalogue DIR            the indicator catalogue (default data/catalogue)
  --es-share X               share of enhanced-service submissions, 0 to 1 (default 0.1)
  --json FILE, --html FILE   write the report as JSON / as a self-contained HTML page
  --verify                   afterwards, fetch the status of every receipt: each submission
                             accepted exactly once, none lost
  --verify-wait DURATION     with --verify: poll until every submission is calculated, or
                             DURATION has passed
  --find-capacity            with a steps schedule: run step by step and stop at the first step
  --slo-p99-ms N             whose p99 of accepted requests is above N ms, or that had any error
                             (429 and transport errors included); reports the highest rate that held
  --run-id ID                the Idempotency-Key prefix, "<run id>-<practice>-<n>" (default:
                             random per run, so that a re-run never replays)
  --quiet                    no progress lines
  --progress-interval DURATION   between progress lines when stdout is not a terminal (default 5s)

The sign-off journey (API.md "v1 additions"), after the submissions have been sent:
  --journey SPEC             each practice whose submission was accepted polls GET
                             /v1/submissions/{id} until calculated (honouring Retry-After), declares
                             it with the SHA-256 of the result bytes it read (POST /v1/declarations),
                             then a share of the declarations is decided by the practice's
                             commissioner (POST /v1/declarations/{id}/decision). In stages (status,
                             declare, decide), each with its own rate and latency in the report.
                             SPEC: approve=P,reject=P,concurrency=N,wait=DURATION,rate=R
                             (percentages of the declared practices, default 0 and 0; connections,
                             default 64; how long to wait for calculated, default 60s; rate: the
                             declare and decide stages open loop at R requests/s, latency from each
                             one's due time, default 0: closed loop). Needs
                             --submissions-per-practice 1.
  --organisations FILE       practice,commissioner lines (the gateway's organisations file)
  --commissioner-tokens FILE CODE,TOKEN lines for the commissioners (as `generate
                             --commissioners` writes them); both needed when approve or reject > 0
  --database URL             PostgreSQL (the gateway's ledger.url): with --journey and --verify,
                             every practice told 201 has exactly one declaration there with the
                             figures it read, every decision told 200 is recorded, and no other
                             practice has one (an unanswered request may have landed: reported)

generate: practices L00000, L00001, ... (N at most 100000) with fresh tokens: a credential file
for the gateway and a tokens file for sluice-loadtest (both new, mode 0600; never overwritten).
  --practices N  --credentials FILE  --tokens FILE  --letter L (default Z)  --valid-days N (default 365)
  --commissioners N  --organisations FILE  --commissioner-tokens FILE
      also N commissioners ICB00, ICB01, ... (at most 100; practice i belongs to ICB i % N): their
      lines (role commissioner) in the credential file, the organisations file for the gateway and
      --organisations, and their tokens for --commissioner-tokens (both new, mode 0600)

verify-journey: judges the database at --database again against the journey of a --json report
(its records of what each practice was told), as --verify does at the end of a run.

body: prints the body of practice CODE's n-th submission (default 0), exactly as a run with the
same --seed, --period, --catalogue and --es-share sends it.

Options take their value as the next argument or after '=' (--threads=2).
Ctrl-C (SIGINT) or SIGTERM: nothing new is sent, requests in flight are waited for, and the report
of what was done is printed; a second one ends the program at once.

Exit status: 0 done; 1 --verify (or verify-journey) found a violation or --find-capacity found no step that held;
2 a usage or configuration error, or a target that cannot be reached; 130 stopped by a signal.
)";
}

using config::bad_value;    // `--flag "value": what was expected`
using config::usage_error;  // one line for stderr: the flag, the value and what was expected
using arguments = config::parsed_options;
using loadtest::decimal_flag;
using loadtest::duration_flag;
using loadtest::required_flag;

// ---- generate ----------------------------------------------------------------------------------

int generate(const arguments& args) {
    args.allow_only(loadtest::generate_flags, "generate");
    const auto count = args.whole("--practices", 0, 1, credentials::max_generated_practices);
    if (!args.given("--practices")) throw usage_error("generate needs --practices N");
    const std::filesystem::path credentials = required_flag(args, "--credentials");
    const std::filesystem::path tokens = required_flag(args, "--tokens");
    const std::string letter = args.value("--letter").value_or("Z");
    if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'Z')
        throw bad_value("--letter", letter, "expected one upper-case letter");
    const auto days = args.whole("--valid-days", 365, 1, 3660);
    std::optional<loadtest::commissioner_files> commissioners;
    if (args.given("--commissioners") || args.given("--organisations") || args.given("--commissioner-tokens")) {
        commissioners = loadtest::commissioner_files{
            args.whole("--commissioners", 0, 1, loadtest::max_generated_commissioners),
            required_flag(args, "--commissioner-tokens"), required_flag(args, "--organisations")};
        if (!args.given("--commissioners"))
            throw usage_error("--organisations and --commissioner-tokens go with --commissioners N");
    }
    try {
        loadtest::generate_practices(count, letter[0], std::chrono::days{days}, credentials, tokens, commissioners);
    } catch (const credentials::credential_write_error& error) {
        std::cerr << program << ": " << error.what() << '\n';
        return error.refused() ? exit_usage : exit_failed;
    }
    std::cerr << program << ": " << count << " practices written to " << credentials.string()
              << " (credential file) and " << tokens.string() << " (tokens)\n";
    if (commissioners)
        std::cerr << program << ": " << commissioners->count << " commissioners added to " << credentials.string()
                  << ", their tokens in " << commissioners->tokens_file.string() << ", the organisations file "
                  << commissioners->organisations_file.string() << '\n';
    return exit_ok;
}

// ---- bodies --------------------------------------------------------------------------------------

// --catalogue, --period, --es-share and --seed: the body generator of a run (and of `body`).
loadtest::body_generator make_bodies(const arguments& args, std::uint64_t seed) {
    const std::string catalogue_dir = args.value("--catalogue").value_or("data/catalogue");
    catalogue::catalogue catalogue;
    try {
        catalogue = catalogue::load_catalogue(catalogue_dir);
    } catch (const config::config_error& error) {
        throw usage_error(std::string("--catalogue \"") + catalogue_dir + "\": " + error.what());
    }
    loadtest::body_options body_options;
    body_options.period = args.value("--period").value_or(std::string(loadtest::default_period));
    body_options.es_share = decimal_flag(args, "--es-share", 0.1, 0, 1);
    body_options.seed = seed;
    try {
        return loadtest::body_generator(catalogue, body_options);
    } catch (const std::invalid_argument& error) {
        const bool period_fault = !catalogue.period(body_options.period);
        throw bad_value(period_fault ? "--period" : "--es-share",
                        period_fault ? body_options.period : loadtest::detail::format_number(body_options.es_share),
                        error.what());
    }
}

// `body`: one submission's body on stdout, exactly as a run would send it.
int body(const arguments& args) {
    args.allow_only(loadtest::body_flags, "body");
    const auto& practice = required_flag(args, "--practice");
    if (!credentials::well_formed_practice(practice))
        throw bad_value("--practice", practice,
                        "expected an ODS practice code (one upper-case letter and five digits)");
    const auto bodies = make_bodies(args, args.whole("--seed", 1, 0, std::numeric_limits<std::uint64_t>::max()));
    std::cout << bodies.body(practice, args.whole("--n", 0, 0, std::numeric_limits<std::uint64_t>::max())) << '\n'
              << std::flush;
    return std::cout ? exit_ok : exit_failed;
}

// ---- a run -------------------------------------------------------------------------------------

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int signal) {
    stop_requested.store(true);
    std::signal(signal, SIG_DFL);  // a second one ends the program at once
}

// An output file, opened before the run so that a bad path costs nothing.
std::ofstream open_output(std::string_view flag, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw bad_value(flag, path, std::string("cannot be written: ") + std::strerror(errno));
    return out;
}

struct verification {
    loadtest::verdict result;
    bool waited_out = false;
};

// --verify: the status of every receipt, polled until all are calculated when --verify-wait says so.
verification verify(const loadtest::run_result& result, const loadtest::run_options& options,
                    std::optional<std::chrono::nanoseconds> wait, bool quiet) {
    std::map<std::string, std::string> tokens;
    for (const auto& entry : options.practices) tokens.emplace(entry.practice, entry.token);
    loadtest::fetch_options fetch;
    fetch.host = options.target.address;
    fetch.port = options.target.port;
    fetch.connections = std::min<std::uint32_t>(64, options.connections);
    fetch.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout);

    const auto give_up_at = std::chrono::steady_clock::now() + wait.value_or(std::chrono::nanoseconds{0});
    for (;;) {
        const auto lookups = loadtest::fetch_statuses(result.submissions, tokens, fetch);
        verification outcome{loadtest::judge(result.submissions, lookups), false};
        const auto& v = outcome.result;
        const bool all_done = v.queued == 0 && v.processing == 0;
        if (!wait || all_done) return outcome;
        if (std::chrono::steady_clock::now() >= give_up_at || stop_requested.load()) {
            outcome.waited_out = true;
            return outcome;
        }
        if (!quiet)
            std::cerr << program << ": verify: " << v.calculated << " calculated, " << v.failed << " failed, "
                      << v.processing << " processing, " << v.queued << " queued; polling again\n";
        std::this_thread::sleep_for(1s);
    }
}

// The scenario's flags, checked in this order (the first mistake is the one reported).
loadtest::run_options scenario_options(const arguments& args) {
    loadtest::run_options options;
    try {
        options.target = loadtest::parse_target(required_flag(args, "--target"));
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("--target ") + error.what());
    }
    try {
        options.plan = loadtest::schedule::parse(required_flag(args, "--schedule"));
    } catch (const std::invalid_argument& error) {
        throw bad_value("--schedule", required_flag(args, "--schedule"), error.what());
    }
    if (const auto mix = args.value("--mix")) {
        try {
            options.mix = loadtest::parse_behaviour_mix(*mix);
        } catch (const std::invalid_argument& error) {
            throw bad_value("--mix", *mix, error.what());
        }
    }
    options.connections = static_cast<std::uint32_t>(args.whole("--connections", 1000, 1, 1'000'000));
    options.threads = static_cast<std::uint32_t>(args.whole("--threads", 1, 1, 1024));
    if (options.threads > options.connections)
        throw bad_value("--threads", std::to_string(options.threads),
                        "more threads than --connections " + std::to_string(options.connections) +
                            ": each thread needs a connection");
    options.submissions_per_practice = args.whole("--submissions-per-practice", 1, 1, 1'000'000'000);
    options.seed = args.whole("--seed", 1, 0, std::numeric_limits<std::uint64_t>::max());
    options.timeout = duration_flag(args, "--timeout", 10s);
    if (const auto run_id = args.value("--run-id")) {  // for tests: a key prefix of one's own
        if (run_id->empty() || run_id->size() > 64 || !std::all_of(run_id->begin(), run_id->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
            }))
            throw bad_value("--run-id", *run_id, "expected 1 to 64 letters, digits or '-'");
        options.run_id = *run_id;
    }
    const bool find_capacity = args.given("--find-capacity");
    const auto slo = args.value("--slo-p99-ms");
    if (find_capacity != slo.has_value())
        throw usage_error(find_capacity ? "--find-capacity needs --slo-p99-ms N"
                                        : "--slo-p99-ms goes with --find-capacity");
    if (find_capacity) {
        if (!std::holds_alternative<loadtest::steps_schedule>(options.plan.kind()))
            throw bad_value(
                "--schedule", required_flag(args, "--schedule"),
                "--find-capacity needs a steps schedule, such as steps:start=100,step=100,every=10s,max=2000");
        options.find_capacity = true;
        options.slo_p99_ms = decimal_flag(args, "--slo-p99-ms", 0, 0.001, 3'600'000);
    }
    return options;
}

// What a run does besides sending: verification, progress, report files.
struct run_extras {
    bool verify = false;
    std::optional<std::chrono::nanoseconds> verify_wait;
    bool quiet = false;
    std::chrono::nanoseconds progress_interval{};
    std::optional<std::ofstream> json_out, html_out;  // opened before the run: a bad path costs nothing
};

run_extras extras_of(const arguments& args) {
    run_extras extras;
    extras.verify = args.given("--verify") || args.given("--verify-wait");
    if (args.given("--verify-wait")) extras.verify_wait = duration_flag(args, "--verify-wait", 0s);
    extras.quiet = args.given("--quiet");
    extras.progress_interval = duration_flag(args, "--progress-interval", 5s);
    return extras;
}

void open_report_files(const arguments& args, run_extras& extras) {
    if (const auto path = args.value("--json")) extras.json_out = open_output("--json", *path);
    if (const auto path = args.value("--html")) extras.html_out = open_output("--html", *path);
}

// The practices of the tokens file, which must be enough for the schedule (`schedule_source`:
// the flag that gave it, for the message).
void read_practices(const arguments& args, loadtest::run_options& options, const std::string& schedule_source) {
    try {
        options.practices = loadtest::read_tokens(required_flag(args, "--tokens"));
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("--tokens: ") + error.what());
    }
    try {
        loadtest::check_submissions_fit(options.plan, options.practices.size(), options.submissions_per_practice);
    } catch (const std::invalid_argument& error) {
        throw usage_error(schedule_source + ": " + error.what());
    }
}

// The engine, with progress on stdout and Ctrl-C (stop sending, wait for what is in flight).
loadtest::run_result send(loadtest::run_options& options, const run_extras& extras) {
    loadtest::progress_printer progress(stdout, loadtest::choose_progress_mode(stdout, extras.quiet),
                                        extras.progress_interval);
    options.progress_period = progress.update_period();
    options.on_progress = [&progress](const loadtest::progress_snapshot& snapshot) { progress.update(snapshot); };
    options.on_note = [](const std::string& note) { std::cerr << program << ": " << note << '\n'; };
    options.stop = &stop_requested;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);

    if (!extras.quiet)
        std::cerr << program << ": " << options.target.url << ", schedule " << options.plan.spec() << " ("
                  << options.plan.count() << " submissions), " << options.practices.size() << " practices, "
                  << options.connections << " connections, " << options.threads << " thread"
                  << (options.threads == 1 ? "" : "s") << '\n';
    loadtest::run_result result;
    try {
        result = loadtest::run(options);
    } catch (const loadtest::connect_error& error) {
        progress.finish();
        throw usage_error(std::string("--target ") + options.target.url + ": " + error.what());
    }
    progress.finish();
    if (stop_requested.load()) std::cerr << program << ": stopped early (signal); reporting what was done\n";
    return result;
}

// The summary on stdout, the report files, and the exit status.
int report(const loadtest::run_result& result, const std::optional<loadtest::verdict>& checked,
           const loadtest::run_options& options, run_extras& extras,
           const std::optional<loadtest::journey_outcome>& journey) {
    std::cout << loadtest::format_summary(result, checked) << std::flush;
    if (journey) {
        std::cout << '\n' << loadtest::format_journey(journey->result);
        if (journey->verdict) std::cout << loadtest::format_journey_verdict(*journey->verdict);
        std::cout << std::flush;
    }
    if (extras.json_out && !journey) *extras.json_out << loadtest::format_json(result, checked);
    if (extras.json_out && journey) {
        auto document = boost::json::parse(loadtest::format_json(result, checked));
        document.as_object()["journey"] = loadtest::journey_json(journey->result, journey->scope, journey->verdict);
        *extras.json_out << boost::json::serialize(document);
    }
    if (extras.html_out) *extras.html_out << loadtest::format_html(result, checked);
    if ((extras.json_out && !extras.json_out->flush()) || (extras.html_out && !extras.html_out->flush())) {
        std::cerr << program << ": could not write the report files\n";
        return exit_failed;
    }
    int status = exit_ok;
    if (checked && !checked->ok()) {
        std::cerr << loadtest::format_verdict(*checked);
        status = exit_failed;
    }
    if (journey && journey->verdict && !journey->verdict->ok()) {
        std::cerr << loadtest::format_journey_verdict(*journey->verdict);
        status = exit_failed;
    }
    if (stop_requested.load()) status = exit_interrupted;
    if (options.find_capacity && !result.capacity_rate && status != exit_interrupted) {
        std::cerr << program << ": --find-capacity: the first step already broke the SLO of "
                  << loadtest::detail::format_number(options.slo_p99_ms) << " ms\n";
        status = exit_failed;
    }
    return status;
}

int run(arguments args) {
    args.allow_only(loadtest::run_flags, "a run");
    const auto from_preset = loadtest::apply_preset(args);
    if (!from_preset.empty() && !args.given("--quiet")) {
        std::string flags;
        for (const auto& flag : from_preset) flags += " " + flag.flag + " " + flag.value;
        std::cerr << program << ": --preset " << *args.value("--preset") << ":" << flags << '\n';
    }
    auto options = scenario_options(args);
    auto extras = extras_of(args);
    const bool preset_schedule =
        std::any_of(from_preset.begin(), from_preset.end(),
                    [](const loadtest::preset_flag& flag) { return flag.flag == "--schedule"; });
    read_practices(args, options, preset_schedule ? "--preset " + *args.value("--preset") : "--schedule");
    const auto bodies = make_bodies(args, options.seed);
    if (bodies.options().es_share > 0 && !bodies.has_enhanced_services())
        std::cerr << program << ": note: period " << bodies.options().period
                  << " has no enhanced service in the catalogue: every body is QOF\n";
    options.body = [&bodies](std::string& out, std::string_view practice, std::uint64_t n) {
        bodies.append_body(out, practice, n);
    };
    try {
        loadtest::ensure_descriptors(options.connections, options.threads);
    } catch (const std::invalid_argument& error) {
        throw usage_error(error.what());
    }
    auto journey_plan = loadtest::journey_of(args, options, extras.verify);
    open_report_files(args, extras);

    const auto result = send(options, extras);
    std::optional<loadtest::verdict> checked;
    if (extras.verify) {
        const auto outcome = verify(result, options, extras.verify_wait, extras.quiet);
        checked = outcome.result;
        if (outcome.waited_out)
            std::cerr << program << ": --verify-wait: not every submission was calculated in time\n";
    }
    std::optional<loadtest::journey_outcome> journeyed;
    if (journey_plan && !stop_requested.load()) {
        std::function<void(const std::string&)> on_note;
        if (!extras.quiet) {
            std::cerr << program << ": journey " << loadtest::format_journey_spec(journey_plan->options.spec) << '\n';
            on_note = [](const std::string& note) { std::cerr << program << ": " << note << '\n'; };
        }
        journeyed = loadtest::journey(result, *journey_plan, bodies.options().period, extras.verify, &stop_requested,
                                      std::move(on_note));
    }
    return report(result, checked, options, extras, journeyed);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        config::start_process(program);
        const auto args = config::parse_options(argc, argv, loadtest::command_grammar());
        if (args.help) {
            std::cout << help_text() << std::flush;
            return exit_ok;
        }
        if (args.command == "generate") return generate(args);
        if (args.command == "body") return body(args);
        if (args.command == "verify-journey") return loadtest::verify_journey(args) ? exit_ok : exit_failed;
        return run(args);
    } catch (const usage_error& error) {
        std::cerr << program << ": " << error.what() << '\n';
        return exit_usage;
    } catch (const std::invalid_argument& error) {
        std::cerr << program << ": " << error.what() << '\n';
        return exit_usage;
    } catch (const std::exception& error) {
        std::cerr << program << ": " << error.what() << '\n';
        return exit_failed;
    }
}
