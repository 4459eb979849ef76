// Retry-After rounding and jitter (see retry_after.hpp).
#include "ratelimit/retry_after.hpp"

namespace sluice::ratelimit {

int retry_after_seconds(std::int64_t wait_us) noexcept {
    if (wait_us <= 0) {
        return 1;
    }
    const std::int64_t seconds = wait_us / 1'000'000 + (wait_us % 1'000'000 != 0 ? 1 : 0);
    if (seconds > max_retry_after_seconds) {
        return max_retry_after_seconds;
    }
    return seconds < 1 ? 1 : static_cast<int>(seconds);
}

int jittered_retry_after(int base_seconds, std::uint64_t random) noexcept {
    std::uint64_t base = base_seconds < 1 ? 1 : static_cast<std::uint64_t>(base_seconds);
    if (base > max_retry_after_seconds) {
        base = max_retry_after_seconds;
    }
    const std::uint64_t jittered = base + random % (base + 1);
    return static_cast<int>(jittered > max_retry_after_seconds ? max_retry_after_seconds : jittered);
}

}  // namespace sluice::ratelimit
