// The bytes of one submission's POST /v1/submissions, built once when the submission is first
// due and sent unchanged by every copy and retry (so that the gateway sees the same body under
// the same Idempotency-Key each time):
//
//   POST /v1/submissions HTTP/1.1\r\nHost: H\r\nUser-Agent: sluice-loadtest\r\n
//   Authorization: Bearer T\r\nContent-Type: application/json\r\nIdempotency-Key: K\r\n
//   Content-Length: N\r\n\r\n<body>
//
// One buffer, one copy of the body: room is left for the head, the body is generated straight
// after it, then the head (whose Content-Length needed the body's size) is written right-aligned
// into the room; the request starts at `offset`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::loadtest::detail {

struct request_bytes {
    std::string buffer;  // [offset, size()) is the request; freed when its last copy ended
    std::size_t offset = 0;

    std::string_view view() const noexcept { return std::string_view(buffer).substr(offset); }
};

// Builds the request into `out` (reserving `body_hint` bytes for the body, so that a buffer is
// allocated once); `append_body(std::string&)` appends the body. Returns the body's size.
template <class AppendBody>
std::size_t build_request(request_bytes& out, std::string_view host_header, std::string_view token,
                          std::string_view idempotency_key, std::size_t body_hint, AppendBody&& append_body);

// The parts of the head, and the room build_request leaves for it.
struct request_head {
    static constexpr std::string_view line = "POST /v1/submissions HTTP/1.1\r\nHost: ";
    static constexpr std::string_view agent = "\r\nUser-Agent: sluice-loadtest\r\nAuthorization: Bearer ";
    static constexpr std::string_view type = "\r\nContent-Type: application/json\r\nIdempotency-Key: ";
    static constexpr std::string_view content_length = "\r\nContent-Length: ";
    static constexpr std::string_view end = "\r\n\r\n";
    static constexpr std::size_t max_digits = 20;

    static std::size_t room(std::string_view host_header, std::string_view token, std::string_view key) noexcept {
        return line.size() + host_header.size() + agent.size() + token.size() + type.size() + key.size() +
               content_length.size() + max_digits + end.size();
    }
};

// Writes the head right-aligned into the room of `out` (room bytes, then the body) and sets its offset.
void write_head(request_bytes& out, std::size_t room, std::string_view host_header, std::string_view token,
                std::string_view idempotency_key);

template <class AppendBody>
std::size_t build_request(request_bytes& out, std::string_view host_header, std::string_view token,
                          std::string_view idempotency_key, std::size_t body_hint, AppendBody&& append_body) {
    const std::size_t room = request_head::room(host_header, token, idempotency_key);
    out.buffer.clear();
    out.buffer.reserve(room + body_hint);
    out.buffer.append(room, ' ');
    append_body(out.buffer);
    const std::size_t body_size = out.buffer.size() - room;
    write_head(out, room, host_header, token, idempotency_key);
    return body_size;
}

}  // namespace sluice::loadtest::detail
