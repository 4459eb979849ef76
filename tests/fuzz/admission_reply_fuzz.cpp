// libFuzzer target for queue/admission.hpp's parse_admission_reply: any bytes as what Redis sent
// back for the admission script, read by hiredis's own RESP reader into the reply the gateway
// gets (redis/reply.hpp). Besides the sanitizers' checks it aborts when a property of the strict
// parser fails:
//   * invalid_reply exactly when `error` says why; every other outcome has no error;
//   * limited has a retry_after_us > 0 and remaining 0; accepted has a stream entry id;
//     replayed has a status from 100 to 599, an id, and a receipt or the time to rebuild one.
// Bytes are read into replies as resp_reader.hpp says (huge declared arrays skipped).
//
//   admission_reply_fuzz -dict=tests/fuzz/admission_reply.dict tests/fuzz/corpus/admission_reply
#include "queue/admission.hpp"
#include "resp_reader.hpp"

#include <cstdint>

namespace {

using sluice::fuzz::require;
using sluice::queue::admission_outcome;
using sluice::redis::reply;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::for_each_reply(data, size, [](const reply& r) {
        const auto result = sluice::queue::parse_admission_reply(r);
        require((result.outcome == admission_outcome::invalid_reply) == !result.error.empty(),
                "an error exactly for invalid_reply");
        switch (result.outcome) {
        case admission_outcome::limited:
            require(result.retry_after_us > 0 && result.remaining == 0, "limited says when to retry");
            break;
        case admission_outcome::accepted: require(!result.stream_entry_id.empty(), "accepted has an entry id"); break;
        case admission_outcome::replayed:
            require(result.replay_status >= 100 && result.replay_status <= 599, "replayed status");
            require(!result.replay_submission_id.empty(), "replayed names its submission");
            require(!result.replay_body.empty() || !result.replay_received_at.empty(), "replayed can be answered");
            break;
        default: break;
        }
    });
    return 0;
}
