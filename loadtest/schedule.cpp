// Open-loop schedules: the formulas are at the top of schedule.hpp. Times are computed in double
// seconds and rounded to whole nanoseconds; a double has 53 bits, so up to max_duration (30 days,
// 2.6e15 ns) the rounding error stays below a nanosecond.
#include "loadtest/schedule.hpp"

#include "loadtest/detail/spec_fields.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace sluice::loadtest {

namespace {

using std::chrono::nanoseconds;

constexpr std::string_view kind_names = "constant, ramp, surge, steps";

[[noreturn]] void fail(std::string_view kind, const std::string& what) {
    throw std::invalid_argument("schedule '" + std::string(kind) + "': " + what);
}

double seconds(nanoseconds duration) { return static_cast<double>(duration.count()) / 1e9; }

nanoseconds to_nanoseconds(double seconds) { return nanoseconds{std::llround(seconds * 1e9)}; }

// floor(x), forgiving a few ulps below a whole number: 0.29 * 100 is 28.999999999999996 in
// doubles, and a schedule of "rate 0.29 for 100 s" means 29 requests.
double whole_requests(double x) { return std::floor(x + x * 8 * DBL_EPSILON); }

std::uint64_t checked_count(std::string_view kind, double requests) {
    if (!(requests >= 1)) {
        fail(kind, "sends no request (check the rate and the duration)");
    }
    if (requests > static_cast<double>(max_requests)) {
        fail(kind, "sends " + detail::format_number(requests) + " requests, more than " +
                       std::to_string(max_requests));
    }
    return static_cast<std::uint64_t>(requests);
}

void require_positive_rate(std::string_view kind, std::string_view name, double rate) {
    if (!(rate > 0) || !std::isfinite(rate)) {
        fail(kind, std::string(name) + " must be a positive number of requests per second (got " +
                       detail::format_number(rate) + ")");
    }
}

void require_positive_duration(std::string_view kind, std::string_view name, nanoseconds duration) {
    if (duration <= nanoseconds{0} || duration > detail::max_duration) {
        fail(kind, std::string(name) + " must be above 0s and at most " +
                       detail::format_duration(detail::max_duration) + " (got " + detail::format_duration(duration) +
                       ")");
    }
}

double share_in_last_tenth(double k) {
    // (1 - e^(-0.1 k)) / (1 - e^-k), with its limit 0.1 at k = 0.
    return k == 0 ? 0.1 : std::expm1(-0.1 * k) / std::expm1(-k);
}

// One field of a parsed spec, which must be there.
std::string_view required(const std::vector<detail::spec_field>& fields, std::string_view kind,
                          std::string_view key, std::initializer_list<std::string_view> all) {
    for (const detail::spec_field& field : fields) {
        if (field.key == key) {
            return field.value;
        }
    }
    fail(kind, "missing field '" + std::string(key) + "' (required: " + detail::join(all) + ")");
}

}  // namespace

double surge_steepness(double peak_share) {
    if (!(peak_share >= 0.1 && peak_share < 1)) {
        fail("surge", "peak_share must be at least 0.1 and below 1 (got " + detail::format_number(peak_share) +
                          "): 0.1 is a uniform spread, and nearer 1 means steeper towards the deadline");
    }
    if (peak_share == 0.1) {
        return 0;
    }
    // share(k) is increasing, share(0) = 0.1, and share(k) >= 1 - e^(-0.1 k), which reaches
    // peak_share at k = -10 ln(1 - peak_share): so the root is in [0, that].
    double low = 0;
    double high = -10 * std::log1p(-peak_share);
    while (true) {
        const double middle = low + (high - low) / 2;
        if (middle <= low || middle >= high) {
            return middle;
        }
        (share_in_last_tenth(middle) < peak_share ? low : high) = middle;
    }
}

