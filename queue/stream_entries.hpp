// What the queue streams' replies hold, read strictly and purely (no I/O): the entries of
// XREADGROUP and XAUTOCLAIM replies as queue/admission.lua queued them. The consumer (consumer.hpp)
// sends the calls; these read what comes back, and tests/fuzz/redis_reply_fuzz feeds them any bytes.
#pragma once

#include "redis/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::queue {

// One delivered stream entry, as admission.lua wrote it.
struct queued_entry {
    std::uint32_t shard = 0;
    std::string entry_id;         // the stream id, "1711929492345-0"
    std::string submission_id;    // field "id" ("" if absent)
    std::string practice;         // field "practice"
    std::string sha256;           // field "sha256"
    std::string received_at;      // field "received_at"
    std::string idempotency_key;  // field "idem" ("" for entries queued before it was carried)
    std::string body;             // field "body": the request body as received
    bool deleted = false;         // the entry was delivered without fields (deleted from the stream)
};

// A reply in a few words, for the detail of an unexpected one ("array of 3", "error ERR ...").
std::string describe_reply(const redis::reply& r);

// The shard of "sluice:{7}:q"; nullopt for another shape.
std::optional<std::uint32_t> shard_of_queue_key(std::string_view key);

// One stream entry, [id, [field, value, ...]] (or [id, nil] for an entry deleted while pending:
// `deleted`), from shard `shard`; false for another shape. Unknown fields are ignored.
bool parse_queued_entry(const redis::reply& r, std::uint32_t shard, queued_entry& out);

// An XREADGROUP reply, [[stream key, [entry...]]...] or nil (BLOCK ran out): appends its entries to
// `entries`. nullopt when the reply is of that shape, else what was unexpected (with
// describe_reply of it); every stream key must name a shard below `shards`.
std::optional<std::string> read_queue_entries(const redis::reply& r, std::uint32_t shards,
                                              std::vector<queued_entry>& entries);

}  // namespace sluice::queue
