// The route table (see router.hpp). Few fixed routes: a linear scan beats any map here.
#include "gateway/router.hpp"

#include "gateway/detail/handlers.hpp"

#include <array>

namespace sluice::gateway {

namespace {

namespace http = boost::beast::http;

// `pattern` is a path, or a path ending in "{id}": one non-empty segment, handed to the handler.
struct route_entry {
    std::string_view pattern;
    http::verb method;
    std::string_view allow;
    route which;
    std::string_view name;
    const detail::handler* handler;
};

constexpr std::array<route_entry, 7> routes{{
    {"/v1/submissions", http::verb::post, "POST", route::submit, "submit", &detail::handlers::submissions},
    {"/v1/submissions/{id}", http::verb::get, "GET", route::status, "status", &detail::handlers::status},
    {"/healthz", http::verb::get, "GET", route::healthz, "healthz", &detail::handlers::healthz},
    {"/readyz", http::verb::get, "GET", route::readyz, "readyz", &detail::handlers::readyz},
    {"/metrics", http::verb::get, "GET", route::metrics, "metrics", &detail::handlers::metrics},
    {"/status", http::verb::get, "GET", route::service_status, "service_status", &detail::handlers::service_status},
    {"/status.json", http::verb::get, "GET", route::service_status_json, "service_status_json",
     &detail::handlers::service_status_json},
}};

constexpr std::string_view param_marker = "{id}";

// Every route has one row and its name: /metrics counts requests by these names.
constexpr bool every_route_has_a_row() {
    for (std::size_t r = 0; r < route_count; ++r) {
        if (static_cast<route>(r) == route::unmatched) continue;
        bool found = false;
        for (const auto& e : routes) found = found || e.which == static_cast<route>(r);
        if (!found) return false;
    }
    return true;
}
static_assert(every_route_has_a_row());

// Whether `path` matches `pattern`; a "{id}" pattern's segment goes to `param`.
bool matches(std::string_view pattern, std::string_view path, std::string_view& param) noexcept {
    if (!pattern.ends_with(param_marker)) return pattern == path;
    const auto prefix = pattern.substr(0, pattern.size() - param_marker.size());
    if (path.size() <= prefix.size() || !path.starts_with(prefix)) return false;
    const auto segment = path.substr(prefix.size());
    if (segment.find('/') != std::string_view::npos) return false;
    param = segment;
    return true;
}

}  // namespace

std::string_view route_name(route r) noexcept {
    if (r == route::unmatched) return "unmatched";
    for (const auto& e : routes)
        if (e.which == r) return e.name;
    return "unknown";
}

route_match match_route(http::verb method, std::string_view target) noexcept {
    const std::string_view path = target.substr(0, target.find('?'));
    for (const auto& e : routes) {
        std::string_view param;
        if (!matches(e.pattern, path, param)) continue;
        const bool allowed = e.method == method;
        return {e.which, allowed, e.allow, param, allowed ? e.handler : nullptr};
    }
    return {};
}

}  // namespace sluice::gateway
