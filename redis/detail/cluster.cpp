// The Redis Cluster shape of redis::router (see router.hpp for what it guarantees).
//
// Pieces:
// - cluster_state owns everything and outlives the router while any handler of ours is queued
//   (handlers hold a shared_ptr to it). The router's destructor detaches it: callbacks are
//   dropped, every connection is stopped and destroyed there and then.
// - A node is one server we hold a connection to: a redis::client with the router's options and
//   that server's address. Nodes are the masters of the current map, plus the seeds while no
//   master answers (they are asked for the topology). Nodes are named by a number that is never
//   reused, so a handler that outlived its node finds nothing rather than another node.
// - slots_ maps each of the 16384 slots to its master's node (null: no master known). It changes
//   only on a topology reply (replaced whole) and on MOVED (one slot, until the next reply).
// - A call is a cluster_call on the heap (its RESP stays where it is while the call is re-sent),
//   handed to a node's client with the call's own deadline (client_access::submit_until). Its
//   completion comes back to on_reply(), posted by the client, where MOVED, ASK, NOSCRIPT,
//   TRYAGAIN and CLUSTERDOWN are acted on; anything else goes to the caller by dispatch(), which
//   runs it there and then when the caller's executor is this io_context (it is already a posted
//   handler: never inline inside async_exec).
// - The topology is refreshed by one query at a time (a refresh asked for meanwhile runs once
//   after it), at most every min_refresh_gap, from the connected masters in turn (the seeds when
//   none is connected), each asked until one answers.
// - A node that leaves the map is retired: its client waits, unstopped, until its calls have
//   completed (they may be answered MOVED and follow the slot), and is destroyed from a posted
//   handler, never from inside one of its own callbacks.
#include "redis/detail/client_access.hpp"
#include "redis/detail/completion.hpp"
#include "redis/detail/route_table.hpp"
#include "redis/cluster_topology.hpp"
#include "redis/slot.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace sluice::redis::detail {

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

// While some slot has no connected master, the topology is asked again after
// options.degraded_refresh, doubling up to this.
constexpr std::chrono::milliseconds degraded_refresh_max{1000};
// Refreshes start at most this often, however many MOVED replies ask for one.
constexpr std::chrono::milliseconds min_refresh_gap{20};

std::string format(std::initializer_list<std::string_view> args) {
    return format_command(std::span<const std::string_view>(args.begin(), args.size()));
}

const std::string& cluster_shards_command() {
    static const std::string resp = format({"CLUSTER", "SHARDS"});
    return resp;
}

const std::string& cluster_slots_command() {
    static const std::string resp = format({"CLUSTER", "SLOTS"});
    return resp;
}

const std::string& asking_command() {
    static const std::string resp = format({"ASKING"});
    return resp;
}

// An error reply that says the server does not know CLUSTER SHARDS (Redis before 7.0).
bool unknown_subcommand(const reply& r) {
    if (!r.is_error()) return false;
    std::string lower = r.str;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower.find("unknown subcommand") != std::string::npos || lower.find("unknown command") != std::string::npos;
}

struct cluster_node {
    std::uint32_t id = 0;
    endpoint where;
    std::string address;  // where.address(), for logs and node_of()
    std::unique_ptr<client> connection;
    bool serving = false;      // master of some slot in slots_
    bool reported_up = false;  // as last passed to on_node_change: serving and connected
};

// One caller's call, while the cluster routes it. Not assignable: Boost 1.81's
// any_completion_handler move assignment recurses (see client.cpp); it is made once, on the heap.
struct cluster_call {
    cluster_call(command cmd, std::shared_ptr<const script_text> script, client::completion_handler handler,
                 clock::time_point deadline, std::uint16_t slot)
        : cmd(std::move(cmd)), script(std::move(script)), handler(std::move(handler)), deadline(deadline), slot(slot) {}
    cluster_call(const cluster_call&) = delete;
    cluster_call& operator=(const cluster_call&) = delete;

