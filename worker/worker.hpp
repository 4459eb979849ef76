// The worker process: consumes the queue shards (queue/consumer.hpp), calculates each submission
// (calculation.hpp) and writes the result to its status record, which GET /v1/submissions/{id}
// shows moving queued -> processing -> calculated | failed, with attempts.
//
// One io_context on one thread (the calculation is pure and takes microseconds; what a worker
// waits for is Redis), with two Redis connections: one for the blocking XREADGROUP and one,
// pipelined, for everything else. At most worker.concurrency submissions are held at once
// (delivered to this worker and not finished); reads ask for no more than the free slots.
//
// Loops, all on that thread:
//   read      XREADGROUP of every shard, batched, BLOCK up to 1 s, while slots are free
//   reclaim   every min(claim_idle_ms / 2, 5 s): XAUTOCLAIM of entries idle > claim_idle_ms (a
//             dead worker's, or a failed attempt waiting for its retry), each shard's cursor
//             followed to 0-0, one page of at most the free slots at a time
//   trim      every 5 s: XTRIM MINID of acknowledged entries (consumer_trim.lua)
//   sample    every 1 s: XINFO GROUPS of every shard for the lag metrics
// Each held entry: start (status=processing, attempts) -> parse -> [read the practice's
// income-protected points from PostgreSQL: a QOF submission of a period whose catalogue names an
// income_protection_period, with a ledger (ledger/protection.hpp; calculation.hpp R7)] ->
// calculate -> finish (result + XACK), or fail (left pending for a retry; dead-lettered after
// max_attempts). The read is held through a PostgreSQL outage like the result's write: retried
// until it is answered, never skipped, so no result is calculated without the protection it is
// owed; a refusal of the read (not an outage) fails the attempt. A failure no
// retry can mend is dead-lettered at once: a body that is not JSON, a body of another practice
// than its entry, an entry without a valid submission id, a status record that is gone. Faults
// that depend on the catalogue (an unknown period or code) are retried, since another worker may
// hold a corrected catalogue; once dead-lettered, `sluice-admin dlq replay` queues them again.
//
// stop() (SIGTERM): no new reads or claims; what it holds is finished (acknowledged) or failed
// as usual; then it leaves the groups it holds nothing in and the io_context runs out of work.
// Entries it never read stay in the streams for the other workers. A Redis call that fails
// leaves its entry pending, so another worker reclaims it after claim_idle_ms.
#pragma once

#include "catalogue/catalogue.hpp"
#include "config/config.hpp"
#include "ledger/protection.hpp"
#include "worker/calculation.hpp"
#include "worker/metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace sluice::worker {

struct worker_options {
    config::settings settings;
    catalogue::catalogue catalogue;
    std::string consumer_name;         // unique per process: queue::unique_consumer_name()
    std::string allocator = "system";  // for /metrics
};

class worker {
public:
    worker(boost::asio::io_context& ioc, worker_options options);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // Binds the metrics endpoint (throws std::runtime_error if it cannot) and starts every loop.
    // Returns the metrics endpoint actually bound (worker.metrics_port 0: the kernel's choice).
    boost::asio::ip::tcp::endpoint start();

    // Drains (see the top of this file). Idempotent. Call on the io_context's thread.
    void stop();

    // Called once the drain is complete (every connection closed; only what the caller still
    // waits on, such as a signal_set, keeps the io_context running).
    void on_stopped(std::function<void()> f);

    const worker_metrics& metrics() const noexcept;
    std::size_t in_flight() const noexcept;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// R7's input from the ledger's record (ledger/protection.hpp): what the worker gives calculate()
// for a QOF submission of a protected period, and what finalisation gives it too.
calculation_inputs protection_inputs(const ledger::protection_record& found);

}  // namespace sluice::worker
