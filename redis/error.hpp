// The transport errors of the Redis client (client.hpp), as boost::system error codes.
//
// These say only that a call did not get a reply; a Redis error reply ("ERR ...", "WRONGTYPE ...")
// is not one of them: it arrives as ec == {} with reply::is_error().
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace sluice::redis {

enum class error {
    not_connected = 1,  // no usable connection: before start(), during the handshake or a reconnect
    timeout,            // no reply within client_options::timeout (the connection is then dropped)
    connection_lost,    // the connection broke with the call in flight
    too_many_pending,   // client_options::max_pending calls already in flight
    stopped,            // client::stop() or the client's destructor ran
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(error e) noexcept;

}  // namespace sluice::redis

template <>
struct boost::system::is_error_code_enum<sluice::redis::error> : std::true_type {};
