// Unit tests of loadtest/histogram.hpp: the bucket math (contiguous, exact below 256 ns, at most
// 1/256 from any value), percentiles against the exact nearest-rank percentiles of known samples
// (uniform, exponential, bimodal with a one-second stall, a single value, bucket edges, many
// random sets), merge == recording everything, exact min/max/mean, clamping.
#include "loadtest/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace sluice::loadtest {
namespace {

using std::chrono::nanoseconds;

constexpr std::int64_t us = 1'000;
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000'000'000;
constexpr std::int64_t hour = 3'600 * s;

const std::vector<double> quantiles{0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100};

latency_histogram record_all(const std::vector<std::int64_t>& values) {
    latency_histogram histogram;
    for (const std::int64_t value : values) {
        histogram.record(nanoseconds{value});
    }
    return histogram;
}

// Every quantile within max_relative_error (and so within 1 %) of the exact percentile.
void expect_percentiles_within_bound(const std::vector<std::int64_t>& values) {
    const latency_histogram histogram = record_all(values);
    std::vector<std::int64_t> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    for (const double q : quantiles) {
        const std::int64_t exact = sorted[percentile_rank(q, sorted.size()) - 1];
        const std::int64_t estimate = histogram.percentile(q).count();
        const double error = std::abs(static_cast<double>(estimate - exact));
        ASSERT_LE(error, static_cast<double>(exact) * latency_histogram::max_relative_error)
            << "q=" << q << " exact=" << exact << " estimate=" << estimate;
        ASSERT_LE(error, static_cast<double>(exact) * 0.01);
    }
}

TEST(percentile_rank, is_nearest_rank) {
    EXPECT_EQ(percentile_rank(50, 0), 0U);
    EXPECT_EQ(percentile_rank(50, 1), 1U);
    EXPECT_EQ(percentile_rank(0, 10), 1U);
    EXPECT_EQ(percentile_rank(50, 10), 5U);
    EXPECT_EQ(percentile_rank(50, 11), 6U);
    EXPECT_EQ(percentile_rank(90, 10), 9U);
    EXPECT_EQ(percentile_rank(91, 10), 10U);
    EXPECT_EQ(percentile_rank(100, 10), 10U);
    EXPECT_EQ(percentile_rank(150, 10), 10U);
    EXPECT_EQ(percentile_rank(-3, 10), 1U);
    EXPECT_EQ(percentile_rank(std::numeric_limits<double>::quiet_NaN(), 10), 1U);
}

TEST(percentile_rank, forgives_rounding_of_decimal_quantiles) {
    // 99.9 and 99.99 are not binary fractions; the ranks must still be the whole numbers meant.
    EXPECT_EQ(percentile_rank(99.9, 1'000), 999U);
    EXPECT_EQ(percentile_rank(99.9, 41'000), 40'959U);  // 99.9 * 41000 / 100 = 40959.00000000001
    EXPECT_EQ(percentile_rank(12.3, 21'000), 2'583U);   // 2583.0000000000005
    EXPECT_EQ(percentile_rank(99.99, 10'000), 9'999U);
    EXPECT_EQ(percentile_rank(99.999, 100'000), 99'999U);
    EXPECT_EQ(percentile_rank(0.1, 1'000), 1U);
    EXPECT_EQ(percentile_rank(0.3, 1'000), 3U);
    EXPECT_EQ(percentile_rank(99.9, 1'001), 1'000U);  // 999.999 is a genuine fraction
    for (std::uint64_t n = 1; n <= 2'000; ++n) {
        for (const int percent : {1, 7, 10, 33, 50, 90, 99}) {
            // A whole percent of a multiple of 100 is an exact rank.
            ASSERT_EQ(percentile_rank(percent, n * 100), n * static_cast<std::uint64_t>(percent));
        }
    }
}

TEST(latency_histogram_buckets, are_exact_below_256_ns) {
    for (std::int64_t value = 0; value < latency_histogram::exact_below_ns; ++value) {
        const std::size_t index = latency_histogram::bucket_index(value);
        ASSERT_EQ(index, static_cast<std::size_t>(value));
        ASSERT_EQ(latency_histogram::bucket_lower(index), value);
        ASSERT_EQ(latency_histogram::bucket_upper(index), value);
        ASSERT_EQ(latency_histogram::bucket_midpoint(index), value);
    }
}

TEST(latency_histogram_buckets, are_contiguous_and_cover_the_range) {
    EXPECT_EQ(latency_histogram::bucket_lower(0), 0);
    EXPECT_EQ(latency_histogram::bucket_index(latency_histogram::highest_trackable_ns),
              latency_histogram::bucket_count - 1);
    EXPECT_EQ(latency_histogram::bucket_upper(latency_histogram::bucket_count - 1),
              latency_histogram::highest_trackable_ns);
    EXPECT_GE(latency_histogram::highest_trackable_ns, hour);  // the issue: at least an hour
    for (std::size_t index = 0; index < latency_histogram::bucket_count; ++index) {
        const std::int64_t lower = latency_histogram::bucket_lower(index);
        const std::int64_t upper = latency_histogram::bucket_upper(index);
        ASSERT_LE(lower, upper) << index;
        ASSERT_EQ(latency_histogram::bucket_index(lower), index);
        ASSERT_EQ(latency_histogram::bucket_index(upper), index);
        if (index + 1 < latency_histogram::bucket_count) {
            ASSERT_EQ(latency_histogram::bucket_lower(index + 1), upper + 1) << index;
        }
    }
}

TEST(latency_histogram_buckets, midpoint_is_within_a_256th_of_every_value_of_its_bucket) {
    for (std::size_t index = 0; index < latency_histogram::bucket_count; ++index) {
        const std::int64_t lower = latency_histogram::bucket_lower(index);
        const std::int64_t upper = latency_histogram::bucket_upper(index);
        const std::int64_t middle = latency_histogram::bucket_midpoint(index);
        ASSERT_GE(middle, lower);
        ASSERT_LE(middle, upper);
        // The worst values are the edges, and the worst relative error is at the lower edge.
        ASSERT_LE(static_cast<double>(upper - middle), static_cast<double>(lower) / 256) << index;
        ASSERT_LE(static_cast<double>(middle - lower), static_cast<double>(lower) / 256) << index;
    }
}

TEST(latency_histogram_buckets, powers_of_two_split_into_128_sub_buckets) {
    for (int e = 8; e < 44; ++e) {
        const std::int64_t power = std::int64_t{1} << e;
        const std::size_t first = latency_histogram::bucket_index(power);
        EXPECT_EQ(latency_histogram::bucket_index(2 * power - 1), first + 127) << e;
        EXPECT_EQ(latency_histogram::bucket_index(power - 1), first - 1) << e;
        EXPECT_EQ(latency_histogram::bucket_upper(first) - latency_histogram::bucket_lower(first) + 1, power / 128);
    }
}

TEST(latency_histogram, empty_reports_zeros) {
    const latency_histogram histogram;
    EXPECT_EQ(histogram.count(), 0U);
    EXPECT_EQ(histogram.min(), nanoseconds{0});
    EXPECT_EQ(histogram.max(), nanoseconds{0});
    EXPECT_EQ(histogram.mean(), nanoseconds{0});
    EXPECT_EQ(histogram.percentile(50), nanoseconds{0});
    EXPECT_EQ(histogram.summary(), latency_summary{});
    EXPECT_TRUE(histogram.buckets().empty());
}

TEST(latency_histogram, single_value_is_every_percentile_exactly) {
    for (const std::int64_t value : {std::int64_t{0}, std::int64_t{1}, 1 * us, std::int64_t{1'234'567}, 3 * s, hour}) {
        latency_histogram histogram;
        histogram.record(nanoseconds{value});
        histogram.record(nanoseconds{value});
        for (const double q : quantiles) {
            ASSERT_EQ(histogram.percentile(q), nanoseconds{value}) << value << " q=" << q;
        }
        EXPECT_EQ(histogram.min(), nanoseconds{value});
        EXPECT_EQ(histogram.max(), nanoseconds{value});
        EXPECT_EQ(histogram.mean(), nanoseconds{value});
    }
}

TEST(latency_histogram, min_max_and_mean_are_exact) {
    const std::vector<std::int64_t> values{1'234'567, 3, 987'654'321'987, 55'555, 1'000'001};
    const latency_histogram histogram = record_all(values);
    EXPECT_EQ(histogram.count(), values.size());
    EXPECT_EQ(histogram.min(), nanoseconds{3});
    EXPECT_EQ(histogram.max(), nanoseconds{987'654'321'987});
    // (3 + 55555 + 1000001 + 1234567 + 987654321987) / 5 = 197'531'322'422.6 -> rounded up
    EXPECT_EQ(histogram.mean(), nanoseconds{197'531'322'423});
    EXPECT_EQ(histogram.percentile(0), nanoseconds{3});
    EXPECT_EQ(histogram.percentile(100), nanoseconds{987'654'321'987});
}

TEST(latency_histogram, record_many_equals_recording_one_by_one) {
    latency_histogram once;
    latency_histogram one_by_one;
    once.record_ns(12'345, 1'000);
    once.record_ns(7, 0);  // nothing
    for (int i = 0; i < 1'000; ++i) {
        one_by_one.record(nanoseconds{12'345});
    }
    EXPECT_EQ(once, one_by_one);
    EXPECT_EQ(once.count(), 1'000U);
}

TEST(latency_histogram, uniform_samples_match_exact_percentiles) {
    std::mt19937_64 random(1);
    std::uniform_int_distribution<std::int64_t> latency(1 * us, 1 * s);
    std::vector<std::int64_t> values(100'000);
    for (auto& value : values) {
        value = latency(random);
    }
    expect_percentiles_within_bound(values);
}

TEST(latency_histogram, exponential_samples_match_exact_percentiles) {
    std::mt19937_64 random(2);
    std::exponential_distribution<double> latency(1.0 / (5.0 * ms));  // mean 5 ms
    std::vector<std::int64_t> values(100'000);
    for (auto& value : values) {
        value = 1 * us + static_cast<std::int64_t>(latency(random));
    }
    expect_percentiles_within_bound(values);
}

TEST(latency_histogram, a_one_second_stall_shows_in_the_tail) {
    // 99 % of answers around 2 ms, 1 % caught behind a one-second stall (measured from the
    // intended send time, they waited for the whole stall): p99.9 and max must say so, p50 not.
    std::mt19937_64 random(3);
    std::normal_distribution<double> fast(2.0 * ms, 0.3 * ms);
    std::uniform_int_distribution<std::int64_t> stalled(1 * s, 1 * s + 50 * ms);
    std::vector<std::int64_t> values;
    for (int i = 0; i < 99'000; ++i) {
        values.push_back(std::max<std::int64_t>(1 * us, static_cast<std::int64_t>(fast(random))));
    }
    for (int i = 0; i < 1'000; ++i) {
        values.push_back(stalled(random));
    }
    std::shuffle(values.begin(), values.end(), random);
    expect_percentiles_within_bound(values);

    const latency_histogram histogram = record_all(values);
    EXPECT_LT(histogram.percentile(50), nanoseconds{3 * ms});
    EXPECT_LT(histogram.percentile(99), nanoseconds{1 * s});  // rank 99 000 is the last fast one
    EXPECT_GE(histogram.percentile(99.9), nanoseconds{1 * s - s / 256});
    EXPECT_GE(histogram.percentile(99.99), nanoseconds{1 * s - s / 256});
    EXPECT_EQ(histogram.max().count(), *std::max_element(values.begin(), values.end()));
}

TEST(latency_histogram, values_at_bucket_edges_match_exact_percentiles) {
    std::vector<std::int64_t> values;
    for (int e = 8; e < 43; ++e) {
        const std::int64_t power = std::int64_t{1} << e;
        for (const std::int64_t value : {power - 1, power, power + 1, power + power / 128 - 1, power + power / 128}) {
            values.push_back(value);
        }
    }
    values.push_back(1 * us);
    values.push_back(hour);
    expect_percentiles_within_bound(values);
    // Every edge value alone is reproduced within the bound too.
    for (const std::int64_t value : values) {
        const std::int64_t estimate = record_all({value}).percentile(50).count();
        ASSERT_EQ(estimate, value);  // clamped to [min, max] = value
        const std::size_t index = latency_histogram::bucket_index(value);
        ASSERT_LE(std::abs(static_cast<double>(latency_histogram::bucket_midpoint(index) - value)),
                  static_cast<double>(value) / 256);
    }
}

TEST(latency_histogram, one_microsecond_to_one_hour) {
    const latency_histogram histogram = record_all({1 * us, 1 * ms, 1 * s, hour});
    EXPECT_EQ(histogram.percentile(0), nanoseconds{1 * us});
    EXPECT_NEAR(static_cast<double>(histogram.percentile(30).count()), 1 * ms, 1.0 * ms / 256);
    EXPECT_NEAR(static_cast<double>(histogram.percentile(60).count()), 1 * s, 1.0 * s / 256);
    EXPECT_EQ(histogram.percentile(100), nanoseconds{hour});
    EXPECT_EQ(histogram.clamped_count(), 0U);
}

TEST(latency_histogram, many_random_sample_sets_stay_within_one_percent) {
    // Log-uniform magnitudes from 1 µs to 1 h, mixed sizes, many seeds: the bound holds for
    // every quantile of every set.
    std::mt19937_64 random(4);
    std::uniform_real_distribution<double> log_latency(std::log(1.0 * us), std::log(1.0 * hour));
    std::uniform_int_distribution<int> size(1, 3'000);
    for (int set = 0; set < 200; ++set) {
        std::vector<std::int64_t> values(static_cast<std::size_t>(size(random)));
        for (auto& value : values) {
            value = static_cast<std::int64_t>(std::exp(log_latency(random)));
        }
        SCOPED_TRACE(set);
        expect_percentiles_within_bound(values);
        if (HasFatalFailure()) {
            return;
        }
    }
}

TEST(latency_histogram, merge_equals_recording_everything_in_one) {
    std::mt19937_64 random(5);
    std::lognormal_distribution<double> latency(std::log(3.0 * ms), 1.5);
    std::vector<latency_histogram> per_thread(4);
    latency_histogram all;
    for (int i = 0; i < 40'000; ++i) {
        const auto value = static_cast<std::int64_t>(latency(random));
        per_thread[static_cast<std::size_t>(i) % per_thread.size()].record(nanoseconds{value});
        all.record(nanoseconds{value});
    }
    per_thread[1].record(nanoseconds{-5});  // clamped counts merge too
    all.record(nanoseconds{-5});

    latency_histogram merged;
    for (const latency_histogram& shard : per_thread) {
        merged.merge(shard);
    }
    EXPECT_EQ(merged, all);
    EXPECT_EQ(merged.summary(), all.summary());
    EXPECT_EQ(merged.clamped_count(), 1U);

    // Merging an empty histogram changes nothing; merging into an empty one copies.
    latency_histogram copy;
    copy.merge(all);
    copy.merge(latency_histogram{});
    EXPECT_EQ(copy, all);
}

TEST(latency_histogram, out_of_range_values_are_clamped_and_counted) {
    latency_histogram histogram;
    histogram.record(nanoseconds{-1});
    histogram.record(nanoseconds{std::numeric_limits<std::int64_t>::min()});
    EXPECT_EQ(histogram.min(), nanoseconds{0});
    EXPECT_EQ(histogram.clamped_count(), 2U);
    histogram.record(nanoseconds{latency_histogram::highest_trackable_ns});
    EXPECT_EQ(histogram.clamped_count(), 2U);  // the highest value is in range
    histogram.record(nanoseconds{latency_histogram::highest_trackable_ns + 1});
    histogram.record(nanoseconds{std::numeric_limits<std::int64_t>::max()});
    EXPECT_EQ(histogram.clamped_count(), 4U);
    EXPECT_EQ(histogram.count(), 5U);
    EXPECT_EQ(histogram.max(), nanoseconds{latency_histogram::highest_trackable_ns});
    EXPECT_EQ(histogram.percentile(100), nanoseconds{latency_histogram::highest_trackable_ns});
    // The mean does not overflow: (0 + 0 + 3 * (2^44 - 1)) / 5.
    EXPECT_EQ(histogram.mean(), nanoseconds{(3 * latency_histogram::highest_trackable_ns + 2) / 5});
}

TEST(latency_histogram, buckets_list_the_non_empty_ones_in_order) {
    latency_histogram histogram;
    histogram.record(nanoseconds{5});
    histogram.record(nanoseconds{5});
    histogram.record(nanoseconds{1 * ms});
    histogram.record(nanoseconds{1 * ms + 1});  // the same bucket (width 2^12 ns at 1 ms)
    histogram.record(nanoseconds{2 * s});
    const auto buckets = histogram.buckets();
    ASSERT_EQ(buckets.size(), 3U);
    EXPECT_EQ(buckets[0], (latency_histogram::bucket{5, 5, 2}));
    EXPECT_LE(buckets[1].lower_ns, 1 * ms);
    EXPECT_GE(buckets[1].upper_ns, 1 * ms + 1);
    EXPECT_EQ(buckets[1].count, 2U);
    EXPECT_EQ(buckets[1].upper_ns - buckets[1].lower_ns + 1, 4'096);
    EXPECT_LE(buckets[2].lower_ns, 2 * s);
    EXPECT_GE(buckets[2].upper_ns, 2 * s);
    EXPECT_EQ(buckets[2].count, 1U);

    std::uint64_t total = 0;
    std::int64_t previous = -1;
    histogram.for_each_bucket([&](const latency_histogram::bucket& b) {
        EXPECT_GT(b.lower_ns, previous);
        previous = b.upper_ns;
        total += b.count;
    });
    EXPECT_EQ(total, histogram.count());
}

TEST(latency_histogram, summary_has_the_reported_percentiles) {
    std::vector<std::int64_t> values;
    for (std::int64_t i = 1; i <= 100'000; ++i) {
        values.push_back(i * us);
    }
    const latency_summary summary = record_all(values).summary();
    EXPECT_EQ(summary.count, 100'000U);
    EXPECT_EQ(summary.min, nanoseconds{1 * us});
    EXPECT_EQ(summary.max, nanoseconds{100'000 * us});
    EXPECT_NEAR(static_cast<double>(summary.mean.count()), 50'000.5 * us, 0.5);
    const auto near = [](nanoseconds estimate, std::int64_t exact) {
        return std::abs(static_cast<double>(estimate.count() - exact)) <= static_cast<double>(exact) / 256;
    };
    EXPECT_TRUE(near(summary.p50, 50'000 * us));
    EXPECT_TRUE(near(summary.p90, 90'000 * us));
    EXPECT_TRUE(near(summary.p99, 99'000 * us));
    EXPECT_TRUE(near(summary.p999, 99'900 * us));
    EXPECT_TRUE(near(summary.p9999, 99'990 * us));
}

TEST(latency_histogram, reset_empties_it) {
    latency_histogram histogram = record_all({1, 2, 3 * s});
    histogram.record(nanoseconds{-1});
    histogram.reset();
    EXPECT_EQ(histogram, latency_histogram{});
}

}  // namespace
}  // namespace sluice::loadtest
