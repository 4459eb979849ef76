// The gateway logs through config/log.hpp (shared by every sluice program).
#pragma once

#include "config/log.hpp"

namespace sluice::gateway {
using config::log;
using config::log_level;
}  // namespace sluice::gateway
