// GET /healthz, /readyz and /metrics: the operator's view of the process (API.md, ops/). None of
// them authenticates or touches Redis; /readyz is false while draining or while a core's Redis
// connection is down.
#include "gateway/detail/handlers.hpp"
#include "gateway/detail/status_handler.hpp"
#include "gateway/metrics.hpp"
#include "gateway/problem.hpp"

namespace sluice::gateway::detail::handlers {

namespace {

net::awaitable<void> answer_healthz(exchange x, request_state&) {
    x.res.body = R"({"status":"ok"})";
    co_return;
}

net::awaitable<void> answer_readyz(exchange x, request_state&) {
    if (x.c.shared.ready()) {
        x.res.body = R"({"ready":true})";
    } else {
        make_problem(x.res, problem::draining, "the gateway is shutting down and takes no new work");
        x.res.add_header("Retry-After", "1");
    }
    co_return;
}

net::awaitable<void> answer_metrics(exchange x, request_state&) {
    const auto& shared = x.c.shared;
    process_facts facts{shared.allocator.name, shared.allocator.version, x.rt.settings.limits.max_connections,
                        shared.queue_lengths};
    add_queue_figures(shared, facts);  // the status page's figures (service_status.cpp)
    facts.tls = shared.tls;
    facts.tls_reload_failures = shared.tls_reload_failures.load(std::memory_order_relaxed);
    facts.tls_not_after = shared.tls_not_after.load(std::memory_order_relaxed);
    x.res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    x.res.body =
        render_prometheus(shared.shards, facts, shared.ready(), shared.draining.load(std::memory_order_relaxed));
    co_return;
}

}  // namespace

const handler healthz{nullptr, &answer_healthz};
const handler readyz{nullptr, &answer_readyz};
const handler metrics{nullptr, &answer_metrics};

}  // namespace sluice::gateway::detail::handlers
