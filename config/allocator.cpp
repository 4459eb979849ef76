// Allocator probe (see allocator.hpp). jemalloc's mallctl() is declared weak so that this library
// links with or without jemalloc; a null mallctl means jemalloc is not in the process at all.
#include "config/allocator.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));

namespace sluice::config {

namespace {

template <typename T>
bool read_mallctl(const char* name, T& out) {
    if (mallctl == nullptr) return false;
    std::size_t len = sizeof(T);
    return mallctl(name, &out, &len, nullptr, 0) == 0;
}

}  // namespace

allocator_report probe_allocator() {
    allocator_report report{false, "system", ""};
    const char* version = nullptr;
    if (!read_mallctl("version", version) || version == nullptr) return report;

    // jemalloc is linked; does malloc() go through it? Its per-thread counter of allocated
    // bytes must grow by at least what we allocate.
    std::uint64_t before = 0, after = 0;
    if (!read_mallctl("thread.allocated", before)) return report;
    constexpr std::size_t probe_bytes = 1 << 20;
    void* volatile p = std::malloc(probe_bytes);
    if (p == nullptr) return report;
    std::memset(p, 1, 64);
    const bool counted = read_mallctl("thread.allocated", after) && after - before >= probe_bytes;
    std::free(p);
    if (counted) report = {true, "jemalloc", version};
    return report;
}

allocator_report check_allocator(bool jemalloc_expected) {
    auto report = probe_allocator();
    if (jemalloc_expected && !report.jemalloc_active)
        throw std::runtime_error(
            "allocator: this build links jemalloc, but malloc() is not served by it (LD_PRELOAD of another "
            "allocator, or a link-order fault); refusing to start");
    return report;
}

std::optional<allocator_stats> allocator_statistics() {
    if (mallctl == nullptr) return std::nullopt;
    std::uint64_t epoch = 1;
    std::size_t len = sizeof epoch;
    if (mallctl("epoch", &epoch, &len, &epoch, len) != 0) return std::nullopt;  // refresh the stats
    allocator_stats stats;
    std::size_t allocated = 0, resident = 0;
    if (!read_mallctl("stats.allocated", allocated) || !read_mallctl("stats.resident", resident)) return std::nullopt;
    stats.allocated_bytes = allocated;
    stats.resident_bytes = resident;
    return stats;
}

}  // namespace sluice::config
