// redis_cluster: six (by default) redis_servers made into one Redis Cluster by redis-cli, and the
// helpers tests use to look at it and move its slots. See the header for the invariants.
#include "tests/support/redis_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// How often a node is started again on another cluster bus port when the one we picked was taken.
constexpr int bus_port_attempts = 5;

// A free loopback port for a node's cluster bus. Redis's default (port + 10000) does not exist
// for ports above 55535, so every node gets one of these instead.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw redis_error("redis_cluster: socket() failed");
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
    if (port == 0) throw redis_error("redis_cluster: cannot find a free port");
    return port;
}

std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream entries(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string entry; std::getline(entries, entry, ':');) {
        const auto candidate = std::filesystem::path(entry.empty() ? "." : entry) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    throw redis_error("redis_cluster: " + name + " not found on PATH (install redis-tools)");
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Runs a program to its end (killed after `timeout`) with stdout and stderr in `output`.
// Returns its exit status (-1 if it was killed or did not exit normally).
int run_program(std::vector<std::string> args, const std::filesystem::path& output, std::chrono::milliseconds timeout) {
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int out_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || null_fd < 0) throw redis_error("redis_cluster: cannot open " + output.string());
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) {
        // Async-signal-safe calls only from here to execv (the test binary may have threads).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(out_fd, STDERR_FILENO);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int signal_number = 1; signal_number < NSIG; ++signal_number) ::signal(signal_number, SIG_DFL);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(null_fd);
    if (child < 0) throw redis_error("redis_cluster: fork() failed");
    const auto deadline = steady::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(child, &status, WNOHANG);
        if (done == child) break;
        if (steady::now() >= deadline) {
            ::kill(child, SIGKILL);
            while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
        std::this_thread::sleep_for(10ms);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::uint16_t parse_port(std::string_view address) {
    // "127.0.0.1:7000@17000" (the bus port after '@'; a hostname after ',' in Redis 7).
    const auto at = address.find_first_of("@,");
    const auto host_port = address.substr(0, at);
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return 0;
    return static_cast<std::uint16_t>(std::stoul(std::string(host_port.substr(colon + 1))));
}

std::vector<cluster_node_view> parse_cluster_nodes(const std::string& text) {
    std::vector<cluster_node_view> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string field; fields >> field;) f.push_back(field);
        if (f.size() < 8) continue;
        cluster_node_view node;
        node.id = f[0];
        node.port = parse_port(f[1]);
        node.master = f[2].find("master") != std::string::npos;
        node.failed = f[2].find("fail") != std::string::npos;  // fail and fail?
        node.master_id = f[3] == "-" ? "" : f[3];
        for (std::size_t i = 8; i < f.size(); ++i) {
            if (f[i].starts_with("[")) continue;  // [slot->-id] / [slot-<-id]: a migration in progress
            const auto dash = f[i].find('-');
            const auto first = static_cast<std::uint16_t>(std::stoul(f[i].substr(0, dash)));
            const auto last =
                dash == std::string::npos ? first : static_cast<std::uint16_t>(std::stoul(f[i].substr(dash + 1)));
            node.slots.emplace_back(first, last);
        }
        out.push_back(std::move(node));
    }
    return out;
}

bool serves(const cluster_node_view& node, std::uint16_t slot) {
    return std::any_of(node.slots.begin(), node.slots.end(),
                       [slot](const auto& range) { return range.first <= slot && slot <= range.second; });
}

std::string info_field(const std::string& info, std::string_view name) {
    const auto at = info.find(std::string(name) + ":");
    if (at == std::string::npos) return "";
    const auto start = at + name.size() + 1;
    return info.substr(start, info.find_first_of("\r\n", start) - start);
}

}  // namespace

redis_cluster::redis_cluster(redis_cluster_options options) : options_(std::move(options)) {
    const std::size_t count = options_.masters * (1 + options_.replicas_per_master);
    for (std::size_t i = 0; i < count; ++i) {
        std::string failure;
        for (int attempt = 1; attempt <= bus_port_attempts; ++attempt) {
            redis_server_options o;
            o.extra_args = {"--cluster-enabled",
                            "yes",
                            "--cluster-port",
                            std::to_string(free_port()),
                            "--cluster-node-timeout",
                            std::to_string(options_.node_timeout.count()),
                            "--cluster-require-full-coverage",
                            "no",
                            "--cluster-replica-validity-factor",
                            "0",
                            "--cluster-config-file",
                            "nodes.conf"};
            o.extra_args.insert(o.extra_args.end(), options_.extra_args.begin(), options_.extra_args.end());
            try {
                nodes_.push_back(std::make_unique<redis_server>(o));
                break;
            } catch (const redis_error& e) {
                failure = e.what();  // most likely the bus port was taken meanwhile: another one
            }
        }
        if (nodes_.size() != i + 1) throw redis_error("redis_cluster: node " + std::to_string(i) + ": " + failure);
    }

    std::vector<std::string> create{find_on_path("redis-cli"), "--cluster", "create"};
    for (const auto& n : nodes_) create.push_back(n->host() + ":" + std::to_string(n->port()));
    create.insert(create.end(), {"--cluster-replicas", std::to_string(options_.replicas_per_master), "--cluster-yes"});
    const auto output = nodes_.front()->dir() / "cluster-create.log";
    const int status = run_program(create, output, options_.start_timeout);
    if (status != 0) {
        throw redis_error("redis_cluster: redis-cli --cluster create exited with " + std::to_string(status) + ":\n" +
                          read_file(output) + "\n" + logs());
    }
    wait_until_healthy(options_.start_timeout);
}

