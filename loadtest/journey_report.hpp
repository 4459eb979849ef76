// The journey in the JSON report (member "journey" of --json's document): the spec, each stage's
// figures (as the table shows them, plus the latency histogram's percentiles), the verdict when
// --verify ran, and every practice's record, so that `sluice-loadtest verify-journey --report
// FILE` can judge the database again later (after a failover, a restore, a planted fault) against
// exactly what the practices were told.
//
//   "journey": {"spec": "approve=80,...", "period": "2024-25", "practices": ["Z00000", ...],
//               "stages": [{"name": "declare", "calls": 50, "requests": 50, "rate_per_s": 812.5,
//                           "statuses": {"201": 50}, "elapsed_ms": ..., "latency_ms": {"p50": ...},
//                           "started_at_ms": ..., "ended_at_ms": ... (Unix epoch)}],
//               "verdict": {...} | null,
//               "records": [{"practice", "submission_id", "state", "statement_sha256", "points",
//                            "payment_pence", "declare_status", "declare_attempts",
//                            "declaration_id", "declared_points", "declared_payment_pence",
//                            "decision", "decide_status"}]}
//
// Figures are hundredths (whole numbers); a status of 0 is "no answer"; a field that does not
// apply is null. Pure: to and from Boost.JSON values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "loadtest/journey.hpp"
#include "loadtest/journey_verify.hpp"

namespace sluice::loadtest {

// What verify-journey needs back from a report.
struct journey_replay {
    std::string period;
    std::vector<std::string> practices;
    std::vector<journey_record> records;
};

boost::json::object journey_json(const journey_result& result, const journey_replay& scope,
                                 const std::optional<journey_verdict>& verdict);

// The "journey" member of a report document. Throws std::invalid_argument naming what is missing
// or malformed.
journey_replay read_journey_json(const boost::json::value& report);

}  // namespace sluice::loadtest
