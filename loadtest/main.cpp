// sluice-loadtest: the deadline-surge load generator (issue #5).
//
//   sluice-loadtest --target http://127.0.0.1:8080 --tokens FILE --schedule SPEC [options]
//   sluice-loadtest generate --practices N --credentials FILE --tokens FILE [--letter L] [--valid-days N]
//   sluice-loadtest body --practice CODE [--n N] [--seed N] [--period P] [--catalogue DIR] [--es-share X]
//
// The run: open every connection, send the schedule open-loop (client.hpp), show progress
// (progress.hpp), optionally check the gateway's promise (--verify, verify.hpp), then print the
// summary table (report.hpp) and write the JSON and HTML reports when asked.
//
// Exit status: 0 done; 1 --verify found a violation, or --find-capacity found no step that held;
// 2 a usage or configuration error (one line on stderr naming the flag and the value), or a
// target that cannot be reached at all; 130 stopped early by SIGINT or SIGTERM (after reporting).
#include "config/catalogue.hpp"
#include "config/command_line.hpp"
#include "config/config.hpp"
#include "config/credentials.hpp"
#include "config/process.hpp"
#include "loadtest/behaviour.hpp"
#include "loadtest/bodies.hpp"
#include "loadtest/client.hpp"
#include "loadtest/detail/spec_fields.hpp"
#include "loadtest/progress.hpp"
#include "loadtest/report.hpp"
#include "loadtest/schedule.hpp"
#include "loadtest/tokens.hpp"
#include "loadtest/verify.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
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

namespace {

namespace loadtest = sluice::loadtest;
namespace config = sluice::config;
using namespace std::chrono_literals;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_interrupted = 130;  // 128 + SIGINT, as a shell reports it

constexpr std::string_view program = "sluice-loadtest";

std::string help_text() {
    return R"(usage: sluice-loadtest --target URL --tokens FILE --schedule SPEC [options]
       sluice-loadtest generate --practices N --credentials FILE --tokens FILE [--letter L] [--valid-days N]
       sluice-loadtest body --practice CODE [--n N] [--seed N] [--period P] [--catalogue DIR] [--es-share X]
       sluice-loadtest --help

Sends POST /v1/submissions to a sluice gateway on an open-loop schedule: request i goes at its
intended time whatever the gateway does, and its latency counts from that time (no coordinated
omission). Each practice of the tokens file signs off one submission (its own Idempotency-Key,
kept across retries and copies) unless --submissions-per-practice says more.

  --target URL               http://HOST:PORT; HOST an IP address or localhost (required)
  --tokens FILE              PRACTICE,TOKEN lines, as `generate` writes them (required)
  --schedule SPEC            (required) one of
                               constant:rate=500,duration=30s
                               ramp:from=10,to=1000,duration=60s
                               surge:practices=7000,window=10m,peak_share=0.6
                               steps:start=100,step=100,every=10s,max=2000
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

generate: practices L00000, L00001, ... (N at most 100000) with fresh tokens: a credential file
for the gateway and a tokens file for sluice-loadtest (both new, mode 0600; never overwritten).
  --practices N  --credentials FILE  --tokens FILE  --letter L (default Z)  --valid-days N (default 365)

body: prints the body of practice CODE's n-th submission (default 0), exactly as a run with the
same --seed, --period, --catalogue and --es-share sends it.

Options take their value as the next argument or after '=' (--threads=2).
Ctrl-C (SIGINT) or SIGTERM: nothing new is sent, requests in flight are waited for, and the report
of what was done is printed; a second one ends the program at once.

Exit status: 0 done; 1 --verify found a violation or --find-capacity found no step that held;
2 a usage or configuration error, or a target that cannot be reached; 130 stopped by a signal.
)";
}

using config::bad_value;    // `--flag "value": what was expected`
using config::usage_error;  // one line for stderr: the flag, the value and what was expected
using arguments = config::parsed_options;