redis_cluster::~redis_cluster() = default;  // each redis_server stops its process by pid

std::string redis_cluster::url() const {
    std::string url = "redis+cluster://";
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (i > 0) url += ",";
        url += nodes_[i]->host() + ":" + std::to_string(nodes_[i]->port());
    }
    return url;
}

redis_server& redis_cluster::any_running() const {
    for (const auto& n : nodes_) {
        if (!n->running() || n->paused()) continue;
        try {
            (void)n->command({"PING"}, 500ms);
            return *n;
        } catch (const redis_error&) {
        }
    }
    throw redis_error("redis_cluster: no node answers");
}

std::vector<cluster_node_view> redis_cluster::view() const {
    return parse_cluster_nodes(any_running().command({"CLUSTER", "NODES"}).as_string());
}

std::string redis_cluster::node_id(const redis_server& node) const {
    return node.command({"CLUSTER", "MYID"}).as_string();
}

std::vector<redis_server*> redis_cluster::masters() {
    const auto nodes = view();
    std::vector<redis_server*> out;
    for (const auto& n : nodes_) {
        if (!n->running()) continue;
        for (const auto& v : nodes)
            if (v.port == n->port() && v.master && !v.failed && !v.slots.empty()) out.push_back(n.get());
    }
    return out;
}

redis_server& redis_cluster::master_of_slot(std::uint16_t slot) {
    for (const auto& v : view()) {
        if (!v.master || v.failed || !serves(v, slot)) continue;
        for (const auto& n : nodes_)
            if (n->port() == v.port) return *n;
    }
    throw redis_error("redis_cluster: no master serves slot " + std::to_string(slot));
}

redis_server& redis_cluster::master_of(std::string_view key) { return master_of_slot(slot_of(key)); }

std::uint16_t redis_cluster::slot_of(std::string_view key) const {
    return static_cast<std::uint16_t>(any_running().command({"CLUSTER", "KEYSLOT", std::string(key)}).as_integer());
}

redis_server* redis_cluster::replica_of(const redis_server& master) {
    const auto id = node_id(master);
    for (const auto& v : view()) {
        if (v.master || v.master_id != id || v.failed) continue;
        for (const auto& n : nodes_)
            if (n->port() == v.port && n->running()) return n.get();
    }
    return nullptr;
}

redis_reply redis_cluster::command(std::string_view key, const std::vector<std::string>& args) {
    return master_of(key).command(args);
}

void redis_cluster::wait_until_healthy(std::chrono::milliseconds timeout) {
    const auto deadline = steady::now() + timeout;
    std::string problem;
    for (;;) {
        problem.clear();
        try {
            std::map<std::uint16_t, const redis_server*> by_port;
            for (const auto& n : nodes_)
                if (n->running()) by_port[n->port()] = n.get();
            std::vector<std::string> owners;  // per running node: the slot owners it sees, as text
            for (const auto& [port, n] : by_port) {
                const auto info = n->command({"CLUSTER", "INFO"}, 1000ms).as_string();
                if (info_field(info, "cluster_state") != "ok") {
                    problem =
                        "node " + std::to_string(port) + " says cluster_state:" + info_field(info, "cluster_state");
                    break;
                }
                const auto nodes = parse_cluster_nodes(n->command({"CLUSTER", "NODES"}, 1000ms).as_string());
                std::vector<std::pair<std::uint16_t, std::uint16_t>> assigned;  // (first slot, port), sorted
                std::size_t covered = 0;
                for (const auto& v : nodes) {
                    if (!v.master || v.slots.empty()) continue;
                    if (v.failed || by_port.count(v.port) == 0) {
                        problem = "node " + std::to_string(port) + " sees slots on a failed or stopped master " +
                                  std::to_string(v.port);
                        break;
                    }
                    for (const auto& [first, last] : v.slots) {
                        assigned.emplace_back(first, v.port);
                        covered += last - first + 1U;
                    }
                }
                if (!problem.empty()) break;
                if (covered != 16384) {
                    problem = "node " + std::to_string(port) + " sees " + std::to_string(covered) + " slots served";
                    break;
                }
                std::sort(assigned.begin(), assigned.end());
                std::string text;
                for (const auto& [first, owner] : assigned)
                    text += std::to_string(first) + ">" + std::to_string(owner) + " ";
                owners.push_back(text);
                const auto replication = n->command({"INFO", "replication"}, 1000ms).as_string();
                if (info_field(replication, "role") == "slave" &&
                    info_field(replication, "master_link_status") != "up") {
                    problem = "replica " + std::to_string(port) + " has its master link down";
                    break;
                }
            }
            if (problem.empty() &&
                std::adjacent_find(owners.begin(), owners.end(), std::not_equal_to<>()) != owners.end())
                problem = "the nodes do not agree yet about which master serves which slot";
        } catch (const redis_error& e) {
            problem = e.what();
        }
        if (problem.empty()) return;
        if (steady::now() >= deadline) {
            throw redis_error("redis_cluster: not healthy within " + std::to_string(timeout.count()) +
                              " ms: " + problem + "\n" + logs());
        }
        std::this_thread::sleep_for(50ms);
    }
}

