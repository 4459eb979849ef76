// Response serialisation (see response.hpp).
#include "gateway/response.hpp"

#include <charconv>
#include <ctime>

namespace sluice::gateway {

std::string_view reason_phrase(unsigned status) noexcept {
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

std::string_view http_date_now() {
    thread_local std::time_t formatted_at = 0;
    thread_local char buf[64] = {};
    thread_local std::size_t len = 0;
    const std::time_t now = std::time(nullptr);
    if (now != formatted_at) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        formatted_at = now;
    }
    return {buf, len};
}

void serialize(const response& r, std::string_view request_id, bool keep_alive_header, std::string& out) {
    char num[24];
    out.append("HTTP/1.1 ");
    auto end = std::to_chars(num, num + sizeof num, r.status).ptr;
    out.append(num, end);
    out.push_back(' ');
    out.append(reason_phrase(r.status));
    out.append("\r\nServer: sluice\r\nDate: ");
    out.append(http_date_now());
    out.append("\r\nContent-Type: ");
    out.append(r.content_type);
    out.append("\r\nContent-Length: ");
    end = std::to_chars(num, num + sizeof num, r.body.size()).ptr;
    out.append(num, end);
    out.append("\r\nX-Request-Id: ");
    out.append(request_id);
    for (const auto& [name, value] : r.headers) {
        out.append("\r\n");
        out.append(name);
        out.append(": ");
        out.append(value);
    }
    if (r.close)
        out.append("\r\nConnection: close");
    else if (keep_alive_header)
        out.append("\r\nConnection: keep-alive");
    out.append("\r\n\r\n");
    out.append(r.body);
}

}  // namespace sluice::gateway
