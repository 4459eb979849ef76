// RESP request encoding: "*<count>\r\n" then "$<length>\r\n<bytes>\r\n" per argument.
#include "redis/detail/command.hpp"

#include <charconv>

namespace sluice::redis::detail {

namespace {

// Room for the digits of any std::size_t.
constexpr std::size_t max_digits = 20;

void append_number(std::string& out, std::size_t value) {
    char digits[max_digits];
    const auto result = std::to_chars(digits, digits + max_digits, value);
    out.append(digits, result.ptr);
}

void append_header(std::string& out, std::size_t count) {
    out.push_back('*');
    append_number(out, count);
    out.append("\r\n");
}

void append_bulk(std::string& out, std::string_view arg) {
    out.push_back('$');
    append_number(out, arg.size());
    out.append("\r\n");
    out.append(arg);
    out.append("\r\n");
}

// Upper bound of one bulk string's encoded size.
std::size_t bulk_size(std::string_view arg) {
    return arg.size() + max_digits + 5;
}

}  // namespace

std::string format_command(std::span<const std::string_view> args) {
    std::size_t size = max_digits + 3;
    for (auto arg : args) size += bulk_size(arg);
    std::string out;
    out.reserve(size);
    append_header(out, args.size());
    for (auto arg : args) append_bulk(out, arg);
    return out;
}

command format_evalsha(std::string_view sha1, std::span<const std::string_view> keys,
                       std::span<const std::string_view> args) {
    char numkeys_digits[max_digits];
    const auto numkeys_end = std::to_chars(numkeys_digits, numkeys_digits + max_digits, keys.size()).ptr;
    const std::string_view numkeys(numkeys_digits, static_cast<std::size_t>(numkeys_end - numkeys_digits));

    std::size_t size = max_digits + 3 + bulk_size("EVALSHA") + bulk_size(sha1) + bulk_size(numkeys);
    for (auto key : keys) size += bulk_size(key);
    for (auto arg : args) size += bulk_size(arg);

    command out;
    out.resp.reserve(size);
    append_header(out.resp, 3 + keys.size() + args.size());
    append_bulk(out.resp, "EVALSHA");
    append_bulk(out.resp, sha1);
    out.tail = out.resp.size();
    append_bulk(out.resp, numkeys);
    for (auto key : keys) append_bulk(out.resp, key);
    for (auto arg : args) append_bulk(out.resp, arg);
    return out;
}

std::string evalsha_to_eval(const command& evalsha, std::string_view source) {
    const std::string_view resp = evalsha.resp;
    const auto header = resp.substr(0, resp.find("\r\n") + 2);  // "*<count>\r\n": same count
    const auto tail = resp.substr(evalsha.tail);
    std::string out;
    out.reserve(header.size() + bulk_size("EVAL") + bulk_size(source) + tail.size());
    out.append(header);
    append_bulk(out, "EVAL");
    append_bulk(out, source);
    out.append(tail);
    return out;
}

}  // namespace sluice::redis::detail