schedule::schedule(shape kind) : kind_(std::move(kind)) {
    if (const auto* constant = std::get_if<constant_schedule>(&kind_)) {
        require_positive_rate("constant", "rate", constant->rate);
        require_positive_duration("constant", "duration", constant->duration);
        count_ = checked_count("constant", whole_requests(constant->rate * seconds(constant->duration)));
    } else if (const auto* ramp = std::get_if<ramp_schedule>(&kind_)) {
        for (const auto& [name, rate] : {std::pair{"from", ramp->from_rate}, std::pair{"to", ramp->to_rate}}) {
            if (!(rate >= 0) || !std::isfinite(rate)) {
                fail("ramp", std::string(name) + " must be a number of requests per second, 0 or more (got " +
                                 detail::format_number(rate) + ")");
            }
        }
        require_positive_duration("ramp", "duration", ramp->duration);
        count_ = checked_count("ramp", whole_requests((ramp->from_rate + ramp->to_rate) / 2 * seconds(ramp->duration)));
    } else if (const auto* surge = std::get_if<surge_schedule>(&kind_)) {
        if (surge->practices < 1 || surge->practices > max_requests) {
            fail("surge", "practices must be from 1 to " + std::to_string(max_requests) + " (got " +
                              std::to_string(surge->practices) + ")");
        }
        require_positive_duration("surge", "window", surge->window);
        steepness_ = surge_steepness(surge->peak_share);
        count_ = surge->practices;
    } else {
        const auto& steps = std::get<steps_schedule>(kind_);
        require_positive_rate("steps", "start", steps.start_rate);
        if (!(steps.step > 0) || !std::isfinite(steps.step)) {
            fail("steps", "step must be a positive number of requests per second (got " +
                              detail::format_number(steps.step) + ")");
        }
        require_positive_duration("steps", "every", steps.step_duration);
        if (!(steps.max_rate >= steps.start_rate) || !std::isfinite(steps.max_rate)) {
            fail("steps", "max must be at least start (got max " + detail::format_number(steps.max_rate) +
                              ", start " + detail::format_number(steps.start_rate) + ")");
        }
        const double step_count = whole_requests((steps.max_rate - steps.start_rate) / steps.step) + 1;
        if (step_count > static_cast<double>(max_steps)) {
            fail("steps", "makes " + detail::format_number(step_count) + " steps, more than " +
                              std::to_string(max_steps) + " (raise step or lower max)");
        }
        double total = 0;
        step_starts_.push_back(0);
        for (std::size_t j = 0; j < static_cast<std::size_t>(step_count); ++j) {
            const double rate = steps.start_rate + static_cast<double>(j) * steps.step;
            total += whole_requests(rate * seconds(steps.step_duration));
            if (total > static_cast<double>(max_requests)) {
                break;  // checked_count reports it
            }
            step_starts_.push_back(static_cast<std::uint64_t>(total));
        }
        count_ = checked_count("steps", total);
    }
}

schedule schedule::parse(std::string_view spec) {
    const std::size_t colon = spec.find(':');
    const std::string_view kind = spec.substr(0, colon);
    if (colon == std::string_view::npos) {
        throw std::invalid_argument("schedule '" + std::string(spec) +
                                    "': expected kind:key=value,... with kind one of " + std::string(kind_names) +
                                    " (e.g. constant:rate=500,duration=30s)");
    }
    const std::string_view rest = spec.substr(colon + 1);
    const std::string context = "schedule '" + std::string(kind) + "'";
    if (kind == "constant") {
        const auto all = {std::string_view{"rate"}, std::string_view{"duration"}};
        const auto fields = detail::split_fields(rest, context, all);
        return schedule(constant_schedule{
            .rate = detail::parse_number(required(fields, kind, "rate", all), context, "rate"),
            .duration = detail::parse_duration(required(fields, kind, "duration", all), context, "duration"),
        });
    }
    if (kind == "ramp") {
        const auto all = {std::string_view{"from"}, std::string_view{"to"}, std::string_view{"duration"}};
        const auto fields = detail::split_fields(rest, context, all);
        return schedule(ramp_schedule{
            .from_rate = detail::parse_number(required(fields, kind, "from", all), context, "from"),
            .to_rate = detail::parse_number(required(fields, kind, "to", all), context, "to"),
            .duration = detail::parse_duration(required(fields, kind, "duration", all), context, "duration"),
        });
    }
    if (kind == "surge") {
        const auto all = {std::string_view{"practices"}, std::string_view{"window"}, std::string_view{"peak_share"}};
        const auto fields = detail::split_fields(rest, context, all);
        return schedule(surge_schedule{
            .practices = detail::parse_whole(required(fields, kind, "practices", all), context, "practices"),
            .window = detail::parse_duration(required(fields, kind, "window", all), context, "window"),
            .peak_share = detail::parse_number(required(fields, kind, "peak_share", all), context, "peak_share"),
        });
    }
    if (kind == "steps") {
        const auto all = {std::string_view{"start"}, std::string_view{"step"}, std::string_view{"every"},
                          std::string_view{"max"}};
        const auto fields = detail::split_fields(rest, context, all);
        return schedule(steps_schedule{
            .start_rate = detail::parse_number(required(fields, kind, "start", all), context, "start"),
            .step = detail::parse_number(required(fields, kind, "step", all), context, "step"),
            .step_duration = detail::parse_duration(required(fields, kind, "every", all), context, "every"),
            .max_rate = detail::parse_number(required(fields, kind, "max", all), context, "max"),
        });
    }
    throw std::invalid_argument("schedule '" + std::string(spec) + "': unknown kind '" + std::string(kind) +
                                "' (expected one of " + std::string(kind_names) + ")");
}

