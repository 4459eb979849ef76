// The GoogleTest environment that owns one real PostgreSQL server for a whole test binary, as
// redis_environment.hpp does for redis-server (read that header: the same rules apply).
//
//     static auto* const postgres_env = sluice::test::add_postgres_environment();
//
// Tests reach the server with sluice::test::postgres(). The server starts in SetUp (so
// `--gtest_list_tests` starts nothing); if it cannot, every test is skipped with its log. Tests
// share the server: each takes its own database (postgres().create_database()), and a test that
// stops, kills or pauses the server starts or resumes it again.
#pragma once

#include "tests/support/postgres_server.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sluice::test {

class postgres_environment : public ::testing::Environment {
public:
    explicit postgres_environment(postgres_server_options options = {});

    void SetUp() override;
    void TearDown() override;

    // Throws postgres_error if SetUp has not run or the server failed to start.
    postgres_server& server();

private:
    postgres_server_options options_;
    std::unique_ptr<postgres_server> server_;
    std::string start_failure_;
};

// Registers the environment (gtest owns it). Throws std::logic_error if called twice.
postgres_environment* add_postgres_environment(postgres_server_options options = {});

// The registered environment's server; throws postgres_error when there is none.
postgres_server& postgres();

}  // namespace sluice::test
