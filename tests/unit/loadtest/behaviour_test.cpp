// Unit tests of loadtest/behaviour.hpp: mix specs, exact proportions and their seeded,
// portable assignment to practices, and the retry policy of each behaviour.
#include "loadtest/behaviour.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::loadtest {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

constexpr auto polite = client_behaviour::polite;
constexpr auto impatient = client_behaviour::impatient;
constexpr auto double_submit = client_behaviour::double_submit;
constexpr std::uint64_t max_random = std::numeric_limits<std::uint64_t>::max();

attempt_outcome answered(int status, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
    return {status, retry_after};
}
const attempt_outcome transport_error{};

void expect_mix_error(std::string_view spec, std::initializer_list<std::string_view> parts) {
    try {
        (void)parse_behaviour_mix(spec);
        ADD_FAILURE() << "no error for '" << spec << "'";
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        for (const std::string_view part : parts) {
            EXPECT_NE(message.find(part), std::string::npos)
                << "'" << spec << "': " << message << "\n  lacks: " << part;
        }
    }
}

// mix -----------------------------------------------------------------------------------------

TEST(behaviour_mix, parses_percentages) {
    const behaviour_mix mix = parse_behaviour_mix("polite=70,impatient=20,double=10");
    EXPECT_EQ(mix[polite], 70U);
    EXPECT_EQ(mix[impatient], 20U);
    EXPECT_EQ(mix[double_submit], 10U);
    EXPECT_EQ(parse_behaviour_mix("double=10,polite=70,impatient=20"), mix);
    EXPECT_EQ(parse_behaviour_mix("polite=100"), behaviour_mix{});
    const behaviour_mix no_polite = parse_behaviour_mix("impatient=50,double=50");
    EXPECT_EQ(no_polite[polite], 0U);
    EXPECT_EQ(parse_behaviour_mix("polite=0,impatient=100")[impatient], 100U);
}

TEST(behaviour_mix, formats_canonically) {
    EXPECT_EQ(format_behaviour_mix(parse_behaviour_mix("double=10,polite=70,impatient=20")),
              "polite=70,impatient=20,double=10");
    EXPECT_EQ(format_behaviour_mix(parse_behaviour_mix("polite=0,impatient=100")), "impatient=100");
    EXPECT_EQ(format_behaviour_mix(behaviour_mix{}), "polite=100");
}

TEST(behaviour_mix, rejects_bad_specs) {
    expect_mix_error("polite=70,impatient=20", {"behaviour mix", "adds up to 90 %, not 100"});
    expect_mix_error("polite=70,impatient=20,double=20", {"adds up to 110 %, not 100"});
    expect_mix_error("polite=70,rude=30", {"unknown field 'rude'", "allowed: polite, impatient, double"});
    expect_mix_error("polite=70.5,impatient=29.5", {"polite '70.5' is not a whole number"});
    expect_mix_error("polite=-5,impatient=105", {"polite '-5' is not a whole number"});
    expect_mix_error("polite=101", {"polite '101' is not a percentage (expected 0 to 100)"});
    expect_mix_error("polite=50,polite=50", {"field 'polite' given twice"});
    expect_mix_error("", {"no fields given", "polite, impatient, double"});
    expect_mix_error("polite", {"field 'polite' has no '='"});
    expect_mix_error("polite=", {"field 'polite' has no value"});
    expect_mix_error("polite=100,", {"empty field"});
}

