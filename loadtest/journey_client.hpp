// The journey's I/O (journey.hpp says what it does): the three stages over keep-alive connections
// on one io_context of their own, after the submissions of a run.
//
//   status   GET /v1/submissions/{id} with the practice's token, for every practice whose
//            submission was accepted with exactly one id, until it is calculated or failed (polled
//            again after the answer's Retry-After, else 500 ms), or until spec.wait has passed.
//            The calculated document's `result` bytes, exactly as served, give the statement's
//            SHA-256 and the figures (points, payment_gbp) the practice declares.
//   declare  POST /v1/declarations with Idempotency-Key "<run id>-declare-<practice>" (the same on
//            every retry), for every calculated submission.
//   decide   POST /v1/declarations/{id}/decision with the commissioner's token, Idempotency-Key
//            "<run id>-decide-<practice>", for the share of 201-declared practices that
//            assign_decisions() gives a decision.
//
// Requests are retried by journey_retry() (at most 5 requests a call); a request without a whole
// answer within `timeout` is a transport error, its connection closed. Never throws for an answer:
// every outcome is recorded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "loadtest/journey.hpp"
#include "loadtest/run_result.hpp"

namespace sluice::loadtest {

struct journey_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    journey_spec spec;
    std::chrono::nanoseconds timeout = std::chrono::seconds{10};  // per request
    std::string run_id;                                           // the keys' prefix
    std::uint64_t seed = 1;                                       // for assign_decisions
    std::map<std::string, std::string> practice_tokens;           // practice -> bearer token
    std::map<std::string, std::string> commissioner_of;           // practice -> commissioner code
    std::map<std::string, std::string> commissioner_tokens;       // commissioner -> bearer token
    int max_attempts = 5;
    const std::atomic<bool>* stop = nullptr;  // set: no new call starts; calls in flight finish
    // One line between polling rounds of the status stage ("journey: 40 calculated, 10 waiting").
    std::function<void(const std::string&)> on_note;
};

// The journey of every submission in `submissions` with exactly one submission id (the others
// were not accepted once: the submission run's --verify reports them).
journey_result run_journey(const std::vector<submission_record>& submissions, const journey_options& options);

}  // namespace sluice::loadtest
