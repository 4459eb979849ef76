// hiredis's reply tree as redis/reply.hpp's owning copy: what the client hands its callers, and
// what the fuzz targets of reply parsers (tests/fuzz/resp_reader.hpp) feed them. Internal to
// redis/ (and its tests): it names hiredis's type without including hiredis.
#pragma once

#include "redis/reply.hpp"

struct redisReply;

namespace sluice::redis::detail {

// Strings, statuses and errors keep their bytes; arrays are copied element by element; any
// other type (nil, and RESP3 kinds hiredis 0.14 never produces here) is nil.
reply copy_reply(const redisReply& r);

}  // namespace sluice::redis::detail
