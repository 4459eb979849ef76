// GCRA maths and the in-process limiter (see gcra.hpp). The arithmetic is done in 128 bits and
// saturated to int64 on the way out, so no input can overflow; within config's ranges nothing
// saturates and every value equals what ratelimit/gcra.lua computes with doubles.
#include "ratelimit/gcra.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace sluice::ratelimit {

namespace {

using wide = __int128;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

std::int64_t saturate(wide value) noexcept {
    if (value > int64_max) {
        return int64_max;
    }
    if (value < int64_min) {
        return int64_min;
    }
    return static_cast<std::int64_t>(value);
}

// How many more requests fit into a bucket whose tat is `ahead` µs after now (ahead >= 0).
std::uint32_t remaining_for(wide ahead, wide interval, wide tolerance, std::uint32_t burst) noexcept {
    if (ahead > tolerance) {
        return 0;
    }
    return static_cast<std::uint32_t>(std::min<wide>((tolerance - ahead) / interval, burst));
}

}  // namespace

std::int64_t emission_interval_us(const gcra_policy& policy) noexcept {
    const double exact = 1e6 / policy.rate;
    // !(x < max) also catches NaN and +inf (rate 0 or NaN); a negative rate gives a negative x.
    if (!(exact < static_cast<double>(max_emission_interval_us)) || exact < 0) {
        return max_emission_interval_us;
    }
    const auto rounded = static_cast<std::int64_t>(std::floor(exact + 0.5));
    return std::max<std::int64_t>(rounded, 1);
}

std::int64_t tolerance_us(const gcra_policy& policy) noexcept {
    return saturate(static_cast<wide>(policy.burst) * emission_interval_us(policy));
}

std::string format_rate(double rate) {
    std::array<char, 64> text{};
    const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), rate);
    if (error != std::errc{}) {
        return "0";  // cannot happen: 64 characters hold any double
    }
    return std::string(text.data(), end);
}

gcra_decision gcra_check(const gcra_policy& policy, std::optional<std::int64_t> tat_us, std::int64_t now_us) noexcept {
    const wide interval = emission_interval_us(policy);
    const wide tolerance = static_cast<wide>(policy.burst) * interval;
    const wide now = now_us;
    const wide base = tat_us && *tat_us > now_us ? wide{*tat_us} : now;
    const wide new_tat = base + interval;
    const wide ahead = new_tat - now;  // >= interval >= 1

    gcra_decision decision;
    if (ahead <= tolerance) {
        decision.allowed = true;
        decision.tat_us = saturate(new_tat);
        decision.remaining = remaining_for(ahead, interval, tolerance, policy.burst);
        decision.retry_after_us = 0;
        decision.reset_after_us = saturate(ahead);
    } else {
        decision.allowed = false;
        decision.tat_us = saturate(base);
        decision.remaining = 0;
        decision.retry_after_us = saturate(ahead - tolerance);
        decision.reset_after_us = saturate(base - now);
    }
    return decision;
}

gcra_decision gcra_peek(const gcra_policy& policy, std::optional<std::int64_t> tat_us, std::int64_t now_us) noexcept {
    const wide interval = emission_interval_us(policy);
    const wide tolerance = static_cast<wide>(policy.burst) * interval;
    const wide now = now_us;
    const wide base = tat_us && *tat_us > now_us ? wide{*tat_us} : now;
    const wide ahead = base - now;  // >= 0

    gcra_decision decision;
    decision.allowed = ahead + interval <= tolerance;
    decision.tat_us = saturate(base);
    decision.remaining = remaining_for(ahead, interval, tolerance, policy.burst);
    decision.retry_after_us = decision.allowed ? 0 : saturate(ahead + interval - tolerance);
    decision.reset_after_us = saturate(ahead);
    return decision;
}

local_limiter::local_limiter(gcra_policy policy, std::size_t max_entries)
    : policy_(policy), max_entries_(std::max<std::size_t>(max_entries, 1)) {}

void local_limiter::drop_expired(std::int64_t now_us) {
    while (!by_tat_.empty() && by_tat_.begin()->first <= now_us) {
        const std::string_view key = by_tat_.begin()->second;  // still valid: the map node lives
        by_tat_.erase(by_tat_.begin());
        tats_.erase(tats_.find(key));
    }
}

gcra_decision local_limiter::check(std::string_view key, std::int64_t now_us) {
    drop_expired(now_us);
    const auto found = tats_.find(key);
    const std::optional<std::int64_t> tat =
        found != tats_.end() ? std::optional<std::int64_t>(found->second) : std::nullopt;
    const gcra_decision decision = gcra_check(policy_, tat, now_us);
    if (!decision.allowed) {
        return decision;  // a denial changes nothing
    }
    if (found != tats_.end()) {
        by_tat_.erase({found->second, std::string_view(found->first)});
        found->second = decision.tat_us;
        by_tat_.emplace(decision.tat_us, std::string_view(found->first));
        return decision;
    }
    if (tats_.size() >= max_entries_) {
        // Still full after dropping the expired: the entry nearest to a full bucket goes.
        const std::string_view victim = by_tat_.begin()->second;
        by_tat_.erase(by_tat_.begin());
        tats_.erase(tats_.find(victim));
    }
    const auto [inserted, added] = tats_.emplace(std::string(key), decision.tat_us);
    (void)added;
    by_tat_.emplace(decision.tat_us, std::string_view(inserted->first));
    return decision;
}

gcra_decision local_limiter::peek(std::string_view key, std::int64_t now_us) const {
    const auto found = tats_.find(key);
    const std::optional<std::int64_t> tat =
        found != tats_.end() ? std::optional<std::int64_t>(found->second) : std::nullopt;
    return gcra_peek(policy_, tat, now_us);
}

}  // namespace sluice::ratelimit
