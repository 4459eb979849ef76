// POST /v1/submissions and GET /v1/submissions/{id} (API.md), internal to gateway/.
#pragma once

#include "gateway/detail/core.hpp"
#include "gateway/response.hpp"
#include "gateway/runtime.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <utility>

namespace sluice::gateway::detail {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

struct exchange {
    core& c;
    const runtime& rt;
    const http_request& req;
    response& res;
    const tcp::socket& socket;  // for the client's address (failed-authentication throttle)
};

// POST /v1/submissions in two steps. At its headers: authentication, the Idempotency-Key and
// Content-Type, a rate limit known to be exceeded, and admission control (admission_control.hpp),
// so that a refusal is answered before the body is read, hashed or validated. Then, with the body:
// validation and the one atomic admission script.
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

struct submit_gate {
    const credentials::credential* who = nullptr;  // set: go on with the body; null: answered in x.res
    admission_ticket ticket;
    admission_slot slot;
    // For an answer given at the headers: the connection may stay open with its body read and
    // discarded. An unauthenticated client's body is not waited for: the connection stays only
    // if the whole body has already arrived with the headers.
    bool wait_for_body = true;
};

net::awaitable<submit_gate> check_submission_headers(exchange x);
net::awaitable<void> submit(exchange x, submit_gate& gate);
net::awaitable<void> submission_status(exchange x, std::string_view submission_id);

}  // namespace sluice::gateway::detail
