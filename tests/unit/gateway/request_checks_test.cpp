// Unit tests of gateway/detail/request_checks.hpp: the Idempotency-Key, Content-Type,
// Authorization and X-Request-Id rules of API.md, at and around their edges.
#include "gateway/detail/request_checks.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace sluice::gateway::detail;

TEST(IdempotencyKey, OneTo255PrintableAsciiCharacters) {
    EXPECT_TRUE(valid_idempotency_key("a"));
    EXPECT_TRUE(valid_idempotency_key("3f0c2a8e-9b1d-4c52-a8a1-7d4e5f6a7b8c"));
    EXPECT_TRUE(valid_idempotency_key(" ~!key with spaces~ "));
    EXPECT_TRUE(valid_idempotency_key(std::string(255, 'k')));
    EXPECT_FALSE(valid_idempotency_key(""));
    EXPECT_FALSE(valid_idempotency_key(std::string(256, 'k')));
    EXPECT_FALSE(valid_idempotency_key("tab\there"));
    EXPECT_FALSE(valid_idempotency_key(std::string("nul\0", 4)));
    EXPECT_FALSE(valid_idempotency_key("del\x7f"));
    EXPECT_FALSE(valid_idempotency_key("caf\xc3\xa9"));  // UTF-8 is not ASCII
}

TEST(ContentType, ApplicationJsonWithOrWithoutParameters) {
    EXPECT_TRUE(is_json_content_type("application/json"));
    EXPECT_TRUE(is_json_content_type("Application/JSON"));
    EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
    EXPECT_TRUE(is_json_content_type("application/json ;charset=utf-8"));
    // OWS before ";" may be a tab too (RFC 9110 5.6.3); request_head_fuzz found it refused with 415.
    EXPECT_TRUE(is_json_content_type("application/json\t;charset=utf-8"));
    EXPECT_TRUE(is_json_content_type("application/json \t ; charset=utf-8"));
    EXPECT_FALSE(is_json_content_type("application/json\tx"));
    EXPECT_FALSE(is_json_content_type(""));
    EXPECT_FALSE(is_json_content_type("text/plain"));
    EXPECT_FALSE(is_json_content_type("application/jsonx"));
    EXPECT_FALSE(is_json_content_type("application/problem+json"));
    EXPECT_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
}

TEST(BearerToken, TheSchemeInAnyCaseThenTheToken) {
    EXPECT_EQ(bearer_token("Bearer abc.def"), "abc.def");
    EXPECT_EQ(bearer_token("bearer abc"), "abc");
    EXPECT_EQ(bearer_token("BEARER   abc"), "abc");
    EXPECT_EQ(bearer_token("Bearer  "), "");  // a bearer credential, empty: not valid, but not absent
    EXPECT_FALSE(bearer_token("").has_value());
    EXPECT_FALSE(bearer_token("Bearer").has_value());
    EXPECT_FALSE(bearer_token("Bearer ").has_value());
    EXPECT_FALSE(bearer_token("Basic dXNlcjpwYXNz").has_value());
    EXPECT_FALSE(bearer_token("Bearerabc").has_value());
}

TEST(RequestId, EchoedOnlyWhenSensible) {
    EXPECT_TRUE(acceptable_request_id("req-1"));
    EXPECT_TRUE(acceptable_request_id("a.b:c/d+e=f_g"));
    EXPECT_TRUE(acceptable_request_id(std::string(128, 'x')));
    EXPECT_FALSE(acceptable_request_id(""));
    EXPECT_FALSE(acceptable_request_id(std::string(129, 'x')));
    EXPECT_FALSE(acceptable_request_id("has space"));
    EXPECT_FALSE(acceptable_request_id("line\r\nInjected: yes"));
    EXPECT_FALSE(acceptable_request_id("quote\""));
}

}  // namespace
