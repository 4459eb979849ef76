// The gateway's routes: one table (router.cpp) maps a method and a path to the resource that
// answers it, and names the resource for /metrics. Pure, so it is unit-tested without a socket.
//
// A new resource is one handler file under handlers/ and one row of the table (plus its enumerator
// below, the label /metrics counts it under); the session does not change. A path may have rows
// for several methods (GET and POST /v1/submissions); "{name}" in a pattern is one non-empty
// segment, handed to the handler (at most two per pattern).
#pragma once

#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::gateway {

namespace detail {
struct handler;  // detail/handler.hpp: what answers a matched route
}

enum class route : std::uint8_t {
    submit,            // POST /v1/submissions
    status,            // GET /v1/submissions/{id}
    submission_list,   // GET /v1/submissions?period=...
    declare,           // POST /v1/declarations
    declaration_list,  // GET /v1/declarations?period=...
    declaration,       // GET /v1/declarations/{id}
    decision,          // POST /v1/declarations/{id}/decision
    statement,         // GET /v1/statements/{practice}/{period}
    outstanding,       // GET /v1/admin/outstanding?period=...
    healthz,
    readyz,
    metrics,
    service_status,       // GET /status: the status page
    service_status_json,  // GET /status.json: its figures
    unmatched,            // 404 and protocol errors answered before routing
    count_
};
inline constexpr std::size_t route_count = static_cast<std::size_t>(route::count_);

// The `route` label of /metrics.
std::string_view route_name(route r) noexcept;

struct route_match {
    route which = route::unmatched;
    bool method_allowed = false;
    std::string_view allow;                    // the Allow header's value when the path matched
    std::string_view path_param;               // a "{...}" route: its first such path segment (not yet validated)
    std::string_view path_param2;              // and its second (GET /v1/statements/{practice}/{period})
    const detail::handler* handler = nullptr;  // set when the path matched and the method is allowed
};

// `target` is the request-target as received; the query string is ignored for matching.
route_match match_route(boost::beast::http::verb method, std::string_view target) noexcept;

}  // namespace sluice::gateway
