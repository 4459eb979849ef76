// Client behaviours: the mix, its assignment to practices, and the retry policy (see the header).
#include "loadtest/behaviour.hpp"

#include "loadtest/detail/spec_fields.hpp"

#include <algorithm>
#include <stdexcept>

namespace sluice::loadtest {

namespace {

constexpr std::string_view mix_context = "behaviour mix";

// splitmix64 (Steele, Lea, Flood 2014): a fixed, portable sequence for a 64-bit seed.
struct splitmix64 {
    std::uint64_t state;

    std::uint64_t operator()() noexcept {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

// Uniform in [0, bound) for bound > 0 (multiply-high).
std::uint64_t below(std::uint64_t random, std::uint64_t bound) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(random) * bound) >> 64);
}

bool is_success(int status) { return status >= 200 && status <= 299; }

// A longer Retry-After is honoured as one day (ratelimit's own ceiling): keeps the wait far from
// overflow whatever a server sends.
constexpr std::chrono::seconds longest_retry_after{86'400};
// Retry-After is whole seconds: clients told the same number spread over the second after it.
constexpr std::chrono::seconds retry_after_spread{1};

}  // namespace

std::string_view behaviour_name(client_behaviour behaviour) noexcept {
    switch (behaviour) {
    case client_behaviour::polite:
        return "polite";
    case client_behaviour::impatient:
        return "impatient";
    case client_behaviour::double_submit:
        return "double";
    }
    return "polite";
}

int initial_copies(client_behaviour behaviour) noexcept {
    return behaviour == client_behaviour::double_submit ? 2 : 1;
}

behaviour_mix parse_behaviour_mix(std::string_view spec) {
    const auto names = {behaviour_name(client_behaviour::polite), behaviour_name(client_behaviour::impatient),
                        behaviour_name(client_behaviour::double_submit)};
    behaviour_mix mix{.percent = {0, 0, 0}};
    unsigned total = 0;
    for (const detail::spec_field& field : detail::split_fields(spec, mix_context, names)) {
        const std::uint64_t percent = detail::parse_whole(field.value, mix_context, field.key);
        if (percent > 100) {
            throw std::invalid_argument(std::string(mix_context) + ": " + std::string(field.key) + " '" +
                                        std::string(field.value) + "' is not a percentage (expected 0 to 100)");
        }
        for (const client_behaviour behaviour : all_behaviours) {
            if (behaviour_name(behaviour) == field.key) {
                mix.percent[static_cast<std::size_t>(behaviour)] = static_cast<unsigned>(percent);
            }
        }
        total += static_cast<unsigned>(percent);
    }
    if (total != 100) {
        throw std::invalid_argument(std::string(mix_context) + ": '" + std::string(spec) + "' adds up to " +
                                    std::to_string(total) + " %, not 100 (e.g. polite=70,impatient=20,double=10)");
    }
    return mix;
}

std::string format_behaviour_mix(const behaviour_mix& mix) {
    std::string spec;
    for (const client_behaviour behaviour : all_behaviours) {
        if (mix[behaviour] != 0) {
            if (!spec.empty()) {
                spec += ',';
            }
            spec += behaviour_name(behaviour);
            spec += '=';
            spec += std::to_string(mix[behaviour]);
        }
    }
    return spec;
}

std::array<std::uint64_t, all_behaviours.size()> behaviour_counts(const behaviour_mix& mix, std::uint64_t practices) {
    std::array<std::uint64_t, all_behaviours.size()> counts{};
    std::array<std::uint64_t, all_behaviours.size()> remainders{};
    std::uint64_t assigned = 0;
    unsigned total_percent = 0;
    for (std::size_t b = 0; b < counts.size(); ++b) {
        total_percent += mix.percent[b];
    }
    if (total_percent == 0) {
        return counts;
    }
    for (std::size_t b = 0; b < counts.size(); ++b) {
        // practices * percent / total in 128 bits: exact for any practice count.
        const unsigned __int128 share = static_cast<unsigned __int128>(practices) * mix.percent[b];
        counts[b] = static_cast<std::uint64_t>(share / total_percent);
        remainders[b] = static_cast<std::uint64_t>(share % total_percent);
        assigned += counts[b];
    }
    // Largest remainder: the practices left over go one each to the largest fractional parts.
    while (assigned < practices) {
        std::size_t best = 0;
        for (std::size_t b = 1; b < counts.size(); ++b) {
            if (remainders[b] > remainders[best]) {
                best = b;
            }
        }
        ++counts[best];
        remainders[best] = 0;
        ++assigned;
    }
    return counts;
}

std::vector<client_behaviour> assign_behaviours(const behaviour_mix& mix, std::uint64_t seed, std::uint64_t practices) {
    std::vector<client_behaviour> behaviours;
    behaviours.reserve(practices);
    const auto counts = behaviour_counts(mix, practices);
    for (const client_behaviour behaviour : all_behaviours) {
        behaviours.insert(behaviours.end(), counts[static_cast<std::size_t>(behaviour)], behaviour);
    }
    splitmix64 random{seed};
    for (std::size_t i = behaviours.size(); i > 1; --i) {
        std::swap(behaviours[i - 1], behaviours[below(random(), i)]);
    }
    return behaviours;
}

std::chrono::nanoseconds uniform_between(std::chrono::nanoseconds low, std::chrono::nanoseconds high,
                                         std::uint64_t random) noexcept {
    if (high <= low) {
        return low;
    }
    const auto span = static_cast<std::uint64_t>(high.count() - low.count()) + 1;
    return low + std::chrono::nanoseconds{static_cast<std::int64_t>(below(random, span))};
}

retry_decision next_action(client_behaviour behaviour, const attempt_outcome& outcome, int attempt,
                           const retry_limits& limits, std::uint64_t random) noexcept {
    using std::chrono::nanoseconds;
    if (outcome.status && is_success(*outcome.status)) {
        return {next_step::done, nanoseconds{0}};
    }
    if (behaviour == client_behaviour::impatient) {
        if (attempt >= limits.impatient_max_attempts) {
            return {next_step::give_up, nanoseconds{0}};
        }
        return {next_step::retry, nanoseconds{0}};
    }

    // polite, and each copy of double.
    const int status = outcome.status.value_or(0);
    const bool advised = status == 429 || status == 503 || status == 409;
    const bool transient = !outcome.status || advised || status == 408 || status == 500 || status == 502 ||
                           status == 504;
    if (!transient || attempt >= limits.polite_max_attempts) {
        return {next_step::give_up, nanoseconds{0}};
    }
    if (advised && outcome.retry_after && *outcome.retry_after > std::chrono::seconds{0}) {
        const nanoseconds wait = std::min(*outcome.retry_after, longest_retry_after);
        return {next_step::retry, uniform_between(wait, wait + retry_after_spread, random)};
    }
    // Exponential backoff with full jitter; the doubling stops at the cap (and before overflow).
    nanoseconds ceiling = std::max(limits.backoff_base, nanoseconds{0});
    for (int i = 1; i < attempt && ceiling < limits.backoff_cap; ++i) {
        ceiling *= 2;
    }
    return {next_step::retry, uniform_between(nanoseconds{0}, std::min(ceiling, limits.backoff_cap), random)};
}

}  // namespace sluice::loadtest