    command cmd;                                // the RESP sent; a script's EVALSHA (EVAL once switched)
    std::shared_ptr<const script_text> script;  // async_eval only
    client::completion_handler handler;
    clock::time_point deadline;
    std::uint16_t slot = 0;
    bool followed_moved = false;
    bool followed_ask = false;
    bool sent_as_eval = false;
};

}  // namespace

class cluster_state : public std::enable_shared_from_this<cluster_state> {
public:
    cluster_state(asio::io_context& ioc, client_options options)
        : ioc_(ioc),
          options_(std::move(options)),
          slots_(slot_count, nullptr),
          refresh_timer_(ioc),
          degraded_delay_(options_.degraded_refresh) {}

    const client_options& options() const noexcept { return options_; }

    void register_script(const script& s) {
        const bool known =
            std::any_of(scripts_.begin(), scripts_.end(), [&](const script& r) { return r.sha1() == s.sha1(); });
        if (known) return;
        scripts_.push_back(s);
        for (const auto& n : nodes_) n->connection->register_script(s);
    }

    void on_connection_change(std::function<void(bool)> f) { on_change_ = std::move(f); }
    void on_node_change(std::function<void(const std::string&, bool)> f) { on_node_change_ = std::move(f); }

    void start() {
        if (started_ && !stopped_) return;
        started_ = true;
        stopped_ = false;
        degraded_delay_ = options_.degraded_refresh;
        for (const auto& seed : options_.cluster_seeds) add_node(seed);
        for (const auto& n : nodes_) n->connection->start();
        post_reap();  // connections retired before a stop() are idle now
        request_refresh();
    }

    void stop() {
        stopped_ = true;
        ++refresh_generation_;
        ++refresh_round_;
        refresh_timer_.cancel();
        refresh_armed_ = false;
        refreshing_ = false;
        refresh_again_ = false;
        for (const auto& n : nodes_) n->connection->stop();
        for (const auto& c : retired_) c->stop();
    }

    // ~router: no callback of the owner's is called any more; every connection goes now.
    void detach() {
        on_change_ = nullptr;
        on_node_change_ = nullptr;
        stop();
        std::fill(slots_.begin(), slots_.end(), nullptr);
        for (auto& n : nodes_) retire_counts(*n->connection);
        for (auto& c : retired_) retire_counts(*c);
        nodes_.clear();
        retired_.clear();
    }

    void poll() {
        for (const auto& n : nodes_) n->connection->poll();
        for (const auto& c : retired_) c->poll();
    }

    bool connected() const noexcept {
        return topology_known_ && std::any_of(nodes_.begin(), nodes_.end(),
                                              [](const auto& n) { return n->serving && n->connection->connected(); });
    }

    bool connected(std::uint16_t slot) const noexcept {
        const auto* node = slots_[slot];
        return node != nullptr && node->connection->connected();
    }

    std::string node_of(std::uint16_t slot) const {
        const auto* node = slots_[slot];
        return node != nullptr ? node->address : std::string();
    }

    std::size_t pending() const noexcept {
        std::size_t total = 0;
        for (const auto& n : nodes_) total += n->connection->pending();
        for (const auto& c : retired_) total += c->pending();
        return total;
    }

    std::string last_error() const { return last_error_; }

    client_counters counters() const noexcept {
        client_counters total = counters_;
        const auto add = [&total](const client& c) {
            const auto& counted = c.counters();
            total.timeouts += counted.timeouts;
            total.late_replies += counted.late_replies;
            total.liveness_drops += counted.liveness_drops;
        };
        for (const auto& n : nodes_) add(*n->connection);
        for (const auto& c : retired_) add(*c);
        return total;
    }

    // ---- calls ----------------------------------------------------------------------------------

