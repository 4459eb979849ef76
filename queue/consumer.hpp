// The consumer side of the queue shards (DESIGN.md "worker/"): one consumer group, "workers", on
// every shard stream sluice:{S}:q; batched blocking reads across all shards; the atomic
// start / finish / fail steps of one delivery (Lua scripts next to this file); reclaiming entries
// of dead consumers; the dead-letter stream sluice:{S}:dlq; trimming of acknowledged entries.
//
// Life of one entry (admission.lua wrote it: fields id, practice, sha256, received_at, idem, body, and
// the status record sluice:{S}:sub:<id> with status=queued, attempts=0 and a TTL):
//
//   read() (XREADGROUP >) or claim_page() (XAUTOCLAIM, idle > claim_idle): a delivery; Redis
//       counts it (XPENDING times-delivered), so attempts survive the death of any worker
//   start()   consumer_start.lua: status=processing, attempts=<deliveries>
//   finish()  consumer_finish.lua: status=calculated, result, calculated_at + XACK, atomically;
//             idempotent: only the first finish of a submission answers `calculated`
//   fail()    consumer_fail.lua: not acked (redelivered by reclaim after claim_idle), or, once
//             delivered max_attempts times (at once for a permanent failure), XADD to the
//             dead-letter stream with the reason + XACK + status=failed, error=<reason>, atomically
//
// Invariants: no script creates a status record (a missing one would never expire) and every
// write to one keeps its TTL; an entry is acknowledged only together with its verdict; trim()
// removes only entries every group has acknowledged (never MAXLEN). All keys of one call carry
// the shard's hash tag, so every call runs unchanged on Redis Cluster.
//
// Threading: a consumer uses two routers (redis/router.hpp) of the same io_context: `commands`
// (pipelined, short calls) and `blocking` (XREADGROUP BLOCK holds its whole connection; its
// client_options::timeout must exceed consumer_options::block). Call members from that
// io_context's thread only.
//
// On Redis Cluster every call goes to the master of its shard's slot and follows it through
// resharding and failover (the router does that). Only read() changes shape: Redis refuses one
// XREADGROUP over streams of different slots (CROSSSLOT), even on one master, so a read asks
// every shard without BLOCK (pipelined per master), and when nothing is there, blocks on one
// shard per master (its dedicated `blocking` connection; the shard taken in turn) for at most
// consumer_options::cluster_block_slice, then asks every shard again, until options.block has
// passed. An entry on a shard nobody blocks on waits at most that slice.
// Errors are returned (consumer_result), never thrown, except std::bad_alloc.
#pragma once

#include "config/config.hpp"
#include "queue/stream_entries.hpp"
#include "redis/router.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sluice::queue {

// The consumer group every worker joins.
inline constexpr std::string_view consumer_group = "workers";

// sluice:{7}:dlq: the shard's dead-letter stream (never trimmed by sluice; operators drain it).
std::string dead_letter_key(std::uint32_t shard);

// "<hostname>-<pid>-<8 random hex digits>": unique per process, readable in XINFO CONSUMERS.
std::string unique_consumer_name();

// The embedded scripts, for tests and SCRIPT LOAD.
std::string_view consumer_start_script_source() noexcept;
std::string_view consumer_finish_script_source() noexcept;
std::string_view consumer_fail_script_source() noexcept;
std::string_view consumer_trim_script_source() noexcept;
std::string_view consumer_leave_script_source() noexcept;

// Errors of the consumer that are not transport errors (those are redis::error).
enum class consumer_error {
    no_group = 1,      // NOGROUP: the stream or the group is gone (create_groups() again)
    error_reply,       // another Redis error reply; consumer_result::detail has its text
    unexpected_reply,  // a reply of the wrong shape; detail says what was seen
};

const boost::system::error_category& consumer_error_category() noexcept;
boost::system::error_code make_error_code(consumer_error e) noexcept;

// A value, or why there is none: ec is a redis::error (no reply) or a consumer_error.
template <typename T>
struct consumer_result {
    boost::system::error_code ec;
    std::string detail;  // a Redis error reply's text, or the unexpected reply; "" otherwise
    T value{};

