// The body of GET /v1/submissions/{id}'s 200 (API.md), from the status record (queue/status.hpp).
// Pure, unit-tested.
//
// The result is the worker's JSON text, embedded verbatim: the worker's result_json is the one
// place that writes results, with money and points to two decimals and achievement to four
// (API.md "Money and numbers"). Parsing it into doubles and printing it again would turn 24.97
// into 2.497E1 and 4842.85 into whatever binary floating point makes of it. A stored result that
// is not JSON is left out rather than sent broken.
#pragma once

#include "queue/status.hpp"

#include <string>
#include <string_view>

namespace sluice::gateway::detail {

std::string status_document(std::string_view submission_id, const queue::status_record& record);

}  // namespace sluice::gateway::detail