    void submit(std::uint16_t slot, command cmd, std::shared_ptr<const script_text> eval_script,
                client::completion_handler handler) {
        if (stopped_) return post_completion(std::move(handler), error::stopped);
        auto call = std::make_unique<cluster_call>(std::move(cmd), std::move(eval_script), std::move(handler),
                                                   clock::now() + options_.timeout, slot);
        cluster_node* node = slots_[slot];
        if (node == nullptr) {
            const error e = topology_known_ ? error::cluster_down : error::not_connected;
            if (e == error::cluster_down) ++counters_.cluster_down;
            return post_completion(std::move(call->handler), e);
        }
        send(std::move(call), *node, false);
    }

private:
    // Hands the call to the node's client; its completion comes back to on_reply().
    void send(std::unique_ptr<cluster_call> call, cluster_node& node, bool asking) {
        auto& conn = *node.connection;
        if (asking) {
            client_access::submit_until(conn, asking_command(), call->deadline,
                                        client::completion_handler([](error_code, reply) {}));
        }
        const std::string_view resp = call->cmd.resp;  // stays put: the call lives on the heap
        const auto deadline = call->deadline;
        client_access::submit_until(
            conn, resp, deadline,
            client::completion_handler(
                [self = shared_from_this(), id = node.id, call = std::move(call)](error_code ec, reply r) mutable {
                    self->on_reply(std::move(call), id, ec, std::move(r));
                }));
    }

    void on_reply(std::unique_ptr<cluster_call> call, std::uint32_t from, error_code ec, reply r) {
        if (ec || !r.is_error()) return finish(std::move(call), ec, std::move(r));
        switch (classify_error(r.str)) {
        case cluster_error_kind::moved: {
            const auto to = parse_redirection(r.str);
            if (!to) break;
            ++counters_.moved;
            cluster_node* target = node_at(to->target, from);
            if (target != nullptr && !stopped_) {
                if (slots_[to->slot] == nullptr) --uncovered_;
                slots_[to->slot] = target;
                target->serving = true;
                report(*target);
            }
            request_refresh();
            if (stopped_) return finish(std::move(call), error::stopped);
            if (call->followed_moved || target == nullptr) return finish(std::move(call), error::redirected);
            call->followed_moved = true;
            return send(std::move(call), *target, false);
        }
        case cluster_error_kind::ask: {
            const auto to = parse_redirection(r.str);
            if (!to) break;
            ++counters_.asked;
            cluster_node* target = stopped_ ? nullptr : node_at(to->target, from);
            if (stopped_) return finish(std::move(call), error::stopped);
            if (call->followed_ask || target == nullptr) return finish(std::move(call), error::redirected);
            call->followed_ask = true;
            // ASKING covers the next command only, so a script goes as EVAL: an EVALSHA answered
            // NOSCRIPT would be re-sent without it.
            switch_to_eval(*call);
            return send(std::move(call), *target, true);
        }
        case cluster_error_kind::try_again: ++counters_.try_again; return finish(std::move(call), error::try_again);
        case cluster_error_kind::cluster_down:
            ++counters_.cluster_down;
            request_refresh();
            return finish(std::move(call), error::cluster_down);
        case cluster_error_kind::no_script:
            if (call->script && !call->sent_as_eval && !stopped_) {
                cluster_node* node = find(from);
                if (node == nullptr) node = slots_[call->slot];
                if (node != nullptr) {
                    switch_to_eval(*call);
                    return send(std::move(call), *node, false);
                }
            }
            break;
        case cluster_error_kind::other: break;
        }
        finish(std::move(call), {}, std::move(r));
    }

    static void switch_to_eval(cluster_call& call) {
        if (!call.script || call.sent_as_eval) return;
        call.cmd.resp = evalsha_to_eval(call.cmd, call.script->source);
        call.cmd.tail = 0;
        call.sent_as_eval = true;
    }

    // From a posted handler (on_reply): the caller's handler runs now if its executor is ours.
    void finish(std::unique_ptr<cluster_call> call, error_code ec, reply r = {}) {
        asio::dispatch(ioc_.get_executor(), posted_completion{std::move(call->handler), ec, std::move(r)});
    }

    // From inside submit(): never inline.
    void post_completion(client::completion_handler handler, error_code ec) {
        asio::post(ioc_, posted_completion{std::move(handler), ec, {}});
    }

    // ---- nodes ----------------------------------------------------------------------------------

    cluster_node* find(std::uint32_t id) const {
        for (const auto& n : nodes_)
            if (n->id == id) return n.get();
        return nullptr;
    }

