// What a handler is (internal to gateway/): the session matches a route (router.hpp), hands the
// request to the route's handler, and writes what the handler put in the response.
//
// A handler answers in one step (`answer`, the body read), or in two when it must decide at the
// headers whether the body is worth reading at all (`at_headers`: POST /v1/submissions refuses
// before a byte of its body is read, hashed or validated). What it learns at the headers it keeps
// in `request_state` for the second step.
#pragma once

#include "gateway/detail/core.hpp"
#include "gateway/response.hpp"
#include "gateway/runtime.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string_view>
#include <utility>

namespace sluice::gateway::detail {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

// One request as a handler sees it.
struct exchange {
    core& c;
    const runtime& rt;
    const http_request& req;
    response& res;
    const tcp::socket& socket;  // for the client's address (failed-authentication throttle)
};

// The room an admitted submission holds in its core's admission limit, from its headers until
// its call is answered; given back (abandoned) if the request ends before its call.
class admission_slot {
public:
    admission_slot() = default;
    explicit admission_slot(core& c) : c_(&c) {}
    admission_slot(admission_slot&& other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
    admission_slot& operator=(admission_slot&& other) noexcept {
        if (this != &other) {
            give_back();
            c_ = std::exchange(other.c_, nullptr);
        }
        return *this;
    }
    ~admission_slot() { give_back(); }

    // The call was made: its outcome is reported to the admission control by the caller.
    void used() noexcept { c_ = nullptr; }

private:
    void give_back() noexcept {
        if (c_ != nullptr) c_->admission.on_abandoned();
        c_ = nullptr;
    }
    core* c_ = nullptr;
};

// What a handler carries from the headers to the body.
struct request_state {
    std::string_view path_param;   // a "{...}" route's first such segment
    std::string_view path_param2;  // and its second
    // Set by at_headers when it has answered (in the response): the body is not needed. The
    // connection may then stay open with the body read and discarded if `wait_for_body`; if not
    // (an unauthenticated client), only if the whole body already arrived with the headers.
    bool answered = false;
    bool wait_for_body = true;
    // POST /v1/submissions, admitted at its headers: the practice, the admission ticket and slot.
    const credentials::credential* who = nullptr;
    admission_ticket ticket;
    admission_slot slot;
};

struct handler {
    net::awaitable<void> (*at_headers)(exchange x, request_state& state) = nullptr;  // optional
    net::awaitable<void> (*answer)(exchange x, request_state& state) = nullptr;
};

}  // namespace sluice::gateway::detail
