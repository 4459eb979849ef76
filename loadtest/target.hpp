// Where sluice-loadtest sends its requests: a plain-http target given as a URL on the command
// line. Host names are refused on purpose (no name lookups in a load generator: the address is
// what is measured), as are https, paths and queries: requests always go to /v1/submissions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::loadtest {

// Where the requests go: http only, the host an IP address or localhost.
struct http_target {
    std::string url;      // canonical: "http://127.0.0.1:8080"
    std::string address;  // "127.0.0.1", "::1"
    std::uint16_t port = 80;
    std::string host_header;  // "127.0.0.1:8080", "[::1]:8080"
};

// "http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080". Throws
// std::invalid_argument saying what is wrong (https, a host name, a path, a bad port).
http_target parse_target(std::string_view url);

}  // namespace sluice::loadtest
