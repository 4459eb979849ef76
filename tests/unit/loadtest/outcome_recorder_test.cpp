// Unit tests of loadtest/detail/outcome_recorder.hpp, the counting of one engine thread, on
// hand-made answers: offered at the intended time and answers at the time they came; transport
// errors under status 0 without latency; a submission's record (requests, ids, last status, time to
// receipt); the end of its last copy (gave up or not); steps; and the merge of several threads.
#include "loadtest/detail/outcome_recorder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::loadtest::detail {
namespace {

using namespace std::chrono_literals;

const steady_time t0 = steady_time{} + 1h;
const auto plan = schedule::parse("constant:rate=10,duration=1s");

pending request_for(std::uint64_t submission, steady_time intended, std::uint8_t copy = 0, std::uint16_t attempt = 1) {
    return {intended, 0, submission, copy, attempt, attempt > 1};
}

TEST(outcome_recorder, counts_offers_at_their_intended_time_and_answers_when_they_come) {
    outcome_recorder recorder(plan, 1, 1s, false, false);
    recorder.begin_phase(t0, 0);
    recorder.begin_submission(0, "A81001", "k-0", client_behaviour::polite, 1, t0 + 900ms);
    const auto first = request_for(0, t0 + 900ms);
    recorder.count_start(first);
    recorder.count_written(t0 + 900ms);
    recorder.record_answer(first, 503, "", t0 + 1200ms);
    const auto retry = request_for(0, t0 + 2s, 0, 2);
    recorder.count_start(retry);
    recorder.count_written(t0 + 2s);
    recorder.record_answer(retry, std::nullopt, "", t0 + 2500ms);  // a transport error
    const auto third = request_for(0, t0 + 3s, 0, 3);
    recorder.count_start(third);
    recorder.count_written(t0 + 3s);
    recorder.record_answer(third, 202, "S-1", t0 + 3010ms);
    recorder.end_copy(0, next_step::done);

    const auto& f = recorder.figures();
    EXPECT_EQ(f.offered, 1u);
    EXPECT_EQ(f.sent, 3u);
    EXPECT_EQ(f.answered, 2u);
    EXPECT_EQ(f.accepted, 1u);
    EXPECT_EQ(f.retries, 2u);
    EXPECT_EQ(f.statuses[202], 1u);
    EXPECT_EQ(f.statuses[503], 1u);
    EXPECT_EQ(f.statuses[0], 1u);
    EXPECT_EQ(f.latency.count(), 2u);
    ASSERT_EQ(f.intervals.size(), 4u);
    EXPECT_EQ(f.intervals[0].offered, 1u);
    EXPECT_EQ(f.intervals[0].sent, 1u);
    EXPECT_EQ(f.intervals[1].statuses, (std::map<int, std::uint64_t>{{503, 1}}));
    EXPECT_EQ(f.intervals[2].statuses, (std::map<int, std::uint64_t>{{0, 1}}));
    EXPECT_EQ(f.intervals[2].latency.count(), 0u);
    EXPECT_EQ(f.intervals[3].accepted, 1u);
    EXPECT_EQ(f.newly_accepted, 1u) << "goodput: the submission's first 2xx";
    EXPECT_EQ(f.intervals[3].newly_accepted, 1u) << "in the interval it came in";
    EXPECT_EQ(f.intervals[1].newly_accepted + f.intervals[2].newly_accepted, 0u);
    EXPECT_EQ(f.last_answer, t0 + 3010ms);

    const auto& record = f.records.at(0);
    EXPECT_EQ(record.practice, "A81001");
    EXPECT_EQ(record.idempotency_key, "k-0");
    EXPECT_EQ(record.requests, 3u);
    EXPECT_EQ(record.last_status, 202);
    EXPECT_EQ(record.submission_ids, std::vector<std::string>{"S-1"});
    EXPECT_EQ(record.time_to_receipt, 2110ms);
    EXPECT_FALSE(record.gave_up);
    EXPECT_EQ(f.time_to_receipt.count(), 1u);
}

TEST(outcome_recorder, copies_share_a_record_and_the_last_one_decides) {
    outcome_recorder recorder(plan, 2, 1s, false, false);
    recorder.begin_phase(t0, 0);
    recorder.begin_submission(1, "A81002", "k-1", client_behaviour::double_submit, 2, t0);
    auto& state = recorder.state(1);
    state.request.buffer = "bytes";
    recorder.record_answer(request_for(1, t0, 0), 202, "S-1", t0 + 10ms);
    recorder.record_answer(request_for(1, t0, 1), 409, "", t0 + 11ms);
    recorder.end_copy(1, next_step::done);
    EXPECT_EQ(state.copies_left, 1);
    EXPECT_EQ(state.request.buffer, "bytes") << "kept while a copy goes on";
    recorder.record_answer(request_for(1, t0 + 1s, 1, 2), 202, "S-1", t0 + 1010ms);
    recorder.end_copy(1, next_step::done);
    EXPECT_EQ(state.request.buffer.capacity(), std::string().capacity()) << "freed with the last copy";
    const auto& record = recorder.record(1);
    EXPECT_EQ(record.submission_ids, std::vector<std::string>{"S-1"}) << "a replay adds no id";
    EXPECT_EQ(record.time_to_receipt, 10ms);
    EXPECT_EQ(recorder.figures().time_to_receipt.count(), 1u);
    EXPECT_EQ(recorder.figures().accepted, 2u) << "every 2xx";
    EXPECT_EQ(recorder.figures().newly_accepted, 1u) << "the second copy's 2xx is a replay, not goodput";
    EXPECT_EQ(recorder.figures().intervals.at(0).newly_accepted, 1u);
    EXPECT_EQ(recorder.figures().intervals.at(1).newly_accepted, 0u);

    recorder.begin_submission(3, "A81003", "k-3", client_behaviour::polite, 1, t0);
    recorder.record_answer(request_for(3, t0), 422, "", t0 + 5ms);
    recorder.end_copy(3, next_step::give_up);
    EXPECT_TRUE(recorder.record(3).gave_up);
    EXPECT_FALSE(recorder.record(3).time_to_receipt);
}

TEST(outcome_recorder, steps_by_submission_or_by_phase) {
    const auto steps = schedule::parse("steps:start=10,step=10,every=1s,max=20");  // 10, then 20
    outcome_recorder by_submission(steps, 12, 1s, true, false);  // a thread of 12: submissions 0, 12, 24
    by_submission.begin_phase(t0, 0);
    by_submission.begin_submission(0, "A81001", "k", client_behaviour::polite, 1, t0);
    by_submission.begin_submission(12, "A81001", "k", client_behaviour::polite, 1, t0 + 1s);  // step 1
    by_submission.record_answer(request_for(12, t0 + 1s), 202, "S", t0 + 1001ms);
    ASSERT_TRUE(by_submission.step(1));
    EXPECT_EQ(by_submission.step(0)->offered, 1u);
    EXPECT_EQ(by_submission.step(1)->accepted, 1u);
    EXPECT_EQ(by_submission.step(1)->accepted_latency.count(), 1u);

    outcome_recorder by_phase(steps, 1, 1s, true, true);
    by_phase.begin_phase(t0, 1);
    by_phase.begin_submission(0, "A81001", "k", client_behaviour::polite, 1, t0);
    by_phase.record_answer(request_for(0, t0), 503, "", t0 + 1ms);
    EXPECT_FALSE(by_phase.step(0));
    ASSERT_TRUE(by_phase.step(1));
    EXPECT_EQ(by_phase.step(1)->errors, 1u);
}

TEST(outcome_recorder, threads_merge_in_submission_order) {
    outcome_recorder even(plan, 2, 1s, false, false), odd(plan, 2, 1s, false, false);
    even.begin_phase(t0, 0);
    odd.begin_phase(t0, 0);
    for (std::uint64_t i = 0; i < 5; ++i) {
        auto& mine = i % 2 == 0 ? even : odd;
        mine.begin_submission(i, "A8100" + std::to_string(i), "k-" + std::to_string(i), client_behaviour::polite, 1,
                              t0 + std::chrono::milliseconds(100 * i));
        mine.record_answer(request_for(i, t0), 202, "S-" + std::to_string(i), t0 + std::chrono::milliseconds(1500 * i));
    }
    run_result result;
    const auto last = merge_threads(result, {&even.figures(), &odd.figures()});
    EXPECT_EQ(last, t0 + 6000ms);
    EXPECT_EQ(result.offered, 5u);
    EXPECT_EQ(result.accepted, 5u);
    EXPECT_EQ(result.newly_accepted, 5u);
    EXPECT_EQ(result.intervals[0].newly_accepted + result.intervals[6].newly_accepted, 2u);  // 0 at 0 s, 4 at 6 s
    EXPECT_EQ(result.statuses, (std::map<int, std::uint64_t>{{202, 5}}));
    ASSERT_EQ(result.intervals.size(), 7u);
    EXPECT_EQ(result.intervals[0].offered, 5u);
    ASSERT_EQ(result.submissions.size(), 5u);
    for (std::uint64_t i = 0; i < 5; ++i) EXPECT_EQ(result.submissions[i].idempotency_key, "k-" + std::to_string(i));
}

}  // namespace
}  // namespace sluice::loadtest::detail
