// The status of one submission as GET /v1/submissions/{id} reads it: the call of the status script
// (status.lua: the status record and the practice's rate-limit state in one round trip, reads
// only) and the parse of its reply into the record's fields. Pure: no I/O.
//
// The submission's record (keys.hpp's submission_key, a hash) is written by the scripts of this
// folder only:
//   admission.lua       id, practice, status=queued, attempts=0, received_at, content_sha256, and
//                       for idempotency state=done|pending (pending_until); complete.lua: state=done
//   consumer_start.lua  status=processing, attempts
//   consumer_finish.lua status=calculated, result (the worker's result JSON, exact text), calculated_at
//   consumer_fail.lua   status=queued|failed, attempts, last_error | error
// so its field names are known here and nowhere else.
#pragma once

#include "config/config.hpp"
#include "queue/call.hpp"
#include "redis/reply.hpp"
#include "redis/script.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::queue {

// The embedded status.lua, for SCRIPT LOAD / EVAL, and as a script object (scripts.cpp).
std::string_view status_script_source() noexcept;
const redis::script& status_script();

// The status script's call for `submission_id`, asked by `practice`: KEYS {the submission's record,
// the practice's hash (its rate limit's tat)}, no ARGV. nullopt when the id is not one this deployment mints
// (malformed, or a shard beyond settings.redis.shards): no such submission, without a call.
std::optional<script_call> build_status_call(std::string_view submission_id, std::string_view practice,
                                             const config::settings& settings);

// What the record says, field by field; a field the record lacks is nullopt.
struct status_record {
    std::optional<std::string> practice;
    std::optional<std::string> status;          // queued, processing, calculated, failed
    std::optional<long long> attempts;          // deliveries so far (0 until a worker takes it)
    std::optional<std::string> received_at;     // RFC 3339
    std::optional<std::string> content_sha256;  // of the body as received
    std::optional<std::string> result;          // calculated: the result JSON as the worker wrote it
    std::optional<std::string> error;           // failed: why
};

struct status_reply {
    bool valid = false;                   // false: not a reply of the status script (or an error)
    std::optional<status_record> record;  // nullopt: no record (never admitted, or expired)
    std::optional<std::int64_t> tat_us;   // the practice's GCRA state; nullopt: none (a full bucket)
};

// Strict on the shape ({array of field/value pairs, anything}); lenient on the record's fields
// (an unknown field is ignored, a missing one is nullopt, attempts is read as a decimal number,
// 0 if it is not one) and on the tat (read_tat of ratelimit_state.hpp: anything but a number is
// none). Given `submission_id`, a record whose "id" field names another submission is none: the
// same practice and Idempotency-Key used again after the asked-for one's record expired
// (keys.hpp).
status_reply parse_status_reply(const redis::reply& reply, std::string_view submission_id = {});

}  // namespace sluice::queue
