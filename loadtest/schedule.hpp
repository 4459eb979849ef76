// Open-loop load schedules: the i-th request's INTENDED send time, as an offset from the start of
// the run. The load generator sends request i at start + send_time(i) whether or not earlier
// answers have arrived, and measures its latency from that intended time, so a server that stalls
// shows up in the percentiles instead of silently slowing the generator down (no coordinated
// omission).
//
// Invariants: send_time is a pure function of (schedule, i), O(1) (O(log steps) for `steps`);
// it is non-decreasing in i, send_time(0) >= 0 and every time is below duration(). A schedule
// that would send nothing, or more than max_requests, is rejected when it is built.
//
// The four kinds and their command-line specs:
//
//   constant:rate=500,duration=30s
//       rate r (requests/s) for duration D: N = floor(r * D) requests, t_i = i / r.
//   ramp:from=10,to=1000,duration=60s
//       the rate rises (or falls) linearly from a to b over D: lambda(t) = a + (b - a) t / D.
//       N = floor((a + b) / 2 * D), the integral; t_i solves Lambda(t_i) = i, where
//       Lambda(t) = a t + (b - a) t^2 / (2 D), i.e. t_i = 2 i / (a + sqrt(a^2 + 2 (b - a) i / D)).
//   surge:practices=7000,window=10m,peak_share=0.6
//       the deadline: N practices each send once within the window W, ever faster towards the
//       deadline at its end. The arrival density over x = t / W in [0, 1] is exponential,
//           f(x) = k e^(k x) / (e^k - 1),
//       so the rate doubles every (ln 2 / k) of the window and peaks at the deadline, at
//       N k / (W (1 - e^-k)) requests/s. k is solved from peak_share, the share of practices that
//       submit in the last 10 % of the window:
//           peak_share = 1 - F(0.9) = (1 - e^(-0.1 k)) / (1 - e^-k),
//       which rises monotonically from 0.1 (k = 0: uniform) towards 1; so peak_share must be in
//       [0.1, 1). peak_share=0.6 gives k = 9.16 (the rate doubles every 7.6 % of the window, 1 %
//       of practices submit in the first half). The i-th of N sends at the inverse CDF of the
//       midpoint quantile u_i = (i + 0.5) / N:
//           t_i = W (1 + log1p((1 - u_i) expm1(-k)) / k),
//       so times are deterministic, strictly inside the window, and the number of sends in the
//       last 10 % is N * peak_share to within one.
//   steps:start=100,step=100,every=10s,max=2000
//       capacity search: constant rate start, start + step, ... up to max (inclusive), each for
//       `every`; step j sends floor(r_j * every) requests at j * every + k / r_j.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice::loadtest {

// Larger schedules are typos (a million requests per second for a quarter of an hour).
inline constexpr std::uint64_t max_requests = 1'000'000'000;
// Larger step counts are typos too (step=0.001).
inline constexpr std::size_t max_steps = 10'000;

struct constant_schedule {
    double rate = 0;  // requests per second, > 0
    std::chrono::nanoseconds duration{0};

    bool operator==(const constant_schedule&) const = default;
};

struct ramp_schedule {
    double from_rate = 0;  // requests per second at the start, >= 0
    double to_rate = 0;    // at the end, >= 0
    std::chrono::nanoseconds duration{0};

    bool operator==(const ramp_schedule&) const = default;
};

struct surge_schedule {
    std::uint64_t practices = 0;  // each sends once
    std::chrono::nanoseconds window{0};
    double peak_share = 0;  // share of practices sending in the last 10 % of the window, [0.1, 1)

    bool operator==(const surge_schedule&) const = default;
};

struct steps_schedule {
    double start_rate = 0;  // requests per second, > 0
    double step = 0;        // added every step, > 0
    std::chrono::nanoseconds step_duration{0};
    double max_rate = 0;  // the last step's rate is the largest start + j * step <= max_rate

    bool operator==(const steps_schedule&) const = default;
};

// The surge curve's k for a peak_share in [0.1, 1) (bisection to the last bit; 0 for 0.1).
// Throws std::invalid_argument outside that range.
double surge_steepness(double peak_share);

class schedule {
public:
    using shape = std::variant<constant_schedule, ramp_schedule, surge_schedule, steps_schedule>;

    // Throws std::invalid_argument ("schedule 'ramp': ...") naming the parameter that is out of
    // range and the range, or saying that the schedule sends nothing or too much.
    explicit schedule(shape kind);
    // "constant:rate=500,duration=30s" and the like (see the top of this file). Every field is
    // required. Throws std::invalid_argument naming the kind, the field and what was expected.
    static schedule parse(std::string_view spec);

    const shape& kind() const noexcept { return kind_; }
    // The canonical spec: parse(spec()) == *this.
    std::string spec() const;

    // How many requests the schedule sends.
    std::uint64_t count() const noexcept { return count_; }
    // The intended send time of request i (0 <= i < count()), from the start of the run.
    std::chrono::nanoseconds send_time(std::uint64_t i) const noexcept;
    // All of them, in order (count() * 8 bytes).
    std::vector<std::chrono::nanoseconds> send_times() const;
    // The length of the schedule: every send_time is below it.
    std::chrono::nanoseconds duration() const noexcept;
    // The highest intended rate (requests/s): at the deadline for a surge, the last step for steps.
    double peak_rate() const noexcept;
    // For `steps`, the step request i belongs to (0-based); 0 for the other kinds.
    std::size_t step_index(std::uint64_t i) const noexcept;
    // For `steps`, how many steps and each one's rate; one step at the peak rate otherwise.
    std::size_t step_count() const noexcept;
    double step_rate(std::size_t step) const noexcept;

    bool operator==(const schedule& other) const noexcept { return kind_ == other.kind_; }

private:
    shape kind_;
    std::uint64_t count_ = 0;
    double steepness_ = 0;  // surge's k
    // steps: the index of the first request of each step, plus count_ at the end.
    std::vector<std::uint64_t> step_starts_;
};

}  // namespace sluice::loadtest
