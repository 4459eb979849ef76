// GCRA (generic cell rate algorithm): the rate limit of API.md, in integer microseconds.
//
// A policy is a rate r (requests per second) and a burst b. The emission interval is
// T = round(1e6 / r) µs and the tolerance is tau = b * T. The only state is the theoretical
// arrival time `tat` (µs): a request at `now` is allowed iff
//     new_tat - now <= tau,   new_tat = max(tat, now) + T
// and, if allowed, `new_tat` is stored. So b requests may arrive at once, and over any span t
// at most b + r*t are allowed. A missing tat, or one in the past, means "bucket full".
//
// Invariants:
// - Everything is integer µs, so this C++ and ratelimit/gcra.lua (Redis numbers are doubles,
//   exact below 2^53) take identical decisions and store identical tats. T is computed from the
//   rate the same way on both sides (floor(1e6 / r + 0.5), clamped to [1, max_emission_interval_us]);
//   the Lua side gets the rate as the shortest round-trip decimal (format_rate), so both divide
//   the same double.
// - With config's ranges (rate 0.001..1e6, burst 1..1e6) T <= 1e9 µs and tau <= 1e15 µs; with
//   wall-clock `now` (~1.7e15 µs in 2025) every value stays below 2^53 until the year ~2250.
// - The C++ side saturates instead of overflowing for any input (int64 extremes, absurd policies).
// - burst 0 allows nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sluice::ratelimit {

// The largest emission interval (≈ 31.7 years): bounds T for tiny, zero, negative or NaN rates.
inline constexpr std::int64_t max_emission_interval_us = 1'000'000'000'000'000;

struct gcra_policy {
    double rate = 2.0;         // requests per second
    std::uint32_t burst = 10;  // requests that may arrive at once

    bool operator==(const gcra_policy&) const = default;
};

// T = floor(1e6 / rate + 0.5) µs, at least 1, at most max_emission_interval_us.
std::int64_t emission_interval_us(const gcra_policy& policy) noexcept;
// tau = burst * T (saturating).
std::int64_t tolerance_us(const gcra_policy& policy) noexcept;
// The rate as the shortest decimal that parses back to the same double ("2", "0.1", "1e-05"):
// what the Lua side is given, so both sides compute the same T.
std::string format_rate(double rate);

struct gcra_decision {
    bool allowed = false;
    // The tat to store. Allowed: the new tat. Denied: the current effective tat, max(tat, now)
    // (nothing needs storing).
    std::int64_t tat_us = 0;
    // How many more requests would be allowed right now, after this decision.
    std::uint32_t remaining = 0;
    // Denied: the wait after which this request would be allowed (> 0). Allowed: 0.
    std::int64_t retry_after_us = 0;
    // How long until the bucket is full again (tat - now after this decision, >= 0).
    std::int64_t reset_after_us = 0;

    bool operator==(const gcra_decision&) const = default;
};

// One request at `now_us` against the stored `tat_us` (nullopt: no state, a full bucket).
gcra_decision gcra_check(const gcra_policy& policy, std::optional<std::int64_t> tat_us, std::int64_t now_us) noexcept;

// The state at `now_us` without charging a request (for the RateLimit header of answers that
// are not charged, e.g. idempotent replays): `allowed` says whether a request would be allowed
// now, retry_after_us when it would be if not; tat_us is max(tat, now), nothing to store.
gcra_decision gcra_peek(const gcra_policy& policy, std::optional<std::int64_t> tat_us, std::int64_t now_us) noexcept;

// An in-process GCRA per key (e.g. failed authentication attempts per client address), for
// limits that need not be shared between gateway instances. The caller injects the clock
// (`now_us` on every call), so tests drive time.
//
// Memory is bounded: never more than max_entries keys. An entry whose tat is not in the future
// is equivalent to no entry (a full bucket), so such entries are dropped first, on every call;
// if the table is still full, the entry closest to being full again (smallest tat) goes, which
// gives that key a fresh burst: under an attack from more addresses than max_entries the limit
// loosens rather than memory growing. Not thread-safe: one per thread (shared-nothing per core).
class local_limiter {
public:
    // max_entries 0 is taken as 1.
    local_limiter(gcra_policy policy, std::size_t max_entries);

    local_limiter(const local_limiter&) = delete;
    local_limiter& operator=(const local_limiter&) = delete;

    // Charges one request to `key` if allowed.
    gcra_decision check(std::string_view key, std::int64_t now_us);
    // The state of `key` without charging.
    gcra_decision peek(std::string_view key, std::int64_t now_us) const;

    // On reload. Existing tats are kept.
    void set_policy(const gcra_policy& policy) noexcept { policy_ = policy; }
    const gcra_policy& policy() const noexcept { return policy_; }
    std::size_t size() const noexcept { return tats_.size(); }
    std::size_t max_entries() const noexcept { return max_entries_; }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
    };
    using tat_map = std::unordered_map<std::string, std::int64_t, string_hash, std::equal_to<>>;

    void drop_expired(std::int64_t now_us);

    gcra_policy policy_;
    std::size_t max_entries_;
    tat_map tats_;
    // (tat, key) ordered by tat; the views point at tats_'s keys (node-based, so stable).
    std::set<std::pair<std::int64_t, std::string_view>> by_tat_;
};

}  // namespace sluice::ratelimit
