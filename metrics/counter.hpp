// Counters and gauges with one writer thread each, read by any thread (a scrape).
//
// sluice counts per thread (DESIGN.md, "Threading and memory"): every thread updates only the
// metrics of its own shard (shards.hpp), and a scrape sums the shards. With one writer an update
// is a relaxed load and a relaxed store (a plain move on x86: no lock prefix, no contended cache
// line), and a reader on another thread sees a recent value. A metric updated from two threads
// would lose counts: give each thread its own shard instead.
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::metrics {

// Only goes up (Prometheus "counter").
class counter {
public:
    void add(std::uint64_t n = 1) noexcept {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // For a count kept elsewhere on the same thread (a client's own counters), copied in.
    void mirror(std::uint64_t total) noexcept { v_.store(total, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

// Goes up and down, or is set (Prometheus "gauge").
class gauge {
public:
    void add(std::int64_t n) noexcept {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> v_{0};
};

}  // namespace sluice::metrics