void redis_cluster::begin_slot_move(std::uint16_t slot, redis_server& from, redis_server& to) {
    const auto s = std::to_string(slot);
    auto expect_ok = [](const redis_reply& r, const std::string& what) {
        if (r.is_error()) throw redis_error("redis_cluster: " + what + ": " + r.str);
    };
    expect_ok(to.command({"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(from)}), "SETSLOT IMPORTING");
    expect_ok(from.command({"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(to)}), "SETSLOT MIGRATING");
}

void redis_cluster::migrate_keys(std::uint16_t slot, redis_server& from, redis_server& to,
                                 std::vector<std::string> keys) {
    for (;;) {
        std::vector<std::string> batch = keys;
        if (keys.empty()) {
            const auto in_slot = from.command({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"});
            for (const auto& k : in_slot.as_array()) batch.push_back(k.as_string());
            if (batch.empty()) return;
        }
        std::vector<std::string> migrate{"MIGRATE", to.host(), std::to_string(to.port()), "", "0", "5000", "KEYS"};
        migrate.insert(migrate.end(), batch.begin(), batch.end());
        const auto r = from.command(migrate);
        if (r.is_error()) throw redis_error("redis_cluster: MIGRATE: " + r.str);
        if (!keys.empty()) return;
    }
}

void redis_cluster::finish_slot_move(std::uint16_t slot, redis_server& from, redis_server& to) {
    migrate_keys(slot, from, to);
    const auto s = std::to_string(slot);
    const auto target = node_id(to);
    // The importing node first (it bumps its epoch), then the source, then everyone else.
    for (auto* n : {&to, &from}) {
        const auto r = n->command({"CLUSTER", "SETSLOT", s, "NODE", target});
        if (r.is_error()) throw redis_error("redis_cluster: SETSLOT NODE: " + r.str);
    }
    for (const auto& n : nodes_) {
        if (n.get() == &to || n.get() == &from || !n->running()) continue;
        (void)n->command({"CLUSTER", "SETSLOT", s, "NODE", target});  // a replica may refuse; gossip tells it
    }
    wait_until_healthy(options_.start_timeout);
}

void redis_cluster::move_slot(std::uint16_t slot, redis_server& from, redis_server& to) {
    begin_slot_move(slot, from, to);
    finish_slot_move(slot, from, to);
}

std::string redis_cluster::logs() const {
    std::string out;
    for (const auto& n : nodes_) {
        auto log = n->log();
        if (log.size() > 3000) log = "...\n" + log.substr(log.size() - 3000);
        out += "--- redis-server on port " + std::to_string(n->port()) + ":\n" + log + "\n";
    }
    return out;
}

// ---- the GoogleTest environment ------------------------------------------------------------------

namespace {

redis_cluster_environment* registered_environment = nullptr;

}  // namespace

redis_cluster_environment::redis_cluster_environment(redis_cluster_options options) : options_(std::move(options)) {}

void redis_cluster_environment::SetUp() {
    try {
        cluster_ = std::make_unique<redis_cluster>(options_);
        start_failure_.clear();
    } catch (const std::exception& e) {
        start_failure_ = e.what();
        GTEST_FAIL() << "the test Redis Cluster did not start: " << e.what();
    }
}

void redis_cluster_environment::TearDown() { cluster_.reset(); }

redis_cluster& redis_cluster_environment::cluster() {
    if (!cluster_) {
        throw redis_error(start_failure_.empty() ? "sluice::test::cluster(): the environment has not been set up"
                                                 : "sluice::test::cluster(): it did not start: " + start_failure_);
    }
    return *cluster_;
}

redis_cluster_environment* add_redis_cluster_environment(redis_cluster_options options) {
    if (registered_environment != nullptr) {
        throw std::logic_error("sluice::test::add_redis_cluster_environment() called twice in one test binary");
    }
    auto* environment = new redis_cluster_environment(std::move(options));
    ::testing::AddGlobalTestEnvironment(environment);  // gtest owns it from here on
    registered_environment = environment;
    return environment;
}

redis_cluster& cluster() {
    if (registered_environment == nullptr) {
        throw redis_error("sluice::test::cluster(): no cluster environment; call add_redis_cluster_environment()");
    }
    return registered_environment->cluster();
}

}  // namespace sluice::test