// The options of each command; the switches among them take no value.
const std::vector<std::string_view> run_flags{"--target",
                                              "--tokens",
                                              "--schedule",
                                              "--mix",
                                              "--connections",
                                              "--threads",
                                              "--submissions-per-practice",
                                              "--seed",
                                              "--timeout",
                                              "--period",
                                              "--catalogue",
                                              "--es-share",
                                              "--json",
                                              "--html",
                                              "--verify",
                                              "--verify-wait",
                                              "--find-capacity",
                                              "--slo-p99-ms",
                                              "--quiet",
                                              "--progress-interval",
                                              "--run-id"};
const std::vector<std::string_view> generate_flags{"--practices", "--credentials", "--tokens", "--letter",
                                                   "--valid-days"};
const std::vector<std::string_view> body_flags{"--practice", "--n", "--seed", "--period", "--catalogue", "--es-share"};
constexpr std::array<std::string_view, 3> switches{"--verify", "--find-capacity", "--quiet"};

// The command line (config/command_line.hpp): `generate` or `body` as the first argument, or a run;
// each command then refuses the options of the others (allow_only).
config::option_grammar grammar() {
    config::option_grammar g;
    for (const auto* flags : {&run_flags, &generate_flags, &body_flags})
        for (const std::string_view name : *flags) {
            const bool known = std::any_of(g.options.begin(), g.options.end(),
                                           [&](const config::option_spec& option) { return option.name == name; });
            const bool is_switch = std::find(switches.begin(), switches.end(), name) != switches.end();
            if (!known) g.options.push_back({name, !is_switch});
        }
    g.command = config::command_word::argument_one;
    g.commands = {"generate", "body"};
    g.wording.unknown_option = "unknown option {name} (see sluice-loadtest --help)";
    return g;
}

const std::string& required(const arguments& args, std::string_view name) {
    return args.required(name, std::string(name) + " is required (see sluice-loadtest --help)");
}

double decimal(const arguments& args, std::string_view name, double fallback, double low, double high) {
    const auto text = args.value(name);
    if (!text) return fallback;
    double value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (text->empty() || ec != std::errc{} || end != text->data() + text->size() || !(value >= low && value <= high))
        throw bad_value(name, *text,
                        "expected a number from " + loadtest::detail::format_number(low) + " to " +
                            loadtest::detail::format_number(high));
    return value;
}

std::chrono::nanoseconds duration(const arguments& args, std::string_view name, std::chrono::nanoseconds fallback) {
    const auto text = args.value(name);
    if (!text) return fallback;
    std::chrono::nanoseconds value{};
    try {
        value = loadtest::detail::parse_duration(*text, name, "value");
    } catch (const std::invalid_argument&) {
        throw bad_value(name, *text, "expected a duration such as 10s, 1500ms or 2m");
    }
    if (value <= std::chrono::nanoseconds{0}) throw bad_value(name, *text, "expected a duration above 0");
    return value;
}

// ---- generate ----------------------------------------------------------------------------------

int generate(const arguments& args) {
    args.allow_only(generate_flags, "generate");
    const auto count = args.whole("--practices", 0, 1, config::max_generated_practices);
    if (!args.given("--practices")) throw usage_error("generate needs --practices N");
    const std::filesystem::path credentials = required(args, "--credentials");
    const std::filesystem::path tokens = required(args, "--tokens");
    const std::string letter = args.value("--letter").value_or("Z");
    if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'Z')
        throw bad_value("--letter", letter, "expected one upper-case letter");
    const auto days = args.whole("--valid-days", 365, 1, 3660);
    try {
        loadtest::generate_practices(count, letter[0], std::chrono::days{days}, credentials, tokens);
    } catch (const config::credential_write_error& error) {
        std::cerr << program << ": " << error.what() << '\n';
        return error.refused() ? exit_usage : exit_failed;
    }
    std::cerr << program << ": " << count << " practices written to " << credentials.string()
              << " (credential file) and " << tokens.string() << " (tokens)\n";
    return exit_ok;
}

// ---- bodies --------------------------------------------------------------------------------------

