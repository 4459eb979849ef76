// Tests of tests/support/postgres_server: a real, private PostgreSQL that tests can query, give
// each test its own database, stop and start on the same port with its data, kill (crash
// recovery keeps what was committed) and pause.
#include "tests/support/postgres_environment.hpp"
#include "tests/support/postgres_server.hpp"

#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

[[maybe_unused]] auto* const environment = add_postgres_environment();

TEST(postgres_server, answers_a_query) {
    EXPECT_EQ(postgres().scalar("SELECT 40 + 2"), "42");
    const auto rows = postgres().query("SELECT 'a', NULL::text UNION ALL SELECT 'b', 'c'");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0][0], "a");
    EXPECT_FALSE(rows[0][1].has_value());
    EXPECT_EQ(rows[1][1], "c");
}

TEST(postgres_server, reports_the_servers_error) {
    try {
        postgres().query("SELECT * FROM no_such_table");
        FAIL() << "no error";
    } catch (const postgres_error& e) {
        EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
    }
}

TEST(postgres_server, runs_with_its_data_in_its_own_directory_and_not_as_root) {
    auto& server = postgres();
    EXPECT_EQ(std::filesystem::weakly_canonical(server.scalar("SHOW data_directory")),
              std::filesystem::weakly_canonical(server.dir() / "data"));
    EXPECT_EQ(server.scalar("SHOW port"), std::to_string(server.port()));
    EXPECT_EQ(server.scalar("SHOW unix_socket_directories"), server.dir().string());
    EXPECT_EQ(server.scalar("SHOW fsync"), "off");
    struct stat data {};
    ASSERT_EQ(::stat((server.dir() / "data").c_str(), &data), 0);
    if (::geteuid() == 0) {
        EXPECT_NE(data.st_uid, 0u) << "PostgreSQL refuses to run as root";
    }
}

TEST(postgres_server, each_created_database_is_empty_and_separate) {
    auto& server = postgres();
    const auto a = server.create_database();
    const auto b = server.create_database();
    ASSERT_NE(a, b);
    server.query("CREATE TABLE t (x int); INSERT INTO t VALUES (1)", a);
    EXPECT_EQ(server.scalar("SELECT count(*) FROM t", a), "1");
    EXPECT_THROW(server.query("SELECT * FROM t", b), postgres_error);
}

TEST(postgres_server, keeps_committed_data_across_stop_and_kill) {
    auto& server = postgres();
    const auto db = server.create_database();
    server.query("CREATE TABLE t (x int); INSERT INTO t VALUES (7)", db);
    const auto port = server.port();
    server.stop();
    EXPECT_FALSE(server.running());
    EXPECT_THROW(server.query("SELECT 1", db), postgres_error);
    server.start();
    EXPECT_EQ(server.port(), port);
    EXPECT_EQ(server.scalar("SELECT x FROM t", db), "7");

    server.query("INSERT INTO t VALUES (8)", db);
    const auto postmaster = server.pid();
    server.kill();  // a crash: the postmaster and every backend at once
    EXPECT_NE(::kill(postmaster, 0), 0);
    server.start();  // crash recovery
    EXPECT_EQ(server.scalar("SELECT sum(x) FROM t", db), "15");
}

TEST(postgres_server, paused_server_does_not_answer_until_resumed) {
    auto& server = postgres();
    server.pause();
    const auto conninfo = "host=127.0.0.1 port=" + std::to_string(server.port()) + " user=postgres connect_timeout=1";
    const auto began = std::chrono::steady_clock::now();
    EXPECT_NE(PQping(conninfo.c_str()), PQPING_OK);
    EXPECT_GE(std::chrono::steady_clock::now() - began, 900ms);  // it waited, it was not refused
    server.resume();
    EXPECT_EQ(server.scalar("SELECT 1"), "1");
}

}  // namespace
}  // namespace sluice::test
