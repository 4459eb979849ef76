// The coordinator of the open-loop client (client.hpp): run() checks the options, starts one
// worker per thread (detail/worker.hpp), has every connection opened, runs the phases (one, or one
// per step with find_capacity, judged as each ends), and merges the threads' figures into the
// run_result. Also the pure helpers of client.hpp (keys, run ids, the submissions check) and the
// descriptor limit.
//
// The coordinating thread (the caller's) never touches a worker's state while its thread runs: it
// posts to the worker's io_context and reads the reports under engine::mutex; the figures are
// read after the threads were joined.
#include "loadtest/client.hpp"

#include "config/rfc3339.hpp"
#include "loadtest/detail/outcome_recorder.hpp"
#include "loadtest/detail/worker.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/ip/address.hpp>

namespace sluice::loadtest {

namespace {

namespace net = boost::asio;
using steady = std::chrono::steady_clock;
using detail::steady_time;
using std::chrono::nanoseconds;

// Beyond the connections: stdio, per thread the epoll, its interrupter and timer descriptors,
// and room for the log, the tokens and catalogue files and --verify's connections.
constexpr std::uint64_t spare_descriptors = 128;
constexpr std::uint64_t descriptors_per_thread = 4;
// From the coordinator's "go" to the first intended send: time for every thread to get it.
constexpr nanoseconds start_lead = std::chrono::milliseconds{5};

// Throws std::invalid_argument for options that cannot run (see run() in client.hpp).
void check_options(const run_options& options) {
    if (options.practices.empty()) throw std::invalid_argument("no practices to send for");
    if (!options.body) throw std::invalid_argument("no body source");
    if (options.connections == 0) throw std::invalid_argument("--connections must be at least 1");
    if (options.threads == 0) throw std::invalid_argument("--threads must be at least 1");
    if (options.threads > options.connections)
        throw std::invalid_argument("--threads " + std::to_string(options.threads) + " is more than --connections " +
                                    std::to_string(options.connections) + ": each thread needs a connection");
    if (options.timeout <= nanoseconds{0}) throw std::invalid_argument("--timeout must be positive");
    if (options.interval_length <= nanoseconds{0}) throw std::invalid_argument("the interval length must be positive");
    const bool steps = std::holds_alternative<steps_schedule>(options.plan.kind());
    if (options.find_capacity && !steps)
        throw std::invalid_argument(
            "--find-capacity needs a steps: schedule (steps:start=...,step=...,every=...,max=...)");
    if (options.find_capacity && !(options.slo_p99_ms > 0))
        throw std::invalid_argument("--find-capacity needs --slo-p99-ms N (a positive number of milliseconds)");
    check_submissions_fit(options.plan, options.practices.size(), options.submissions_per_practice);
    ensure_descriptors(options.connections, options.threads);
}

// The first arrival of each step of a steps schedule, and the count at the end.
std::vector<std::uint64_t> step_starts(const schedule& plan) {
    std::vector<std::uint64_t> starts;
    for (std::size_t step = 0; step < plan.step_count(); ++step) {
        std::uint64_t low = starts.empty() ? 0 : starts.back(), high = plan.count();
        while (low < high) {  // the first i with step_index(i) >= step
            const auto middle = low + (high - low) / 2;
            if (plan.step_index(middle) >= step) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        starts.push_back(low);
    }
    starts.push_back(plan.count());
    return starts;
}

// find_capacity's judgement of a step: no error, and p99 of its accepted requests within the SLO.
bool held(const step_stats& step, double slo_p99_ms) {
    if (step.errors > 0 || step.accepted == 0) return false;
    const double p99_ms = static_cast<double>(step.accepted_latency.percentile(99).count()) / 1e6;
    return p99_ms <= slo_p99_ms;
}

// The threads, seen from the coordinator: started at construction, stopped and joined by stop()
// or, whatever leaves run(), by the destructor.
class crew {
public:
    explicit crew(detail::engine& shared) : e_(shared) {
        const auto& options = shared.options;
        for (std::uint32_t k = 0; k < options.threads; ++k) {
            const auto share =
                options.connections / options.threads + (k < options.connections % options.threads ? 1 : 0);
            workers_.push_back(std::make_unique<detail::worker>(shared, k, share));
        }
        for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
    }
    ~crew() { stop(); }
    crew(const crew&) = delete;
    crew& operator=(const crew&) = delete;

    void stop() {
        if (std::exchange(stopped_, true)) return;
        for (auto& w : workers_) w->post_shutdown();
        for (auto& t : threads_) t.join();
    }

    // Every connection, before the run. Returns how many opened and the first error.
    std::pair<std::uint32_t, std::string> open() {
        for (auto& w : workers_) w->post_open();
        wait_for([](const detail::worker_report& r) { return r.opened; }, false);
        std::uint32_t opened = 0;
        std::string first_error;
        for (const auto& report : e_.reports) {
            opened += report.open_connections;
            if (first_error.empty()) first_error = report.first_connect_error;
        }
        return {opened, first_error};
    }

    // Arrivals [first, end) timed from `origin`, until every thread has sent and heard back all.
    void run_phase(std::uint64_t first, std::uint64_t end, steady_time origin, std::size_t step) {
        {
            std::lock_guard lock(e_.mutex);
            for (auto& report : e_.reports) report.phase_done = false;
        }
        for (auto& w : workers_) w->post_phase(first, end, origin, step);
        wait_for([](const detail::worker_report& r) { return r.phase_done; }, true);
    }

    // find_capacity: the finished phase's step, over every thread.
    step_stats phase_step() {
        step_stats judged;
        std::lock_guard lock(e_.mutex);
        for (const auto& report : e_.reports)
            if (report.step) detail::merge_step(judged, *report.step);
        return judged;
    }

    // After stop(): every thread's figures.
    std::vector<detail::thread_figures*> figures() {
        std::vector<detail::thread_figures*> all;
        for (auto& w : workers_) all.push_back(&w->figures());
        return all;
    }

private:
    // Waits until every report says `done`, feeding progress meanwhile; rethrows a thread's failure.
    template <class Done>
    void wait_for(Done done, bool with_progress) {
        const auto& options = e_.options;
        std::unique_lock lock(e_.mutex);
        for (;;) {
            for (auto& report : e_.reports)
                if (report.failure) {
                    const auto failure = report.failure;
                    lock.unlock();
                    stop();
                    std::rethrow_exception(failure);
                }
            if (std::all_of(e_.reports.begin(), e_.reports.end(), done)) return;
            e_.changed.wait_for(lock, options.progress_period);
            if (with_progress && options.on_progress) {
                const auto merged = merged_snapshot();
                lock.unlock();
                options.on_progress(merged);
                lock.lock();
            }
        }
    }

    // Under e_.mutex.
    progress_snapshot merged_snapshot() const {
        progress_snapshot merged;
        for (const auto& report : e_.reports) {
            merged.offered += report.snapshot.offered;
            merged.sent += report.snapshot.sent;
            merged.answered += report.snapshot.answered;
            merged.accepted += report.snapshot.accepted;
            for (const auto& [code, count] : report.snapshot.statuses) merged.statuses[code] += count;
            merged.latency.merge(report.snapshot.latency);
        }
        merged.elapsed = steady::now() - e_.run_start;
        return merged;
    }

    detail::engine& e_;
    std::vector<std::unique_ptr<detail::worker>> workers_;
    std::vector<std::thread> threads_;
    bool stopped_ = false;
};

// The scenario, for the report's header.
run_result scenario_of(const run_options& options) {
    run_result result;
    result.target = options.target.url;
    result.schedule_spec = options.plan.spec();
    result.behaviour_spec = format_behaviour_mix(options.mix);
    result.practices = options.practices.size();
    result.connections = options.connections;
    result.threads = options.threads;
    result.interval_length = options.interval_length;
    result.started_at = config::rfc3339_millis(std::chrono::system_clock::now());
    return result;
}

// find_capacity: each step alone, judged as it ends, until one breaks the SLO (or a stop).
// Returns whether each step run held.
std::vector<bool> find_capacity(crew& threads, const detail::engine& shared, run_result& result) {
    const auto& options = shared.options;
    std::vector<bool> step_held;
    result.slo_p99_ms = options.slo_p99_ms;
    const auto starts = step_starts(options.plan);
    for (std::size_t step = 0; step + 1 < starts.size(); ++step) {
        if (starts[step] == starts[step + 1]) continue;  // a step too short to send anything
        const auto origin =
            (step == 0 ? shared.run_start : steady::now() + start_lead) - options.plan.send_time(starts[step]);
        threads.run_phase(starts[step], starts[step + 1], origin, step);
        const bool ok = held(threads.phase_step(), options.slo_p99_ms);
        step_held.resize(step + 1);
        step_held[step] = ok;
        if (ok) result.capacity_rate = options.plan.step_rate(step);
        if (!ok || (options.stop && options.stop->load())) break;
    }
    return step_held;
}

// A steps schedule's steps, each merged over the threads.
void merge_steps(run_result& result, const run_options& options, const std::vector<bool>& step_held,
                 const std::vector<detail::thread_figures*>& threads) {
    const auto step_total = options.find_capacity ? step_held.size() : options.plan.step_count();
    const auto& kind = std::get<steps_schedule>(options.plan.kind());
    result.steps.resize(step_total);
    for (std::size_t step = 0; step < step_total; ++step) {
        result.steps[step].rate = options.plan.step_rate(step);
        result.steps[step].duration = kind.step_duration;
        if (options.find_capacity) result.steps[step].held = step_held[step];
        for (const auto* t : threads)
            if (step < t->steps.size() && t->steps[step]) detail::merge_step(result.steps[step], *t->steps[step]);
    }
}

}  // namespace

// ---- pure helpers --------------------------------------------------------------------------

std::string idempotency_key(std::string_view run_id, std::string_view practice, std::uint64_t n) {
    std::string key;
    key.reserve(run_id.size() + practice.size() + 24);
    key += run_id;
    key += '-';
    key += practice;
    key += '-';
    key += std::to_string(n);
    return key;
}

std::string new_run_id() {
    std::random_device device;
    const std::uint64_t value = (std::uint64_t{device()} << 32) ^ device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

void check_submissions_fit(const schedule& plan, std::size_t practices, std::uint64_t submissions_per_practice) {
    if (practices == 0) throw std::invalid_argument("no practices: the tokens file is empty");
    if (submissions_per_practice == 0) throw std::invalid_argument("--submissions-per-practice must be at least 1");
    if (const auto* surge = std::get_if<surge_schedule>(&plan.kind()); surge && surge->practices > practices)
        throw std::invalid_argument(
            "the surge has practices=" + std::to_string(surge->practices) + " but the tokens file holds " +
            std::to_string(practices) +
            " practices: lower practices= or generate more (sluice-loadtest generate --practices " +
            std::to_string(surge->practices) + " ...)");
    const auto count = plan.count();
    const auto fits = submissions_per_practice >= (count + practices - 1) / practices;
    if (!fits) {
        const auto needed_per_practice = (count + practices - 1) / practices;
        throw std::invalid_argument(
            "the schedule sends " + std::to_string(count) + " submissions but " + std::to_string(practices) +
            " practices with --submissions-per-practice " + std::to_string(submissions_per_practice) +
            " sign off at most " + std::to_string(practices * submissions_per_practice) +
            ": pass --submissions-per-practice " + std::to_string(needed_per_practice) +
            ", or a tokens file with at least " +
            std::to_string((count + submissions_per_practice - 1) / submissions_per_practice) + " practices");
    }
}

std::uint64_t ensure_descriptors(std::uint32_t connections, std::uint32_t threads) {
    const std::uint64_t needed = std::uint64_t{connections} + descriptors_per_thread * threads + spare_descriptors;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) throw std::runtime_error("getrlimit(RLIMIT_NOFILE) failed");
    if (limit.rlim_cur != RLIM_INFINITY && (limit.rlim_max == RLIM_INFINITY || limit.rlim_cur < limit.rlim_max)) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur)
        throw std::invalid_argument(
            "--connections " + std::to_string(connections) + " needs " + std::to_string(needed) +
            " file descriptors, but the limit is " + std::to_string(limit.rlim_cur) +
            " (the hard limit, ulimit -Hn): lower --connections to at most " +
            std::to_string(limit.rlim_cur > needed - connections ? limit.rlim_cur - (needed - connections) : 0) +
            " or raise the hard limit");
    return needed;
}

// ---- the coordinator -----------------------------------------------------------------------

run_result run(const run_options& options) {
    check_options(options);
    detail::engine shared(options);
    {
        boost::system::error_code ec;
        const auto address = net::ip::make_address(options.target.address, ec);
        if (ec) throw std::invalid_argument("target address \"" + options.target.address + "\": " + ec.message());
        shared.endpoint = net::ip::tcp::endpoint(address, options.target.port);
    }
    shared.run_id = options.run_id.empty() ? new_run_id() : options.run_id;
    shared.behaviours = assign_behaviours(options.mix, options.seed, options.plan.count());
    shared.keep_steps = std::holds_alternative<steps_schedule>(options.plan.kind());
    shared.reports.resize(options.threads);
    crew threads(shared);

    const auto [opened, first_error] = threads.open();
    if (opened == 0) {
        threads.stop();
        throw connect_error("cannot connect to " + options.target.url + ": " + first_error);
    }
    if (opened < options.connections && options.on_note)
        options.on_note("opened " + std::to_string(opened) + " of " + std::to_string(options.connections) +
                        " connections (" + first_error + "); the rest are retried when a request needs them");

    run_result result = scenario_of(options);
    {
        std::lock_guard lock(shared.mutex);  // the workers' progress ticks (publish) already read it
        shared.run_start = steady::now() + start_lead;
    }
    std::vector<bool> step_held;
    if (options.find_capacity) {
        step_held = find_capacity(threads, shared, result);
    } else {
        threads.run_phase(0, options.plan.count(), shared.run_start, 0);
    }
    const auto ended = steady::now();
    threads.stop();

    const auto figures = threads.figures();
    const auto last_answer = detail::merge_threads(result, figures);
    result.max_open_connections = shared.connections.most.load();
    result.elapsed =
        std::max(nanoseconds{0}, (last_answer > shared.run_start ? last_answer : ended) - shared.run_start);
    if (shared.keep_steps) merge_steps(result, options, step_held, figures);
    return result;
}

}  // namespace sluice::loadtest
