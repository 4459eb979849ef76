// See outcome_recorder.hpp.
#include "loadtest/detail/outcome_recorder.hpp"

#include <algorithm>
#include <utility>

namespace sluice::loadtest::detail {

submission_state& outcome_recorder::begin_submission(std::uint64_t i, std::string_view practice,
                                                     std::string idempotency_key, client_behaviour behaviour,
                                                     int copies, steady_time intended) {
    auto& record = figures_.records.emplace_back();  // local index i / threads_: arrivals come in order
    record.practice = practice;
    record.idempotency_key = std::move(idempotency_key);
    record.behaviour = behaviour;

    auto& state = states_.emplace_back();
    state.first_intended = intended;
    state.copies_left = static_cast<std::uint8_t>(copies);

    ++figures_.offered;
    ++interval_at(intended).offered;
    if (auto* step = step_of(i)) ++step->offered;
    return state;
}

void outcome_recorder::count_start(const pending& request) {
    ++record(request.submission).requests;
    if (request.retry) ++figures_.retries;
}

void outcome_recorder::count_written(steady_time now) {
    ++figures_.sent;
    ++interval_at(now).sent;
}

void outcome_recorder::count_resend(const pending& request) { ++record(request.submission).requests; }

void outcome_recorder::record_answer(const pending& request, std::optional<int> status, std::string_view submission_id,
                                     steady_time now) {
    const auto latency = now - request.intended;
    const int code = status.value_or(transport_error_status);
    auto& interval = interval_at(now);
    ++figures_.statuses[static_cast<std::size_t>(std::clamp(code, 0, 999))];
    ++interval.statuses[code];
    step_stats* step = step_of(request.submission);
    const bool accepted = status && *status >= 200 && *status < 300;
    if (status) {
        ++figures_.answered;
        figures_.latency.record(latency);
        interval.latency.record(latency);
        if (step) ++step->answered;
        if (accepted) {
            ++figures_.accepted;
            figures_.accepted_latency.record(latency);
            ++interval.accepted;
            if (step) {
                ++step->accepted;
                step->accepted_latency.record(latency);
            }
        }
    }
    if (step && !accepted) ++step->errors;
    figures_.last_answer = now;

    auto& kept = record(request.submission);
    auto& submission = state(request.submission);
    kept.last_status = code;
    if (!accepted) return;
    if (!submission_id.empty() &&
        std::find(kept.submission_ids.begin(), kept.submission_ids.end(), submission_id) == kept.submission_ids.end())
        kept.submission_ids.emplace_back(submission_id);
    if (!submission.accepted) {
        submission.accepted = true;
        ++figures_.newly_accepted;
        ++interval.newly_accepted;
        kept.time_to_receipt = now - submission.first_intended;
        figures_.time_to_receipt.record(*kept.time_to_receipt);
    }
}

void outcome_recorder::end_copy(std::uint64_t submission, next_step step) {
    auto& ending = state(submission);
    if (--ending.copies_left != 0) return;
    record(submission).gave_up = !ending.accepted && step == next_step::give_up;
    // The bytes are no longer needed (a move-assign of an empty string would keep the capacity).
    std::string().swap(ending.request.buffer);
}

const step_stats* outcome_recorder::step(std::size_t index) const {
    return index < figures_.steps.size() ? figures_.steps[index].get() : nullptr;
}

void outcome_recorder::fill(progress_snapshot& snapshot) const {
    snapshot.offered = figures_.offered;
    snapshot.sent = figures_.sent;
    snapshot.answered = figures_.answered;
    snapshot.accepted = figures_.accepted;
    snapshot.statuses.clear();
    for (std::size_t code = 0; code < figures_.statuses.size(); ++code)
        if (figures_.statuses[code] != 0) snapshot.statuses[static_cast<int>(code)] = figures_.statuses[code];
    snapshot.latency = figures_.latency;
}

interval_stats& outcome_recorder::interval_at(steady_time when) {
    const auto since = when - run_start_;
    const auto index = since.count() <= 0 ? 0 : static_cast<std::size_t>(since / interval_length_);
    if (index >= figures_.intervals.size()) figures_.intervals.resize(index + 1);
    return figures_.intervals[index];
}

step_stats* outcome_recorder::step_of(std::uint64_t submission) {
    if (!keep_steps_) return nullptr;
    const auto index = per_phase_steps_ ? phase_step_ : plan_.step_index(submission);
    if (index >= figures_.steps.size()) figures_.steps.resize(index + 1);
    auto& step = figures_.steps[index];
    if (!step) step = std::make_unique<step_stats>();
    return step.get();
}

// ---- merging ---------------------------------------------------------------------------------

void merge_interval(interval_stats& into, const interval_stats& from) {
    into.offered += from.offered;
    into.sent += from.sent;
    into.accepted += from.accepted;
    into.newly_accepted += from.newly_accepted;
    for (const auto& [code, count] : from.statuses) into.statuses[code] += count;
    into.latency.merge(from.latency);
}

void merge_step(step_stats& into, const step_stats& from) {
    into.offered += from.offered;
    into.answered += from.answered;
    into.accepted += from.accepted;
    into.errors += from.errors;
    into.accepted_latency.merge(from.accepted_latency);
}

steady_time merge_threads(run_result& result, const std::vector<thread_figures*>& threads) {
    std::array<std::uint64_t, 1000> statuses{};
    steady_time last_answer{};
    for (thread_figures* t : threads) {
        result.offered += t->offered;
        result.sent += t->sent;
        result.answered += t->answered;
        result.accepted += t->accepted;
        result.newly_accepted += t->newly_accepted;
        result.retries += t->retries;
        for (std::size_t code = 0; code < statuses.size(); ++code) statuses[code] += t->statuses[code];
        result.latency.merge(t->latency);
        result.accepted_latency.merge(t->accepted_latency);
        result.time_to_receipt.merge(t->time_to_receipt);
        if (t->intervals.size() > result.intervals.size()) result.intervals.resize(t->intervals.size());
        for (std::size_t k = 0; k < t->intervals.size(); ++k) merge_interval(result.intervals[k], t->intervals[k]);
        last_answer = std::max(last_answer, t->last_answer);
    }
    for (std::size_t code = 0; code < statuses.size(); ++code)
        if (statuses[code] != 0) result.statuses[static_cast<int>(code)] = statuses[code];

    // Records in submission order: i lives on thread i % T at local index i / T.
    std::size_t started = 0;
    for (const thread_figures* t : threads) started += t->records.size();
    result.submissions.reserve(started);
    for (std::uint64_t i = 0; result.submissions.size() < started; ++i) {
        auto& records = threads[i % threads.size()]->records;
        const auto local = i / threads.size();
        if (local < records.size()) result.submissions.push_back(std::move(records[local]));
    }
    return last_answer;
}

}  // namespace sluice::loadtest::detail
