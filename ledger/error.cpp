// The "sluice.ledger" error category, and which failures are worth a retry.
#include "ledger/error.hpp"

#include <string>

namespace sluice::ledger {

namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sluice.ledger"; }

    std::string message(int value) const override {
        switch (static_cast<error>(value)) {
        case error::not_connected: return "not connected to PostgreSQL";
        case error::timeout: return "no answer from PostgreSQL within the timeout";
        case error::connection_lost: return "connection to PostgreSQL lost with the call in flight";
        case error::pool_exhausted: return "every PostgreSQL connection is busy";
        case error::stopped: return "PostgreSQL client stopped";
        case error::server_error: return "PostgreSQL answered with an error";
        case error::unexpected_result: return "unexpected answer from PostgreSQL";
        }
        return "unknown sluice.ledger error " + std::to_string(value);
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

boost::system::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

bool is_transient(boost::system::error_code ec, std::string_view sqlstate) noexcept {
    if (!ec) return false;
    if (ec.category() != error_category()) return true;  // an Asio error on the socket: transport
    switch (static_cast<error>(ec.value())) {
    case error::server_error:
        return sqlstate.starts_with("08") || sqlstate.starts_with("40") || sqlstate.starts_with("53") ||
               sqlstate.starts_with("57") || sqlstate.starts_with("58") || sqlstate == "55P03";
    case error::unexpected_result: return false;
    default: return true;
    }
}

}  // namespace sluice::ledger
