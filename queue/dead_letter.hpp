// The dead-letter streams sluice:{S}:dlq, as an operator works them (sluice-admin dlq): list,
// show, replay (put a dead letter back on its queue shard, once) and purge.
//
// A dead letter is the queue entry's own fields (id, practice, sha256, received_at, idem, body, as
// queue/admission.lua queued them) plus the four consumer_fail.lua appended: entry_id (its id in
// the queue), reason, attempts, failed_at. The worker writes one per dead-lettered queue entry
// and never trims the stream: operators drain it, with this.
//
// A dead letter is named by a reference (parse_reference), either
//     7-0123456789abcdef0123456789abcdef   a submission id: its shard is in the id; every dead
//                                          letter of that submission on that shard
//     7/1711929492345-0                    shard 7, one dead letter by its stream id
//
// Replay keeps exactly-once (dead_letter_replay.lua): a submission is queued again only while its
// status record says failed, and the record says queued in the same atomic step; a submission
// calculated meanwhile is never queued again. A dry run makes the same decision and writes nothing.
//
// Pure parts (references, replies) are separate from the calls, which go through redis/ like
// the consumer's; call members from the client's io_context thread only. Errors are returned
// (consumer_result, consumer_error), never thrown, except std::bad_alloc.
#pragma once

#include "queue/consumer.hpp"
#include "redis/router.hpp"
#include "redis/reply.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::queue {

std::string_view dead_letter_replay_script_source() noexcept;

struct dead_letter {
    std::uint32_t shard = 0;
    std::string dead_letter_id;  // its id in sluice:{S}:dlq
    std::string submission_id;   // field "id" ("" if absent: a poison entry without one)
    std::string practice;
    std::string sha256;
    std::string received_at;
    std::string idempotency_key;  // field "idem"
    std::string body;
    std::string queue_entry_id;  // field "entry_id": its id in sluice:{S}:q when it failed
    std::string reason;
    std::string attempts;  // as written ("5")
    std::string failed_at;
};

// One element of an XRANGE/XREVRANGE reply of a dead-letter stream ([id, [field, value, ...]]),
// or nullopt for another shape.
std::optional<dead_letter> parse_dead_letter(const redis::reply& entry, std::uint32_t shard);

struct dead_letter_reference {
    std::uint32_t shard = 0;
    std::string submission_id;   // set for a submission id reference
    std::string dead_letter_id;  // set for a "S/ID" reference
};

// "7-<32 hex>" (a well-formed submission id of a shard below `shards`) or "7/<ms>-<seq>" (a shard
// below `shards` and a stream id); nullopt otherwise.
std::optional<dead_letter_reference> parse_reference(std::string_view text, std::uint32_t shards);

// "7/1711929492345-0": the reference that names exactly this dead letter.
std::string reference_of(const dead_letter& d);

enum class replay_outcome {
    requeued,            // queued again (dry run: would be); new_entry_id says where ("" in a dry run)
    not_found,           // no such dead letter
    missing_record,      // the status record expired: cannot be replayed
    already_calculated,  // calculated meanwhile: nothing to do but purge
    not_failed,          // queued or processing already (an earlier replay): nothing written
    no_submission_id,    // the dead letter has no valid submission id of its shard: purge only
};
std::string_view to_string(replay_outcome o) noexcept;

struct replay_result {
    replay_outcome outcome = replay_outcome::not_found;
    std::string new_entry_id;  // requeued (not a dry run)
    std::string status;        // not_failed: the record's status
};

// dead_letter_replay.lua's reply, or nullopt for another shape.
std::optional<replay_result> parse_replay_reply(const redis::reply& r);

class dead_letters {
public:
    template <typename T>
    using awaitable = boost::asio::awaitable<consumer_result<T>>;

    // `commands` must outlive this object. shards: redis.shards.
    dead_letters(redis::router& commands, std::uint32_t shards);

    std::uint32_t shards() const noexcept { return shards_; }

    // XLEN of the shard's dead-letter stream (0 when it does not exist).
    awaitable<std::uint64_t> count(std::uint32_t shard);

    // At most `limit` dead letters of the shard, oldest first, from stream id `after` (exclusive;
    // "" from the start): page with the last id returned.
    awaitable<std::vector<dead_letter>> list(std::uint32_t shard, std::size_t limit, std::string_view after = {});

    // The dead letters a reference names (none: an empty vector). A submission id reference
    // reads the whole shard's stream, in pages.
    awaitable<std::vector<dead_letter>> find(const dead_letter_reference& ref);

    // dead_letter_replay.lua for one dead letter (as find() returned it).
    awaitable<replay_result> replay(const dead_letter& d, bool dry_run, std::string_view replayed_at);

    // XDEL of one dead letter (dry run: whether it exists). Value: it was there (and is gone).
    awaitable<bool> purge(std::uint32_t shard, std::string_view dead_letter_id, bool dry_run);

private:
    redis::router& commands_;  // one server or a Redis Cluster: every call names its shard's key
    std::uint32_t shards_;
};

}  // namespace sluice::queue