    // The node at `where` (an empty host: the host of node `from`), made if new; null if the
    // host cannot be told.
    cluster_node* node_at(endpoint where, std::uint32_t from) {
        if (where.host.empty()) {
            const auto* asked = find(from);
            if (asked == nullptr) return nullptr;
            where.host = asked->where.host;
        }
        return add_node(where);
    }

    cluster_node* add_node(const endpoint& where) {
        const auto address = where.address();
        for (const auto& n : nodes_)
            if (n->address == address) return n.get();
        auto node = std::make_unique<cluster_node>();
        node->id = next_node_id_++;
        node->where = where;
        node->address = address;
        client_options o = options_;
        o.host = where.host;
        o.port = where.port;
        o.cluster_seeds.clear();
        node->connection = std::make_unique<client>(ioc_, std::move(o));
        for (const auto& s : scripts_) node->connection->register_script(s);
        node->connection->on_connection_change([weak = weak_from_this(), id = node->id](bool up) {
            if (auto self = weak.lock()) self->on_node_connection(id, up);
        });
        if (started_ && !stopped_) node->connection->start();
        nodes_.push_back(std::move(node));
        return nodes_.back().get();
    }

    void on_node_connection(std::uint32_t id, bool up) {
        auto* node = find(id);
        if (node == nullptr) return;
        report(*node);
        if (!up) {
            last_error_ = node->address + ": " + node->connection->last_error();
            // Its slots may have moved (a failover): ask at once, then often until all is well.
            degraded_delay_ = options_.degraded_refresh;
            request_refresh();
        } else if (!topology_known_) {
            request_refresh();
        }
        update_connected();
    }

    // on_node_change reports masters only: a seed asked for the topology and let go is no news.
    void report(cluster_node& node) {
        const bool up = node.serving && node.connection->connected();
        if (node.reported_up == up) return;
        node.reported_up = up;
        if (on_node_change_) on_node_change_(node.address, up);
    }

    void update_connected() {
        const bool now = connected();
        if (now == connected_) return;
        connected_ = now;
        if (on_change_) on_change_(now);
    }

    // Every slot has a master and every master a connection.
    bool healthy() const {
        if (!topology_known_ || uncovered_ > 0) return false;
        return std::all_of(nodes_.begin(), nodes_.end(),
                           [](const auto& n) { return !n->serving || n->connection->connected(); });
    }

    void retire(std::unique_ptr<cluster_node> node) {
        node->connection->on_connection_change(nullptr);
        node->serving = false;
        report(*node);
        retired_.push_back(std::move(node->connection));
        post_reap();
    }

    void post_reap() {
        if (reap_posted_) return;
        reap_posted_ = true;
        asio::post(ioc_, [self = shared_from_this()] {
            self->reap_posted_ = false;
            self->reap();
        });
    }

    // Destroys the retired connections that hold no call any more.
    void reap() {
        auto idle = [](const std::unique_ptr<client>& c) { return c->pending() == 0 || !c->connected(); };
        for (auto& c : retired_)
            if (idle(c)) retire_counts(*c);
        retired_.erase(std::remove_if(retired_.begin(), retired_.end(), idle), retired_.end());
    }

    void retire_counts(const client& c) {
        const auto& counted = c.counters();
        counters_.timeouts += counted.timeouts;
        counters_.late_replies += counted.late_replies;
        counters_.liveness_drops += counted.liveness_drops;
    }

    // ---- topology -------------------------------------------------------------------------------

    void request_refresh() {
        if (!started_ || stopped_) return;
        if (refreshing_) {
            refresh_again_ = true;
            return;
        }
        const auto now = clock::now();
        if (now - last_refresh_start_ < min_refresh_gap) return schedule_refresh(last_refresh_start_ + min_refresh_gap);
        begin_refresh();
    }

    // Moves the next refresh to `when` unless one is due earlier.
    void schedule_refresh(clock::time_point when) {
        if (stopped_ || (refresh_armed_ && refresh_due_ <= when)) return;
        refresh_armed_ = true;
        refresh_due_ = when;
        refresh_timer_.expires_at(when);
        refresh_timer_.async_wait([self = shared_from_this(), generation = ++refresh_generation_](error_code ec) {
            if (ec || generation != self->refresh_generation_) return;
            self->refresh_armed_ = false;
            self->request_refresh();
        });
    }

