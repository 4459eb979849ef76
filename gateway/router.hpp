// Maps a request's method and path to a route; pure, so it is unit-tested without a socket.
#pragma once

#include "gateway/metrics.hpp"

#include <boost/beast/http/verb.hpp>

#include <string_view>

namespace sluice::gateway {

struct route_match {
    route which = route::unmatched;
    bool method_allowed = false;
    std::string_view allow;          // the Allow header's value when the path matched
    std::string_view submission_id;  // route::status: the {id} path segment (not yet validated)
};

// `target` is the request-target as received; the query string is ignored for matching.
route_match match_route(boost::beast::http::verb method, std::string_view target) noexcept;

}  // namespace sluice::gateway