    bool ok() const noexcept { return !ec; }
    explicit operator bool() const noexcept { return ok(); }
};

// One delivered stream entry: queued_entry (stream_entries.hpp).

// The status record of an entry: sluice:{S}:sub:<id>, or nullopt when the entry's id is not a
// well-formed submission id of its own shard (such an entry is poison).
std::optional<std::string> status_key_of(const queued_entry& entry, std::uint32_t shards);

struct consumer_options {
    std::uint32_t shards = 16;  // redis.shards
    std::string group = std::string(consumer_group);
    std::string name;                                                 // unique per process: unique_consumer_name()
    std::chrono::milliseconds block{1000};                            // XREADGROUP BLOCK
    std::chrono::milliseconds claim_idle{30000};                      // worker.claim_idle_ms
    std::uint32_t max_attempts = 5;                                   // worker.max_attempts
    std::chrono::milliseconds forget_idle{std::chrono::minutes(10)};  // trim(): empty consumers idle longer are removed
    std::chrono::milliseconds cluster_block_slice{100};               // read() on a cluster (see the top)
};

// shards, claim_idle and max_attempts from the configuration; the given name.
consumer_options consumer_options_from(const config::settings& settings, std::string name);

// One page of XAUTOCLAIM: call again with next_cursor until it is "0-0".
struct claim_page_result {
    std::vector<queued_entry> entries;  // now delivered to this consumer (delivery count + 1)
    std::string next_cursor = "0-0";
    std::size_t deleted = 0;  // pending ids whose entries were gone; Redis dropped them from the PEL
};

enum class start_outcome {
    started,             // status=processing, attempts=deliveries: calculate, then finish() or fail()
    exhausted,           // deliveries > max_attempts without a verdict: fail() it (it dead-letters)
    missing_record,      // no status record: fail() it
    invalid_entry,       // no fields, or no valid submission id of this shard: fail() it
    already_calculated,  // done by another delivery; acknowledged now: nothing more to do
    already_failed,      // dead-lettered already; acknowledged now: nothing more to do
    not_pending,         // acknowledged meanwhile: nothing to do
    not_owner,           // claimed by another consumer meanwhile: leave it to that one
};
std::string_view to_string(start_outcome o) noexcept;

struct start_result {
    start_outcome outcome = start_outcome::not_pending;
    std::uint64_t deliveries = 0;  // XPENDING times-delivered (0 for not_pending, invalid_entry)
};

enum class finish_outcome {
    calculated,      // the first result: written and acknowledged (count it)
    duplicate,       // calculated before: nothing written, acknowledged
    already_failed,  // dead-lettered before: nothing written, acknowledged
    missing_record,  // the status record is gone: nothing written, not acknowledged: fail() it
};
std::string_view to_string(finish_outcome o) noexcept;

enum class fail_outcome {
    will_retry,     // left pending; reclaimed after claim_idle; record: status=queued, last_error
    dead_lettered,  // moved to sluice:{S}:dlq with the reason; acknowledged; status=failed, error
    not_pending,    // acknowledged meanwhile: nothing written
};
std::string_view to_string(fail_outcome o) noexcept;

// How final a failed delivery is.
enum class failure_kind {
    retryable,  // another delivery may succeed (a worker with a corrected catalogue, PostgreSQL
                // back): left pending and retried until max_attempts, then dead-lettered
    permanent,  // no delivery can ever succeed (a body that is not JSON, an entry without a valid
                // submission id, a status record that is gone): dead-lettered at once
};

struct fail_result {
    fail_outcome outcome = fail_outcome::not_pending;
    std::uint64_t deliveries = 0;
};

struct trim_result {
    std::uint64_t removed = 0;  // entries removed from the stream
    std::string min_id;         // the MINID used ("" when the stream or its groups do not exist)
    std::uint64_t forgotten_consumers = 0;
};

struct group_lag {
    std::uint64_t pending = 0;                 // delivered, not acknowledged
    std::optional<std::uint64_t> undelivered;  // XINFO GROUPS lag; nullopt when Redis cannot tell
};

