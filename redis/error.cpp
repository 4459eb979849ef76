// The "sluice.redis" error category.
#include "redis/error.hpp"

#include <string>

namespace sluice::redis {

namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sluice.redis"; }

    std::string message(int value) const override {
        switch (static_cast<error>(value)) {
        case error::not_connected: return "not connected to Redis";
        case error::timeout: return "no reply from Redis within the timeout";
        case error::connection_lost: return "connection to Redis lost with the call in flight";
        case error::too_many_pending: return "too many Redis calls in flight";
        case error::stopped: return "Redis client stopped";
        case error::try_again: return "Redis Cluster: the key's slot is being migrated (TRYAGAIN)";
        case error::cluster_down: return "Redis Cluster: no master serves the key's slot (CLUSTERDOWN)";
        case error::redirected: return "Redis Cluster: the key's slot moved again while the call followed it";
        }
        return "unknown sluice.redis error " + std::to_string(value);
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

}  // namespace sluice::redis
