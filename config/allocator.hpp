// Which malloc this process really uses. Every sluice executable links jemalloc (release builds);
// main() calls check_allocator() at start-up and refuses to run when jemalloc was meant to be in
// use but malloc() does not go through it (for example an LD_PRELOADed allocator or a link-order
// mistake). Sanitizer builds do not link jemalloc: the sanitizer's allocator is expected there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::config {

struct allocator_report {
    bool jemalloc_active = false;  // malloc() was observed to be served by jemalloc
    std::string name;              // "jemalloc" or "system"
    std::string version;           // jemalloc's version string, "" otherwise
};

// Probes the allocator: asks jemalloc (if linked) for its version, then makes a malloc() and
// checks jemalloc's per-thread allocation counter moved by that amount.
allocator_report probe_allocator();

// Throws std::runtime_error when `jemalloc_expected` and the probe did not see jemalloc serving
// malloc(). Returns the report for logging and /metrics.
allocator_report check_allocator(bool jemalloc_expected);

struct allocator_stats {
    std::uint64_t allocated_bytes = 0;
    std::uint64_t resident_bytes = 0;
};

// jemalloc's process-wide statistics; empty when jemalloc is not the allocator.
std::optional<allocator_stats> allocator_statistics();

}  // namespace sluice::config
