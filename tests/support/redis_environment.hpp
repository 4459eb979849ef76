// The GoogleTest environment that owns one real redis-server for a whole test binary.
//
// Register it once per binary, either at namespace scope in one test file (works with
// gtest_main):
//     static auto* const redis_env = sluice::test::add_redis_environment();
// or from your own main() before RUN_ALL_TESTS(). Tests then reach the server with
// sluice::test::redis(). The server starts in the environment's SetUp (so `--gtest_list_tests`,
// which gtest_discover_tests runs at build time, starts nothing) and stops in TearDown. If it
// cannot start, SetUp reports a fatal failure carrying the server's log and gtest skips every
// test. The server is shared by all tests of the binary: a test that needs a clean keyspace
// sends FLUSHALL itself, and a test that stops or pauses it puts it back.
#pragma once

#include "tests/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace sluice::test {

class redis_environment : public ::testing::Environment {
public:
    explicit redis_environment(redis_server_options options = {});

    void SetUp() override;
    void TearDown() override;

    // Throws redis_error if SetUp has not run or the server failed to start.
    redis_server& server();

private:
    redis_server_options options_;
    std::unique_ptr<redis_server> server_;
    std::string start_failure_;
};

// Creates the environment, hands it to ::testing::AddGlobalTestEnvironment (which owns it) and
// makes it the one redis() returns. Throws std::logic_error if called twice in one binary.
redis_environment* add_redis_environment(redis_server_options options = {});

// The registered environment's server. Throws redis_error (failing the calling test with the
// reason) when no environment was registered or the server did not start.
redis_server& redis();

}  // namespace sluice::test