std::string schedule::spec() const {
    using detail::format_duration;
    using detail::format_number;
    if (const auto* constant = std::get_if<constant_schedule>(&kind_)) {
        return "constant:rate=" + format_number(constant->rate) + ",duration=" + format_duration(constant->duration);
    }
    if (const auto* ramp = std::get_if<ramp_schedule>(&kind_)) {
        return "ramp:from=" + format_number(ramp->from_rate) + ",to=" + format_number(ramp->to_rate) +
               ",duration=" + format_duration(ramp->duration);
    }
    if (const auto* surge = std::get_if<surge_schedule>(&kind_)) {
        return "surge:practices=" + std::to_string(surge->practices) + ",window=" + format_duration(surge->window) +
               ",peak_share=" + format_number(surge->peak_share);
    }
    const auto& steps = std::get<steps_schedule>(kind_);
    return "steps:start=" + format_number(steps.start_rate) + ",step=" + format_number(steps.step) +
           ",every=" + format_duration(steps.step_duration) + ",max=" + format_number(steps.max_rate);
}

nanoseconds schedule::send_time(std::uint64_t i) const noexcept {
    const auto index = static_cast<double>(i);
    nanoseconds time{0};
    if (const auto* constant = std::get_if<constant_schedule>(&kind_)) {
        time = to_nanoseconds(index / constant->rate);
    } else if (const auto* ramp = std::get_if<ramp_schedule>(&kind_)) {
        // Lambda(t) = a t + (b - a) t^2 / (2 D) = i, solved in the form that has no cancellation
        // when a ramp is flat (b = a) and stays finite when it starts from 0.
        const double a = ramp->from_rate;
        const double slope = (ramp->to_rate - a) / seconds(ramp->duration);
        if (i != 0) {
            time = to_nanoseconds(2 * index / (a + std::sqrt(std::max(0.0, a * a + 2 * slope * index))));
        }
    } else if (const auto* surge = std::get_if<surge_schedule>(&kind_)) {
        const double u = (index + 0.5) / static_cast<double>(surge->practices);
        const double k = steepness_;
        const double x = k == 0 ? u : 1 + std::log1p((1 - u) * std::expm1(-k)) / k;
        time = to_nanoseconds(x * seconds(surge->window));
    } else {
        const auto& steps = std::get<steps_schedule>(kind_);
        const std::size_t j = step_index(i);
        const double rate = steps.start_rate + static_cast<double>(j) * steps.step;
        time = steps.step_duration * static_cast<std::int64_t>(j) +
               to_nanoseconds(static_cast<double>(i - step_starts_[j]) / rate);
    }
    // Rounding to whole ns must not push the last request onto the end of the schedule.
    return std::clamp(time, nanoseconds{0}, duration() - nanoseconds{1});
}

std::vector<nanoseconds> schedule::send_times() const {
    std::vector<nanoseconds> times;
    times.reserve(count_);
    for (std::uint64_t i = 0; i < count_; ++i) {
        times.push_back(send_time(i));
    }
    return times;
}

nanoseconds schedule::duration() const noexcept {
    if (const auto* constant = std::get_if<constant_schedule>(&kind_)) {
        return constant->duration;
    }
    if (const auto* ramp = std::get_if<ramp_schedule>(&kind_)) {
        return ramp->duration;
    }
    if (const auto* surge = std::get_if<surge_schedule>(&kind_)) {
        return surge->window;
    }
    return std::get<steps_schedule>(kind_).step_duration * static_cast<std::int64_t>(step_count());
}

double schedule::peak_rate() const noexcept {
    if (const auto* constant = std::get_if<constant_schedule>(&kind_)) {
        return constant->rate;
    }
    if (const auto* ramp = std::get_if<ramp_schedule>(&kind_)) {
        return std::max(ramp->from_rate, ramp->to_rate);
    }
    if (const auto* surge = std::get_if<surge_schedule>(&kind_)) {
        const double uniform = static_cast<double>(surge->practices) / seconds(surge->window);
        // f(1) = k / (1 - e^-k) times the uniform rate N / W (limit 1 at k = 0).
        return steepness_ == 0 ? uniform : uniform * steepness_ / -std::expm1(-steepness_);
    }
    return step_rate(step_count() - 1);
}

std::size_t schedule::step_index(std::uint64_t i) const noexcept {
    if (step_starts_.empty()) {
        return 0;
    }
    // The last step that starts at or before i (steps with no request share their start).
    const auto after = std::upper_bound(step_starts_.begin(), step_starts_.end() - 1, i);
    return static_cast<std::size_t>(after - step_starts_.begin()) - 1;
}

std::size_t schedule::step_count() const noexcept {
    return step_starts_.empty() ? 1 : step_starts_.size() - 1;
}

double schedule::step_rate(std::size_t step) const noexcept {
    if (const auto* steps = std::get_if<steps_schedule>(&kind_)) {
        return steps->start_rate + static_cast<double>(std::min(step, step_count() - 1)) * steps->step;
    }
    return peak_rate();
}

}  // namespace sluice::loadtest
