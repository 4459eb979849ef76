// redis::router (see router.hpp): the one-server shape, which hands every call to its one client
// untouched, and the router's own members, which forward to whichever shape was configured.
#include "redis/router.hpp"

#include "redis/detail/client_access.hpp"
#include "redis/detail/route_table.hpp"

namespace sluice::redis {

namespace detail {

namespace {

class single_node_table final : public route_table {
public:
    single_node_table(boost::asio::io_context& ioc, client_options options)
        : client_(ioc, std::move(options)),
          address_(client_.options().host + ":" + std::to_string(client_.options().port)) {
        client_.on_connection_change([this](bool up) {
            if (on_node_change_) on_node_change_(address_, up);
            if (on_change_) on_change_(up);
        });
    }

    const client_options& options() const noexcept override { return client_.options(); }
    void register_script(const script& s) override { client_.register_script(s); }
    void start() override { client_.start(); }
    void stop() override { client_.stop(); }
    void poll() override { client_.poll(); }
    bool connected() const noexcept override { return client_.connected(); }
    bool connected(std::uint16_t) const noexcept override { return client_.connected(); }
    std::string node_of(std::uint16_t) const override { return address_; }
    std::size_t pending() const noexcept override { return client_.pending(); }
    std::string last_error() const override { return client_.last_error(); }
    client_counters counters() const noexcept override { return client_.counters(); }
    void on_connection_change(std::function<void(bool)> f) override { on_change_ = std::move(f); }
    void on_node_change(std::function<void(const std::string&, bool)> f) override { on_node_change_ = std::move(f); }

    void submit(std::uint16_t, command cmd, std::shared_ptr<const script_text> eval_script,
                client::completion_handler handler) override {
        client_access::submit(client_, std::move(cmd), std::move(eval_script), std::move(handler));
    }

private:
    std::function<void(bool)> on_change_;
    std::function<void(const std::string&, bool)> on_node_change_;
    client client_;  // last: destroyed first, so it never calls the callbacks above once they are gone
    std::string address_;
};

}  // namespace

}  // namespace detail

router::router(boost::asio::io_context& ioc, client_options options)
    : ioc_(ioc), cluster_(!options.cluster_seeds.empty()) {
    if (cluster_) {
        table_ = detail::make_cluster_table(ioc, std::move(options));
    } else {
        table_ = std::make_unique<detail::single_node_table>(ioc, std::move(options));
    }
}

router::~router() = default;

router::executor_type router::get_executor() const noexcept { return ioc_.get_executor(); }

const client_options& router::options() const noexcept { return table_->options(); }

void router::register_script(const script& s) { table_->register_script(s); }

void router::start() { table_->start(); }

void router::stop() { table_->stop(); }

void router::poll() { table_->poll(); }

bool router::connected() const noexcept { return table_->connected(); }

bool router::connected(std::string_view key) const noexcept { return table_->connected(route(key)); }

std::string router::node_of(std::string_view key) const { return table_->node_of(route(key)); }

std::size_t router::pending() const noexcept { return table_->pending(); }

std::string router::last_error() const { return table_->last_error(); }

client_counters router::counters() const noexcept { return table_->counters(); }

void router::on_connection_change(std::function<void(bool connected)> f) { table_->on_connection_change(std::move(f)); }

void router::on_node_change(std::function<void(const std::string& node, bool connected)> f) {
    table_->on_node_change(std::move(f));
}

void router::submit(std::uint16_t slot, detail::command cmd, std::shared_ptr<const detail::script_text> eval_script,
                    completion_handler handler) {
    table_->submit(slot, std::move(cmd), std::move(eval_script), std::move(handler));
}

}  // namespace sluice::redis
