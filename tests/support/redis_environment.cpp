// redis_environment: one redis_server per test binary, reached through redis().
#include "tests/support/redis_environment.hpp"

#include <stdexcept>

namespace sluice::test {

namespace {

// Set once, before any test runs (static initialisation or main()), read by tests afterwards.
redis_environment* registered_environment = nullptr;

}  // namespace

redis_environment::redis_environment(redis_server_options options) : options_(std::move(options)) {}

void redis_environment::SetUp() {
    try {
        server_ = std::make_unique<redis_server>(options_);
        start_failure_.clear();
    } catch (const std::exception& e) {
        // gtest does not catch exceptions from an environment; a fatal failure here makes it
        // skip every test and report this message instead.
        start_failure_ = e.what();
        GTEST_FAIL() << "the test redis-server did not start: " << e.what();
    }
}

void redis_environment::TearDown() {
    server_.reset();
}

redis_server& redis_environment::server() {
    if (!server_) {
        throw redis_error(start_failure_.empty()
                              ? "sluice::test::redis(): the redis environment has not been set up"
                              : "sluice::test::redis(): the redis-server did not start: " + start_failure_);
    }
    return *server_;
}

redis_environment* add_redis_environment(redis_server_options options) {
    if (registered_environment != nullptr) {
        throw std::logic_error("sluice::test::add_redis_environment() called twice in one test binary");
    }
    auto* environment = new redis_environment(std::move(options));
    ::testing::AddGlobalTestEnvironment(environment);  // gtest owns it from here on
    registered_environment = environment;
    return environment;
}

redis_server& redis() {
    if (registered_environment == nullptr) {
        throw redis_error(
            "sluice::test::redis(): no redis environment; call sluice::test::add_redis_environment() in this "
            "test binary");
    }
    return registered_environment->server();
}

}  // namespace sluice::test
