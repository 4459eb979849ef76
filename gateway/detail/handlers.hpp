// The handlers, one per resource (one file each in gateway/handlers/); router.cpp's table points
// at them.
#pragma once

#include "gateway/detail/handler.hpp"

namespace sluice::gateway::detail::handlers {

extern const handler submissions;  // POST /v1/submissions (submissions.cpp)
extern const handler status;       // GET /v1/submissions/{id} (status.cpp)
extern const handler submission_list;   // GET /v1/submissions (submission_list.cpp)
extern const handler declare;           // POST /v1/declarations (declarations.cpp)
extern const handler declaration_list;  // GET /v1/declarations (declarations.cpp)
extern const handler declaration;       // GET /v1/declarations/{id} (declarations.cpp)
extern const handler decision;          // POST /v1/declarations/{id}/decision (declarations.cpp)
extern const handler statement;         // GET /v1/statements/{practice}/{period} (statements.cpp)
extern const handler outstanding;       // GET /v1/admin/outstanding (outstanding.cpp)
extern const handler healthz;      // GET /healthz (probes.cpp)
extern const handler readyz;       // GET /readyz (probes.cpp)
extern const handler metrics;      // GET /metrics (probes.cpp)
extern const handler service_status;       // GET /status: the status page (service_status.cpp)
extern const handler service_status_json;  // GET /status.json: its figures (service_status.cpp)

}  // namespace sluice::gateway::detail::handlers
