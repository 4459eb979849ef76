// GET /status and GET /status.json (gateway/status_page.hpp renders them), and the sampler that
// gathers their queue figures. Internal to gateway/.
#pragma once

#include "gateway/detail/core.hpp"
#include "gateway/response.hpp"

namespace sluice::gateway::detail {

// Answers GET /status (json false) or GET /status.json from the core's shared figures and the
// runtime's operator message.
void answer_service_status(const core& c, response& out, bool json);

// The queue figures as /metrics shows them (into process_facts).
void add_queue_figures(const shared_state& shared, process_facts& facts);

// Core 0, once a second: every queue shard's length, waiting entries, drained count and today's
// submissions (queue_stats.lua), into shared_state. Ends when the core drains.
net::awaitable<void> sample_queue_figures(core& c);

const redis::script& queue_stats_script();

}  // namespace sluice::gateway::detail
