// POST /v1/submissions and GET /v1/submissions/{id} (API.md), internal to gateway/.
#pragma once

#include "gateway/detail/core.hpp"
#include "gateway/response.hpp"
#include "gateway/runtime.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sluice::gateway::detail {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

struct exchange {
    core& c;
    const runtime& rt;
    const http_request& req;
    response& res;
    const tcp::socket& socket;  // for the client's address (failed-authentication throttle)
};

// The scripts every core registers with its Redis client (loaded on each connect).
const redis::script& admission_script();
const redis::script& status_script();

net::awaitable<void> submit(exchange x);
net::awaitable<void> submission_status(exchange x, std::string_view submission_id);

}  // namespace sluice::gateway::detail
