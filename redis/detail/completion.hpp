// A call's completion with its result, as a nullary handler that keeps the caller's executor
// (the associated_executor specialisation below), so post() or dispatch() can hand it over to
// that executor. Written out because asio::append cannot take an any_completion_handler in
// Boost 1.81 (it recurses while wrapping it). Used by the client and the cluster router.
#pragma once

#include "redis/client.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/system/error_code.hpp>

namespace sluice::redis::detail {

struct posted_completion {
    client::completion_handler handler;
    boost::system::error_code ec;
    reply result;

    void operator()() { std::move(handler)(ec, std::move(result)); }
};

}  // namespace sluice::redis::detail

template <typename Candidate>
struct boost::asio::associated_executor<sluice::redis::detail::posted_completion, Candidate> {
    using type = boost::asio::any_completion_executor;
    static type get(const sluice::redis::detail::posted_completion& c, const Candidate& candidate) noexcept {
        return boost::asio::get_associated_executor(c.handler, candidate);
    }
};
