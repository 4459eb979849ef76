// postgres_environment: one postgres_server per test binary, reached through postgres().
#include "tests/support/postgres_environment.hpp"

#include <stdexcept>

namespace sluice::test {

namespace {

// Set once, before any test runs, read by tests afterwards.
postgres_environment* registered_environment = nullptr;

}  // namespace

postgres_environment::postgres_environment(postgres_server_options options) : options_(std::move(options)) {}

void postgres_environment::SetUp() {
    try {
        server_ = std::make_unique<postgres_server>(options_);
        start_failure_.clear();
    } catch (const std::exception& e) {
        start_failure_ = e.what();
        GTEST_FAIL() << "the test PostgreSQL server did not start: " << e.what();
    }
}

void postgres_environment::TearDown() { server_.reset(); }

postgres_server& postgres_environment::server() {
    if (!server_) {
        throw postgres_error(start_failure_.empty()
                                 ? "sluice::test::postgres(): the PostgreSQL environment has not been set up"
                                 : "sluice::test::postgres(): the server did not start: " + start_failure_);
    }
    return *server_;
}

postgres_environment* add_postgres_environment(postgres_server_options options) {
    if (registered_environment != nullptr) {
        throw std::logic_error("sluice::test::add_postgres_environment() called twice in one test binary");
    }
    auto* environment = new postgres_environment(std::move(options));
    ::testing::AddGlobalTestEnvironment(environment);
    registered_environment = environment;
    return environment;
}

postgres_server& postgres() {
    if (registered_environment == nullptr) {
        throw postgres_error(
            "sluice::test::postgres(): no PostgreSQL environment; call sluice::test::add_postgres_environment() in "
            "this test binary");
    }
    return registered_environment->server();
}

}  // namespace sluice::test
