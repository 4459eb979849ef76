// What a Redis Cluster says about itself, parsed: which master serves which slots (CLUSTER SHARDS,
// Redis 7, or CLUSTER SLOTS, Redis 3 to 7), and the error replies that redirect a call or ask for
// patience (MOVED, ASK, TRYAGAIN, CLUSTERDOWN). Pure: replies in, values out; the cluster router
// (router.hpp) does the I/O.
//
// Endpoints follow the specification's rules for the preferred endpoint: NULL or "" means "the
// node you asked" (reported here as an empty host, for the caller to fill in), "?" means the
// node's endpoint is unknown (its slots are left out: they have no reachable master).
#pragma once

#include "redis/endpoint.hpp"
#include "redis/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::redis {

// Slots first..last (inclusive) are served by `master`.
struct slot_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    endpoint master;        // host "" means: the node that answered
    std::string master_id;  // the node's 40-hex-digit name ("" if not given)

    bool operator==(const slot_range&) const = default;
};

struct cluster_topology {
    std::vector<slot_range> ranges;  // in the order the server gave them; unlisted slots: no master
};

// CLUSTER SHARDS (RESP2): an array of shards, each a flat map with "slots" (a flat list of
// first, last pairs) and "nodes" (flat maps: id, port, ip, endpoint, role, health, ...). The
// master of each shard with slots gives its ranges. nullopt, with `problem` saying why, for a
// reply of another shape (a shard without a master, a slot out of range, a missing port).
std::optional<cluster_topology> parse_cluster_shards(const reply& r, std::string& problem);

// CLUSTER SLOTS: an array of [first, last, [host, port, id, ...], replicas...].
std::optional<cluster_topology> parse_cluster_slots(const reply& r, std::string& problem);

// The error replies the cluster router acts on, by their first word.
enum class cluster_error_kind : std::uint8_t {
    other,         // not the router's business: handed to the caller as a reply
    moved,         // MOVED <slot> <host>:<port>: the slot lives elsewhere now
    ask,           // ASK <slot> <host>:<port>: this key is being migrated; ask there, once
    try_again,     // TRYAGAIN: a multi-key call during a slot migration
    cluster_down,  // CLUSTERDOWN: the cluster (or this slot) is not served right now
    no_script,     // NOSCRIPT: EVALSHA of a script this node has not cached
};

cluster_error_kind classify_error(std::string_view error_text) noexcept;

struct redirection {
    bool ask = false;  // ASK (one call) rather than MOVED (the slot)
    std::uint16_t slot = 0;
    endpoint target;  // host "" means: the node that answered

    bool operator==(const redirection&) const = default;
};

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 [host]:6381": the host is everything before the last
// ':' (so IPv6 literals work), possibly empty. nullopt for anything else.
std::optional<redirection> parse_redirection(std::string_view error_text);

}  // namespace sluice::redis
