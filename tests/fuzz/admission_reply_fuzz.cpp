// libFuzzer target for queue/admission.hpp's parse_admission_reply: any bytes as what Redis sent
// back for the admission script, read by hiredis's own RESP reader into the reply the gateway
// gets (redis/reply.hpp). Besides the sanitizers' checks it aborts when a property of the strict
// parser fails:
//   * invalid_reply exactly when `error` says why; every other outcome has no error;
//   * limited has a retry_after_us > 0 and remaining 0; accepted has a stream entry id;
//     replayed has a status from 100 to 599.
// Inputs that declare an array of more than max_declared_elements are skipped: hiredis 0.14's
// reader allocates a declared array whole before its elements arrive ("*1111111111\r\n" asks
// for 8.9 GB; bench/fuzz.sh found it), and it has no limit of its own (hiredis 1.0 added
// maxelements). The replies come from our own Redis, and what is fuzzed here is our parser.
//
//   admission_reply_fuzz -dict=tests/fuzz/admission_reply.dict tests/fuzz/corpus/admission_reply
#include "queue/admission.hpp"
#include "redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using sluice::queue::admission_outcome;
using sluice::redis::reply;

void require(bool property, const char* what) {
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

// hiredis's reply tree as redis/reply.hpp's owning copy (the client makes the same copy).
reply copy_of(const redisReply& r) {
    reply out;
    switch (r.type) {
    case REDIS_REPLY_STRING:
        out.type = reply::kind::string;
        out.str.assign(r.str, r.len);
        break;
    case REDIS_REPLY_STATUS:
        out.type = reply::kind::status;
        out.str.assign(r.str, r.len);
        break;
    case REDIS_REPLY_ERROR:
        out.type = reply::kind::error;
        out.str.assign(r.str, r.len);
        break;
    case REDIS_REPLY_INTEGER:
        out.type = reply::kind::integer;
        out.integer = r.integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = reply::kind::array;
        for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(copy_of(*r.element[i]));
        break;
    default: out.type = reply::kind::nil; break;
    }
    return out;
}

constexpr std::size_t max_declared_elements = 1024;

// True when a "*<count>" in the bytes declares more than max_declared_elements.
bool declares_a_huge_array(std::string_view bytes) {
    for (std::size_t at = bytes.find('*'); at != std::string_view::npos; at = bytes.find('*', at + 1)) {
        std::size_t count = 0, i = at + 1;
        while (i < bytes.size() && bytes[i] >= '0' && bytes[i] <= '9' && count <= max_declared_elements)
            count = count * 10 + static_cast<std::size_t>(bytes[i++] - '0');
        if (count > max_declared_elements) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (declares_a_huge_array({reinterpret_cast<const char*>(data), size})) return 0;
    redisReader* reader = redisReaderCreate();
    require(reader != nullptr, "reader");
    redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
    void* raw = nullptr;
    while (redisReaderGetReply(reader, &raw) == REDIS_OK && raw != nullptr) {
        const auto result = sluice::queue::parse_admission_reply(copy_of(*static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
        raw = nullptr;
        require((result.outcome == admission_outcome::invalid_reply) == !result.error.empty(),
                "an error exactly for invalid_reply");
        switch (result.outcome) {
        case admission_outcome::limited:
            require(result.retry_after_us > 0 && result.remaining == 0, "limited says when to retry");
            break;
        case admission_outcome::accepted: require(!result.stream_entry_id.empty(), "accepted has an entry id"); break;
        case admission_outcome::replayed:
            require(result.replay_status >= 100 && result.replay_status <= 599, "replayed status");
            break;
        default: break;
        }
    }
    redisReaderFree(reader);
    return 0;
}
