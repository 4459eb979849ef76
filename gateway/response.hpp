// An HTTP answer as the gateway builds it, and its serialisation.
//
// A session owns one `response` and one output buffer and reuses both for every request, so
// answering allocates nothing once their capacity has grown to fit. Serialisation is ours (a
// status line and a handful of headers); parsing stays Beast's.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::gateway {

struct response {
    unsigned status = 200;
    std::string_view content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string_view, std::string>> headers;  // beyond the standard ones
    bool close = false;  // answer with Connection: close and close afterwards
    // The authenticated practice, for the request log (log.requests); "" before authentication.
    // Points into the runtime snapshot the request holds until its answer is written.
    std::string_view practice;

    void reset() {
        status = 200;
        content_type = "application/json";
        body.clear();
        headers.clear();
        close = false;
        practice = {};
    }
    void add_header(std::string_view name, std::string value) { headers.emplace_back(name, std::move(value)); }
    // As reset(), and gives back the memory too (a connection going idle keeps none).
    void release() {
        reset();
        std::string().swap(body);
        decltype(headers)().swap(headers);
    }
};

std::string_view reason_phrase(unsigned status) noexcept;

// Appends the serialised response to `out`. `keep_alive_header` adds "Connection: keep-alive"
// (for HTTP/1.0 clients that asked for it).
void serialize(const response& r, std::string_view request_id, bool keep_alive_header, std::string& out);

// The current time as an IMF-fixdate for the Date header, formatted at most once a second per thread.
std::string_view http_date_now();

}  // namespace sluice::gateway
