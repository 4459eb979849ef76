// Per-thread shards: each thread of a process owns one shard of its metrics (a struct of
// counter.hpp's and histogram.hpp's types) and is its only writer; a scrape sums the shards.
// No lock, no shared cache line on the hot path; the cost is paid by the scrape, once a few
// seconds, which reads every shard (relaxed) while their threads keep counting.
//
//     struct my_shard { metrics::counter answered; metrics::histogram<io_seconds> latency; };
//     std::vector<const my_shard*> shards;  // one per thread, fixed before the threads start
//     total(shards, [](const my_shard& s) { return s.answered.value(); });
//     combined(shards, [](const my_shard& s) -> const auto& { return s.latency; });
#pragma once

#include "metrics/histogram.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>

namespace sluice::metrics {

// The sum over shards of pick(shard), a count or a gauge's value.
template <typename Shard, typename Pick>
auto total(std::span<const Shard* const> shards, Pick pick) {
    decltype(pick(*shards[0])) sum{};
    for (const Shard* s : shards) sum += pick(*s);
    return sum;
}

// The largest pick(shard) (a gauge where the sum means nothing, such as "how far ahead").
template <typename Shard, typename Pick>
auto largest(std::span<const Shard* const> shards, Pick pick) {
    decltype(pick(*shards[0])) most{};
    for (const Shard* s : shards) most = std::max(most, pick(*s));
    return most;
}

// One histogram summed over shards; pick(shard) returns a histogram<Bounds> reference.
template <typename Shard, typename Pick>
histogram_snapshot combined(std::span<const Shard* const> shards, Pick pick) {
    using picked = std::remove_cvref_t<decltype(pick(*shards[0]))>;
    histogram_snapshot sum(picked::bounds);
    for (const Shard* s : shards) sum.add(pick(*s));
    return sum;
}

}  // namespace sluice::metrics
