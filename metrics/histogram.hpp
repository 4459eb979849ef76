// Histograms of durations in seconds with fixed upper bounds, the shape Prometheus wants: a count
// per bucket, the count of observations and their sum.
//
// The bounds are a constant array given as the template argument, e.g.
//
//     inline constexpr std::array<double, 4> io_seconds{0.001, 0.01, 0.1, 1.0};
//     metrics::histogram<io_seconds> round_trip;
//
// so a histogram is default-constructible, sized exactly, and two histograms of the same bounds
// have the same type. An observation goes into the first bucket whose bound is >= it (Prometheus
// `le`), or the last one, +Inf. Like counter.hpp, one thread writes a histogram; snapshot() and
// histogram_snapshot::add() read it from any thread (a scrape summing shards).
#pragma once

#include "metrics/counter.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::metrics {

// A histogram's figures at one moment, or the sum of several histograms with the same bounds
// (one per thread): what the writer prints. Built at scrape time only.
struct histogram_snapshot {
    std::span<const double> bounds;
    std::vector<std::uint64_t> buckets;  // per bucket (not cumulative): bounds.size() + 1, the last +Inf
    std::uint64_t count = 0;
    std::uint64_t sum_nanoseconds = 0;

    explicit histogram_snapshot(std::span<const double> b) : bounds(b), buckets(b.size() + 1, 0) {}

    double sum_seconds() const noexcept { return static_cast<double>(sum_nanoseconds) / 1e9; }

    // Adds another histogram of the same bounds.
    template <typename Histogram>
    void add(const Histogram& h) noexcept {
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += h.bucket(i);
        count += h.count();
        sum_nanoseconds += h.sum_nanoseconds();
    }
};

template <const auto& Bounds>
class histogram {
public:
    static constexpr std::span<const double> bounds{Bounds};
    static_assert(std::is_sorted(Bounds.begin(), Bounds.end()), "bounds ascend");

    void observe(std::chrono::nanoseconds d) noexcept {
        const double seconds = std::chrono::duration<double>(d).count();
        const auto at = std::lower_bound(Bounds.begin(), Bounds.end(), seconds);
        buckets_[static_cast<std::size_t>(at - Bounds.begin())].add();
        count_.add();
        sum_ns_.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())));
    }

    std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].value(); }  // not cumulative
    std::uint64_t count() const noexcept { return count_.value(); }
    std::uint64_t sum_nanoseconds() const noexcept { return sum_ns_.value(); }

    histogram_snapshot snapshot() const {
        histogram_snapshot s(bounds);
        s.add(*this);
        return s;
    }

private:
    std::array<counter, Bounds.size() + 1> buckets_;  // the last: +Inf
    counter count_;
    counter sum_ns_;
};

}  // namespace sluice::metrics
