// metrics/: counters and gauges, histogram buckets (Prometheus `le`: a value on a bound counts in
// that bound's bucket), per-thread shards summed, and the Prometheus text writer's exact output.
#include "metrics/counter.hpp"
#include "metrics/histogram.hpp"
#include "metrics/prometheus.hpp"
#include "metrics/shards.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

using namespace std::chrono_literals;

constexpr std::array<double, 3> test_bounds{0.001, 0.01, 1.0};

TEST(metrics_counter, adds_mirrors_and_gauges_go_both_ways) {
    counter c;
    c.add();
    c.add(41);
    EXPECT_EQ(c.value(), 42u);
    c.mirror(7);
    EXPECT_EQ(c.value(), 7u);
    gauge g;
    g.add(5);
    g.add(-8);
    EXPECT_EQ(g.value(), -3);
    g.set(10);
    EXPECT_EQ(g.value(), 10);
}

TEST(metrics_histogram, a_value_on_a_bound_counts_in_that_bucket) {
    histogram<test_bounds> h;
    h.observe(1ms);     // == 0.001: first bucket
    h.observe(1001us);  // just above: second
    h.observe(10ms);    // == 0.01: second
    h.observe(1s);      // == 1.0: third
    h.observe(2s);      // above every bound: +Inf
    h.observe(0ns);
    EXPECT_EQ(h.bucket(0), 2u);
    EXPECT_EQ(h.bucket(1), 2u);
    EXPECT_EQ(h.bucket(2), 1u);
    EXPECT_EQ(h.bucket(3), 1u);
    EXPECT_EQ(h.count(), 6u);
    EXPECT_EQ(h.sum_nanoseconds(), 3'012'001'000u);
}

TEST(metrics_histogram, a_negative_duration_counts_as_zero) {
    histogram<test_bounds> h;
    h.observe(-5ms);
    EXPECT_EQ(h.bucket(0), 1u);
    EXPECT_EQ(h.sum_nanoseconds(), 0u);
}

struct shard {
    counter answered;
    gauge open;
    histogram<test_bounds> latency;
};

TEST(metrics_shards, total_largest_and_combined_sum_every_thread_s_shard) {
    std::vector<shard> per_thread(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < per_thread.size(); ++t)
        threads.emplace_back([&s = per_thread[t], t] {
            for (int i = 0; i < 1000; ++i) {
                s.answered.add();
                s.latency.observe(t % 2 == 0 ? 500us : 5ms);
            }
            s.open.set(static_cast<std::int64_t>(t) - 1);
        });
    for (auto& t : threads) t.join();
    std::vector<const shard*> shards;
    for (const auto& s : per_thread) shards.push_back(&s);
    const std::span<const shard* const> view(shards);

    EXPECT_EQ(total(view, [](const shard& s) { return s.answered.value(); }), 4000u);
    EXPECT_EQ(total(view, [](const shard& s) { return s.open.value(); }), -1 + 0 + 1 + 2);
    EXPECT_EQ(largest(view, [](const shard& s) { return s.open.value(); }), 2);
    const auto latency = combined(view, [](const shard& s) -> const auto& { return s.latency; });
    EXPECT_EQ(latency.count, 4000u);
    EXPECT_EQ(latency.buckets, (std::vector<std::uint64_t>{2000, 2000, 0, 0}));
    EXPECT_EQ(latency.bounds.size(), 3u);
    EXPECT_DOUBLE_EQ(latency.sum_seconds(), 2000 * 0.0005 + 2000 * 0.005);
}

TEST(metrics_prometheus, families_samples_and_labels) {
    std::string out;
    prometheus_writer w(out);
    w.counter("a_total", "What a counts.", 3);
    w.gauge("b", "What b is.", -2);
    w.family("c", metric_type::gauge, "By shard.");
    w.sample("c", "shard=\"0\"", std::uint64_t{5});
    w.sample("c", "shard=\"1\"", std::int64_t{-1});
    w.sample("d", "", 0.25);
    EXPECT_EQ(out,
              "# HELP a_total What a counts.\n# TYPE a_total counter\na_total 3\n"
              "# HELP b What b is.\n# TYPE b gauge\nb -2\n"
              "# HELP c By shard.\n# TYPE c gauge\nc{shard=\"0\"} 5\nc{shard=\"1\"} -1\n"
              "d 0.25\n");
}

TEST(metrics_prometheus, a_histogram_is_cumulative_with_inf_sum_and_count) {
    constexpr static std::array<double, 3> bounds{0.00001, 0.00025, 2.5};
    histogram<bounds> h;
    h.observe(5us);
    h.observe(100us);
    h.observe(100us);
    h.observe(3s);
    std::string out;
    prometheus_writer w(out);
    w.histogram("lat_seconds", "route=\"x\"", h.snapshot());
    w.histogram("rtt_seconds", "", h.snapshot());
    EXPECT_EQ(out,
              "lat_seconds_bucket{route=\"x\",le=\"1e-05\"} 1\n"
              "lat_seconds_bucket{route=\"x\",le=\"0.00025\"} 3\n"
              "lat_seconds_bucket{route=\"x\",le=\"2.5\"} 3\n"
              "lat_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"
              "lat_seconds_sum{route=\"x\"} 3.000205\n"
              "lat_seconds_count{route=\"x\"} 4\n"
              "rtt_seconds_bucket{le=\"1e-05\"} 1\n"
              "rtt_seconds_bucket{le=\"0.00025\"} 3\n"
              "rtt_seconds_bucket{le=\"2.5\"} 3\n"
              "rtt_seconds_bucket{le=\"+Inf\"} 4\n"
              "rtt_seconds_sum 3.000205\n"
              "rtt_seconds_count 4\n");
}

}  // namespace
}  // namespace sluice::metrics
