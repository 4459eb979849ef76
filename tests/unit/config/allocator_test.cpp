// The start-up allocator check, in a binary with jemalloc linked (allocator_jemalloc_test) and in
// one without (allocator_system_test): the check must tell the two apart, and refuse to start
// when jemalloc was expected but is not what malloc() uses.
#include "config/allocator.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

#ifdef SLUICE_WITH_JEMALLOC
TEST(allocator, jemalloc_is_seen_serving_malloc) {
    const auto report = sluice::config::probe_allocator();
    EXPECT_TRUE(report.jemalloc_active);
    EXPECT_EQ(report.name, "jemalloc");
    EXPECT_FALSE(report.version.empty());
    EXPECT_NO_THROW(sluice::config::check_allocator(true));
    const auto stats = sluice::config::allocator_statistics();
    ASSERT_TRUE(stats.has_value());
    EXPECT_GT(stats->allocated_bytes, 0u);
    EXPECT_GE(stats->resident_bytes, stats->allocated_bytes);
}
#else
TEST(allocator, without_jemalloc_the_system_allocator_is_reported) {
    const auto report = sluice::config::probe_allocator();
    EXPECT_FALSE(report.jemalloc_active);
    EXPECT_EQ(report.name, "system");
    EXPECT_FALSE(sluice::config::allocator_statistics().has_value());
}

TEST(allocator, check_refuses_to_start_when_jemalloc_was_expected_but_absent) {
    EXPECT_THROW(sluice::config::check_allocator(true), std::runtime_error);
    EXPECT_NO_THROW(sluice::config::check_allocator(false));
}
#endif

}  // namespace
