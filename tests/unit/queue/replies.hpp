// Redis replies built by hand, in the shapes the scripts answer with, for the unit tests of
// queue/'s reply parsers (no Redis needed).
#pragma once

#include "redis/reply.hpp"

#include <initializer_list>
#include <string>
#include <utility>

namespace sluice::queue::test {

inline redis::reply string_reply(std::string text) {
    redis::reply reply;
    reply.type = redis::reply::kind::string;
    reply.str = std::move(text);
    return reply;
}

inline redis::reply integer_reply(long long value) {
    redis::reply reply;
    reply.type = redis::reply::kind::integer;
    reply.integer = value;
    return reply;
}

inline redis::reply array_reply(std::initializer_list<redis::reply> elements) {
    redis::reply reply;
    reply.type = redis::reply::kind::array;
    reply.elements = elements;
    return reply;
}

inline redis::reply nil_reply() { return {}; }

}  // namespace sluice::queue::test
