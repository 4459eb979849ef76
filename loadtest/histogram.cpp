// latency_histogram: log-linear buckets (the bucket math and its error bound are in the header).
#include "loadtest/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>

namespace sluice::loadtest {

static_assert(latency_histogram::exact_below_ns == std::int64_t{2} << latency_histogram::sub_bucket_bits);

namespace {

constexpr std::size_t sub_buckets = std::size_t{1} << latency_histogram::sub_bucket_bits;  // 128

}  // namespace

std::uint64_t percentile_rank(double q, std::uint64_t count) noexcept {
    if (count == 0) {
        return 0;
    }
    if (!(q > 0)) {  // also NaN
        return 1;
    }
    if (q >= 100) {
        return count;
    }
    const double exact = q * static_cast<double>(count) / 100.0;
    // q * count / 100 is off by a few ulps when q is not a binary fraction (99.9 * 1000 / 100 may
    // come out a hair above 999); a genuine fraction of a rank is far larger than 4 ulps.
    const double rank = std::ceil(exact - exact * 4 * DBL_EPSILON);
    return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(rank), 1, count);
}

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {}

std::size_t latency_histogram::bucket_index(std::int64_t value_ns) noexcept {
    const auto value = static_cast<std::uint64_t>(std::clamp<std::int64_t>(value_ns, 0, highest_trackable_ns));
    const int width = std::bit_width(value);
    const int shift = std::max(0, width - (sub_bucket_bits + 1));
    return static_cast<std::size_t>(shift) * sub_buckets + static_cast<std::size_t>(value >> shift);
}

std::int64_t latency_histogram::bucket_lower(std::size_t index) noexcept {
    if (index < 2 * sub_buckets) {
        return static_cast<std::int64_t>(index);
    }
    // index = shift * 128 + s with s in [128, 256): index / 128 = shift + 1.
    const std::size_t shift = index / sub_buckets - 1;
    const std::size_t sub = index - shift * sub_buckets;
    return static_cast<std::int64_t>(sub << shift);
}

std::int64_t latency_histogram::bucket_upper(std::size_t index) noexcept {
    if (index < 2 * sub_buckets) {
        return static_cast<std::int64_t>(index);
    }
    const std::size_t shift = index / sub_buckets - 1;
    return bucket_lower(index) + (std::int64_t{1} << shift) - 1;
}

std::int64_t latency_histogram::bucket_midpoint(std::size_t index) noexcept {
    const std::int64_t lower = bucket_lower(index);
    return lower + (bucket_upper(index) - lower) / 2;
}

void latency_histogram::record_ns(std::int64_t value_ns, std::uint64_t times) noexcept {
    if (times == 0) {
        return;
    }
    if (value_ns < 0 || value_ns > highest_trackable_ns) {
        clamped_ += times;
        value_ns = std::clamp<std::int64_t>(value_ns, 0, highest_trackable_ns);
    }
    counts_[bucket_index(value_ns)] += times;
    count_ += times;
    min_ = std::min(min_, value_ns);
    max_ = std::max(max_, value_ns);
    sum_ += static_cast<unsigned __int128>(value_ns) * times;
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
    if (other.count_ == 0) {
        return;
    }
    for (std::size_t index = 0; index < counts_.size(); ++index) {
        counts_[index] += other.counts_[index];
    }
    count_ += other.count_;
    clamped_ += other.clamped_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

void latency_histogram::reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    clamped_ = 0;
    min_ = highest_trackable_ns;
    max_ = 0;
    sum_ = 0;
}

std::chrono::nanoseconds latency_histogram::min() const noexcept {
    return std::chrono::nanoseconds{count_ == 0 ? 0 : min_};
}

std::chrono::nanoseconds latency_histogram::max() const noexcept {
    return std::chrono::nanoseconds{max_};
}

std::chrono::nanoseconds latency_histogram::mean() const noexcept {
    if (count_ == 0) {
        return std::chrono::nanoseconds{0};
    }
    // Round half up: (sum + count / 2) / count, exact in 128 bits.
    const unsigned __int128 rounded = (sum_ + count_ / 2) / count_;
    return std::chrono::nanoseconds{static_cast<std::int64_t>(rounded)};
}

std::chrono::nanoseconds latency_histogram::percentile(double q) const noexcept {
    const std::uint64_t rank = percentile_rank(q, count_);
    if (rank == 0) {
        return std::chrono::nanoseconds{0};
    }
    if (rank == 1) {
        return min();
    }
    if (rank == count_) {
        return max();
    }
    std::uint64_t seen = 0;
    for (std::size_t index = 0; index < counts_.size(); ++index) {
        seen += counts_[index];
        if (seen >= rank) {
            return std::chrono::nanoseconds{std::clamp(bucket_midpoint(index), min_, max_)};
        }
    }
    return max();  // unreachable: the counts add up to count_
}

latency_summary latency_histogram::summary() const noexcept {
    return latency_summary{
        .count = count_,
        .min = min(),
        .mean = mean(),
        .p50 = percentile(50),
        .p90 = percentile(90),
        .p99 = percentile(99),
        .p999 = percentile(99.9),
        .p9999 = percentile(99.99),
        .max = max(),
    };
}

std::vector<latency_histogram::bucket> latency_histogram::buckets() const {
    std::vector<bucket> result;
    for_each_bucket([&result](const bucket& b) { result.push_back(b); });
    return result;
}

}  // namespace sluice::loadtest
