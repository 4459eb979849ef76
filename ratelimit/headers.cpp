// RateLimit-Policy and RateLimit field values (see headers.hpp for the choice of q and w).
#include "ratelimit/headers.hpp"

#include <cmath>
#include <limits>

namespace sluice::ratelimit {

namespace {

// Floating-point noise allowed before ceil() rounds up (10 / 0.1 must give 100, not 101).
constexpr double window_epsilon = 1e-12;
// The draft's integers are Structured Fields Integers: at most 15 digits.
constexpr std::int64_t max_sf_integer = 999'999'999'999'999;

void append_sf_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
}

std::int64_t ceil_seconds(std::int64_t micros) noexcept {
    if (micros <= 0) {
        return 0;
    }
    const std::int64_t seconds = micros / 1'000'000 + (micros % 1'000'000 != 0 ? 1 : 0);
    return seconds < max_sf_integer ? seconds : max_sf_integer;
}

}  // namespace

std::int64_t policy_window_seconds(const gcra_policy& policy) noexcept {
    const double exact = static_cast<double>(policy.burst) / policy.rate;
    if (!(exact < static_cast<double>(max_sf_integer))) {  // also NaN and inf (rate 0)
        return max_sf_integer;
    }
    const auto window = static_cast<std::int64_t>(std::ceil(exact - exact * window_epsilon));
    return window < 1 ? 1 : window;
}

std::string ratelimit_policy_value(std::string_view policy_name, const gcra_policy& policy) {
    std::string value;
    value.reserve(policy_name.size() + 32);
    append_sf_string(value, policy_name);
    value += ";q=";
    value += std::to_string(policy.burst);
    value += ";w=";
    value += std::to_string(policy_window_seconds(policy));
    return value;
}

std::string ratelimit_value(std::string_view policy_name, std::uint32_t remaining, std::int64_t reset_after_us) {
    std::string value;
    value.reserve(policy_name.size() + 32);
    append_sf_string(value, policy_name);
    value += ";r=";
    value += std::to_string(remaining);
    value += ";t=";
    value += std::to_string(ceil_seconds(reset_after_us));
    return value;
}

std::string ratelimit_value(std::string_view policy_name, const gcra_decision& decision) {
    return ratelimit_value(policy_name, decision.remaining, decision.reset_after_us);
}

}  // namespace sluice::ratelimit
