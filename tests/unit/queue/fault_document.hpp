// Test-only: a validation fault rendered as JSON, so tests and the fuzz target can inspect it
// (pointer escaping, fault lists, caps) as a client would. The gateway itself answers through
// gateway/problem.cpp, the one place that maps client errors to problem types.
#pragma once

#include "queue/submission.hpp"

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace sluice::queue {

inline std::string_view problem_type(fault_kind kind) noexcept {
    return kind == fault_kind::malformed_json ? "urn:sluice:problem:malformed-json"
                                              : "urn:sluice:problem:invalid-submission";
}

inline std::string problem_document(const submission_fault& fault) {
    boost::json::object doc;
    doc["type"] = problem_type(fault.kind);
    doc["title"] = fault.kind == fault_kind::malformed_json ? "Body is not valid JSON" : "Submission is not valid";
    doc["status"] = fault.status();
    doc["detail"] = fault.detail;
    if (fault.kind == fault_kind::invalid_submission) {
        boost::json::array errors;
        for (const auto& e : fault.errors) errors.push_back(boost::json::object{{"pointer", e.pointer}, {"detail", e.detail}});
        doc["errors"] = std::move(errors);
    }
    return boost::json::serialize(doc);
}

}  // namespace sluice::queue