    void begin_refresh() {
        refreshing_ = true;
        ++refresh_round_;
        last_refresh_start_ = clock::now();
        candidates_.clear();
        // The connected masters, starting from a different one each time, then anything else
        // connected (the seeds, before the first topology or when every master is gone).
        std::vector<std::uint32_t> masters, others;
        for (const auto& n : nodes_) {
            if (!n->connection->connected()) continue;
            (n->serving ? masters : others).push_back(n->id);
        }
        if (!masters.empty()) {
            std::rotate(masters.begin(), masters.begin() + static_cast<std::ptrdiff_t>(rotation_++ % masters.size()),
                        masters.end());
        }
        candidates_ = std::move(masters);
        candidates_.insert(candidates_.end(), others.begin(), others.end());
        if (candidates_.empty()) {
            // Nobody to ask: make sure every seed has a connection; the first to come up asks
            // (on_node_connection) if no topology is known, and the timer tries again anyway.
            for (const auto& seed : options_.cluster_seeds) add_node(seed);
            return end_refresh(false, false);
        }
        ask_next();
    }

    void ask_next() {
        while (!candidates_.empty()) {
            auto* node = find(candidates_.front());
            candidates_.erase(candidates_.begin());
            if (node == nullptr || !node->connection->connected()) continue;
            const bool slots_command = use_slots_command_;
            client_access::submit_until(
                *node->connection, slots_command ? cluster_slots_command() : cluster_shards_command(),
                clock::now() + options_.timeout,
                client::completion_handler([self = shared_from_this(), id = node->id, slots_command,
                                            round = refresh_round_](error_code ec, reply r) {
                    if (round != self->refresh_round_) return;  // a stop() came between
                    self->on_topology(id, slots_command, ec, std::move(r));
                }));
            return;
        }
        end_refresh(false, true);
    }

    void on_topology(std::uint32_t from, bool slots_command, error_code ec, reply r) {
        if (stopped_ || !refreshing_) return;
        auto* node = find(from);
        if (!ec && !slots_command && unknown_subcommand(r)) {
            use_slots_command_ = true;  // Redis before 7.0
            candidates_.insert(candidates_.begin(), from);
            return ask_next();
        }
        std::string problem;
        std::optional<cluster_topology> topology;
        if (ec) {
            problem = ec.message();
        } else if (r.is_error()) {
            problem = r.str;
        } else {
            topology = slots_command ? parse_cluster_slots(r, problem) : parse_cluster_shards(r, problem);
            if (topology && topology->ranges.empty()) {
                problem = "no slot has a master yet";
                topology.reset();
            }
        }
        if (!topology || node == nullptr) {
            last_error_ = "cluster topology from " + (node != nullptr ? node->address : std::string("a retired node")) +
                          ": " + problem;
            return ask_next();
        }
        apply(*topology, node->where.host);
        end_refresh(true, true);
    }

    void apply(const cluster_topology& topology, const std::string& answering_host) {
        std::vector<cluster_node*> fresh(slot_count, nullptr);
        std::vector<std::uint32_t> serving;
        for (const auto& range : topology.ranges) {
            endpoint where = range.master;
            if (where.host.empty()) where.host = answering_host;
            auto* node = add_node(where);
            serving.push_back(node->id);
            std::fill(fresh.begin() + range.first, fresh.begin() + range.last + 1, node);
        }
        ++counters_.topology_refreshes;
        if (topology_known_ && fresh != slots_) ++counters_.topology_changes;
        slots_ = std::move(fresh);
        uncovered_ = static_cast<std::size_t>(std::count(slots_.begin(), slots_.end(), nullptr));
        topology_known_ = true;

        std::vector<std::unique_ptr<cluster_node>> leaving;
        for (auto& n : nodes_) {
            n->serving = std::find(serving.begin(), serving.end(), n->id) != serving.end();
            if (n->serving) {
                report(*n);
            } else {
                leaving.push_back(std::move(n));
            }
        }
        nodes_.erase(std::remove(nodes_.begin(), nodes_.end(), nullptr), nodes_.end());
        for (auto& n : leaving) retire(std::move(n));
        update_connected();
    }

