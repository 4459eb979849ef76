// The adaptive limit (see adaptive_limit.hpp for the rule).
#include "gateway/admission/adaptive_limit.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::gateway {

namespace {

using std::chrono::nanoseconds;

nanoseconds shorter_known(nanoseconds a, nanoseconds b) {
    if (a.count() == 0) return b;
    if (b.count() == 0) return a;
    return std::min(a, b);
}

}  // namespace

adaptive_limit::adaptive_limit(adaptive_limit_options options, clock::time_point now)
    : options_(options), window_start_(now), next_probe_(now + options.probe_interval) {
    options_.min_limit = std::max<std::uint32_t>(1, options_.min_limit);
    options_.max_limit = std::max(options_.min_limit, options_.max_limit);
    options_.probe_samples = std::max<std::uint32_t>(1, options_.probe_samples);
    limit_ = std::clamp<double>(options_.initial_limit, options_.min_limit, options_.max_limit);
}

bool adaptive_limit::has_room(double share) const noexcept {
    if (probing_) return inflight_ < std::min<double>(options_.min_limit, limit_);
    // Never beyond max_limit (limits.max_inflight_per_thread), whatever the share.
    const double allowed = std::min<double>(options_.max_limit, std::max(1.0, std::floor(limit_ * share)));
    return inflight_ < allowed;
}

void adaptive_limit::on_send() noexcept {
    ++inflight_;
    window_peak_inflight_ = std::max(window_peak_inflight_, inflight_);
}

void adaptive_limit::on_reply(nanoseconds round_trip, clock::time_point now) noexcept {
    if (inflight_ > 0) --inflight_;
    round_trip = std::max(round_trip, nanoseconds(1));
    if (probing_) {
        if (probe_old_calls_ > 0) {
            --probe_old_calls_;  // sent before the probe: queued behind the old limit
        } else {
            probe_min_ = shorter_known(probe_min_, round_trip);
            if (++probe_count_ >= options_.probe_samples) end_probe(now);
        }
    } else {
        window_sum_ += round_trip;
        ++window_samples_;
        baseline_ = shorter_known(baseline_, round_trip);
    }
    tick(now);
}

void adaptive_limit::on_abandon() noexcept {
    if (inflight_ > 0) --inflight_;
    if (probing_ && probe_old_calls_ > 0) --probe_old_calls_;
}

void adaptive_limit::on_refused(clock::time_point now) noexcept {
    window_refused_ = true;
    tick(now);
}

void adaptive_limit::end_probe(clock::time_point now) noexcept {
    probing_ = false;
    if (probe_count_ > 0) baseline_ = probe_min_;
    next_probe_ = now + options_.probe_interval;
    reset_window(now);
}

void adaptive_limit::reset_window(clock::time_point now) noexcept {
    window_start_ = now;
    window_sum_ = nanoseconds(0);
    window_samples_ = 0;
    window_peak_inflight_ = inflight_;
    window_refused_ = false;
}

void adaptive_limit::tick(clock::time_point now) noexcept {
    if (probing_) {
        if (now - probe_start_ >= options_.probe_max) end_probe(now);
        return;
    }
    if (now >= next_probe_) {
        // Only worth it when the limit is what holds calls back: otherwise calls are not queued
        // behind each other anyway, and the minimum of ordinary samples stays honest.
        if (window_refused_ || inflight_ * 10 >= limit_ * 9) {
            probing_ = true;
            probe_start_ = now;
            probe_old_calls_ = inflight_;
            probe_count_ = 0;
            probe_min_ = nanoseconds(0);
            return;
        }
        next_probe_ = now + options_.probe_interval;
    }
    if (now - window_start_ < options_.window) return;

    if (window_samples_ > 0) {
        const nanoseconds mean = window_sum_ / window_samples_;
        last_mean_ = mean;
        const nanoseconds target = options_.target_delay;
        if (mean - baseline_ > target) {
            const double gradient =
                static_cast<double>((baseline_ + target).count()) / static_cast<double>(mean.count());
            limit_ *= std::max(0.5, gradient);
        } else if (window_refused_ || window_peak_inflight_ * 10 >= limit_ * 9) {
            limit_ += std::max(1.0, std::sqrt(limit_));
        }
        limit_ = std::clamp<double>(limit_, options_.min_limit, options_.max_limit);
    }
    reset_window(now);
}

}  // namespace sluice::gateway
