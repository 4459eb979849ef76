// Where a Redis server listens: a host (a name or an IP literal, IPv6 without brackets) and a TCP
// port. Shared by the client's options (cluster seeds) and the cluster topology.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::redis {

struct endpoint {
    std::string host;
    std::uint16_t port = 0;

    // "host:port" (IPv6 literals as they are, without brackets, as Redis itself writes them).
    std::string address() const { return host + ":" + std::to_string(port); }

    bool operator==(const endpoint&) const = default;
};

}  // namespace sluice::redis
