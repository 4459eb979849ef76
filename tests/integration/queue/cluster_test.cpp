// One hash slot per admission: every key of a call has the same CLUSTER KEYSLOT, and the script
// runs unchanged on a (single-node) Redis Cluster, where keys of two slots are refused. The
// string form of the hash tag is checked in keys_test.cpp; this checks Redis's own slot function.
#include "tests/integration/queue/admission_support.hpp"

#include "queue/admission.hpp"
#include "queue/keys.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// A free loopback TCP port, for the cluster bus (another process may take it before Redis binds
// it; the caller retries).
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        port = ntohs(address.sin_port);
    }
    ::close(fd);
    return port;
}

// A private redis-server with cluster mode on, owning all 16384 slots, shared by this suite.
// Created on the main thread, which outlives it (see redis_server.hpp on PDEATHSIG). The cluster
// bus port is given explicitly: Redis's default (port + 10000) fails for ports above 55535.
class cluster_node : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        for (int attempt = 1; attempt <= 5 && !node_; ++attempt) {
            redis_server_options options;
            options.extra_args = {"--cluster-enabled", "yes", "--cluster-port", std::to_string(free_port())};
            try {
                node_ = std::make_unique<redis_server>(options);
            } catch (const redis_error& error) {
                start_failure_ = error.what();
            }
        }
        if (!node_) {
            return;
        }
        const auto added = node_->command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"});
        if (added.is_error()) {
            start_failure_ = "CLUSTER ADDSLOTSRANGE: " + added.str;
            node_.reset();
            return;
        }
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (node_->command({"CLUSTER", "INFO"}).as_string().find("cluster_state:ok") == std::string::npos) {
            if (std::chrono::steady_clock::now() > deadline) {
                start_failure_ = "the single-node cluster did not reach cluster_state:ok";
                node_.reset();
                return;
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    static void TearDownTestSuite() { node_.reset(); }

    void SetUp() override {
        ASSERT_TRUE(node_) << "no single-node Redis Cluster: " << start_failure_;
        ASSERT_EQ(node_->command({"FLUSHALL"}).as_string(), "OK");
    }

    long long slot_of(const std::string& key) { return node_->command({"CLUSTER", "KEYSLOT", key}).as_integer(); }

    static inline std::unique_ptr<redis_server> node_;
    static inline std::string start_failure_;
};

TEST_F(cluster_node, every_key_of_an_admission_is_in_the_slot_of_its_shard) {
    const config::settings settings = admission_settings();
    request_factory requests(settings);
    for (const std::string practice : {"A81001", "A81002", "B82005", "Y00001", "P84001"}) {
        // Idempotency keys may contain braces; they must not move the key to another slot.
        for (const std::string key : {"9b2c6a8e-0d4f-4c1e-8f7a-2b3c4d5e6f70", "{evil}", "}{", "a{b}c"}) {
            const auto call = requests.call(practice, key, "body");
            const auto slot = slot_of(queue::hash_tag(call.shard));
            for (const auto& redis_key : call.keys) {
                EXPECT_EQ(slot_of(redis_key), slot) << redis_key;
            }
            const auto completion = queue::build_completion_call(practice, call.submission_id, settings);
            EXPECT_EQ(slot_of(completion.keys.at(0)), slot);
        }
    }
}

TEST_F(cluster_node, the_admission_script_runs_unchanged_on_a_cluster) {
    const config::settings settings = admission_settings();
    request_factory requests(settings);
    const auto first = requests.call("A81001", "key-1", "body");
    const auto accepted = admit(*node_, first);
    ASSERT_EQ(accepted.outcome, queue::admission_outcome::accepted) << accepted.error;
    const auto replayed = admit(*node_, requests.call("A81001", "key-1", "body"));
    EXPECT_EQ(replayed.outcome, queue::admission_outcome::replayed) << replayed.error;
    EXPECT_EQ(replayed.replay_submission_id, first.submission_id);

    // The negative control: a call whose keys span two slots is refused by the cluster.
    auto mixed = requests.call("A81001", "key-2", "body");
    mixed.keys[2] = queue::queue_key((mixed.shard + 1) % settings.redis.shards);
    const auto refused = eval(*node_, queue::admission_script_source(), mixed);
    ASSERT_TRUE(refused.is_error()) << refused;
    EXPECT_NE(refused.str.find("CROSSSLOT"), std::string::npos) << refused;
}

}  // namespace
}  // namespace sluice::test
