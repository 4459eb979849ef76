// What every long-running sluice main() does first, in one place: ignore SIGPIPE (hiredis writes
// to Redis with write(); a Redis that died mid-write must be an error, not a silent exit), name
// the program in the log, and check that jemalloc really serves malloc() when the executable links
// it. Header-only on purpose: SLUICE_WITH_JEMALLOC is defined per executable, so this must be
// compiled in the executable's own translation unit.
#pragma once

#include "config/allocator.hpp"
#include "config/log.hpp"

#include <csignal>
#include <string_view>

namespace sluice::config {

// Throws std::runtime_error when jemalloc is linked but not the allocator in use.
inline allocator_report start_process(std::string_view program) {
    std::signal(SIGPIPE, SIG_IGN);
    set_log_program(program);
#ifdef SLUICE_WITH_JEMALLOC
    return check_allocator(true);
#else
    return check_allocator(false);
#endif
}

}  // namespace sluice::config
