// Unit tests of loadtest/schedule.hpp: counts and intended send times of each kind (constant
// spacing, the ramp's integral, the surge's share in the last 10 % of the window, steps), the
// invariants every schedule keeps, and parsing of every spec and every error.
#include "loadtest/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::loadtest {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// Monotone, from 0 on, all below duration(), count() of them.
void expect_invariants(const schedule& plan) {
    const std::vector<nanoseconds> times = plan.send_times();
    ASSERT_EQ(times.size(), plan.count());
    ASSERT_FALSE(times.empty());
    EXPECT_GE(times.front(), 0ns);
    EXPECT_LT(times.back(), plan.duration());
    for (std::size_t i = 1; i < times.size(); ++i) {
        ASSERT_LE(times[i - 1], times[i]) << plan.spec() << " at " << i;
    }
}

// How many sends are intended before `t`.
std::uint64_t sends_before(const std::vector<nanoseconds>& times, nanoseconds t) {
    return static_cast<std::uint64_t>(std::lower_bound(times.begin(), times.end(), t) - times.begin());
}

double share_in_last_tenth(const schedule& plan) {
    const std::vector<nanoseconds> times = plan.send_times();
    const nanoseconds cut = plan.duration() * 9 / 10;
    return static_cast<double>(times.size() - sends_before(times, cut)) / static_cast<double>(times.size());
}

void expect_error(std::string_view spec, std::initializer_list<std::string_view> parts) {
    try {
        (void)schedule::parse(spec);
        ADD_FAILURE() << "no error for '" << spec << "'";
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        for (const std::string_view part : parts) {
            EXPECT_NE(message.find(part), std::string::npos)
                << "'" << spec << "': " << message << "\n  lacks: " << part;
        }
    }
}

// constant ------------------------------------------------------------------------------------

