// Tests of tests/support: the redis_server a test binary gets from redis_environment is a real,
// private redis-server that can be stopped, restarted on the same port and paused, and the
// project's ops/redis.conf loads into it with the durability settings it promises.
#include "tests/support/redis_environment.hpp"
#include "tests/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

[[maybe_unused]] auto* const environment = add_redis_environment();

// CONFIG GET answers [name, value].
std::string config_value(const redis_server& server, const std::string& name) {
    const auto reply = server.command({"CONFIG", "GET", name});
    const auto& pair = reply.as_array();
    if (pair.size() != 2) {
        return "<missing>";
    }
    return pair[1].as_string();
}

TEST(redis_server, answers_ping) {
    EXPECT_EQ(redis().command({"PING"}).as_string(), "PONG");
}

TEST(redis_server, set_then_get_returns_the_value) {
    auto& server = redis();
    EXPECT_EQ(server.command({"SET", "support:key", "a value with spaces\r\nand binary \x01"}).as_string(), "OK");
    EXPECT_EQ(server.command({"GET", "support:key"}).as_string(), "a value with spaces\r\nand binary \x01");
    EXPECT_TRUE(server.command({"GET", "support:absent"}).is_nil());
    EXPECT_EQ(server.command({"INCRBY", "support:counter", "5"}).as_integer(), 5);
    EXPECT_TRUE(server.command({"NO-SUCH-COMMAND"}).is_error());
    EXPECT_THROW((void)server.command({"NO-SUCH-COMMAND"}).as_string(), redis_error);
}

TEST(redis_server, listens_on_loopback_at_its_url) {
    auto& server = redis();
    EXPECT_EQ(server.host(), "127.0.0.1");
    EXPECT_GT(server.port(), 0);
    EXPECT_EQ(server.url(), "redis://127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(config_value(server, "bind"), "127.0.0.1");
    EXPECT_EQ(config_value(server, "port"), std::to_string(server.port()));
}

TEST(redis_server, runs_in_a_fresh_temporary_directory_without_persistence) {
    auto& server = redis();
    const auto dir = server.dir();
    ASSERT_TRUE(std::filesystem::is_directory(dir));
    EXPECT_TRUE(std::filesystem::equivalent(dir.parent_path(), std::filesystem::temp_directory_path())) << dir;
    EXPECT_EQ(dir.filename().string().rfind("sluice-redis-", 0), 0u) << dir;
    EXPECT_EQ(std::filesystem::weakly_canonical(config_value(server, "dir")), std::filesystem::weakly_canonical(dir));
    // Nothing but the log: no dump.rdb, no appendonlydir from an earlier run.
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        EXPECT_EQ(entry.path().filename(), "redis.log") << "unexpected file " << entry.path();
    }
    EXPECT_EQ(config_value(server, "appendonly"), "no");
    EXPECT_EQ(config_value(server, "save"), "");
    const auto info = server.command({"INFO", "server"}).as_string();
    EXPECT_NE(info.find("process_id:" + std::to_string(server.pid()) + "\r\n"), std::string::npos) << info;
}

TEST(redis_server, two_servers_have_different_ports_and_directories) {
    redis_server second;
    EXPECT_NE(second.port(), redis().port());
    EXPECT_NE(second.dir(), redis().dir());
    second.command({"SET", "only-here", "1"});
    EXPECT_TRUE(redis().command({"GET", "only-here"}).is_nil());
}

TEST(redis_server, stop_then_start_serves_again_on_the_same_port) {
    auto& server = redis();
    const auto port = server.port();
    const auto first_pid = server.pid();

    server.stop();
    EXPECT_FALSE(server.running());
    EXPECT_EQ(server.pid(), 0);
    EXPECT_EQ(::kill(first_pid, 0), -1) << "the old process is gone (and reaped)";
    EXPECT_THROW((void)server.command({"PING"}, 200ms), redis_error);

    server.start();
    EXPECT_TRUE(server.running());
    EXPECT_EQ(server.port(), port);
    EXPECT_NE(server.pid(), first_pid);
    EXPECT_EQ(server.command({"PING"}).as_string(), "PONG");
}

