// Route table (see router.hpp). Few fixed routes: a linear scan beats any map here.
#include "gateway/router.hpp"

#include <array>

namespace sluice::gateway {

namespace {

namespace http = boost::beast::http;

struct route_entry {
    std::string_view path;
    route which;
    http::verb method;
    std::string_view allow;
};

constexpr std::array<route_entry, 6> routes{{
    {"/v1/submissions", route::submit, http::verb::post, "POST"},
    {"/healthz", route::healthz, http::verb::get, "GET"},
    {"/readyz", route::readyz, http::verb::get, "GET"},
    {"/metrics", route::metrics, http::verb::get, "GET"},
    {"/status", route::service_status, http::verb::get, "GET"},
    {"/status.json", route::service_status_json, http::verb::get, "GET"},
}};

// GET /v1/submissions/{id}: the id is one non-empty path segment.
constexpr std::string_view status_prefix = "/v1/submissions/";

}  // namespace

route_match match_route(http::verb method, std::string_view target) noexcept {
    const auto query = target.find('?');
    const std::string_view path = target.substr(0, query);
    for (const auto& r : routes) {
        if (r.path == path) return {r.which, r.method == method, r.allow, {}};
    }
    if (path.size() > status_prefix.size() && path.starts_with(status_prefix)) {
        const auto id = path.substr(status_prefix.size());
        if (id.find('/') == std::string_view::npos) return {route::status, method == http::verb::get, "GET", id};
    }
    return {};
}

}  // namespace sluice::gateway