    // `asked`: some node was asked (a failure then counts).
    void end_refresh(bool ok, bool asked) {
        refreshing_ = false;
        if (!ok && asked) ++counters_.topology_failures;
        if (!retired_.empty()) post_reap();
        if (refresh_again_) {
            refresh_again_ = false;
            return request_refresh();
        }
        const auto now = clock::now();
        if (healthy()) {
            degraded_delay_ = options_.degraded_refresh;
            schedule_refresh(now + options_.topology_refresh);
        } else {
            schedule_refresh(now + degraded_delay_);
            degraded_delay_ = std::min(2 * degraded_delay_, std::max(degraded_refresh_max, options_.degraded_refresh));
        }
    }

    asio::io_context& ioc_;
    client_options options_;
    std::vector<script> scripts_;
    std::function<void(bool)> on_change_;
    std::function<void(const std::string&, bool)> on_node_change_;
    std::vector<std::unique_ptr<cluster_node>> nodes_;
    std::vector<std::unique_ptr<client>> retired_;  // left the map; destroyed once idle (reap)
    std::vector<cluster_node*> slots_;              // slot_count entries; null: no master known
    std::size_t uncovered_ = slot_count;            // null entries of slots_
    bool topology_known_ = false;
    bool started_ = false;
    bool stopped_ = false;
    bool connected_ = false;  // as last passed to on_change_
    bool reap_posted_ = false;
    std::uint32_t next_node_id_ = 1;

    asio::steady_timer refresh_timer_;
    bool refresh_armed_ = false;
    clock::time_point refresh_due_{};
    std::uint64_t refresh_generation_ = 0;  // a timer wait of an older generation does nothing
    std::uint64_t refresh_round_ = 0;       // a reply to a query of an older round is ignored
    bool refreshing_ = false;
    bool refresh_again_ = false;
    clock::time_point last_refresh_start_{};
    std::chrono::milliseconds degraded_delay_;
    std::vector<std::uint32_t> candidates_;  // nodes still to ask in this refresh
    std::size_t rotation_ = 0;
    bool use_slots_command_ = false;

    client_counters counters_;  // the cluster's own counts, plus those of connections destroyed
    std::string last_error_;
};

namespace {

class cluster_table final : public route_table {
public:
    cluster_table(asio::io_context& ioc, client_options options)
        : state_(std::make_shared<cluster_state>(ioc, std::move(options))) {}
    ~cluster_table() override { state_->detach(); }
    cluster_table(const cluster_table&) = delete;
    cluster_table& operator=(const cluster_table&) = delete;

    const client_options& options() const noexcept override { return state_->options(); }
    void register_script(const script& s) override { state_->register_script(s); }
    void start() override { state_->start(); }
    void stop() override { state_->stop(); }
    void poll() override { state_->poll(); }
    bool connected() const noexcept override { return state_->connected(); }
    bool connected(std::uint16_t slot) const noexcept override { return state_->connected(slot); }
    std::string node_of(std::uint16_t slot) const override { return state_->node_of(slot); }
    std::size_t pending() const noexcept override { return state_->pending(); }
    std::string last_error() const override { return state_->last_error(); }
    client_counters counters() const noexcept override { return state_->counters(); }
    void on_connection_change(std::function<void(bool)> f) override { state_->on_connection_change(std::move(f)); }
    void on_node_change(std::function<void(const std::string&, bool)> f) override {
        state_->on_node_change(std::move(f));
    }
    void submit(std::uint16_t slot, command cmd, std::shared_ptr<const script_text> eval_script,
                client::completion_handler handler) override {
        state_->submit(slot, std::move(cmd), std::move(eval_script), std::move(handler));
    }

private:
    std::shared_ptr<cluster_state> state_;
};

}  // namespace

std::unique_ptr<route_table> make_cluster_table(asio::io_context& ioc, client_options options) {
    return std::make_unique<cluster_table>(ioc, std::move(options));
}

}  // namespace sluice::redis::detail