TEST(constant_schedule, sends_rate_times_duration_spaced_one_over_rate) {
    const schedule plan = schedule::parse("constant:rate=500,duration=30s");
    EXPECT_EQ(plan.count(), 15'000U);
    EXPECT_EQ(plan.duration(), 30s);
    EXPECT_EQ(plan.peak_rate(), 500);
    expect_invariants(plan);
    const auto times = plan.send_times();
    EXPECT_EQ(times[0], 0ns);
    for (std::size_t i = 0; i < times.size(); ++i) {
        ASSERT_EQ(times[i], 2ms * static_cast<std::int64_t>(i));
    }
    EXPECT_EQ(times.back(), 30s - 2ms);
}

TEST(constant_schedule, rounds_to_the_nearest_nanosecond_without_drift) {
    const schedule plan(constant_schedule{.rate = 3, .duration = 1s});
    EXPECT_EQ(plan.send_times(), (std::vector<nanoseconds>{0ns, 333'333'333ns, 666'666'667ns}));
    // A million sends at 7/s: the last is where i / 7 says, not a million rounding errors away.
    const schedule long_plan(constant_schedule{.rate = 7, .duration = 142'858s});
    EXPECT_EQ(long_plan.count(), 1'000'006U);
    EXPECT_NEAR(static_cast<double>(long_plan.send_time(1'000'000).count()), 1e15 / 7, 1.0);
}

TEST(constant_schedule, counts_whole_requests_despite_binary_fractions) {
    EXPECT_EQ(schedule(constant_schedule{.rate = 0.29, .duration = 100s}).count(), 29U);  // 28.999999999999996
    EXPECT_EQ(schedule(constant_schedule{.rate = 0.57, .duration = 100s}).count(), 57U);  // 56.99999999999999
    EXPECT_EQ(schedule(constant_schedule{.rate = 0.1, .duration = 30s}).count(), 3U);
    EXPECT_EQ(schedule(constant_schedule{.rate = 0.3, .duration = 10s}).count(), 3U);
    EXPECT_EQ(schedule(constant_schedule{.rate = 2.5, .duration = 3s}).count(), 7U);  // floor(7.5)
    EXPECT_EQ(schedule(constant_schedule{.rate = 1, .duration = 1999ms}).count(), 1U);
}

// ramp ----------------------------------------------------------------------------------------

TEST(ramp_schedule, sends_the_integral_of_the_rate) {
    const schedule plan = schedule::parse("ramp:from=10,to=1000,duration=60s");
    EXPECT_EQ(plan.count(), 30'300U);  // (10 + 1000) / 2 * 60
    EXPECT_EQ(plan.peak_rate(), 1000);
    expect_invariants(plan);
    // By any time t, Lambda(t) = 10 t + 990 t^2 / 120 sends are due, to within one.
    const auto times = plan.send_times();
    for (int tenth = 0; tenth <= 600; ++tenth) {
        const double t = tenth / 10.0;
        const double due = 10 * t + 990 * t * t / 120;
        const auto sent = static_cast<double>(sends_before(times, nanoseconds{std::llround(t * 1e9)}));
        ASSERT_NEAR(sent, std::min(due, 30'300.0), 1.0) << "t=" << t;
    }
}

TEST(ramp_schedule, spacing_follows_the_instantaneous_rate) {
    const schedule plan = schedule::parse("ramp:from=10,to=1000,duration=60s");
    const auto times = plan.send_times();
    EXPECT_EQ(times[0], 0ns);
    // Lambda(t) = 1 at t = 2 / (10 + sqrt(133)) s: a little under 1/10 s, the rate already rising.
    EXPECT_NEAR(static_cast<double>(times[1].count()), 2 / (10 + std::sqrt(133.0)) * 1e9, 1.0);
    const auto last_gap = static_cast<double>((times.back() - times[times.size() - 2]).count());
    EXPECT_NEAR(last_gap, 1e6, 1e4);  // about 1/1000 s at the end
}

TEST(ramp_schedule, flat_ramp_is_a_constant_rate) {
    const schedule ramp = schedule::parse("ramp:from=200,to=200,duration=5s");
    const schedule constant = schedule::parse("constant:rate=200,duration=5s");
    ASSERT_EQ(ramp.count(), constant.count());
    for (std::uint64_t i = 0; i < ramp.count(); ++i) {
        ASSERT_EQ(ramp.send_time(i), constant.send_time(i));
    }
}

TEST(ramp_schedule, ramps_down_and_from_zero) {
    const schedule down = schedule::parse("ramp:from=100,to=0,duration=10s");
    EXPECT_EQ(down.count(), 500U);
    expect_invariants(down);
    const auto down_times = down.send_times();
    // Falling rate: gaps widen.
    EXPECT_LT(down_times[1] - down_times[0], down_times.back() - down_times[down_times.size() - 2]);

    const schedule up = schedule::parse("ramp:from=0,to=100,duration=10s");
    EXPECT_EQ(up.count(), 500U);
    expect_invariants(up);
    // Lambda(t) = 5 t^2: the i-th send at sqrt(i / 5) s.
    for (const std::uint64_t i : {1U, 5U, 20U, 125U, 499U}) {
        EXPECT_NEAR(static_cast<double>(up.send_time(i).count()), std::sqrt(static_cast<double>(i) / 5) * 1e9, 2.0);
    }
}

// surge ---------------------------------------------------------------------------------------

TEST(surge_schedule, every_practice_sends_once_inside_the_window) {
    const schedule plan = schedule::parse("surge:practices=7000,window=10m,peak_share=0.6");
    EXPECT_EQ(plan.count(), 7'000U);
    EXPECT_EQ(plan.duration(), 10min);
    expect_invariants(plan);
    const auto times = plan.send_times();
    EXPECT_GT(times.front(), 0ns);
    EXPECT_LT(times.back(), 10min);
    for (std::size_t i = 1; i < times.size(); ++i) {
        ASSERT_LT(times[i - 1], times[i]);  // strictly: no two practices at the same nanosecond here
    }
}

TEST(surge_schedule, share_in_the_last_tenth_is_peak_share) {
    for (const double peak_share : {0.1, 0.15, 0.3, 0.5, 0.6, 0.8, 0.9, 0.99}) {
        for (const std::uint64_t practices : {100U, 7'000U, 50'000U}) {
            const schedule plan(surge_schedule{.practices = practices, .window = 10min, .peak_share = peak_share});
            EXPECT_NEAR(share_in_last_tenth(plan), peak_share, 1.0 / static_cast<double>(practices))
                << "peak_share " << peak_share << ", " << practices << " practices";
        }
    }
}

TEST(surge_schedule, rises_steeply_towards_the_deadline) {
    const schedule plan = schedule::parse("surge:practices=7000,window=10m,peak_share=0.6");
    const auto times = plan.send_times();
    // Sends per tenth of the window grow every tenth; the first half holds about 1 %.
    std::uint64_t previous = 0;
    for (int tenth = 1; tenth <= 10; ++tenth) {
        const std::uint64_t in_tenth = sends_before(times, 1min * tenth) - sends_before(times, 1min * (tenth - 1));
        EXPECT_GE(in_tenth, previous) << tenth;
        previous = in_tenth;
    }
    EXPECT_NEAR(static_cast<double>(sends_before(times, 5min)) / 7000, 0.0101, 0.001);
    // The peak rate at the deadline is N k / (W (1 - e^-k)) = 106.9/s; the last 1 % of the window
    // holds N (1 - e^(-0.01 k)) / (1 - e^-k) sends, just under that rate.
    const double k = surge_steepness(0.6);
    EXPECT_NEAR(plan.peak_rate(), 7000 * k / (600 * -std::expm1(-k)), 1e-9);
    EXPECT_NEAR(plan.peak_rate(), 106.9, 0.05);
    const auto last_six_seconds = static_cast<double>(7000 - sends_before(times, 10min - 6s));
    EXPECT_NEAR(last_six_seconds, 7000 * std::expm1(-0.01 * k) / std::expm1(-k), 1.0);
    EXPECT_LT(last_six_seconds / 6, plan.peak_rate());
    EXPECT_GT(last_six_seconds / 6, 0.95 * plan.peak_rate());
}

TEST(surge_schedule, uniform_at_peak_share_one_tenth) {
    const schedule plan(surge_schedule{.practices = 10, .window = 10s, .peak_share = 0.1});
    EXPECT_DOUBLE_EQ(plan.peak_rate(), 1.0);
    for (std::uint64_t i = 0; i < 10; ++i) {
        EXPECT_EQ(plan.send_time(i), 500ms + 1s * static_cast<std::int64_t>(i));  // midpoint quantiles
    }
}

TEST(surge_schedule, one_practice_sends_once) {
    const schedule plan = schedule::parse("surge:practices=1,window=1h,peak_share=0.6");
    EXPECT_EQ(plan.count(), 1U);
    expect_invariants(plan);
}

TEST(surge_steepness, solves_the_share_of_the_last_tenth) {
    EXPECT_EQ(surge_steepness(0.1), 0.0);
    EXPECT_NEAR(surge_steepness(0.6), 9.16133, 1e-5);
    for (const double peak_share : {0.1000001, 0.2, 0.6, 0.9, 0.999, 0.999999}) {
        const double k = surge_steepness(peak_share);
        EXPECT_NEAR(std::expm1(-0.1 * k) / std::expm1(-k), peak_share, 1e-12) << peak_share;
    }
    EXPECT_LT(surge_steepness(0.5), surge_steepness(0.6));
    EXPECT_THROW(surge_steepness(0.09), std::invalid_argument);
    EXPECT_THROW(surge_steepness(1), std::invalid_argument);
    EXPECT_THROW(surge_steepness(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

// steps ---------------------------------------------------------------------------------------

TEST(steps_schedule, climbs_by_step_every_period_up_to_max) {
    const schedule plan = schedule::parse("steps:start=100,step=100,every=10s,max=2000");
    EXPECT_EQ(plan.step_count(), 20U);
    EXPECT_EQ(plan.count(), 2'100'000U / 10);  // 10 s * (100 + 200 + ... + 2000)
    EXPECT_EQ(plan.duration(), 200s);
    EXPECT_EQ(plan.peak_rate(), 2000);
    expect_invariants(plan);
    const auto times = plan.send_times();
    std::uint64_t first = 0;
    for (std::size_t step = 0; step < 20; ++step) {
        const double rate = 100.0 * static_cast<double>(step + 1);
        EXPECT_EQ(plan.step_rate(step), rate);
        const auto in_step = static_cast<std::uint64_t>(rate * 10);
        // The step's first send opens its period; its sends are 1/rate apart; all stay inside it.
        EXPECT_EQ(times[first], 10s * static_cast<std::int64_t>(step));
        EXPECT_EQ(plan.step_index(first), step);
        EXPECT_EQ(plan.step_index(first + in_step - 1), step);
        EXPECT_LT(times[first + in_step - 1], 10s * static_cast<std::int64_t>(step + 1));
        EXPECT_NEAR(static_cast<double>((times[first + 1] - times[first]).count()), 1e9 / rate, 1.0);
        first += in_step;
    }
    EXPECT_EQ(first, plan.count());
}

TEST(steps_schedule, max_is_inclusive_and_never_exceeded) {
    EXPECT_EQ(schedule::parse("steps:start=100,step=300,every=1s,max=1000").step_count(), 4U);  // ..., 1000
    EXPECT_EQ(schedule::parse("steps:start=100,step=300,every=1s,max=999").step_count(), 3U);   // ..., 700
    EXPECT_EQ(schedule::parse("steps:start=0.1,step=0.1,every=100s,max=0.3").step_count(), 3U);
    const schedule single = schedule::parse("steps:start=50,step=10,every=2s,max=50");
    EXPECT_EQ(single.step_count(), 1U);
    EXPECT_EQ(single.count(), 100U);
}

TEST(steps_schedule, steps_without_a_whole_request_are_skipped_in_time) {
    // 0.5/s for 1 s is no request; the next step (1/s) still starts at 1 s.
    const schedule plan = schedule::parse("steps:start=0.5,step=0.5,every=1s,max=2");
    EXPECT_EQ(plan.step_count(), 4U);
    EXPECT_EQ(plan.count(), 0U + 1 + 1 + 2);
    EXPECT_EQ(plan.send_times(), (std::vector<nanoseconds>{1s, 2s, 3s, 3500ms}));
    EXPECT_EQ(plan.step_index(0), 1U);
    EXPECT_EQ(plan.step_index(3), 3U);
    expect_invariants(plan);
}

// specs ---------------------------------------------------------------------------------------

TEST(schedule_spec, parses_every_kind) {
    EXPECT_EQ(schedule::parse("constant:rate=500,duration=30s").kind(),
              schedule::shape(constant_schedule{.rate = 500, .duration = 30s}));
    EXPECT_EQ(schedule::parse("ramp:from=10,to=1000,duration=60s").kind(),
              schedule::shape(ramp_schedule{.from_rate = 10, .to_rate = 1000, .duration = 60s}));
    EXPECT_EQ(schedule::parse("surge:practices=7000,window=10m,peak_share=0.6").kind(),
              schedule::shape(surge_schedule{.practices = 7000, .window = 10min, .peak_share = 0.6}));
    EXPECT_EQ(schedule::parse("steps:start=100,step=100,every=10s,max=2000").kind(),
              schedule::shape(steps_schedule{.start_rate = 100, .step = 100, .step_duration = 10s, .max_rate = 2000}));
    // Fields in any order.
    EXPECT_EQ(schedule::parse("surge:peak_share=0.6,window=10m,practices=7000"),
              schedule::parse("surge:practices=7000,window=10m,peak_share=0.6"));
}

TEST(schedule_spec, reads_durations_in_every_unit) {
    const auto duration_of = [](std::string_view text) {
        return schedule::parse("surge:practices=1,peak_share=0.5,window=" + std::string(text)).duration();
    };
    EXPECT_EQ(duration_of("30s"), 30s);
    EXPECT_EQ(duration_of("10m"), 10min);
    EXPECT_EQ(duration_of("1h"), 1h);
    EXPECT_EQ(duration_of("1h30m"), 90min);
    EXPECT_EQ(duration_of("1m30s"), 90s);
    EXPECT_EQ(duration_of("1.5s"), 1500ms);
    EXPECT_EQ(duration_of("0.25h"), 15min);
    EXPECT_EQ(duration_of("250ms"), 250ms);
    EXPECT_EQ(duration_of("100us"), 100us);
    EXPECT_EQ(duration_of("1500ns"), 1500ns);
    EXPECT_EQ(duration_of("2s500ms"), 2500ms);
}

TEST(schedule_spec, canonical_spec_round_trips) {
    for (const std::string_view spec :
         {"constant:rate=500,duration=30s", "constant:rate=0.5,duration=1h30m", "ramp:from=10,to=1000,duration=1m",
          "ramp:from=0,to=2.5,duration=1s500ms", "surge:practices=7000,window=10m,peak_share=0.6",
          "steps:start=100,step=100,every=10s,max=2000", "steps:start=0.1,step=0.05,every=250ms,max=10"}) {
        const schedule plan = schedule::parse(spec);
        EXPECT_EQ(plan.spec(), spec);
        EXPECT_EQ(schedule::parse(plan.spec()), plan);
    }
    EXPECT_EQ(schedule::parse("ramp:from=10,to=1000,duration=60s").spec(), "ramp:from=10,to=1000,duration=1m");
    EXPECT_EQ(schedule::parse("constant:rate=500.0,duration=90m").spec(), "constant:rate=500,duration=1h30m");
}

TEST(schedule_spec, rejects_malformed_specs) {
    expect_error("", {"expected kind:key=value", "constant, ramp, surge, steps"});
    expect_error("constant", {"expected kind:key=value", "constant, ramp, surge, steps"});
    expect_error("linear:rate=1,duration=1s", {"unknown kind 'linear'", "constant, ramp, surge, steps"});
    expect_error("constant:", {"schedule 'constant'", "no fields", "rate, duration"});
    expect_error("constant:rate=500", {"schedule 'constant'", "missing field 'duration'", "required: rate, duration"});
    expect_error("constant:rate=500,duration=30s,burst=3", {"unknown field 'burst'", "allowed: rate, duration"});
    expect_error("constant:rate=500,rate=5,duration=1s", {"field 'rate' given twice"});
    expect_error("constant:rate=500,,duration=1s", {"empty field"});
    expect_error("constant:rate=500,duration=1s,", {"empty field"});
    expect_error("constant:rate500,duration=1s", {"field 'rate500' has no '='"});
    expect_error("constant:rate=,duration=1s", {"field 'rate' has no value"});
}

TEST(schedule_spec, rejects_bad_numbers) {
    expect_error("constant:rate=abc,duration=30s", {"schedule 'constant'", "rate 'abc' is not a number"});
    expect_error("constant:rate=-5,duration=30s", {"rate '-5' is not a number"});
    expect_error("constant:rate=1e3,duration=30s", {"rate '1e3' is not a number"});
    expect_error("constant:rate=1.2.3,duration=30s", {"rate '1.2.3' is not a number"});
    expect_error("constant:rate=0,duration=30s", {"rate must be a positive number"});
    expect_error("ramp:from=-1,to=10,duration=1s", {"schedule 'ramp'", "from '-1' is not a number"});
    expect_error("steps:start=100,step=0,every=10s,max=2000", {"schedule 'steps'", "step must be a positive"});
    expect_error("steps:start=0,step=10,every=10s,max=2000", {"start must be a positive"});
    expect_error("surge:practices=1.5,window=10m,peak_share=0.6", {"practices '1.5' is not a whole number"});
    expect_error("surge:practices=-3,window=10m,peak_share=0.6", {"practices '-3' is not a whole number"});
    expect_error("surge:practices=99999999999999999999999,window=10m,peak_share=0.6", {"is not a whole number"});
}

TEST(schedule_spec, rejects_bad_durations) {
    expect_error("constant:rate=500,duration=30", {"duration '30' has no unit", "30s, 10m, 1h30m"});
    expect_error("constant:rate=500,duration=30x", {"unknown unit 'x'", "units h, m, s, ms, us, ns"});
    expect_error("constant:rate=500,duration=2d", {"unknown unit 'd'"});
    expect_error("constant:rate=500,duration=s", {"duration 's' is not a duration"});
    expect_error("constant:rate=500,duration=30S", {"duration '30S' has an unknown unit 'S'"});
    expect_error("constant:rate=500,duration=-30s", {"is not a duration"});
    expect_error("constant:rate=500,duration=0s", {"duration must be above 0s"});
    expect_error("constant:rate=500,duration=1000h", {"is longer than 720h"});
    expect_error("surge:practices=10,window=0m,peak_share=0.6", {"schedule 'surge'", "window must be above 0s"});
    expect_error("steps:start=1,step=1,every=0s,max=2", {"every must be above 0s"});
}

TEST(schedule_spec, rejects_schedules_out_of_range) {
    expect_error("constant:rate=0.01,duration=10s", {"sends no request"});
    expect_error("ramp:from=0,to=0,duration=10s", {"schedule 'ramp'", "sends no request"});
    expect_error("constant:rate=1000000,duration=2h", {"more than 1000000000"});
    expect_error("surge:practices=0,window=10m,peak_share=0.6", {"practices must be from 1 to 1000000000"});
    expect_error("surge:practices=7000,window=10m,peak_share=0.05", {"peak_share must be at least 0.1 and below 1",
                                                                     "(got 0.05)"});
    expect_error("surge:practices=7000,window=10m,peak_share=1", {"peak_share must be at least 0.1 and below 1"});
    expect_error("surge:practices=7000,window=10m", {"missing field 'peak_share'",
                                                     "required: practices, window, peak_share"});
    expect_error("steps:start=100,step=100,every=10s,max=50", {"max must be at least start"});
    expect_error("steps:start=100,step=0.001,every=10s,max=2000", {"more than 10000 (raise step or lower max)"});
    expect_error("steps:start=100,step=100,max=2000", {"missing field 'every'", "required: start, step, every, max"});
}

TEST(schedule, direct_construction_checks_like_parsing) {
    EXPECT_THROW(schedule(constant_schedule{.rate = std::numeric_limits<double>::quiet_NaN(), .duration = 1s}),
                 std::invalid_argument);
    EXPECT_THROW(schedule(constant_schedule{.rate = std::numeric_limits<double>::infinity(), .duration = 1s}),
                 std::invalid_argument);
    EXPECT_THROW(schedule(constant_schedule{.rate = 10, .duration = -1s}), std::invalid_argument);
    EXPECT_THROW(schedule(ramp_schedule{.from_rate = 1, .to_rate = -1, .duration = 10s}), std::invalid_argument);
    EXPECT_THROW(schedule(steps_schedule{.start_rate = 1, .step = 1, .step_duration = 1s,
                                         .max_rate = std::numeric_limits<double>::infinity()}),
                 std::invalid_argument);
}

}  // namespace
}  // namespace sluice::loadtest
