// The errors of the ledger (ledger/client.hpp and the record functions), as boost::system error
// codes. Transport errors say a call got no answer; server_error says PostgreSQL answered with an
// error (its SQLSTATE and message are in the statement's result). is_transient() tells the
// worker whether to hold a result and try again (PostgreSQL down, slow, restarting) or to count
// the attempt as failed (the data was refused).
#pragma once

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace sluice::ledger {

enum class error {
    not_connected = 1,  // no usable connection: before start(), while (re)connecting
    timeout,            // no answer within the call's timeout (its connection is then reset)
    connection_lost,    // the connection broke with the call in flight
    pool_exhausted,     // every connection already holds its maximum of calls in flight
    stopped,            // client::stop() or the client's destructor ran
    server_error,       // PostgreSQL answered with an error: see result::sqlstate and message
    unexpected_result,  // an answer of the wrong shape (a row missing, a column not parsed)
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(error e) noexcept;

// True for everything but a refusal of the data itself: the transport errors, and server errors
// of the classes that mean "not now" (08 connection, 40 serialization/deadlock, 53 resources,
// 57 operator intervention such as a shutdown or statement_timeout, 58 system, 55P03 lock).
bool is_transient(boost::system::error_code ec, std::string_view sqlstate = {}) noexcept;

}  // namespace sluice::ledger

template <>
struct boost::system::is_error_code_enum<sluice::ledger::error> : std::true_type {};
