// redis::options_from: what each accepted redis.url gives the client and the router.
#include "config/config.hpp"
#include "redis/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <stdexcept>

namespace {

using sluice::redis::endpoint;

sluice::config::settings with_url(std::string url) {
    sluice::config::settings s;
    s.redis.url = std::move(url);
    s.redis.timeout_ms = 120;
    return s;
}

TEST(options_from, one_server) {
    const auto o = sluice::redis::options_from(with_url("redis://10.0.0.5:6380"));
    EXPECT_EQ(o.host, "10.0.0.5");
    EXPECT_EQ(o.port, 6380);
    EXPECT_TRUE(o.cluster_seeds.empty());
    EXPECT_EQ(o.timeout.count(), 120);
    EXPECT_EQ(o.liveness.count(), 2000);  // max(2000, 2 * timeout)
}

TEST(options_from, cluster_seeds_in_order) {
    const auto o = sluice::redis::options_from(with_url("redis+cluster://10.0.0.1:7000,redis-b:7001,[::1]:7002"));
    ASSERT_EQ(o.cluster_seeds.size(), 3U);
    EXPECT_EQ(o.cluster_seeds[0], (endpoint{"10.0.0.1", 7000}));
    EXPECT_EQ(o.cluster_seeds[1], (endpoint{"redis-b", 7001}));
    EXPECT_EQ(o.cluster_seeds[2], (endpoint{"::1", 7002}));
    EXPECT_EQ(o.host, "10.0.0.1");
    EXPECT_EQ(o.port, 7000);
}

TEST(options_from, unix_sockets_are_refused_naming_the_key) {
    try {
        (void)sluice::redis::options_from(with_url("unix:///run/redis.sock"));
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("redis.url"), std::string::npos) << e.what();
    }
}

TEST(client, refuses_cluster_options) {
    boost::asio::io_context ioc;
    const auto o = sluice::redis::options_from(with_url("redis+cluster://127.0.0.1:7000"));
    EXPECT_THROW(sluice::redis::client(ioc, o), std::invalid_argument);
}

}  // namespace
