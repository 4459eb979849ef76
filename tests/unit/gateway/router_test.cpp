// Unit tests of gateway/router.hpp: every resource of API.md is matched by path and method, the
// query string is ignored, a known path with another method is 405 with the right Allow, "{id}"
// takes exactly one non-empty segment, and every route has its /metrics name.
#include "gateway/router.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

using sluice::gateway::match_route;
using sluice::gateway::route;
using sluice::gateway::route_count;
using sluice::gateway::route_name;
namespace http = boost::beast::http;

TEST(Router, MatchesEveryResourceWithItsMethod) {
    const struct {
        http::verb method;
        std::string_view target;
        route which;
    } cases[] = {
        {http::verb::post, "/v1/submissions", route::submit},
        {http::verb::get, "/v1/submissions/abc-123", route::status},
        {http::verb::get, "/healthz", route::healthz},
        {http::verb::get, "/readyz", route::readyz},
        {http::verb::get, "/metrics", route::metrics},
        {http::verb::get, "/v1/submissions?period=2024-25", route::submission_list},
        {http::verb::post, "/v1/declarations", route::declare},
        {http::verb::get, "/v1/declarations", route::declaration_list},
        {http::verb::get, "/v1/declarations/d-1", route::declaration},
        {http::verb::post, "/v1/declarations/d-1/decision", route::decision},
        {http::verb::get, "/v1/statements/A81001/2024-25", route::statement},
        {http::verb::get, "/v1/admin/outstanding?period=2024-25", route::outstanding},
    };
    for (const auto& c : cases) {
        const auto m = match_route(c.method, c.target);
        EXPECT_EQ(m.which, c.which) << c.target;
        EXPECT_TRUE(m.method_allowed) << c.target;
        EXPECT_NE(m.handler, nullptr) << c.target;
    }
}

TEST(Router, IgnoresTheQueryString) {
    const auto m = match_route(http::verb::get, "/healthz?verbose=1");
    EXPECT_EQ(m.which, route::healthz);
    EXPECT_TRUE(m.method_allowed);
    const auto s = match_route(http::verb::get, "/v1/submissions/xyz?x=/y");
    EXPECT_EQ(s.which, route::status);
    EXPECT_EQ(s.path_param, "xyz");
}

TEST(Router, AnotherMethodOnAKnownPathIsNotAllowedAndSaysWhatIs) {
    const auto put_submissions = match_route(http::verb::put, "/v1/submissions");
    EXPECT_EQ(put_submissions.which, route::submit);
    EXPECT_FALSE(put_submissions.method_allowed);
    EXPECT_EQ(put_submissions.allow, "GET, POST");
    EXPECT_EQ(put_submissions.handler, nullptr);

    const auto get_decision = match_route(http::verb::get, "/v1/declarations/d-1/decision");
    EXPECT_EQ(get_decision.which, route::decision);
    EXPECT_FALSE(get_decision.method_allowed);
    EXPECT_EQ(get_decision.allow, "POST");

    const auto delete_status = match_route(http::verb::delete_, "/v1/submissions/abc");
    EXPECT_EQ(delete_status.which, route::status);
    EXPECT_FALSE(delete_status.method_allowed);
    EXPECT_EQ(delete_status.allow, "GET");
    EXPECT_EQ(delete_status.handler, nullptr);

    const auto post_health = match_route(http::verb::post, "/healthz");
    EXPECT_FALSE(post_health.method_allowed);
    EXPECT_EQ(post_health.allow, "GET");
}

TEST(Router, TheIdIsOneNonEmptySegment) {
    EXPECT_EQ(match_route(http::verb::get, "/v1/submissions/abc").path_param, "abc");
    EXPECT_EQ(match_route(http::verb::get, "/v1/submissions/").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::get, "/v1/submissions/a/b").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::get, "/v1/submissionsX").which, route::unmatched);
}

TEST(Router, TwoParametersAreTwoSegments) {
    const auto m = match_route(http::verb::get, "/v1/statements/A81001/2024-25?x=1");
    EXPECT_EQ(m.which, route::statement);
    EXPECT_EQ(m.path_param, "A81001");
    EXPECT_EQ(m.path_param2, "2024-25");
    EXPECT_EQ(match_route(http::verb::get, "/v1/statements/A81001").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::get, "/v1/statements/A81001/").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::get, "/v1/statements//2024-25").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::get, "/v1/statements/A81001/2024-25/x").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::post, "/v1/declarations//decision").which, route::unmatched);
    EXPECT_EQ(match_route(http::verb::post, "/v1/declarations/d-1/decisions").which, route::unmatched);
}

TEST(Router, UnknownPathsAreUnmatched) {
    for (const std::string_view target : {"/", "", "/v1", "/v2/submissions", "/HEALTHZ", "/healthz/", "*"}) {
        const auto m = match_route(http::verb::get, target);
        EXPECT_EQ(m.which, route::unmatched) << target;
        EXPECT_FALSE(m.method_allowed) << target;
        EXPECT_EQ(m.handler, nullptr) << target;
    }
}

TEST(Router, EveryRouteHasADistinctMetricName) {
    std::set<std::string> names;
    for (std::size_t r = 0; r < route_count; ++r) {
        const auto name = route_name(static_cast<route>(r));
        EXPECT_NE(name, "unknown");
        names.emplace(name);
    }
    EXPECT_EQ(names.size(), route_count);
    EXPECT_EQ(route_name(route::submit), "submit");
    EXPECT_EQ(route_name(route::status), "status");
    EXPECT_EQ(route_name(route::unmatched), "unmatched");
}

}  // namespace
