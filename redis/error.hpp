// The transport errors of the Redis client (client.hpp) and router (router.hpp), as
// boost::system error codes.
//
// These say only that a call did not get a reply; a Redis error reply ("ERR ...", "WRONGTYPE ...")
// is not one of them: it arrives as ec == {} with reply::is_error(). The exceptions are the cluster
// errors below: on a cluster, the router turns the replies that mean "not now, ask again" into
// these codes, so that every caller answers them the same way (the gateway: 503 + Retry-After)
// without reading Redis's words.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace sluice::redis {

enum class error {
    not_connected = 1,  // no usable connection: before start(), during the handshake or a reconnect
    timeout,            // no reply within client_options::timeout (the connection stays)
    connection_lost,    // the connection broke with the call in flight
    too_many_pending,   // client_options::max_pending calls already in flight
    stopped,            // client::stop() or the client's destructor ran
    // Cluster only (router.hpp):
    try_again,     // TRYAGAIN: a call of several keys met a slot half-way through a migration
    cluster_down,  // CLUSTERDOWN, or no master is known for the key's slot
    redirected,    // the slot moved again while the call followed a MOVED or ASK
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(error e) noexcept;

}  // namespace sluice::redis

template <>
struct boost::system::is_error_code_enum<sluice::redis::error> : std::true_type {};