TEST(behaviour_counts, are_exact_proportions_by_largest_remainder) {
    const behaviour_mix mix = parse_behaviour_mix("polite=70,impatient=20,double=10");
    EXPECT_EQ(behaviour_counts(mix, 7'000), (std::array<std::uint64_t, 3>{4'900, 1'400, 700}));
    // 4.9, 1.4, 0.7: floors 4, 1, 0; the one left goes to the largest remainder (0.9).. then 0.7.
    EXPECT_EQ(behaviour_counts(mix, 7), (std::array<std::uint64_t, 3>{5, 1, 1}));
    EXPECT_EQ(behaviour_counts(mix, 1), (std::array<std::uint64_t, 3>{1, 0, 0}));
    EXPECT_EQ(behaviour_counts(mix, 0), (std::array<std::uint64_t, 3>{0, 0, 0}));
    // Ties go to the behaviour listed first.
    const behaviour_mix thirds{.percent = {34, 33, 33}};
    EXPECT_EQ(behaviour_counts(thirds, 2), (std::array<std::uint64_t, 3>{1, 1, 0}));
    for (std::uint64_t practices = 0; practices < 500; ++practices) {
        const auto counts = behaviour_counts(mix, practices);
        ASSERT_EQ(counts[0] + counts[1] + counts[2], practices);
        for (std::size_t b = 0; b < 3; ++b) {
            const double exact = static_cast<double>(practices) * mix.percent[b] / 100;
            ASSERT_LT(std::abs(static_cast<double>(counts[b]) - exact), 1.0);
        }
    }
}

TEST(assign_behaviours, gives_each_behaviour_its_exact_share) {
    const behaviour_mix mix = parse_behaviour_mix("polite=70,impatient=20,double=10");
    const auto behaviours = assign_behaviours(mix, 42, 7'000);
    ASSERT_EQ(behaviours.size(), 7'000U);
    EXPECT_EQ(std::count(behaviours.begin(), behaviours.end(), polite), 4'900);
    EXPECT_EQ(std::count(behaviours.begin(), behaviours.end(), impatient), 1'400);
    EXPECT_EQ(std::count(behaviours.begin(), behaviours.end(), double_submit), 700);
}

TEST(assign_behaviours, is_shuffled_evenly_over_the_practices) {
    // Practices send in order over the surge, so each part of the practice list must hold about
    // the mix: every block of 1000 has 70 % polite within a few points.
    const behaviour_mix mix = parse_behaviour_mix("polite=70,impatient=20,double=10");
    const auto behaviours = assign_behaviours(mix, 7, 100'000);
    for (std::size_t block = 0; block < 100; ++block) {
        const auto begin = behaviours.begin() + static_cast<std::ptrdiff_t>(block * 1'000);
        const auto polite_count = std::count(begin, begin + 1'000, polite);
        const auto double_count = std::count(begin, begin + 1'000, double_submit);
        ASSERT_NEAR(static_cast<double>(polite_count), 700, 60) << block;
        ASSERT_NEAR(static_cast<double>(double_count), 100, 40) << block;
    }
}

TEST(assign_behaviours, is_a_portable_function_of_the_seed) {
    const behaviour_mix mix = parse_behaviour_mix("polite=70,impatient=20,double=10");
    EXPECT_EQ(assign_behaviours(mix, 99, 5'000), assign_behaviours(mix, 99, 5'000));
    EXPECT_NE(assign_behaviours(mix, 99, 5'000), assign_behaviours(mix, 100, 5'000));
    // splitmix64 and a multiply-high Fisher-Yates, computed independently (Python): the same
    // seed gives the same practices the same behaviours with any compiler and standard library.
    EXPECT_EQ(assign_behaviours(mix, 1, 10),
              (std::vector<client_behaviour>{double_submit, polite, polite, polite, impatient, polite, polite,
                                             impatient, polite, polite}));
    EXPECT_EQ(assign_behaviours(parse_behaviour_mix("polite=50,impatient=30,double=20"), 2025, 10),
              (std::vector<client_behaviour>{double_submit, impatient, polite, polite, impatient, impatient, polite,
                                             polite, double_submit, polite}));
    EXPECT_TRUE(assign_behaviours(mix, 1, 0).empty());
}

TEST(behaviours, names_and_copies) {
    EXPECT_EQ(behaviour_name(polite), "polite");
    EXPECT_EQ(behaviour_name(impatient), "impatient");
    EXPECT_EQ(behaviour_name(double_submit), "double");
    EXPECT_EQ(initial_copies(polite), 1);
    EXPECT_EQ(initial_copies(impatient), 1);
    EXPECT_EQ(initial_copies(double_submit), 2);
}

// uniform_between -----------------------------------------------------------------------------

TEST(uniform_between, reaches_both_ends_and_stays_inside) {
    EXPECT_EQ(uniform_between(2s, 4s, 0), 2s);
    EXPECT_EQ(uniform_between(2s, 4s, max_random), 4s);
    EXPECT_EQ(uniform_between(2s, 2s, 12345), 2s);
    EXPECT_EQ(uniform_between(5s, 1s, 12345), 5s);
    EXPECT_EQ(uniform_between(0ns, 1ns, max_random / 2), 0ns);
    EXPECT_EQ(uniform_between(0ns, 1ns, max_random / 2 + 1), 1ns);
    std::mt19937_64 random(11);
    double sum = 0;
    constexpr int draws = 100'000;
    for (int i = 0; i < draws; ++i) {
        const nanoseconds value = uniform_between(1s, 3s, random());
        ASSERT_GE(value, 1s);
        ASSERT_LE(value, 3s);
        sum += static_cast<double>(value.count());
    }
    EXPECT_NEAR(sum / draws, 2e9, 0.01e9);
}

// next_action ---------------------------------------------------------------------------------

const retry_limits limits{};

TEST(next_action, success_is_done_for_everyone) {
    for (const client_behaviour behaviour : all_behaviours) {
        for (const int status : {200, 201, 202, 204, 299}) {
            EXPECT_EQ(next_action(behaviour, answered(status), 1, limits, 123), (retry_decision{next_step::done, 0ns}));
            EXPECT_EQ(next_action(behaviour, answered(status), 50, limits, 123).step, next_step::done);
        }
    }
}

TEST(next_action, impatient_retries_at_once_on_anything_else_until_the_bound) {
    for (const attempt_outcome& outcome :
         {transport_error, answered(500), answered(503, 5s), answered(429, 1s), answered(422), answered(400),
          answered(401), answered(409, 1s), answered(302), answered(199)}) {
        for (int attempt = 1; attempt < limits.impatient_max_attempts; ++attempt) {
            ASSERT_EQ(next_action(impatient, outcome, attempt, limits, max_random),
                      (retry_decision{next_step::retry, 0ns}))
                << attempt;
        }
        EXPECT_EQ(next_action(impatient, outcome, limits.impatient_max_attempts, limits, 0).step, next_step::give_up);
    }
    const retry_limits three{.impatient_max_attempts = 3};
    EXPECT_EQ(next_action(impatient, answered(503), 2, three, 0).step, next_step::retry);
    EXPECT_EQ(next_action(impatient, answered(503), 3, three, 0).step, next_step::give_up);
}

TEST(next_action, polite_waits_retry_after_and_up_to_a_second_more) {
    for (const int status : {429, 503, 409}) {
        for (const std::chrono::seconds wait : {1s, 2s, 30s}) {
            EXPECT_EQ(next_action(polite, answered(status, wait), 1, limits, 0),
                      (retry_decision{next_step::retry, wait}));
            EXPECT_EQ(next_action(polite, answered(status, wait), 1, limits, max_random),
                      (retry_decision{next_step::retry, wait + 1s}));
        }
    }
    // Never before Retry-After, spread evenly over [RA, RA + 1 s] whatever the attempt.
    std::mt19937_64 random(3);
    double sum = 0;
    constexpr int draws = 20'000;
    for (int i = 0; i < draws; ++i) {
        const retry_decision decision = next_action(polite, answered(429, 5s), 1 + i % 7, limits, random());
        ASSERT_EQ(decision.step, next_step::retry);
        ASSERT_GE(decision.delay, 5s);
        ASSERT_LE(decision.delay, 6s);
        sum += static_cast<double>(decision.delay.count());
    }
    EXPECT_NEAR(sum / draws, 5.5e9, 0.01e9);
}

TEST(next_action, polite_backs_off_exponentially_with_full_jitter_without_retry_after) {
    // Ceiling base * 2^(attempt - 1), capped: 1, 2, 4, 8, 16, 30, 30 s.
    const std::vector<nanoseconds> ceilings{1s, 2s, 4s, 8s, 16s, 30s, 30s};
    const retry_limits many{.polite_max_attempts = 100};
    for (std::size_t i = 0; i < ceilings.size(); ++i) {
        const int attempt = static_cast<int>(i) + 1;
        for (const attempt_outcome& outcome :
             {transport_error, answered(500), answered(502), answered(504), answered(408), answered(503),
              answered(429), answered(409), answered(503, 0s)}) {
            EXPECT_EQ(next_action(polite, outcome, attempt, many, 0), (retry_decision{next_step::retry, 0ns}));
            EXPECT_EQ(next_action(polite, outcome, attempt, many, max_random),
                      (retry_decision{next_step::retry, ceilings[i]}))
                << "attempt " << attempt;
        }
    }
    EXPECT_EQ(next_action(polite, transport_error, 90, many, max_random).delay, 30s);  // no overflow
    const retry_limits custom{.backoff_base = 100ms, .backoff_cap = 1s};
    EXPECT_EQ(next_action(polite, transport_error, 3, custom, max_random).delay, 400ms);
    EXPECT_EQ(next_action(polite, transport_error, 5, custom, max_random).delay, 1s);
}

TEST(next_action, polite_gives_up_on_answers_a_retry_cannot_fix) {
    for (const int status : {400, 401, 403, 404, 405, 413, 415, 422, 301, 302, 304, 100, 501}) {
        EXPECT_EQ(next_action(polite, answered(status), 1, limits, 0), (retry_decision{next_step::give_up, 0ns}))
            << status;
    }
}

TEST(next_action, polite_gives_up_after_its_attempts) {
    for (int attempt = 1; attempt < limits.polite_max_attempts; ++attempt) {
        ASSERT_EQ(next_action(polite, answered(429, 1s), attempt, limits, 0).step, next_step::retry);
    }
    EXPECT_EQ(next_action(polite, answered(429, 1s), limits.polite_max_attempts, limits, 0).step, next_step::give_up);
    EXPECT_EQ(next_action(polite, transport_error, limits.polite_max_attempts, limits, 0).step, next_step::give_up);
}

TEST(next_action, huge_retry_after_is_honoured_as_one_day) {
    const std::chrono::seconds century{std::numeric_limits<std::int32_t>::max()};
    const auto decision = next_action(polite, answered(503, century), 1, limits, max_random);
    EXPECT_EQ(decision, (retry_decision{next_step::retry, 24h + 1s}));
}

TEST(next_action, double_submit_copies_retry_as_polite_does) {
    std::mt19937_64 random(9);
    for (const attempt_outcome& outcome :
         {transport_error, answered(202), answered(409, 1s), answered(429, 3s), answered(503), answered(422),
          answered(500), answered(401)}) {
        for (int attempt = 1; attempt <= limits.polite_max_attempts + 1; ++attempt) {
            const std::uint64_t draw = random();
            ASSERT_EQ(next_action(double_submit, outcome, attempt, limits, draw),
                      next_action(polite, outcome, attempt, limits, draw));
        }
    }
}

}  // namespace
}  // namespace sluice::loadtest
