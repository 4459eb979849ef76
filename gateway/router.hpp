// The gateway's routes: one table (router.cpp) maps a method and a path to the resource that
// answers it, and names the resource for /metrics. Pure, so it is unit-tested without a socket.
//
// A new resource is one handler file under handlers/ and one row of the table (plus its enumerator
// below, the label /metrics counts it under); the session does not change.
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
    submit,  // POST /v1/submissions
    status,  // GET /v1/submissions/{id}
    healthz,
    readyz,
    metrics,
    service_status,       // GET /status: the status page
    service_status_json,  // GET /status.json: its figures
    unmatched,  // 404 and protocol errors answered before routing
    count_
};
inline constexpr std::size_t route_count = static_cast<std::size_t>(route::count_);

// The `route` label of /metrics.
std::string_view route_name(route r) noexcept;

struct route_match {
    route which = route::unmatched;
    bool method_allowed = false;
    std::string_view allow;                    // the Allow header's value when the path matched
    std::string_view path_param;               // a "{id}" route: that path segment (not yet validated)
    const detail::handler* handler = nullptr;  // set when the path matched and the method is allowed
};

// `target` is the request-target as received; the query string is ignored for matching.
route_match match_route(boost::beast::http::verb method, std::string_view target) noexcept;

}  // namespace sluice::gateway
