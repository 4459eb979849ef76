// See target.hpp.
#include "loadtest/target.hpp"

#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace sluice::loadtest {

namespace {

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

http_target parse_target(std::string_view url) {
    const auto fail = [&](const std::string& why) -> http_target {
        throw std::invalid_argument("\"" + std::string(url) + "\": " + why);
    };
    const auto lower = to_lower(url);
    if (lower.starts_with("https://"))
        return fail("https is not supported: sluice-loadtest speaks plain http (http://HOST:PORT)");
    if (!lower.starts_with("http://")) return fail("expected http://HOST:PORT, such as http://127.0.0.1:8080");
    auto rest = url.substr(7);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos || rest.find('?') != std::string_view::npos)
        return fail("expected no path: requests go to /v1/submissions of the target");

    std::string_view host, port_text;
    bool has_port = false;
    if (rest.starts_with("[")) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return fail("an IPv6 address needs its closing ']'");
        host = rest.substr(1, close - 1);
        const auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail("expected :PORT after the address");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = rest.find(':');
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = rest.substr(colon + 1);
        }
    }
    if (host.empty()) return fail("expected a host");

    http_target target;
    if (to_lower(host) == "localhost") {
        target.address = "127.0.0.1";
    } else {
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(std::string(host), ec);
        if (ec)
            return fail("the host must be an IP address or localhost (no name lookups), got \"" + std::string(host) +
                        "\"");
        target.address = address.to_string();
    }
    if (has_port) {
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 ||
            port > 65535)
            return fail("expected a port from 1 to 65535");
        target.port = static_cast<std::uint16_t>(port);
    }
    const bool v6 = host.find(':') != std::string_view::npos;
    const std::string shown_host = v6 ? "[" + std::string(host) + "]" : std::string(host);
    target.host_header = shown_host + ":" + std::to_string(target.port);
    target.url = "http://" + target.host_header;
    return target;
}

}  // namespace sluice::loadtest
