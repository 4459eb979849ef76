// Header checks (see request_checks.hpp).
#include "gateway/detail/request_checks.hpp"

#include <boost/beast/core/string.hpp>

namespace sluice::gateway::detail {

bool valid_idempotency_key(std::string_view key) noexcept {
    if (key.empty() || key.size() > 255) return false;
    for (char ch : key)
        if (ch < 0x20 || ch > 0x7e) return false;
    return true;
}

bool is_json_content_type(std::string_view content_type) noexcept {
    // media-type *( OWS ";" OWS parameter ), OWS being spaces and tabs (RFC 9110 5.6.3, 8.3.1).
    auto media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
    return boost::beast::iequals(media, "application/json");
}

std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() || !boost::beast::iequals(authorization.substr(0, scheme.size()), scheme))
        return std::nullopt;
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    return token;
}

bool acceptable_request_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 128) return false;
    for (char ch : id) {
        const bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' ||
                        ch == '_' || ch == '.' || ch == ':' || ch == '/' || ch == '+' || ch == '=';
        if (!ok) return false;
    }
    return true;
}

}  // namespace sluice::gateway::detail
