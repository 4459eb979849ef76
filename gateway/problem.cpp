// Problem documents (see problem.hpp).
#include "gateway/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace sluice::gateway {

problem_info describe(problem p) noexcept {
    switch (p) {
        case problem::bad_request: return {400, "bad-request", "Malformed HTTP request"};
        case problem::not_found: return {404, "not-found", "No such resource"};
        case problem::method_not_allowed: return {405, "method-not-allowed", "Method not allowed"};
        case problem::length_required: return {411, "length-required", "Length required"};
        case problem::content_too_large: return {413, "content-too-large", "Request body too large"};
        case problem::header_too_large: return {431, "header-too-large", "Request header too large"};
        case problem::not_implemented: return {501, "not-implemented", "Not implemented"};
        case problem::overloaded: return {503, "overloaded", "Gateway busy"};
        case problem::draining: return {503, "draining", "Gateway shutting down"};
        case problem::http_version: return {505, "http-version-not-supported", "HTTP version not supported"};
    }
    return {500, "internal", "Internal error"};
}

void make_problem(response& r, problem p, std::string_view detail) {
    const auto info = describe(p);
    std::string type = "urn:sluice:problem:";
    type.append(info.slug);
    boost::json::object doc;
    doc["type"] = type;
    doc["title"] = info.title;
    doc["status"] = info.status;
    doc["detail"] = detail;
    r.status = info.status;
    r.content_type = "application/problem+json";
    r.body = boost::json::serialize(doc);
}

}  // namespace sluice::gateway
