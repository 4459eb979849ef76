// One engine thread of the open-loop client (client.hpp, "Threads"), and what the threads share
// with the coordinator. A worker owns an io_context run by its thread, its share of the
// connections (connection_pool.hpp), its arrivals and queue of copies and retries (dispatch.hpp)
// and its submissions and figures (outcome_recorder.hpp). One request, top to bottom:
//
//   pump()          while a connection is free and a request is due (dispatcher::take_due):
//                   an arrival begins its submission (record, request bytes, a double-submit's
//                   second copy queued), then connection_pool::send()
//   answered()      the answer or transport error is recorded, next_action() decides about a
//                   retry (queued, due after its delay) or ends the copy
//   freed()         pump() again, then whether the phase is done
//   on_tick()       request deadlines (connection_pool::sweep), the stop flag, the progress snapshot
//
// The coordinator talks to a worker only by posting to its io_context and by the reports under
// engine::mutex; a worker's figures are read after its thread has ended.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "loadtest/client.hpp"
#include "loadtest/detail/connection_pool.hpp"
#include "loadtest/detail/dispatch.hpp"
#include "loadtest/detail/outcome_recorder.hpp"

namespace sluice::loadtest::detail {

// A thread's reports to the coordinator, under engine::mutex.
struct worker_report {
    bool opened = false;  // the initial connects are all done
    std::uint32_t open_connections = 0;
    std::string first_connect_error;
    bool phase_done = false;
    std::optional<step_stats> step;  // find_capacity: the finished phase's step
    progress_snapshot snapshot;
    std::exception_ptr failure;
};

// What every thread shares: read-only once the threads run, but for the counters and the reports.
struct engine {
    const run_options& options;
    boost::asio::ip::tcp::endpoint endpoint;
    std::string run_id;
    std::vector<client_behaviour> behaviours;  // by submission
    bool keep_steps = false;                   // a steps schedule
    steady_time run_start{};                   // set before the first phase is posted

    open_count connections;

    std::mutex mutex;
    std::condition_variable changed;
    std::vector<worker_report> reports;

    explicit engine(const run_options& o) : options(o) {}
};

class worker final : private connection_events {
public:
    worker(engine& shared, unsigned index, std::uint32_t connections);

    // The thread's body: runs the io_context until post_shutdown(); a failure goes to the report.
    void run();

    // From the coordinator.
    void post_open();
    void post_phase(std::uint64_t first, std::uint64_t end, steady_time origin, std::size_t step);
    void post_shutdown();

    // After the thread ended.
    thread_figures& figures() noexcept { return recorder_.figures(); }

private:
    // connection_events
    void opened(std::uint32_t open, const std::string& first_error) override;
    void writing() override;
    void resending(const pending& request) override;
    void answered(const pending& request, std::optional<int> status, std::optional<std::chrono::seconds> retry_after,
                  std::string_view submission_id) override;
    void freed() override;

    void begin_phase(std::uint64_t first, std::uint64_t end, steady_time origin, std::size_t step);
    void pump();
    void begin_submission(const pending& first_copy);
    void arm_dispatch(steady_time now);
    void check_phase_done();
    void arm_tick();
    void on_tick();
    void stop_sending();
    void publish(steady_time now);

    engine& e_;
    const run_options& o_;
    const unsigned index_;
    // One thread runs it, and other threads only post to it: the reactor needs no locking.
    boost::asio::io_context ctx_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    boost::asio::steady_timer dispatch_timer_;
    boost::asio::steady_timer tick_timer_;
    std::chrono::nanoseconds tick_period_{};
    std::mt19937_64 random_;

    connection_pool pool_;
    dispatcher dispatch_;
    outcome_recorder recorder_;

    std::size_t phase_step_ = 0;
    bool phase_active_ = false;
    std::uint64_t in_flight_ = 0;
    std::size_t largest_body_ = 0;  // so that a request's buffer is allocated once
};

}  // namespace sluice::loadtest::detail
