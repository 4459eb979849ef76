// The open-loop client engine (client.hpp), read top to bottom:
//
//   run()                 the coordinator: checks, opens the connections, runs the phases (one,
//                         or one per step with find_capacity), merges the threads' results
//   worker                one per thread, owning an io_context, its connections and its
//                         submissions:
//     pump()              while a connection is free and a request is due: start it
//     start() -> write()  the request's bytes, pre-serialised once per submission
//     on_read()           the answer, parsed by Beast's basic_parser (status, Retry-After, and
//                         for a 2xx the body, searched for "submission_id")
//     finish() -> record() the figures; next_action() decides about a retry
//     on_tick()           request deadlines, the stop flag, the progress snapshot
//
// Connection states: free and open (idle_), free and closed (closed_, reopened when a request
// takes it), busy (a request on it, connecting or exchanging), or opening before the run; the
// free lists are first in, first out. Every asynchronous handler carries the connection's
// generation at the time it started; close() bumps it, so a handler of a closed socket does
// nothing.
//
// The hot path allocates per submission (its key, its request bytes, its record) and not per
// request: parsers live in the connection, the read buffer and the kept 2xx body are reused,
// Asio recycles its handler memory per thread, and the queue of due retries is a binary heap in
// a vector.
#include "loadtest/client.hpp"

#include "config/log.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace sluice::loadtest {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;
using time_point = steady::time_point;
using std::chrono::nanoseconds;

constexpr std::size_t read_chunk = 16 * 1024;
// Of a 2xx answer's body, what is kept to look for "submission_id" in (a receipt is ~300 bytes).
constexpr std::size_t max_kept_body = 64 * 1024;
constexpr std::uint64_t answer_body_limit = 8 * 1024 * 1024;
// Beyond the connections: stdio, per thread the epoll, its interrupter and timer descriptors,
// and room for the log, the tokens and catalogue files and --verify's connections.
constexpr std::uint64_t spare_descriptors = 128;
constexpr std::uint64_t descriptors_per_thread = 4;
// The dispatch timer wakes a thread at most this often. A wake-up costs a timer reprogramming and
// a sleep and wake of the thread: measured here (2 vCPUs, a VM), tens of microseconds of system
// time each, so waking for every request of a 40,000 requests/s schedule took most of a core and
// let responses sit unread; requests due within one granularity go out together. Each is still
// measured from its own intended time, so this lateness (at most 100 us, 20-30 us typical) counts
// against the tool, never in its favour.
constexpr nanoseconds dispatch_granularity = std::chrono::microseconds{100};
// From the coordinator's "go" to the first intended send: time for every thread to get it.
constexpr nanoseconds start_lead = std::chrono::milliseconds{5};

// ---- the answer --------------------------------------------------------------------------------

// "120" -> 120 s; an HTTP-date or anything else -> none (the behaviours then back off on their own).
std::optional<std::chrono::seconds> parse_retry_after(beast::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty() || value.size() > 9) return std::nullopt;
    std::int64_t seconds = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        seconds = seconds * 10 + (c - '0');
    }
    return std::chrono::seconds{seconds};
}

