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

constexpr std::array<route_entry, 3> routes{{
    {"/healthz", route::healthz, http::verb::get, "GET"},
    {"/readyz", route::readyz, http::verb::get, "GET"},
    {"/metrics", route::metrics, http::verb::get, "GET"},
}};

}  // namespace

route_match match_route(http::verb method, std::string_view target) noexcept {
    const auto query = target.find('?');
    const std::string_view path = target.substr(0, query);
    for (const auto& r : routes) {
        if (r.path == path) return {r.which, r.method == method, r.allow};
    }
    return {};
}

}  // namespace sluice::gateway
