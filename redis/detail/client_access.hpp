// What the router (router.hpp) needs of a client beyond its public face: submitting a call that is
// already formatted, with its own deadline (a call re-sent after a cluster redirection keeps the
// deadline it started with). Not for any other module.
#pragma once

#include "redis/client.hpp"

#include <chrono>
#include <memory>
#include <string_view>

namespace sluice::redis::detail {

struct client_access {
    // As async_exec / async_eval, with the handler already type-erased.
    static void submit(client& c, command cmd, std::shared_ptr<const script_text> eval_script,
                       client::completion_handler handler) {
        c.submit(std::move(cmd), std::move(eval_script), std::move(handler));
    }

    // `resp` is copied before return; no NOSCRIPT fallback (the caller handles NOSCRIPT). A
    // deadline already past completes the call with error::timeout at once.
    static void submit_until(client& c, std::string_view resp, std::chrono::steady_clock::time_point deadline,
                             client::completion_handler handler);
};

}  // namespace sluice::redis::detail
