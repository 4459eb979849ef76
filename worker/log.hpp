// The worker logs through config/log.hpp (shared by every sluice program).
#pragma once

#include "config/log.hpp"

namespace sluice::worker {
using config::log;
using config::log_level;
using config::utc_timestamp;
}  // namespace sluice::worker
