// Client behaviours of sluice-loadtest: how a practice's system reacts to the gateway's answers.
// A scenario mixes them by percentage ("polite=70,impatient=20,double=10"); each practice signs
// off one submission and keeps one Idempotency-Key for it, whatever its behaviour: the key names
// the submission, not the request (API.md), so every retry and every copy carries the same key
// and the same body, and the gateway must queue each submission exactly once.
//
//   polite     honours Retry-After (comes back within a second after it), backs off exponentially with
//              full jitter when there is no Retry-After, gives up on answers a retry cannot fix.
//   impatient  the user who keeps pressing OK: retries at once on any transport error or non-2xx
//              answer, up to a bound.
//   double     sends the same submission twice at once (a double click), then treats each copy's
//              answer as polite does (so one copy typically gets 202 and the other 409 in-use,
//              then the replayed 202).
//
// Everything here is pure: the random input of the jitter is a parameter (the caller owns one
// generator per thread), and assignment of behaviours to practices is a function of the seed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::loadtest {

enum class client_behaviour : std::uint8_t { polite, impatient, double_submit };

inline constexpr std::array<client_behaviour, 3> all_behaviours{
    client_behaviour::polite, client_behaviour::impatient, client_behaviour::double_submit};

// "polite", "impatient", "double": the names used in specs and reports.
std::string_view behaviour_name(client_behaviour behaviour) noexcept;

// How many identical requests a practice sends at first: 2 for double, else 1.
int initial_copies(client_behaviour behaviour) noexcept;

// Percentages by behaviour; they add up to 100.
struct behaviour_mix {
    std::array<unsigned, all_behaviours.size()> percent{100, 0, 0};

    unsigned operator[](client_behaviour behaviour) const noexcept {
        return percent[static_cast<std::size_t>(behaviour)];
    }
    bool operator==(const behaviour_mix&) const = default;
};

// "polite=70,impatient=20,double=10". A behaviour left out is 0 %; each named once; whole
// percentages that add up to exactly 100. Throws std::invalid_argument naming the field, the
// value and the allowed names.
behaviour_mix parse_behaviour_mix(std::string_view spec);
// The canonical spec, behaviours with 0 % left out: "polite=70,impatient=20,double=10".
std::string format_behaviour_mix(const behaviour_mix& mix);

// How many of `practices` get each behaviour: the exact proportions, rounded by largest
// remainder (ties to the behaviour listed first), so the counts add up to `practices`.
std::array<std::uint64_t, all_behaviours.size()> behaviour_counts(const behaviour_mix& mix, std::uint64_t practices);

// The behaviour of each of `practices` practices: behaviour_counts of each, in an order shuffled
// by `seed` (a Fisher-Yates shuffle driven by splitmix64, so the same seed gives the same
// assignment on every platform and standard library).
std::vector<client_behaviour> assign_behaviours(const behaviour_mix& mix, std::uint64_t seed, std::uint64_t practices);

// The bounds on retrying (attempts count every request sent for one copy, the first included).
struct retry_limits {
    int polite_max_attempts = 8;
    int impatient_max_attempts = 10;
    // polite, when an answer that invites a retry carries no Retry-After: full jitter over
    // [0, min(backoff_cap, backoff_base * 2^(attempt - 1))].
    std::chrono::nanoseconds backoff_base = std::chrono::seconds{1};
    std::chrono::nanoseconds backoff_cap = std::chrono::seconds{30};
};

// What came back for one request: an HTTP status, or nothing for a transport error (refused,
// reset, timed out: the submission may or may not have been queued).
struct attempt_outcome {
    std::optional<int> status;
    std::optional<std::chrono::seconds> retry_after;
};

enum class next_step : std::uint8_t { done, retry, give_up };

struct retry_decision {
    next_step step = next_step::done;
    std::chrono::nanoseconds delay{0};  // for retry: how long to wait before sending again

    bool operator==(const retry_decision&) const = default;
};

// What a client of `behaviour` does after the `attempt`-th request (1-based) of a copy got
// `outcome`. `random` is a uniform 64-bit value, used only for jitter.
//
//   any 2xx                         done
//   impatient, anything else        retry after 0, until impatient_max_attempts, then give up
//   polite and double (per copy):
//     429, 503, 409 with Retry-After   retry after a delay uniform in [RA, RA + 1 s] (RA of 0
//                                   counts as none; RA above a day as a day)
//     transport error, 408, 429/503/409 without Retry-After, 500, 502, 504
//                                   retry after full jitter: uniform in
//                                   [0, min(cap, base * 2^(attempt - 1))]
//     anything else (400, 401, 403, 413, 422, 3xx, ...)   give up: the same bytes get the same answer
//     and give up once polite_max_attempts requests were sent.
//
// Why [RA, RA + 1 s]: a client that honours Retry-After never comes back before it (a GCRA 429
// retried early is simply refused again), and the gateway's 503 Retry-After already says when the
// client can be served (its retry schedule spreads the shed clients over the seconds ahead at the
// rate it can admit them); the second of jitter only spreads the clients told the same whole
// second. (An earlier model waited [RA, 2 RA]: it doubled every wait the gateway had computed, and
// left capacity idle while its clients sat out the extra.)
retry_decision next_action(client_behaviour behaviour, const attempt_outcome& outcome, int attempt,
                           const retry_limits& limits, std::uint64_t random) noexcept;

// A uniform value in [low, high] from a uniform 64-bit `random` (multiply-high: no modulo bias
// worth the name; low when high <= low).
std::chrono::nanoseconds uniform_between(std::chrono::nanoseconds low, std::chrono::nanoseconds high,
                                         std::uint64_t random) noexcept;

}  // namespace sluice::loadtest
