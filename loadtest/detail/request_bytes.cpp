// See request_bytes.hpp.
#include "loadtest/detail/request_bytes.hpp"

#include <charconv>
#include <cstring>

namespace sluice::loadtest::detail {

void write_head(request_bytes& out, std::size_t room, std::string_view host_header, std::string_view token,
                std::string_view idempotency_key) {
    using head = request_head;
    const std::size_t body_size = out.buffer.size() - room;
    char digits[head::max_digits];
    const auto digits_end = std::to_chars(digits, digits + head::max_digits, body_size).ptr;
    const auto head_size = room - head::max_digits + static_cast<std::size_t>(digits_end - digits);
    out.offset = room - head_size;
    char* at = out.buffer.data() + out.offset;
    const auto put = [&at](std::string_view part) {
        std::memcpy(at, part.data(), part.size());
        at += part.size();
    };
    put(head::line);
    put(host_header);
    put(head::agent);
    put(token);
    put(head::type);
    put(idempotency_key);
    put(head::content_length);
    put(std::string_view(digits, static_cast<std::size_t>(digits_end - digits)));
    put(head::end);
}

}  // namespace sluice::loadtest::detail