TEST(redis_server, kill_then_start_serves_again) {
    redis_server server;
    const auto port = server.port();
    server.kill();
    EXPECT_FALSE(server.running());
    server.start();
    EXPECT_EQ(server.port(), port);
    EXPECT_EQ(server.command({"PING"}).as_string(), "PONG");
}

TEST(redis_server, start_restarts_a_server_that_died_on_its_own) {
    redis_server server;
    const auto port = server.port();
    const auto first_pid = server.pid();
    ::kill(first_pid, SIGKILL);  // not through the object: it still thinks the server runs
    server.start();
    EXPECT_NE(server.pid(), first_pid);
    EXPECT_EQ(server.port(), port);
    EXPECT_EQ(server.command({"PING"}).as_string(), "PONG");
}

TEST(redis_server, start_fails_with_the_log_when_its_port_was_taken_meanwhile) {
    redis_server server;
    server.stop();

    const int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(squatter, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(server.port());
    ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(squatter, 1), 0);
    try {
        server.start();
        ADD_FAILURE() << "start() on a taken port must fail";
    } catch (const redis_error& e) {
        EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(server.running());
    ::close(squatter);

    server.start();
    EXPECT_EQ(server.command({"PING"}).as_string(), "PONG");
}

TEST(redis_server, pause_makes_commands_time_out_and_resume_serves_again) {
    auto& server = redis();
    server.pause();
    EXPECT_TRUE(server.paused());
    const auto before = std::chrono::steady_clock::now();
    EXPECT_THROW((void)server.command({"PING"}, 200ms), redis_error);
    const auto waited = std::chrono::steady_clock::now() - before;
    EXPECT_GE(waited, 150ms);
    EXPECT_LT(waited, 2s);

    server.resume();
    EXPECT_FALSE(server.paused());
    EXPECT_EQ(server.command({"PING"}, 200ms).as_string(), "PONG");
}

TEST(redis_server, stop_of_a_paused_server_does_not_hang) {
    redis_server server;
    server.pause();
    const auto before = std::chrono::steady_clock::now();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
    EXPECT_FALSE(server.running());
}

TEST(redis_server, removes_its_directory_when_destroyed) {
    std::filesystem::path dir;
    pid_t pid = 0;
    {
        redis_server server;
        dir = server.dir();
        pid = server.pid();
        ASSERT_TRUE(std::filesystem::exists(dir));
    }
    EXPECT_FALSE(std::filesystem::exists(dir));
    EXPECT_EQ(::kill(pid, 0), -1);
}

TEST(redis_server, fails_to_start_with_the_servers_log_in_the_message) {
    redis_server_options options;
    options.extra_args = {"--no-such-directive", "1"};
    options.start_timeout = 5s;
    try {
        redis_server server(options);
        FAIL() << "a bad directive must not start";
    } catch (const redis_error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("exited during start-up"), std::string::npos) << message;
        EXPECT_NE(message.find("no-such-directive"), std::string::npos) << message;
    }
}

TEST(redis_server, loads_the_projects_redis_conf_with_aof_on) {
    redis_server_options options;
    options.config_file = SLUICE_OPS_REDIS_CONF;
    redis_server server(options);
    EXPECT_EQ(config_value(server, "appendonly"), "yes");
    EXPECT_EQ(config_value(server, "appendfsync"), "everysec");
    EXPECT_EQ(config_value(server, "maxmemory-policy"), "noeviction");
    EXPECT_EQ(config_value(server, "aof-use-rdb-preamble"), "yes");
    EXPECT_EQ(config_value(server, "protected-mode"), "yes");
    // The command line overrides the file's port and dir.
    EXPECT_EQ(config_value(server, "port"), std::to_string(server.port()));
    EXPECT_EQ(std::filesystem::weakly_canonical(config_value(server, "dir")),
              std::filesystem::weakly_canonical(server.dir()));
}

TEST(redis_server, with_the_projects_redis_conf_data_survives_a_restart) {
    redis_server_options options;
    options.config_file = SLUICE_OPS_REDIS_CONF;
    redis_server server(options);
    EXPECT_EQ(server.command({"XADD", "support:stream", "1-1", "field", "value"}).as_string(), "1-1");
    server.stop();  // SIGTERM: Redis fsyncs the AOF before exiting
    server.start();
    EXPECT_EQ(server.command({"XLEN", "support:stream"}).as_integer(), 1);
}

}  // namespace
}  // namespace sluice::test
