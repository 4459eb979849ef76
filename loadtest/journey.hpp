// The sign-off journey of sluice-loadtest (issue 13 item 6), its pure parts: after the submissions
// of a run, each practice whose submission was accepted waits for `calculated` (GET
// /v1/submissions/{id}, honouring Retry-After), declares exactly the statement it read (POST
// /v1/declarations with the SHA-256 of the `result` bytes served, API.md "v1 additions"), and a
// share of the practices' commissioners approve or reject the declaration (POST
// /v1/declarations/{id}/decision with a commissioner token). journey_client.hpp does the I/O;
// journey_verify.hpp checks the outcome against PostgreSQL.
//
// The journey runs in stages, each over every practice still in it before the next begins
// (calculated, then declare, then decide), on a bounded number of keep-alive connections
// (closed loop: a connection sends its next request once it has the answer to the last; or, with
// rate=, declarations and decisions due on an open-loop schedule). Each
// stage's figures are its own: requests, statuses, latency per request, and its rate (final
// outcomes per second of the stage), so the declaration rate is measured alone.
//
//   --journey approve=80,reject=10,concurrency=64,wait=60s
//     approve, reject  percentages of the declared practices whose commissioner approves /
//                      rejects (whole numbers, together at most 100; the rest stay awaiting
//                      approval); default 0 and 0
//     concurrency      connections the journey uses (default 64)
//     wait             how long to wait for every accepted submission to be calculated (default 60s)
//     rate             the declare and decide stages open loop: call i is due at the stage's start
//                      + i / rate, and its latency counts from then, however long it waited for a
//                      free connection (no coordinated omission); give enough connections for the
//                      rate times the latency. Default 0: closed loop (each connection sends its
//                      next request once it has its answer)
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadtest/histogram.hpp"

namespace sluice::loadtest {

struct journey_spec {
    unsigned approve_percent = 0;
    unsigned reject_percent = 0;
    std::uint32_t concurrency = 64;
    std::chrono::nanoseconds wait = std::chrono::seconds{60};
    double rate = 0;  // declare and decide stages: requests offered per second; 0: closed loop

    bool operator==(const journey_spec&) const = default;
};

// Parses the --journey value (an empty text is every default). Throws std::invalid_argument naming
// the field and what was expected.
journey_spec parse_journey_spec(std::string_view text);
// The canonical text: every field, "approve=80,reject=10,concurrency=64,wait=1m" (and ",rate=1000"
// when open loop).
std::string format_journey_spec(const journey_spec& spec);

enum class decision_kind : std::uint8_t { none, approve, reject };
std::string_view decision_name(decision_kind kind) noexcept;  // "none", "approved", "rejected"

// What the commissioner does with each of `count` declared practices: exactly
// round(count * approve / 100) approvals and round(count * reject / 100) rejections (never more
// than count together), placed by a shuffle driven by `seed` (the same on every platform).
std::vector<decision_kind> assign_decisions(const journey_spec& spec, std::uint64_t seed, std::size_t count);

// The exact bytes of the top-level member `name` of a JSON object document, as served (strings
// with escapes, nested objects and arrays skipped byte by byte); nullopt when the document is not
// an object or has no such member. The statement digest is the SHA-256 of
// member_bytes(body, "result").
std::optional<std::string_view> member_bytes(std::string_view document, std::string_view name);

// An amount of two decimals (a JSON number such as 4842.85, or PostgreSQL numeric text such as
// "4842.85" or "-3.5") in hundredths; nullopt for anything else. Exact: read as decimal digits,
// never through binary floating point.
std::optional<std::int64_t> hundredths(std::string_view decimal);

// The figures of a submission document's `result`: points and payment_gbp in hundredths (their
// JSON text, exactly as served).
struct statement_figures {
    std::int64_t points = 0;
    std::int64_t payment_pence = 0;

    bool operator==(const statement_figures&) const = default;
};
std::optional<statement_figures> figures_of_result(std::string_view result_bytes);

// The problem type's last path segment ("not-calculated") of an RFC 9457 body, or "".
std::string problem_slug(std::string_view body);

// Whether a journey request is sent again, and after how long (nullopt: this answer is final).
// `attempt` counts requests sent for this call, the first included.
//   transport error (0), 408, 429, 500, 502, 503, 504, and 409 idempotency-key-in-use:
//     after Retry-After when given (capped at 30 s), else 250 ms * 2^(attempt-1), at most 4 s
//   409 not-calculated (the worker has not written the result to PostgreSQL yet): as above
//   anything else (2xx, 4xx): final
// and final once max_attempts requests were sent.
std::optional<std::chrono::nanoseconds> journey_retry(int status, std::optional<std::chrono::seconds> retry_after,
                                                      std::string_view slug, int attempt, int max_attempts) noexcept;

// One request of the journey as sent and answered.
struct call_outcome {
    int status = 0;  // the final answer's status; 0: no answer (transport error or timeout)
    std::string body;
    int attempts = 0;
    bool unknown() const noexcept { return status == 0; }  // may or may not have taken effect
};

// One practice through the journey.
struct journey_record {
    std::string practice;
    std::string submission_id;  // the one id its submission was accepted with
    // The status stage: the last state read ("calculated", "failed", "queued", ...; "" none).
    std::string state;
    std::string statement_sha256;              // of the result bytes read (calculated only)
    std::optional<statement_figures> figures;  // as read in the result (calculated only)
    // The declare stage (none: not attempted).
    std::optional<call_outcome> declared;
    std::string declaration_id;                         // from a 201
    std::optional<statement_figures> declared_figures;  // from the 201's points and payment_gbp
    // The decide stage.
    decision_kind decision = decision_kind::none;
    std::optional<call_outcome> decided;
};

// One stage's figures.
struct stage_stats {
    std::string name;                                    // "status", "declare", "decide"
    std::uint64_t calls = 0;                             // final outcomes (one per practice in the stage)
    std::uint64_t requests = 0;                          // requests sent, retries and polls included
    std::map<int, std::uint64_t> statuses;               // final outcomes by status (0: no answer)
    latency_histogram latency;                           // every answered request
    std::chrono::nanoseconds elapsed{0};                 // from the stage's first request to its last answer
    std::chrono::system_clock::time_point started_at{};  // wall clock, to match samples taken elsewhere
    double rate() const noexcept;                        // calls per second of elapsed (0 if none)
};

struct journey_result {
    journey_spec spec;
    std::vector<journey_record> records;
    std::vector<stage_stats> stages;  // status, declare, decide (in that order)
    bool waited_out = false;          // the status stage gave up with submissions not yet calculated
};

// The journey's summary for the terminal: one line a stage (calls, requests, statuses, rate, p50,
// p90, p99, max). Ends with '\n'.
std::string format_journey(const journey_result& result);

}  // namespace sluice::loadtest
