// --verify: after a run, did the gateway keep its promise? For every practice's submission, fetch
// the status of every receipt it was given (GET /v1/submissions/{id} with the practice's token) and
// judge: accepted exactly once (every 2xx for the submission's Idempotency-Key carried the same
// submission_id), none lost (that id is known to the gateway, for that practice), and how many
// are calculated by now.
//
// judge() is pure (records + lookups -> verdict) and unit-tested; fetch_statuses() is the I/O,
// on its own io_context with a bounded number of keep-alive connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadtest/run_result.hpp"

namespace sluice::loadtest {

// What GET /v1/submissions/{id} answered.
struct status_lookup {
    std::string submission_id;
    int http_status = 0;   // 0: no answer (transport error after retries)
    std::string state;     // "queued", "processing", "calculated", "failed" (200 only)
    std::string practice;  // the body's "practice" (200 only)
};

enum class violation_kind : std::uint8_t {
    duplicate,      // two or more distinct submission ids for one (practice, key)
    lost,           // a receipt's id is unknown to the gateway (404)
    wrong_practice, // the status names another practice
    not_accepted,   // no 2xx at all for the submission
    lookup_failed,  // the status could not be fetched (transport error, 5xx): unknown, not lost
};
std::string_view violation_name(violation_kind kind) noexcept;  // "duplicate", "lost", ...

struct violation {
    violation_kind kind = violation_kind::duplicate;
    std::string practice;
    std::string idempotency_key;
    std::string detail;  // "ids S-1, S-2", "GET /v1/submissions/S-1 answered 404", ...
};

struct verdict {
    std::uint64_t submissions = 0;     // records judged
    std::uint64_t accepted_once = 0;   // exactly one id, found, right practice
    std::uint64_t duplicates = 0;
    std::uint64_t lost = 0;
    std::uint64_t wrong_practice = 0;
    std::uint64_t not_accepted = 0;
    std::uint64_t lookup_failed = 0;
    // States of the submissions accepted once.
    std::uint64_t queued = 0;
    std::uint64_t processing = 0;
    std::uint64_t calculated = 0;
    std::uint64_t failed = 0;
    // Every violation found (counted above), in record order, each submission at most once per kind.
    std::vector<violation> violations;

    // No violation of any kind.
    bool ok() const noexcept { return violations.empty(); }
};

// Pure: judges each record against the lookups of its ids (keyed by submission id).
verdict judge(const std::vector<submission_record>& records,
              const std::map<std::string, status_lookup>& lookups);

struct fetch_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::uint32_t connections = 64;
    std::chrono::milliseconds timeout{5000};  // per request
    int attempts = 3;                         // per id, on transport errors and 5xx
};

// Looks up every distinct id in `records`, each with its own practice's token from `tokens`
// (practice -> bearer token). Never throws for a bad answer: it is recorded in the lookup.
std::map<std::string, status_lookup> fetch_statuses(const std::vector<submission_record>& records,
                                                    const std::map<std::string, std::string>& tokens,
                                                    const fetch_options& options);

// One line: "verify: OK: 7000 submissions accepted exactly once, 0 lost, 0 duplicated; 6123
// calculated, 877 queued" or "verify: FAILED: ...", then the first few violations, one per line.
std::string format_verdict(const verdict& result, std::size_t max_listed = 20);

}  // namespace sluice::loadtest
