// The latency histogram of sluice-loadtest: integer nanoseconds in log-linear buckets, after
// HdrHistogram, so that a run of millions of requests is summarised in a fixed 39 KB with a
// known error, and per-thread histograms merge by adding counts.
//
// Bucket math. A value v (ns) has shift = max(0, bit_width(v) - 8) and lands in bucket
//     index = shift * 128 + (v >> shift).
// Below 256 ns (shift 0) every value has its own bucket: index = v, exact. From 256 ns up, every
// power of two [2^e, 2^(e+1)) is split into 128 equal sub-buckets of width w = 2^shift, and the
// bucket's lower bound L = (v >> shift) << shift is at least 128 * w. Buckets are contiguous: the
// index runs 0..4863 with no gaps and no overlaps, and grows with v.
//
// Error bound. A bucket's value is its midpoint, m = L + (w - 1) / 2 (integer division), so for
// any v in [L, L + w - 1], |m - v| <= w / 2 <= L / 256 <= v / 256: the relative error is at most
// 1/256 (0.39 %), inside the 1 % the issue asks for. Percentiles (nearest rank, see
// percentile_rank) return the midpoint of the bucket that holds the exact rank-th sample, clamped
// to [min, max] (which only moves it closer to that sample), so
//     |percentile(q) - exact nearest-rank percentile(q)| <= exact / 256.
// Rank 1 returns min() and rank count() returns max(), both exact.
//
// Range and clamping. Values are recorded in [0, highest_trackable] = [0, 2^44 - 1] ns (about
// 4 h 53 min; latencies run from 1 µs to over an hour). A negative value (a clock that went
// backwards) is recorded as 0; a value above the range as highest_trackable; clamped_count()
// says how many were clamped either way, so a report can say so. min(), max() and mean() are
// exact over the (clamped) recorded values.
//
// Coordinated omission is the caller's business: record now - intended send time, not
// now - actual send time (schedule.hpp gives the intended times).
//
// Not thread-safe: one histogram per thread, merged at the end (shared-nothing).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::loadtest {

// The nearest-rank percentile's rank: ceil(q / 100 * count), at least 1, at most count (q is
// clamped to [0, 100]; NaN is taken as 0). A few ulps of rounding in q * count / 100 are
// forgiven, so that 99.9 % of 1000 samples is rank 999, not 1000. 0 when count is 0.
std::uint64_t percentile_rank(double q, std::uint64_t count) noexcept;

// The percentiles a report prints.
struct latency_summary {
    std::uint64_t count = 0;
    std::chrono::nanoseconds min{0};
    std::chrono::nanoseconds mean{0};
    std::chrono::nanoseconds p50{0};
    std::chrono::nanoseconds p90{0};
    std::chrono::nanoseconds p99{0};
    std::chrono::nanoseconds p999{0};
    std::chrono::nanoseconds p9999{0};
    std::chrono::nanoseconds max{0};

    bool operator==(const latency_summary&) const = default;
};

class latency_histogram {
public:
    // Values below this have one bucket each.
    static constexpr std::int64_t exact_below_ns = 256;
    static constexpr int sub_bucket_bits = 7;  // 128 sub-buckets per power of two
    static constexpr std::int64_t highest_trackable_ns = (std::int64_t{1} << 44) - 1;
    static constexpr std::size_t bucket_count = 4864;  // bucket_index(highest_trackable_ns) + 1
    static constexpr double max_relative_error = 1.0 / 256;

    // A non-empty bucket: values lower..upper (inclusive, ns) were recorded `count` times.
    struct bucket {
        std::int64_t lower_ns = 0;
        std::int64_t upper_ns = 0;
        std::uint64_t count = 0;

        bool operator==(const bucket&) const = default;
    };

    latency_histogram();

    // O(1): one index computation and one increment.
    void record(std::chrono::nanoseconds latency) noexcept { record_ns(latency.count(), 1); }
    void record_ns(std::int64_t value_ns, std::uint64_t times = 1) noexcept;
    // Adds every count of `other`: the same as having recorded all of its values here.
    void merge(const latency_histogram& other) noexcept;
    void reset() noexcept;

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t clamped_count() const noexcept { return clamped_; }
    // 0 when empty.
    std::chrono::nanoseconds min() const noexcept;
    std::chrono::nanoseconds max() const noexcept;
    // The exact mean, rounded to the nearest ns (0 when empty).
    std::chrono::nanoseconds mean() const noexcept;
    // Nearest-rank percentile, q in [0, 100] (see the error bound above); 0 when empty.
    std::chrono::nanoseconds percentile(double q) const noexcept;
    latency_summary summary() const noexcept;

    // The non-empty buckets in increasing order (for the JSON report).
    std::vector<bucket> buckets() const;
    // Calls f(const bucket&) for each non-empty bucket in increasing order, without allocating.
    template <class Visit>
    void for_each_bucket(Visit&& visit) const {
        for (std::size_t index = 0; index < counts_.size(); ++index) {
            if (counts_[index] != 0) {
                visit(bucket{bucket_lower(index), bucket_upper(index), counts_[index]});
            }
        }
    }

    // The bucket math, public so that tests and reports can check it.
    static std::size_t bucket_index(std::int64_t value_ns) noexcept;
    static std::int64_t bucket_lower(std::size_t index) noexcept;
    static std::int64_t bucket_upper(std::size_t index) noexcept;
    // The value a bucket stands for: its midpoint.
    static std::int64_t bucket_midpoint(std::size_t index) noexcept;

    bool operator==(const latency_histogram&) const = default;

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t clamped_ = 0;
    std::int64_t min_ = highest_trackable_ns;
    std::int64_t max_ = 0;
    // Up to 2^64 values of up to 2^44 ns: 128 bits cannot overflow.
    unsigned __int128 sum_ = 0;
};

}  // namespace sluice::loadtest
