// The route table (see router.hpp). Few fixed routes: a linear scan beats any map here.
#include "gateway/router.hpp"

#include "gateway/detail/handlers.hpp"

#include <array>

namespace sluice::gateway {

namespace {

namespace http = boost::beast::http;

// `pattern` is a path whose segments may be "{name}": one non-empty segment, handed to the handler.
// `allow` is the Allow header of the pattern's path: every method that has a row for it.
struct route_entry {
    std::string_view pattern;
    http::verb method;
    std::string_view allow;
    route which;
    std::string_view name;
    const detail::handler* handler;
};

constexpr std::array<route_entry, 14> routes{{
    {"/v1/submissions", http::verb::post, "GET, POST", route::submit, "submit", &detail::handlers::submissions},
    {"/v1/submissions", http::verb::get, "GET, POST", route::submission_list, "submission_list",
     &detail::handlers::submission_list},
    {"/v1/submissions/{id}", http::verb::get, "GET", route::status, "status", &detail::handlers::status},
    {"/v1/declarations", http::verb::post, "GET, POST", route::declare, "declare", &detail::handlers::declare},
    {"/v1/declarations", http::verb::get, "GET, POST", route::declaration_list, "declaration_list",
     &detail::handlers::declaration_list},
    {"/v1/declarations/{id}", http::verb::get, "GET", route::declaration, "declaration",
     &detail::handlers::declaration},
    {"/v1/declarations/{id}/decision", http::verb::post, "POST", route::decision, "decision",
     &detail::handlers::decision},
    {"/v1/statements/{practice}/{period}", http::verb::get, "GET", route::statement, "statement",
     &detail::handlers::statement},
    {"/v1/admin/outstanding", http::verb::get, "GET", route::outstanding, "outstanding",
     &detail::handlers::outstanding},
    {"/healthz", http::verb::get, "GET", route::healthz, "healthz", &detail::handlers::healthz},
    {"/readyz", http::verb::get, "GET", route::readyz, "readyz", &detail::handlers::readyz},
    {"/metrics", http::verb::get, "GET", route::metrics, "metrics", &detail::handlers::metrics},
    {"/status", http::verb::get, "GET", route::service_status, "service_status", &detail::handlers::service_status},
    {"/status.json", http::verb::get, "GET", route::service_status_json, "service_status_json",
     &detail::handlers::service_status_json},
}};

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

// The next segment of `path` from `at` (which is at a '/'), or false at the end.
bool next_segment(std::string_view path, std::size_t& at, std::string_view& segment) noexcept {
    if (at >= path.size() || path[at] != '/') return false;
    const auto end = path.find('/', at + 1);
    segment = path.substr(at + 1, (end == std::string_view::npos ? path.size() : end) - at - 1);
    at = end == std::string_view::npos ? path.size() : end;
    return true;
}

// Whether `path` matches `pattern`; its "{...}" segments go to `params`.
bool matches(std::string_view pattern, std::string_view path, std::array<std::string_view, 2>& params) noexcept {
    if (pattern.find('{') == std::string_view::npos) return pattern == path;
    std::size_t p = 0, q = 0, n = 0;
    std::string_view want, got;
    for (;;) {
        const bool more_pattern = next_segment(pattern, p, want);
        const bool more_path = next_segment(path, q, got);
        if (!more_pattern || !more_path) return more_pattern == more_path && p == pattern.size() && q == path.size();
        if (want.starts_with('{')) {
            if (got.empty() || n == params.size()) return false;
            params[n++] = got;
        } else if (want != got) {
            return false;
        }
    }
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
    route_match refused;
    for (const auto& e : routes) {
        std::array<std::string_view, 2> params{};
        if (!matches(e.pattern, path, params)) continue;
        if (e.method == method) return {e.which, true, e.allow, params[0], params[1], e.handler};
        if (refused.allow.empty()) refused = {e.which, false, e.allow, params[0], params[1], nullptr};
    }
    return refused;
}

}  // namespace sluice::gateway