// --catalogue, --period, --es-share and --seed: the body generator of a run (and of `body`).
loadtest::body_generator make_bodies(const arguments& args, std::uint64_t seed) {
    const std::string catalogue_dir = args.value("--catalogue").value_or("data/catalogue");
    config::catalogue catalogue;
    try {
        catalogue = config::load_catalogue(catalogue_dir);
    } catch (const config::config_error& error) {
        throw usage_error(std::string("--catalogue \"") + catalogue_dir + "\": " + error.what());
    }
    loadtest::body_options body_options;
    body_options.period = args.value("--period").value_or(std::string(loadtest::default_period));
    body_options.es_share = decimal(args, "--es-share", 0.1, 0, 1);
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
    args.allow_only(body_flags, "body");
    const auto& practice = required(args, "--practice");
    if (!config::well_formed_practice(practice))
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

int run(const arguments& args) {
    args.allow_only(run_flags, "a run");
    loadtest::run_options options;
    try {
        options.target = loadtest::parse_target(required(args, "--target"));
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("--target ") + error.what());
    }
    try {
        options.plan = loadtest::schedule::parse(required(args, "--schedule"));
    } catch (const std::invalid_argument& error) {
        throw bad_value("--schedule", required(args, "--schedule"), error.what());
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
    options.timeout = duration(args, "--timeout", 10s);
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
                "--schedule", required(args, "--schedule"),
                "--find-capacity needs a steps schedule, such as steps:start=100,step=100,every=10s,max=2000");
        options.find_capacity = true;
        options.slo_p99_ms = decimal(args, "--slo-p99-ms", 0, 0.001, 3'600'000);
    }
    const bool want_verify = args.given("--verify") || args.given("--verify-wait");
    std::optional<std::chrono::nanoseconds> verify_wait;
    if (args.given("--verify-wait")) verify_wait = duration(args, "--verify-wait", 0s);
    const bool quiet = args.given("--quiet");
    const auto progress_interval = duration(args, "--progress-interval", 5s);

    // The practices, the catalogue, the bodies.
    const std::string tokens_file = required(args, "--tokens");
    try {
        options.practices = loadtest::read_tokens(tokens_file);
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("--tokens: ") + error.what());
    }
    try {
        loadtest::check_submissions_fit(options.plan, options.practices.size(), options.submissions_per_practice);
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("--schedule: ") + error.what());
    }
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

    std::optional<std::ofstream> json_out, html_out;
    if (const auto path = args.value("--json")) json_out = open_output("--json", *path);
    if (const auto path = args.value("--html")) html_out = open_output("--html", *path);

    // Progress, and Ctrl-C: stop sending, wait for what is in flight, report.
    loadtest::progress_printer progress(stdout, loadtest::choose_progress_mode(stdout, quiet), progress_interval);
    options.progress_period = progress.update_period();
    options.on_progress = [&progress](const loadtest::progress_snapshot& snapshot) { progress.update(snapshot); };
    options.on_note = [](const std::string& note) { std::cerr << program << ": " << note << '\n'; };
    options.stop = &stop_requested;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);

    if (!quiet)
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

    std::optional<loadtest::verdict> checked;
    if (want_verify) {
        const auto outcome = verify(result, options, verify_wait, quiet);
        checked = outcome.result;
        if (outcome.waited_out)
            std::cerr << program << ": --verify-wait: not every submission was calculated in time\n";
    }

    std::cout << loadtest::format_summary(result, checked) << std::flush;
    if (json_out) *json_out << loadtest::format_json(result, checked);
    if (html_out) *html_out << loadtest::format_html(result, checked);
    if ((json_out && !json_out->flush()) || (html_out && !html_out->flush())) {
        std::cerr << program << ": could not write the report files\n";
        return exit_failed;
    }

    int status = exit_ok;
    if (checked && !checked->ok()) {
        std::cerr << loadtest::format_verdict(*checked);
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

}  // namespace

int main(int argc, char** argv) {
    try {
        config::start_process(program);
        const auto args = config::parse_options(argc, argv, grammar());
        if (args.help) {
            std::cout << help_text() << std::flush;
            return exit_ok;
        }
        if (args.command == "generate") return generate(args);
        if (args.command == "body") return body(args);
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