// The "submission_id" string of a receipt, found by a search rather than a JSON parse: the
// gateway writes it as a plain string of URL-safe characters.
std::string_view find_submission_id(std::string_view body) {
    constexpr std::string_view key = "\"submission_id\"";
    const auto at = body.find(key);
    if (at == std::string_view::npos) return {};
    auto rest = body.substr(at + key.size());
    while (!rest.empty() &&
           (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\n' || rest.front() == '\r'))
        rest.remove_prefix(1);
    if (rest.empty() || rest.front() != ':') return {};
    rest.remove_prefix(1);
    while (!rest.empty() &&
           (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\n' || rest.front() == '\r'))
        rest.remove_prefix(1);
    if (rest.empty() || rest.front() != '"') return {};
    rest.remove_prefix(1);
    const auto end = rest.find('"');
    if (end == std::string_view::npos) return {};
    return rest.substr(0, end);
}

// Beast's HTTP/1.1 parser, keeping only what the client needs: no field table, no allocation.
class answer_reader final : public http::basic_parser<false> {
public:
    explicit answer_reader(std::string& body) : body_(body) {
        body_.clear();
        eager(true);
        body_limit(answer_body_limit);
    }

    int status = 0;
    std::optional<std::chrono::seconds> retry_after;

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
    void on_response_impl(int code, beast::string_view, int, error_code&) override { status = code; }
    void on_field_impl(http::field name, beast::string_view, beast::string_view value, error_code&) override {
        if (name == http::field::retry_after) retry_after = parse_retry_after(value);
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(beast::string_view data, error_code&) override {
        keep(data);
        return data.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data, error_code&) override {
        keep(data);
        return data.size();
    }
    void on_finish_impl(error_code&) override {}

    void keep(beast::string_view data) {
        if (status < 200 || status >= 300 || body_.size() >= max_kept_body) return;
        body_.append(data.data(), std::min(data.size(), max_kept_body - body_.size()));
    }

    std::string& body_;
};

bool is_2xx(int status) noexcept { return status >= 200 && status < 300; }

// ---- what threads share ------------------------------------------------------------------------

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

struct engine {
    const run_options& options;
    tcp::endpoint endpoint;
    std::string run_id;
    std::vector<client_behaviour> behaviours;  // by submission
    bool keep_steps = false;                   // a steps schedule
    time_point run_start{};                    // set before the first phase is posted

    std::atomic<std::uint32_t> open_connections{0};
    std::atomic<std::uint32_t> max_open_connections{0};

    std::mutex mutex;
    std::condition_variable changed;
    std::vector<worker_report> reports;

    explicit engine(const run_options& o) : options(o) {}

    void note_open(int change) {
        if (change > 0) {
            const auto now_open = open_connections.fetch_add(1, std::memory_order_relaxed) + 1;
            auto seen = max_open_connections.load(std::memory_order_relaxed);
            while (now_open > seen &&
                   !max_open_connections.compare_exchange_weak(seen, now_open, std::memory_order_relaxed)) {
            }
        } else {
            open_connections.fetch_sub(1, std::memory_order_relaxed);
        }
    }
};

// ---- one thread --------------------------------------------------------------------------------

class worker {
public:
    worker(engine& shared, unsigned index, std::uint32_t connections)
        : e_(shared),
          o_(shared.options),
          index_(index),
          threads_(o_.threads),
          dispatch_timer_(ctx_),
          tick_timer_(ctx_),
          random_(o_.seed ^ (0x9e3779b97f4a7c15ULL * (index + 1))) {
        connections_.reserve(connections);
        for (std::uint32_t k = 0; k < connections; ++k) connections_.push_back(std::make_unique<connection>(ctx_));
        tick_period_ =
            std::clamp<nanoseconds>(o_.timeout / 10, std::chrono::milliseconds{10},
                                    std::min<nanoseconds>(o_.progress_period, std::chrono::milliseconds{250}));
    }

    // The thread's body.
    void run() {
        auto guard = net::make_work_guard(ctx_);
        try {
            ctx_.run();
        } catch (...) {
            std::lock_guard lock(e_.mutex);
            e_.reports[index_].failure = std::current_exception();
            e_.changed.notify_all();
        }
    }

    // From the coordinator.
    void post_open() {
        net::post(ctx_, [this] { open_all(); });
    }
    void post_phase(std::uint64_t first, std::uint64_t end, time_point origin, std::size_t step) {
        net::post(ctx_, [=, this] { begin_phase(first, end, origin, step); });
    }
    void post_shutdown() {
        net::post(ctx_, [this] {
            for (auto& c : connections_) close(*c);
            dispatch_timer_.cancel();
            tick_timer_.cancel();
            ctx_.stop();
        });
    }

    // After the thread ended: the results.
    struct totals {
        std::uint64_t offered = 0, sent = 0, answered = 0, accepted = 0, retries = 0;
        std::array<std::uint64_t, 1000> statuses{};
        latency_histogram latency, accepted_latency, time_to_receipt;
        std::vector<interval_stats> intervals;
        std::vector<std::unique_ptr<step_stats>> steps;
        std::deque<submission_record> records;  // local index: submission i / threads (a deque: no moves as it grows)
        time_point last_answer{};
    };
    totals& results() { return totals_; }

private:
    // A request due or in flight: a first attempt, a double-submit's second copy, or a retry.
    struct pending {
        time_point intended{};
        std::uint64_t order = 0;  // FIFO among equal intended times
        std::uint64_t submission = 0;
        std::uint8_t copy = 0;
        std::uint16_t attempt = 1;  // of this copy, 1-based
        bool retry = false;
    };
    struct later_first {  // std::push_heap's "less": the heap's front is the earliest
        bool operator()(const pending& a, const pending& b) const noexcept {
            return a.intended != b.intended ? a.intended > b.intended : a.order > b.order;
        }
    };

    struct submission_state {
        std::string request;  // the bytes every copy and retry sends (from offset); freed when the last copy ends
        std::size_t offset = 0;
        time_point first_intended{};
        std::uint8_t copies_left = 0;
        bool accepted = false;
    };

    struct connection {
        explicit connection(net::io_context& ctx) : socket(ctx) {}
        tcp::socket socket;
        beast::flat_buffer buffer;
        std::optional<answer_reader> reader;
        std::string body;  // of a 2xx answer
        pending current{};
        time_point deadline{};
        std::uint64_t generation = 0;
        std::uint32_t served = 0;        // answers read on the current socket
        connection* previous = nullptr;  // in idle_ or closed_
        connection* next = nullptr;
        bool listed = false;
        bool open = false;
        bool connecting = false;
        bool busy = false;
        bool answer_started = false;
        bool resent = false;
    };

    // ---- connection lists: intrusive FIFOs, O(1) push, pop and remove ------------------------
    //
    // A request takes the connection that has been free the longest (round robin), so that all C
    // connections carry traffic, as practices' own connections would, and none sits idle long
    // enough for the server's idle timeout while others do the work.

    struct connection_list {
        connection* head = nullptr;
        connection* tail = nullptr;
        std::size_t size = 0;
        bool empty() const noexcept { return size == 0; }
    };

    static void list_add(connection_list& list, connection& c) {
        c.previous = list.tail;
        c.next = nullptr;
        (list.tail ? list.tail->next : list.head) = &c;
        list.tail = &c;
        c.listed = true;
        ++list.size;
    }
    static void list_remove(connection_list& list, connection& c) {
        (c.previous ? c.previous->next : list.head) = c.next;
        (c.next ? c.next->previous : list.tail) = c.previous;
        c.previous = c.next = nullptr;
        c.listed = false;
        --list.size;
    }
    static connection& list_take(connection_list& list) {
        connection& c = *list.head;
        list_remove(list, c);
        return c;
    }

    // ---- opening the connections before the run ------------------------------------------------

    void open_all() {
        arm_tick();
        preopen_next_ = 0;
        preopen_running_ = 0;
        if (connections_.empty()) {
            report_opened();
            return;
        }
        while (preopen_running_ < o_.connect_concurrency && preopen_next_ < connections_.size()) {
            ++preopen_running_;
            connect(*connections_[preopen_next_++]);
        }
    }

    void preopen_finished(connection& c, const error_code& ec) {
        if (ec) {
            if (first_connect_error_.empty()) first_connect_error_ = ec.message();
            list_add(closed_, c);
        } else {
            list_add(idle_, c);
        }
        --preopen_running_;
        if (preopen_next_ < connections_.size()) {
            ++preopen_running_;
            connect(*connections_[preopen_next_++]);
        } else if (preopen_running_ == 0) {
            report_opened();
        }
    }

    void report_opened() {
        std::lock_guard lock(e_.mutex);
        auto& report = e_.reports[index_];
        report.opened = true;
        report.open_connections = static_cast<std::uint32_t>(idle_.size);
        report.first_connect_error = first_connect_error_;
        e_.changed.notify_all();
    }

    // ---- sockets -------------------------------------------------------------------------------

    void connect(connection& c) {
        c.connecting = true;
        const auto generation = ++c.generation;
        if (!c.busy) c.deadline = steady::now() + o_.timeout;
        c.socket.async_connect(e_.endpoint, [this, &c, generation](error_code ec) {
            if (generation != c.generation) return;  // timed out and closed meanwhile
            c.connecting = false;
            if (!ec) {
                c.open = true;
                c.served = 0;
                e_.note_open(+1);
                error_code ignored;
                c.socket.set_option(tcp::no_delay(true), ignored);
                start_read(c);
            } else {
                close(c);
            }
            if (!c.busy) {
                preopen_finished(c, ec);
            } else if (ec) {
                finish(c, std::nullopt, std::nullopt);
            } else {
                write(c);
            }
        });
    }

    void close(connection& c) {
        ++c.generation;
        if (c.open) e_.note_open(-1);
        c.open = false;
        c.connecting = false;
        error_code ignored;
        c.socket.close(ignored);
        c.buffer.clear();
    }

    void start_read(connection& c) {
        const auto generation = c.generation;
        c.socket.async_read_some(c.buffer.prepare(read_chunk), [this, &c, generation](error_code ec, std::size_t n) {
            if (generation != c.generation) return;
            if (ec) {
                lost(c, ec);
                return;
            }
            c.buffer.commit(n);
            on_read(c, generation);
        });
    }

    void write(connection& c) {
        const auto& state = states_[c.current.submission / threads_];
        c.reader.emplace(c.body);
        c.answer_started = false;
        ++totals_.sent;
        ++interval_at(steady::now()).sent;
        const auto generation = c.generation;
        const auto bytes = net::buffer(state.request.data() + state.offset, state.request.size() - state.offset);
        net::async_write(c.socket, bytes, [this, &c, generation](error_code ec, std::size_t) {
            if (generation != c.generation || !ec) return;
            lost(c, ec);
        });
    }

    void on_read(connection& c, std::uint64_t generation) {
        if (!c.busy) {  // bytes nobody asked for: not a server we can talk to on this socket
            list_remove(idle_, c);
            close(c);
            list_add(closed_, c);
            return;
        }
        c.answer_started = true;
        error_code ec;
        while (c.buffer.size() > 0 && !c.reader->is_done()) {
            const auto used = c.reader->put(c.buffer.data(), ec);
            c.buffer.consume(used);
            if (ec == http::error::need_more) {
                ec = {};
                break;
            }
            if (ec) break;
        }
        if (ec) {  // not HTTP: a transport error
            close(c);
            finish(c, std::nullopt, std::nullopt);
            return;
        }
        if (!c.reader->is_done()) {
            start_read(c);
            return;
        }
        ++c.served;
        const bool keep = c.reader->keep_alive() && c.buffer.size() == 0;
        if (!keep) close(c);
        finish(c, c.reader->status, c.reader->retry_after);
        if (generation == c.generation && c.open) start_read(c);
    }

    // The socket failed or the server closed it.
    void lost(connection& c, const error_code& ec) {
        if (!c.busy) {  // idle: the server closed it; reopened when a request needs it
            if (c.listed) list_remove(idle_, c);
            close(c);
            list_add(closed_, c);
            return;
        }
        if (ec == net::error::eof && c.answer_started && c.reader && c.reader->is_header_done()) {
            error_code eof_ec;  // an answer whose body ends with the connection
            c.reader->put_eof(eof_ec);
            if (!eof_ec && c.reader->is_done()) {
                close(c);
                finish(c, c.reader->status, c.reader->retry_after);
                return;
            }
        }
        close(c);
        if (!c.answer_started && c.served > 0 && !c.resent) {
            // A kept-alive connection the server closed as we wrote: once more on a fresh one.
            c.resent = true;
            ++totals_.records[c.current.submission / threads_].requests;
            connect(c);
            return;
        }
        finish(c, std::nullopt, std::nullopt);
    }

    // ---- the schedule --------------------------------------------------------------------------

    void begin_phase(std::uint64_t first, std::uint64_t end, time_point origin, std::size_t step) {
        origin_ = origin;
        phase_step_ = step;
        next_arrival_ = first + (index_ + threads_ - first % threads_) % threads_;
        phase_end_ = end;
        if (next_arrival_ < phase_end_) next_arrival_time_ = origin_ + o_.plan.send_time(next_arrival_);
        phase_active_ = true;
        if (stopping_) next_arrival_ = phase_end_;
        pump();
        check_phase_done();
    }

    // While a connection is free and a request is due, start it; then wait for the next due time.
    void pump() {
        const auto now = steady::now();
        pending due;
        while ((!idle_.empty() || !closed_.empty()) && take_due(now, due)) {
            connection& c = !idle_.empty() ? list_take(idle_) : list_take(closed_);
            start(c, due, now);
        }
        arm_dispatch(now);
    }

    // The due request with the earliest intended time: the next arrival or the heap's front.
    bool take_due(time_point now, pending& out) {
        const bool arrival_due = next_arrival_ < phase_end_ && next_arrival_time_ <= now;
        const bool queued_due = !queue_.empty() && queue_.front().intended <= now;
        if (queued_due && (!arrival_due || queue_.front().intended <= next_arrival_time_)) {
            std::pop_heap(queue_.begin(), queue_.end(), later_first{});
            out = queue_.back();
            queue_.pop_back();
            return true;
        }
        if (!arrival_due) return false;
        out = begin_submission(next_arrival_, next_arrival_time_);
        next_arrival_ += threads_;
        if (next_arrival_ < phase_end_) next_arrival_time_ = origin_ + o_.plan.send_time(next_arrival_);
        return true;
    }

    void arm_dispatch(time_point now) {
        auto next = time_point::max();
        if (next_arrival_ < phase_end_) next = next_arrival_time_;
        if (!queue_.empty()) next = std::min(next, queue_.front().intended);
        // Nothing to wait for, or something is due but no connection is free: a finishing
        // request pumps again.
        if (next == time_point::max() || next <= now) return;
        // At most one wake-up per dispatch_granularity (see the constant).
        const auto wake = std::max(next, last_wake_ + dispatch_granularity);
        if (timer_armed_ && timer_at_ <= wake) return;  // an earlier wake-up is on its way
        timer_armed_ = true;
        timer_at_ = wake;
        dispatch_timer_.expires_at(wake);
        dispatch_timer_.async_wait([this](error_code ec) {
            if (ec) return;  // re-armed for another time
            timer_armed_ = false;
            last_wake_ = steady::now();
            pump();
        });
    }

    // Arrival i becomes submission i: its record, its request bytes, its copies.
    pending begin_submission(std::uint64_t i, time_point intended) {
        const auto [practice_index, n] = arrival_of(i, o_.practices.size());
        const auto& who = o_.practices[practice_index];
        const auto behaviour = e_.behaviours[i];

        auto& record = totals_.records.emplace_back();  // local index i / threads_: arrivals come in order
        record.practice = who.practice;
        record.idempotency_key = idempotency_key(e_.run_id, who.practice, n);
        record.behaviour = behaviour;

        auto& state = states_.emplace_back();
        state.first_intended = intended;
        state.copies_left = static_cast<std::uint8_t>(initial_copies(behaviour));
        build_request(state, who, record.idempotency_key, n);

        ++totals_.offered;
        ++interval_at(intended).offered;
        if (auto* step = step_of(i)) ++step->offered;

        if (state.copies_left == 2) push_queue({intended, order_++, i, 1, 1, false});
        return {intended, order_++, i, 0, 1, false};
    }

    // The request bytes in one buffer with one copy of the body: room is left for the head, the
    // body is generated straight after it, then the head (whose Content-Length needed the body's
    // size) is written right-aligned into the room. The request starts at `offset`.
    void build_request(submission_state& state, const practice_token& who, std::string_view key, std::uint64_t n) {
        constexpr std::string_view line = "POST /v1/submissions HTTP/1.1\r\nHost: ";
        constexpr std::string_view agent = "\r\nUser-Agent: sluice-loadtest\r\nAuthorization: Bearer ";
        constexpr std::string_view type = "\r\nContent-Type: application/json\r\nIdempotency-Key: ";
        constexpr std::string_view content_length = "\r\nContent-Length: ";
        constexpr std::string_view end_of_head = "\r\n\r\n";
        constexpr std::size_t max_digits = 20;
        const std::size_t room = line.size() + o_.target.host_header.size() + agent.size() + who.token.size() +
                                 type.size() + key.size() + content_length.size() + max_digits + end_of_head.size();
        auto& out = state.request;
        out.reserve(room + largest_body_);
        out.append(room, ' ');
        o_.body(out, who.practice, n);
        const auto body_size = out.size() - room;
        largest_body_ = std::max(largest_body_, body_size);

        char digits[max_digits];
        const auto digits_end = std::to_chars(digits, digits + max_digits, body_size).ptr;
        const auto head_size = room - max_digits + static_cast<std::size_t>(digits_end - digits);
        state.offset = room - head_size;
        char* at = out.data() + state.offset;
        const auto put = [&at](std::string_view part) {
            std::memcpy(at, part.data(), part.size());
            at += part.size();
        };
        put(line);
        put(o_.target.host_header);
        put(agent);
        put(who.token);
        put(type);
        put(key);
        put(content_length);
        put(std::string_view(digits, static_cast<std::size_t>(digits_end - digits)));
        put(end_of_head);
    }

    void push_queue(const pending& p) {
        queue_.push_back(p);
        std::push_heap(queue_.begin(), queue_.end(), later_first{});
    }

    void start(connection& c, const pending& request, time_point now) {
        c.busy = true;
        c.current = request;
        c.resent = false;
        c.deadline = now + o_.timeout;
        ++in_flight_;
        ++totals_.records[request.submission / threads_].requests;
        if (request.retry) ++totals_.retries;
        if (c.open) {
            write(c);
        } else {
            connect(c);
        }
    }

    // ---- an answer (or its absence) ----------------------------------------------------------

    // `status` none: a transport error. The connection is closed already if it cannot be reused.
    void finish(connection& c, std::optional<int> status, std::optional<std::chrono::seconds> retry_after) {
        const auto now = steady::now();
        const pending request = c.current;
        c.busy = false;
        --in_flight_;
        std::string_view submission_id;
        if (status && is_2xx(*status)) submission_id = find_submission_id(c.body);
        record(request, status, retry_after, submission_id, now);
        list_add(c.open ? idle_ : closed_, c);
        pump();
        check_phase_done();
    }

    void record(const pending& request, std::optional<int> status, std::optional<std::chrono::seconds> retry_after,
                std::string_view submission_id, time_point now) {
        const auto latency = now - request.intended;
        const int code = status.value_or(transport_error_status);
        auto& interval = interval_at(now);
        ++totals_.statuses[static_cast<std::size_t>(std::clamp(code, 0, 999))];
        ++interval.statuses[code];
        step_stats* step = step_of(request.submission);
        const bool accepted = status && is_2xx(*status);
        if (status) {
            ++totals_.answered;
            totals_.latency.record(latency);
            interval.latency.record(latency);
            if (step) ++step->answered;
            if (accepted) {
                ++totals_.accepted;
                totals_.accepted_latency.record(latency);
                ++interval.accepted;
                if (step) {
                    ++step->accepted;
                    step->accepted_latency.record(latency);
                }
            }
        }
        if (step && !accepted) ++step->errors;
        totals_.last_answer = now;

        const auto local = request.submission / threads_;
        auto& record = totals_.records[local];
        auto& state = states_[local];
        record.last_status = code;
        if (accepted) {
            if (!submission_id.empty() && std::find(record.submission_ids.begin(), record.submission_ids.end(),
                                                    submission_id) == record.submission_ids.end())
                record.submission_ids.emplace_back(submission_id);
            if (!state.accepted) {
                state.accepted = true;
                record.time_to_receipt = now - state.first_intended;
                totals_.time_to_receipt.record(*record.time_to_receipt);
            }
        }

        const auto decision =
            next_action(record.behaviour, attempt_outcome{status, retry_after}, request.attempt, o_.limits, random_());
        if (decision.step == next_step::retry && !stopping_) {
            push_queue({now + decision.delay, order_++, request.submission, request.copy,
                        static_cast<std::uint16_t>(request.attempt + 1), true});
            return;
        }
        if (--state.copies_left == 0) {
            record.gave_up = !state.accepted && decision.step == next_step::give_up;
            std::string().swap(state.request);  // the bytes are no longer needed (a move-assign of an
                                                // empty string would keep the capacity)
        }
    }

    interval_stats& interval_at(time_point when) {
        const auto since = when - e_.run_start;
        const auto index = since.count() <= 0 ? 0 : static_cast<std::size_t>(since / o_.interval_length);
        if (index >= totals_.intervals.size()) totals_.intervals.resize(index + 1);
        return totals_.intervals[index];
    }

    step_stats* step_of(std::uint64_t submission) {
        if (!e_.keep_steps) return nullptr;
        const auto index = o_.find_capacity ? phase_step_ : o_.plan.step_index(submission);
        if (index >= totals_.steps.size()) totals_.steps.resize(index + 1);
        auto& step = totals_.steps[index];
        if (!step) step = std::make_unique<step_stats>();
        return step.get();
    }

    void check_phase_done() {
        if (!phase_active_ || next_arrival_ < phase_end_ || !queue_.empty() || in_flight_ > 0) return;
        phase_active_ = false;
        std::lock_guard lock(e_.mutex);
        auto& report = e_.reports[index_];
        report.phase_done = true;
        if (o_.find_capacity) {
            report.step.reset();
            if (phase_step_ < totals_.steps.size() && totals_.steps[phase_step_])
                report.step = *totals_.steps[phase_step_];
        }
        e_.changed.notify_all();
    }

    // ---- deadlines, stop, progress -------------------------------------------------------------

    void arm_tick() {
        tick_timer_.expires_after(tick_period_);
        tick_timer_.async_wait([this](error_code ec) {
            if (ec) return;
            on_tick();
            arm_tick();
        });
    }

    void on_tick() {
        const auto now = steady::now();
        for (auto& owned : connections_) {
            connection& c = *owned;
            if (!(c.busy || c.connecting) || now < c.deadline) continue;
            close(c);
            if (c.busy) {
                finish(c, std::nullopt, std::nullopt);
            } else {
                preopen_finished(c, net::error::timed_out);
            }
        }
        if (o_.stop && o_.stop->load(std::memory_order_relaxed)) stop_sending();
        publish(now);
    }

    // Nothing new: the rest of the schedule is skipped and pending retries are dropped; what is
    // in flight finishes (or times out), then the phase is done.
    void stop_sending() {
        stopping_ = true;
        if (!phase_active_) return;
        next_arrival_ = phase_end_;
        for (const auto& dropped : queue_) --states_[dropped.submission / threads_].copies_left;
        queue_.clear();
        check_phase_done();
    }

    void publish(time_point now) {
        std::lock_guard lock(e_.mutex);
        auto& snapshot = e_.reports[index_].snapshot;
        snapshot.elapsed = now - e_.run_start;
        snapshot.offered = totals_.offered;
        snapshot.sent = totals_.sent;
        snapshot.answered = totals_.answered;
        snapshot.accepted = totals_.accepted;
        snapshot.statuses.clear();
        for (std::size_t code = 0; code < totals_.statuses.size(); ++code)
            if (totals_.statuses[code] != 0) snapshot.statuses[static_cast<int>(code)] = totals_.statuses[code];
        snapshot.latency = totals_.latency;
    }

    engine& e_;
    const run_options& o_;
    const unsigned index_;
    const std::uint64_t threads_;
    // One thread runs it, and other threads only post to it: the reactor needs no locking.
    net::io_context ctx_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    net::steady_timer dispatch_timer_;
    net::steady_timer tick_timer_;
    nanoseconds tick_period_{};
    std::mt19937_64 random_;

    std::vector<std::unique_ptr<connection>> connections_;
    connection_list idle_;    // free, open
    connection_list closed_;  // free, closed
    std::size_t preopen_next_ = 0, preopen_running_ = 0;
    std::string first_connect_error_;

    // The current phase: arrivals next_arrival_, next_arrival_ + threads_, ... below phase_end_.
    time_point origin_{};
    std::uint64_t next_arrival_ = 0, phase_end_ = 0;
    time_point next_arrival_time_{};
    std::size_t phase_step_ = 0;
    bool phase_active_ = false;
    bool stopping_ = false;
    std::vector<pending> queue_;  // copies and retries, a heap by intended time
    std::uint64_t order_ = 0;
    std::uint64_t in_flight_ = 0;
    bool timer_armed_ = false;
    time_point timer_at_{};
    time_point last_wake_{};

    // By local index, as totals_.records. A deque: a request's bytes never move while written.
    std::deque<submission_state> states_;
    std::size_t largest_body_ = 0;  // so that a request's buffer is allocated once
    totals totals_;
};

// ---- merging -------------------------------------------------------------------------------

void merge_interval(interval_stats& into, const interval_stats& from) {
    into.offered += from.offered;
    into.sent += from.sent;
    into.accepted += from.accepted;
    for (const auto& [code, count] : from.statuses) into.statuses[code] += count;
    into.latency.merge(from.latency);
}

void merge_step(step_stats& into, const step_stats& from) {
    into.offered += from.offered;
    into.answered += from.answered;
    into.accepted += from.accepted;
    into.errors += from.errors;
    into.accepted_latency.merge(from.accepted_latency);
}

// The first arrival of each step of a steps schedule, and the count at the end.
std::vector<std::uint64_t> step_starts(const schedule& plan) {
    std::vector<std::uint64_t> starts;
    for (std::size_t step = 0; step < plan.step_count(); ++step) {
        std::uint64_t low = starts.empty() ? 0 : starts.back(), high = plan.count();
        while (low < high) {  // the first i with step_index(i) >= step
            const auto middle = low + (high - low) / 2;
            if (plan.step_index(middle) >= step) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        starts.push_back(low);
    }
    starts.push_back(plan.count());
    return starts;
}

bool held(const step_stats& step, double slo_p99_ms) {
    if (step.errors > 0 || step.accepted == 0) return false;
    const double p99_ms = static_cast<double>(step.accepted_latency.percentile(99).count()) / 1e6;
    return p99_ms <= slo_p99_ms;
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

// ---- pure helpers --------------------------------------------------------------------------

http_target parse_target(std::string_view url) {
    const auto fail = [&](const std::string& why) -> http_target {
        throw std::invalid_argument("\"" + std::string(url) + "\": " + why);
    };
    const auto lower = to_lower(url);
    if (lower.starts_with("https://"))
        return fail("https is not supported: sluice-loadtest speaks plain http (http://HOST:PORT)");
    if (!lower.starts_with("http://")) return fail("expected http://HOST:PORT, such as http://127.0.0.1:8080");
    auto rest = url.substr(7);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos || rest.find('?') != std::string_view::npos)
        return fail("expected no path: requests go to /v1/submissions of the target");

    std::string_view host, port_text;
    bool has_port = false;
    if (rest.starts_with("[")) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return fail("an IPv6 address needs its closing ']'");
        host = rest.substr(1, close - 1);
        const auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail("expected :PORT after the address");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = rest.find(':');
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = rest.substr(colon + 1);
        }
    }
    if (host.empty()) return fail("expected a host");

    http_target target;
    if (to_lower(host) == "localhost") {
        target.address = "127.0.0.1";
    } else {
        error_code ec;
        const auto address = net::ip::make_address(std::string(host), ec);
        if (ec)
            return fail("the host must be an IP address or localhost (no name lookups), got \"" + std::string(host) +
                        "\"");
        target.address = address.to_string();
    }
    if (has_port) {
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 ||
            port > 65535)
            return fail("expected a port from 1 to 65535");
        target.port = static_cast<std::uint16_t>(port);
    }
    const bool v6 = host.find(':') != std::string_view::npos;
    const std::string shown_host = v6 ? "[" + std::string(host) + "]" : std::string(host);
    target.host_header = shown_host + ":" + std::to_string(target.port);
    target.url = "http://" + target.host_header;
    return target;
}

std::string idempotency_key(std::string_view run_id, std::string_view practice, std::uint64_t n) {
    std::string key;
    key.reserve(run_id.size() + practice.size() + 24);
    key += run_id;
    key += '-';
    key += practice;
    key += '-';
    key += std::to_string(n);
    return key;
}

std::string new_run_id() {
    std::random_device device;
    const std::uint64_t value = (std::uint64_t{device()} << 32) ^ device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

void check_submissions_fit(const schedule& plan, std::size_t practices, std::uint64_t submissions_per_practice) {
    if (practices == 0) throw std::invalid_argument("no practices: the tokens file is empty");
    if (submissions_per_practice == 0) throw std::invalid_argument("--submissions-per-practice must be at least 1");
    if (const auto* surge = std::get_if<surge_schedule>(&plan.kind()); surge && surge->practices > practices)
        throw std::invalid_argument(
            "the surge has practices=" + std::to_string(surge->practices) + " but the tokens file holds " +
            std::to_string(practices) +
            " practices: lower practices= or generate more (sluice-loadtest generate --practices " +
            std::to_string(surge->practices) + " ...)");
    const auto count = plan.count();
    const auto fits = submissions_per_practice >= (count + practices - 1) / practices;
    if (!fits) {
        const auto needed_per_practice = (count + practices - 1) / practices;
        throw std::invalid_argument(
            "the schedule sends " + std::to_string(count) + " submissions but " + std::to_string(practices) +
            " practices with --submissions-per-practice " + std::to_string(submissions_per_practice) +
            " sign off at most " + std::to_string(practices * submissions_per_practice) +
            ": pass --submissions-per-practice " + std::to_string(needed_per_practice) +
            ", or a tokens file with at least " +
            std::to_string((count + submissions_per_practice - 1) / submissions_per_practice) + " practices");
    }
}

std::uint64_t ensure_descriptors(std::uint32_t connections, std::uint32_t threads) {
    const std::uint64_t needed = std::uint64_t{connections} + descriptors_per_thread * threads + spare_descriptors;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) throw std::runtime_error("getrlimit(RLIMIT_NOFILE) failed");
    if (limit.rlim_cur != RLIM_INFINITY && (limit.rlim_max == RLIM_INFINITY || limit.rlim_cur < limit.rlim_max)) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur)
        throw std::invalid_argument(
            "--connections " + std::to_string(connections) + " needs " + std::to_string(needed) +
            " file descriptors, but the limit is " + std::to_string(limit.rlim_cur) +
            " (the hard limit, ulimit -Hn): lower --connections to at most " +
            std::to_string(limit.rlim_cur > needed - connections ? limit.rlim_cur - (needed - connections) : 0) +
            " or raise the hard limit");
    return needed;
}

// ---- the coordinator -----------------------------------------------------------------------

run_result run(const run_options& options) {
    if (options.practices.empty()) throw std::invalid_argument("no practices to send for");
    if (!options.body) throw std::invalid_argument("no body source");
    if (options.connections == 0) throw std::invalid_argument("--connections must be at least 1");
    if (options.threads == 0) throw std::invalid_argument("--threads must be at least 1");
    if (options.threads > options.connections)
        throw std::invalid_argument("--threads " + std::to_string(options.threads) + " is more than --connections " +
                                    std::to_string(options.connections) + ": each thread needs a connection");
    if (options.timeout <= nanoseconds{0}) throw std::invalid_argument("--timeout must be positive");
    if (options.interval_length <= nanoseconds{0}) throw std::invalid_argument("the interval length must be positive");
    const bool steps = std::holds_alternative<steps_schedule>(options.plan.kind());
    if (options.find_capacity && !steps)
        throw std::invalid_argument(
            "--find-capacity needs a steps: schedule (steps:start=...,step=...,every=...,max=...)");
    if (options.find_capacity && !(options.slo_p99_ms > 0))
        throw std::invalid_argument("--find-capacity needs --slo-p99-ms N (a positive number of milliseconds)");
    check_submissions_fit(options.plan, options.practices.size(), options.submissions_per_practice);
    ensure_descriptors(options.connections, options.threads);

    engine shared(options);
    {
        error_code ec;
        const auto address = net::ip::make_address(options.target.address, ec);
        if (ec) throw std::invalid_argument("target address \"" + options.target.address + "\": " + ec.message());
        shared.endpoint = tcp::endpoint(address, options.target.port);
    }
    shared.run_id = options.run_id.empty() ? new_run_id() : options.run_id;
    shared.behaviours = assign_behaviours(options.mix, options.seed, options.plan.count());
    shared.keep_steps = steps;
    shared.reports.resize(options.threads);

    std::vector<std::unique_ptr<worker>> workers;
    for (std::uint32_t k = 0; k < options.threads; ++k) {
        const auto share = options.connections / options.threads + (k < options.connections % options.threads ? 1 : 0);
        workers.push_back(std::make_unique<worker>(shared, k, share));
    }
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
    bool stopped = false;
    const auto stop_threads = [&] {
        if (std::exchange(stopped, true)) return;
        for (auto& w : workers) w->post_shutdown();
        for (auto& t : threads) t.join();
    };
    struct joiner {  // whatever leaves this function, the threads are stopped and joined first
        const decltype(stop_threads)& stop;
        ~joiner() { stop(); }
    } join_on_exit{stop_threads};

    // Waits until every report says `done`, feeding progress meanwhile; rethrows a thread's failure.
    const auto wait_for = [&](auto done, bool with_progress) {
        std::unique_lock lock(shared.mutex);
        for (;;) {
            for (auto& report : shared.reports)
                if (report.failure) {
                    const auto failure = report.failure;
                    lock.unlock();
                    stop_threads();
                    std::rethrow_exception(failure);
                }
            if (std::all_of(shared.reports.begin(), shared.reports.end(), done)) return;
            shared.changed.wait_for(lock, options.progress_period);
            if (with_progress && options.on_progress) {
                progress_snapshot merged;
                for (const auto& report : shared.reports) {
                    merged.offered += report.snapshot.offered;
                    merged.sent += report.snapshot.sent;
                    merged.answered += report.snapshot.answered;
                    merged.accepted += report.snapshot.accepted;
                    for (const auto& [code, count] : report.snapshot.statuses) merged.statuses[code] += count;
                    merged.latency.merge(report.snapshot.latency);
                }
                merged.elapsed = steady::now() - shared.run_start;
                lock.unlock();
                options.on_progress(merged);
                lock.lock();
            }
        }
    };

    // Every connection first.
    for (auto& w : workers) w->post_open();
    wait_for([](const worker_report& r) { return r.opened; }, false);
    std::uint32_t opened = 0;
    std::string first_error;
    for (const auto& report : shared.reports) {
        opened += report.open_connections;
        if (first_error.empty()) first_error = report.first_connect_error;
    }
    if (opened == 0) {
        stop_threads();
        throw connect_error("cannot connect to " + options.target.url + ": " + first_error);
    }
    if (opened < options.connections && options.on_note)
        options.on_note("opened " + std::to_string(opened) + " of " + std::to_string(options.connections) +
                        " connections (" + first_error + "); the rest are retried when a request needs them");

    run_result result;
    result.target = options.target.url;
    result.schedule_spec = options.plan.spec();
    result.behaviour_spec = format_behaviour_mix(options.mix);
    result.practices = options.practices.size();
    result.connections = options.connections;
    result.threads = options.threads;
    result.interval_length = options.interval_length;
    result.started_at = config::rfc3339_millis(std::chrono::system_clock::now());
    {
        std::lock_guard lock(shared.mutex);  // the workers' progress ticks (publish) already read it
        shared.run_start = steady::now() + start_lead;
    }

    const auto run_phase = [&](std::uint64_t first, std::uint64_t end, time_point origin, std::size_t step) {
        {
            std::lock_guard lock(shared.mutex);
            for (auto& report : shared.reports) report.phase_done = false;
        }
        for (auto& w : workers) w->post_phase(first, end, origin, step);
        wait_for([](const worker_report& r) { return r.phase_done; }, true);
    };

    std::vector<bool> step_held;
    if (options.find_capacity) {
        result.slo_p99_ms = options.slo_p99_ms;
        const auto starts = step_starts(options.plan);
        for (std::size_t step = 0; step + 1 < starts.size(); ++step) {
            if (starts[step] == starts[step + 1]) continue;  // a step too short to send anything
            const auto origin =
                (step == 0 ? shared.run_start : steady::now() + start_lead) - options.plan.send_time(starts[step]);
            run_phase(starts[step], starts[step + 1], origin, step);
            step_stats judged;
            {
                std::lock_guard lock(shared.mutex);
                for (const auto& report : shared.reports)
                    if (report.step) merge_step(judged, *report.step);
            }
            const bool ok = held(judged, options.slo_p99_ms);
            step_held.resize(step + 1);
            step_held[step] = ok;
            if (ok) result.capacity_rate = options.plan.step_rate(step);
            if (!ok || (options.stop && options.stop->load())) break;
        }
    } else {
        run_phase(0, options.plan.count(), shared.run_start, 0);
    }
    const auto ended = steady::now();
    stop_threads();

    // Merge the threads' figures.
    std::array<std::uint64_t, 1000> statuses{};
    time_point last_answer{};
    for (auto& w : workers) {
        auto& t = w->results();
        result.offered += t.offered;
        result.sent += t.sent;
        result.answered += t.answered;
        result.accepted += t.accepted;
        result.retries += t.retries;
        for (std::size_t code = 0; code < statuses.size(); ++code) statuses[code] += t.statuses[code];
        result.latency.merge(t.latency);
        result.accepted_latency.merge(t.accepted_latency);
        result.time_to_receipt.merge(t.time_to_receipt);
        if (t.intervals.size() > result.intervals.size()) result.intervals.resize(t.intervals.size());
        for (std::size_t k = 0; k < t.intervals.size(); ++k) merge_interval(result.intervals[k], t.intervals[k]);
        last_answer = std::max(last_answer, t.last_answer);
    }
    for (std::size_t code = 0; code < statuses.size(); ++code)
        if (statuses[code] != 0) result.statuses[static_cast<int>(code)] = statuses[code];
    result.max_open_connections = shared.max_open_connections.load();
    result.elapsed =
        std::max(nanoseconds{0}, (last_answer > shared.run_start ? last_answer : ended) - shared.run_start);

    if (steps) {
        const auto step_total = options.find_capacity ? step_held.size() : options.plan.step_count();
        const auto& kind = std::get<steps_schedule>(options.plan.kind());
        result.steps.resize(step_total);
        for (std::size_t step = 0; step < step_total; ++step) {
            result.steps[step].rate = options.plan.step_rate(step);
            result.steps[step].duration = kind.step_duration;
            if (options.find_capacity) result.steps[step].held = step_held[step];
            for (auto& w : workers) {
                const auto& mine = w->results().steps;
                if (step < mine.size() && mine[step]) merge_step(result.steps[step], *mine[step]);
            }
        }
    }

    // Records in submission order: i lives on thread i % T at local index i / T.
    std::size_t started = 0;
    for (auto& w : workers) started += w->results().records.size();
    result.submissions.reserve(started);
    for (std::uint64_t i = 0; result.submissions.size() < started; ++i) {
        auto& records = workers[i % options.threads]->results().records;
        const auto local = i / options.threads;
        if (local < records.size()) result.submissions.push_back(std::move(records[local]));
    }
    return result;
}

}  // namespace sluice::loadtest
