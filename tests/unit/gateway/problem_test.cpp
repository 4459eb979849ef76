// Unit tests of gateway/problem.hpp: a problem document is RFC 9457 JSON whose type ends in the
// problem's slug, whose status is the answer's status, with the detail given and, for field
// faults, an errors[] of JSON Pointers.
#include "gateway/problem.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace {

using namespace sluice::gateway;

TEST(Problem, DocumentCarriesTypeTitleStatusAndDetail) {
    response r;
    make_problem(r, problem::rate_limited, "practice A81001 is over its submission rate");
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(r.content_type, "application/problem+json");
    const auto doc = boost::json::parse(r.body).as_object();
    EXPECT_EQ(doc.at("type").as_string(), "urn:sluice:problem:rate-limited");
    EXPECT_EQ(doc.at("title").as_string(), "Too many submissions from this practice");
    EXPECT_EQ(doc.at("status").to_number<int>(), 429);
    EXPECT_EQ(doc.at("detail").as_string(), "practice A81001 is over its submission rate");
    EXPECT_FALSE(doc.contains("errors"));
}

TEST(Problem, DetailIsEscapedAsJson) {
    response r;
    make_problem(r, problem::bad_request, "a \"quoted\" \\ detail\n");
    const auto doc = boost::json::parse(r.body).as_object();
    EXPECT_EQ(doc.at("detail").as_string(), "a \"quoted\" \\ detail\n");
}

TEST(Problem, FieldFaultsBecomeErrorsWithPointers) {
    response r;
    make_problem(r, problem::invalid_submission, "2 fields are wrong",
                 {{"/indicators/0/numerator", "must be an integer"}, {"/practice", "unknown"}});
    EXPECT_EQ(r.status, 422u);
    const auto doc = boost::json::parse(r.body).as_object();
    const auto& errors = doc.at("errors").as_array();
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].as_object().at("pointer").as_string(), "/indicators/0/numerator");
    EXPECT_EQ(errors[0].as_object().at("detail").as_string(), "must be an integer");
    EXPECT_EQ(errors[1].as_object().at("pointer").as_string(), "/practice");
}

TEST(Problem, EveryProblemHasAnErrorStatusAndASlug) {
    for (int p = static_cast<int>(problem::bad_request); p <= static_cast<int>(problem::http_version); ++p) {
        const auto info = describe(static_cast<problem>(p));
        EXPECT_GE(info.status, 400u);
        EXPECT_LT(info.status, 600u);
        EXPECT_FALSE(info.slug.empty());
        EXPECT_NE(info.slug, "internal");
        EXPECT_FALSE(info.title.empty());
    }
    EXPECT_EQ(describe(problem::not_found).status, 404u);
    EXPECT_EQ(describe(problem::http_version).slug, "http-version-not-supported");
}

}  // namespace
