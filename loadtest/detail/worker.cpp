// See worker.hpp.
#include "loadtest/detail/worker.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "loadtest/detail/request_bytes.hpp"

namespace sluice::loadtest::detail {

namespace net = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::nanoseconds;

worker::worker(engine& shared, unsigned index, std::uint32_t connections)
    : e_(shared),
      o_(shared.options),
      index_(index),
      dispatch_timer_(ctx_),
      tick_timer_(ctx_),
      random_(o_.seed ^ (0x9e3779b97f4a7c15ULL * (index + 1))),
      pool_(ctx_, connections, o_.timeout, shared.connections, *this),
      dispatch_(o_.plan, index, o_.threads),
      recorder_(o_.plan, o_.threads, o_.interval_length, shared.keep_steps, o_.find_capacity) {
    tick_period_ = std::clamp<nanoseconds>(o_.timeout / 10, std::chrono::milliseconds{10},
                                           std::min<nanoseconds>(o_.progress_period, std::chrono::milliseconds{250}));
}

void worker::run() {
    auto guard = net::make_work_guard(ctx_);
    try {
        ctx_.run();
    } catch (...) {
        std::lock_guard lock(e_.mutex);
        e_.reports[index_].failure = std::current_exception();
        e_.changed.notify_all();
    }
}

// ---- from the coordinator ----------------------------------------------------------------------

void worker::post_open() {
    net::post(ctx_, [this] {
        arm_tick();
        pool_.open_all(e_.endpoint, o_.connect_concurrency);
    });
}

void worker::post_phase(std::uint64_t first, std::uint64_t end, steady_time origin, std::size_t step) {
    net::post(ctx_, [=, this] { begin_phase(first, end, origin, step); });
}

void worker::post_shutdown() {
    net::post(ctx_, [this] {
        pool_.close_all();
        dispatch_timer_.cancel();
        tick_timer_.cancel();
        ctx_.stop();
    });
}

void worker::opened(std::uint32_t open, const std::string& first_error) {
    std::lock_guard lock(e_.mutex);
    auto& report = e_.reports[index_];
    report.opened = true;
    report.open_connections = open;
    report.first_connect_error = first_error;
    e_.changed.notify_all();
}

// ---- the schedule ------------------------------------------------------------------------------

void worker::begin_phase(std::uint64_t first, std::uint64_t end, steady_time origin, std::size_t step) {
    phase_step_ = step;
    recorder_.begin_phase(e_.run_start, step);
    dispatch_.begin_phase(first, end, origin);
    phase_active_ = true;
    pump();
    check_phase_done();
}

// While a connection is free and a request is due, start it; then wait for the next due time.
void worker::pump() {
    const auto now = steady::now();
    while (pool_.has_free()) {
        const auto due = dispatch_.take_due(now);
        if (!due) break;
        const pending& request = due->request;
        if (due->arrival) begin_submission(request);
        ++in_flight_;
        recorder_.count_start(request);
        pool_.send(request, recorder_.state(request.submission).request.view(), now);
    }
    arm_dispatch(now);
}

// Arrival i becomes submission i: its record, its request bytes, its copies.
void worker::begin_submission(const pending& first_copy) {
    const auto i = first_copy.submission;
    const auto [practice_index, n] = arrival_of(i, o_.practices.size());
    const auto& who = o_.practices[practice_index];
    const auto behaviour = e_.behaviours[i];
    auto& state = recorder_.begin_submission(i, who.practice, idempotency_key(e_.run_id, who.practice, n), behaviour,
                                             initial_copies(behaviour), first_copy.intended);
    const auto body_size =
        build_request(state.request, o_.target.host_header, who.token, recorder_.record(i).idempotency_key,
                      largest_body_, [&](std::string& out) { o_.body(out, who.practice, n); });
    largest_body_ = std::max(largest_body_, body_size);
    if (state.copies_left == 2) dispatch_.push(first_copy.intended, i, 1, 1, false);
}

void worker::arm_dispatch(steady_time now) {
    const auto wake = dispatch_.arm(now);
    if (!wake) return;
    dispatch_timer_.expires_at(*wake);
    dispatch_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;  // re-armed for another time
        dispatch_.woke(steady::now());
        pump();
    });
}

// ---- an answer (or its absence) ----------------------------------------------------------------

void worker::writing() { recorder_.count_written(steady::now()); }

void worker::resending(const pending& request) { recorder_.count_resend(request); }

void worker::answered(const pending& request, std::optional<int> status,
                      std::optional<std::chrono::seconds> retry_after, std::string_view submission_id) {
    const auto now = steady::now();
    --in_flight_;
    recorder_.record_answer(request, status, submission_id, now);
    const auto decision = next_action(recorder_.record(request.submission).behaviour,
                                      attempt_outcome{status, retry_after}, request.attempt, o_.limits, random_());
    if (decision.step == next_step::retry && !dispatch_.stopping()) {
        dispatch_.push(now + decision.delay, request.submission, request.copy,
                       static_cast<std::uint16_t>(request.attempt + 1), true);
        return;
    }
    recorder_.end_copy(request.submission, decision.step);
}

void worker::freed() {
    pump();
    check_phase_done();
}

void worker::check_phase_done() {
    if (!phase_active_ || !dispatch_.exhausted() || in_flight_ > 0) return;
    phase_active_ = false;
    std::lock_guard lock(e_.mutex);
    auto& report = e_.reports[index_];
    report.phase_done = true;
    if (o_.find_capacity) {
        report.step.reset();
        if (const auto* step = recorder_.step(phase_step_)) report.step = *step;
    }
    e_.changed.notify_all();
}

// ---- deadlines, stop, progress -----------------------------------------------------------------

void worker::arm_tick() {
    tick_timer_.expires_after(tick_period_);
    tick_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        on_tick();
        arm_tick();
    });
}

void worker::on_tick() {
    const auto now = steady::now();
    pool_.sweep(now);
    if (o_.stop && o_.stop->load(std::memory_order_relaxed)) stop_sending();
    publish(now);
}

// Nothing new: the rest of the schedule is skipped and pending retries are dropped; what is in
// flight finishes (or times out), then the phase is done.
void worker::stop_sending() {
    for (const pending& dropped : dispatch_.stop()) recorder_.end_copy(dropped.submission, next_step::done);
    check_phase_done();
}

void worker::publish(steady_time now) {
    std::lock_guard lock(e_.mutex);
    auto& snapshot = e_.reports[index_].snapshot;
    snapshot.elapsed = now - e_.run_start;
    recorder_.fill(snapshot);
}

}  // namespace sluice::loadtest::detail
