// Unit tests of gateway/detail/status_document.hpp: the status answer carries the record's fields
// and embeds the worker's result text byte for byte (API.md "Money and numbers": money and points
// with two decimals, achievement four, never an exponent), drops a result that is not JSON, and
// escapes the error.
#include "gateway/detail/status_document.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace {

using sluice::gateway::detail::status_document;
using sluice::queue::status_record;

// As the worker writes it (worker/calculation.cpp result_json): numbers a double would print
// as 2.497E1 and 4.84285E3, a trailing zero a double would drop, and an achievement of four places.
constexpr std::string_view worker_result =
    R"({"points":24.97,"payment_gbp":4842.85,"indicators":[{"code":"BP010","achievement":0.8571,)"
    R"("points":10.00,"payment_gbp":1939.40,"notes":[]}],"services":[],"notes":[]})";

status_record calculated() {
    status_record r;
    r.practice = "A81001";
    r.status = "calculated";
    r.attempts = 1;
    r.received_at = "2027-03-31T23:59:58.123Z";
    r.content_sha256 = "ab12";
    r.result = std::string(worker_result);
    return r;
}

TEST(StatusDocument, EmbedsTheWorkersResultVerbatim) {
    const auto body = status_document("0-abc", calculated());
    EXPECT_NE(body.find(",\"result\":" + std::string(worker_result) + "}"), std::string::npos) << body;
    EXPECT_EQ(body.find("E1"), std::string::npos) << body;
    EXPECT_EQ(body.find("E3"), std::string::npos) << body;
    EXPECT_NE(body.find("\"payment_gbp\":4842.85,"), std::string::npos) << body;
    EXPECT_NE(body.find("\"points\":10.00,"), std::string::npos) << body;
    EXPECT_NE(body.find("\"achievement\":0.8571,"), std::string::npos) << body;
}

TEST(StatusDocument, IsJsonWithTheRecordsFields) {
    const auto body = status_document("0-abc", calculated());
    const auto doc = boost::json::parse(body).as_object();
    EXPECT_EQ(doc.at("submission_id").as_string(), "0-abc");
    EXPECT_EQ(doc.at("practice").as_string(), "A81001");
    EXPECT_EQ(doc.at("received_at").as_string(), "2027-03-31T23:59:58.123Z");
    EXPECT_EQ(doc.at("content_sha256").as_string(), "ab12");
    EXPECT_EQ(doc.at("status_url").as_string(), "/v1/submissions/0-abc");
    EXPECT_EQ(doc.at("status").as_string(), "calculated");
    EXPECT_EQ(doc.at("attempts").as_int64(), 1);
    EXPECT_EQ(doc.at("result").as_object().at("indicators").as_array().size(), 1u);
    EXPECT_FALSE(doc.contains("error"));
}

TEST(StatusDocument, FieldsInTheOrderTheApiShows) {
    const auto body = status_document("0-abc", calculated());
    EXPECT_TRUE(body.starts_with(R"({"submission_id":"0-abc","practice":"A81001","received_at":)")) << body;
    EXPECT_LT(body.find("\"status_url\""), body.find("\"status\":"));
    EXPECT_LT(body.find("\"attempts\""), body.find("\"result\""));
}

TEST(StatusDocument, QueuedHasNoResult) {
    status_record r;
    r.practice = "A81001";
    r.status = "queued";
    r.attempts = 0;
    const auto doc = boost::json::parse(status_document("1-x", r)).as_object();
    EXPECT_EQ(doc.at("status").as_string(), "queued");
    EXPECT_FALSE(doc.contains("result"));
    EXPECT_FALSE(doc.contains("received_at"));
}

TEST(StatusDocument, AResultThatIsNotJsonIsLeftOut) {
    auto r = calculated();
    r.result = R"({"points":24.97,)";
    const auto body = status_document("0-abc", r);
    const auto doc = boost::json::parse(body).as_object();
    EXPECT_FALSE(doc.contains("result")) << body;
}

TEST(StatusDocument, TheErrorIsAnEscapedString) {
    status_record r;
    r.practice = "A81001";
    r.status = "failed";
    r.error = "indicator \"XX999\" unknown\nin period 2026-27";
    const auto doc = boost::json::parse(status_document("0-abc", r)).as_object();
    EXPECT_EQ(doc.at("error").as_string(), "indicator \"XX999\" unknown\nin period 2026-27");
}

}  // namespace