class consumer {
public:
    template <typename T>
    using awaitable = boost::asio::awaitable<consumer_result<T>>;

    // Both routers must outlive the consumer; they may be the same router only if read() is
    // never called with a block time (tests).
    consumer(redis::router& commands, redis::router& blocking, consumer_options options);

    const consumer_options& options() const noexcept { return options_; }
    std::string queue_key(std::uint32_t shard) const;  // queue::queue_key, for the caller's logs

    // SCRIPT LOAD of the consumer scripts at every (re)connect of `commands` (call before its
    // start(); without it the first call of each script goes through EVAL once).
    void register_scripts(redis::router& commands) const;

    // XGROUP CREATE <queue> <group> 0 MKSTREAM on every shard; BUSYGROUP is success. At id 0, so
    // entries queued before the first worker started are processed. Value: groups created now.
    awaitable<std::uint32_t> create_groups();

    // XREADGROUP GROUP <group> <name> COUNT <count_per_shard> BLOCK <block> STREAMS <all shard
    // queues> > ...: new entries of every shard, at most count_per_shard from each, waiting up
    // to options.block for the first (block false: no BLOCK, answer at once). Uses the
    // blocking router. Empty when nothing arrived. consumer_error::no_group: create_groups().
    // On a cluster (see the top): what arrived on any shard; a shard whose call failed is left
    // out while others deliver, and its error is returned only when nothing was delivered (a
    // missing group is returned by the next read).
    awaitable<std::vector<queued_entry>> read(std::size_t count_per_shard, bool block = true);

    // XAUTOCLAIM <queue> <group> <name> <claim_idle> <cursor> COUNT <count>: one page of the
    // shard's entries idle longer than options.claim_idle (their consumer died, or their
    // attempt failed), now delivered to this consumer.
    awaitable<claim_page_result> claim_page(std::uint32_t shard, std::string_view cursor, std::size_t count);

    // claim_page() from "0-0" until the cursor is "0-0" again: every idle entry of the shard.
    awaitable<std::vector<queued_entry>> reclaim(std::uint32_t shard, std::size_t page_size = 100);

    // The steps of one delivery (see the top of this file and the scripts' headers). `entry` is
    // read when the call is awaited: co_await it at once (as every call here).
    awaitable<start_result> start(const queued_entry& entry);
    awaitable<finish_outcome> finish(const queued_entry& entry, std::string_view result_json,
                                     std::string_view calculated_at);
    // A permanent failure is dead-lettered at this delivery, whatever max_attempts says.
    awaitable<fail_result> fail(const queued_entry& entry, std::string_view reason, std::string_view failed_at,
                                failure_kind kind = failure_kind::retryable);

    // consumer_trim.lua on one shard: XTRIM MINID below everything still needed. Run it
    // periodically (it reads the group state), not per entry.
    awaitable<trim_result> trim(std::uint32_t shard);

    // XINFO GROUPS of one shard, this group's pending count and lag.
    awaitable<group_lag> lag(std::uint32_t shard);

    // consumer_leave.lua on one shard: removes this consumer if it holds nothing there.
    // Value: true if it holds nothing (removed), false if it still holds entries.
    awaitable<bool> leave(std::uint32_t shard);

private:
    awaitable<std::vector<queued_entry>> read_cluster(std::size_t count_per_shard, bool block);
    boost::asio::awaitable<bool> read_round(const std::vector<std::uint32_t>& shards, const std::string& count,
                                            const std::string& block_ms,
                                            consumer_result<std::vector<queued_entry>>& out);

    redis::router& commands_;
    redis::router& blocking_;
    consumer_options options_;
    std::vector<std::string> queue_keys_;  // by shard
    std::size_t lead_rotation_ = 0;        // read_cluster(): which shard of each master blocks
    bool no_group_seen_ = false;           // read_cluster(): NOGROUP on a shard while others delivered
};

}  // namespace sluice::queue

template <>
struct boost::system::is_error_code_enum<sluice::queue::consumer_error> : std::true_type {};
