// For the fuzz targets of Redis reply parsers: any bytes read as what Redis sent back, by hiredis's
// own RESP reader, into the reply our code gets (redis/reply.hpp), by the client's own copy
// (redis/detail/reply_copy.cpp, compiled into each target that includes this). For tests/fuzz only.
//
// Inputs that declare an array of more than max_declared_elements are skipped: hiredis 0.14's
// reader allocates a declared array whole before its elements arrive ("*1111111111\r\n" asks
// for 8.9 GB; bench/fuzz.sh found it), and it has no limit of its own (hiredis 1.0 added
// maxelements). The replies come from our own Redis; what is fuzzed is our parsers.
#pragma once

#include "redis/detail/reply_copy.hpp"
#include "redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sluice::fuzz {

inline void require(bool property, const char* what) {
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

inline constexpr std::size_t max_declared_elements = 1024;

// True when a "*<count>" in the bytes declares more than max_declared_elements.
inline bool declares_a_huge_array(std::string_view bytes) {
    for (std::size_t at = bytes.find('*'); at != std::string_view::npos; at = bytes.find('*', at + 1)) {
        std::size_t count = 0, i = at + 1;
        while (i < bytes.size() && bytes[i] >= '0' && bytes[i] <= '9' && count <= max_declared_elements)
            count = count * 10 + static_cast<std::size_t>(bytes[i++] - '0');
        if (count > max_declared_elements) return true;
    }
    return false;
}

// Calls `each(reply)` for every whole reply in the bytes (none for a huge declared array).
template <typename Each>
void for_each_reply(const std::uint8_t* data, std::size_t size, Each&& each) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (declares_a_huge_array(bytes)) return;
    redisReader* reader = redisReaderCreate();
    require(reader != nullptr, "reader");
    redisReaderFeed(reader, bytes.data(), bytes.size());
    void* raw = nullptr;
    while (redisReaderGetReply(reader, &raw) == REDIS_OK && raw != nullptr) {
        const redis::reply r = redis::detail::copy_reply(*static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        raw = nullptr;
        each(r);
    }
    redisReaderFree(reader);
}

}  // namespace sluice::fuzz
