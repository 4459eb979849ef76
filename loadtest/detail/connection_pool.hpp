// Connection handling of one engine thread (client.hpp, "Connections"): C keep-alive connections
// to the target, opened before the run, each carrying one request at a time.
//
// States: free and open (idle), free and closed (closed, reopened when a request takes it), busy
// (a request on it, connecting or exchanging), or opening before the run. The free lists are
// intrusive first-in-first-out lists (O(1) push, pop and remove): a request takes the connection
// free the longest (round robin), so that all C connections carry traffic, as practices' own
// connections would, and none sits idle long enough for the server's idle timeout while others
// do the work.
//
// Every asynchronous handler carries the connection's generation at the time it started; close()
// bumps it, so a handler of a closed socket does nothing. A connection keeps its parser, read
// buffer and 2xx body buffer from request to request: no allocation per request.
//
// Failures: a request that finds its reused connection (open before the request: kept alive, or
// opened before the run and idle since) closed before any byte of the answer came is sent once
// more on a fresh one (the race with a server's idle timeout, which closes the connections opened
// before a long, slow start of a surge all at once; safe, since the Idempotency-Key makes POST
// retry-safe); anything else without a complete answer within the
// timeout (connect included) is a transport error, and its connection is closed. Deadlines are
// checked by sweep(), which the owner calls a few times a second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "loadtest/detail/answer_reader.hpp"
#include "loadtest/detail/dispatch.hpp"

namespace sluice::loadtest::detail {

// Connections open at once, over every thread: now and the most.
struct open_count {
    std::atomic<std::uint32_t> now{0};
    std::atomic<std::uint32_t> most{0};

    void change(int by) noexcept;
};

// What the pool tells the thread that owns it; called on the thread, from the pool's handlers.
class connection_events {
public:
    // The initial connects are all done: `open` of them succeeded; the first error, if any.
    virtual void opened(std::uint32_t open, const std::string& first_error) = 0;
    // A request's bytes are being written.
    virtual void writing() = 0;
    // The request is sent once more on a fresh connection (see the top of this file).
    virtual void resending(const pending& request) = 0;
    // The request's answer: an HTTP status, or none for a transport error; for a 2xx, the
    // receipt's submission_id ("" if none). The connection is not free yet.
    virtual void answered(const pending& request, std::optional<int> status,
                          std::optional<std::chrono::seconds> retry_after, std::string_view submission_id) = 0;
    // A connection became free (after answered()).
    virtual void freed() = 0;

protected:
    ~connection_events() = default;
};

class connection_pool {
public:
    connection_pool(boost::asio::io_context& ctx, std::uint32_t connections, std::chrono::nanoseconds timeout,
                    open_count& counter, connection_events& events);
    ~connection_pool();
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    // Connects every connection, at most `concurrency` at once, then events.opened().
    void open_all(const boost::asio::ip::tcp::endpoint& endpoint, std::uint32_t concurrency);

    bool has_free() const noexcept { return idle_.size + closed_.size > 0; }
    // Sends `bytes` for `request` on the connection free the longest (has_free() must hold),
    // connecting it first if it is closed. `bytes` must stay valid until the request is answered.
    void send(const pending& request, std::string_view bytes, steady_time now);

    // Requests and connects past their deadline: closed, transport errors (or failed connects).
    void sweep(steady_time now);
    void close_all();

private:
    struct connection;
    struct connection_list {
        connection* head = nullptr;
        connection* tail = nullptr;
        std::size_t size = 0;
        bool empty() const noexcept { return size == 0; }
    };

    static void list_add(connection_list& list, connection& c);
    static void list_remove(connection_list& list, connection& c);
    static connection& list_take(connection_list& list);

    void preopen_finished(connection& c, const boost::system::error_code& ec);
    void connect(connection& c);
    void close(connection& c);
    void start_read(connection& c);
    void write(connection& c);
    void on_read(connection& c, std::uint64_t generation);
    void lost(connection& c, const boost::system::error_code& ec);
    void finish(connection& c, std::optional<int> status, std::optional<std::chrono::seconds> retry_after);

    const std::chrono::nanoseconds timeout_;
    open_count& counter_;
    connection_events& events_;
    boost::asio::ip::tcp::endpoint endpoint_;

    std::vector<std::unique_ptr<connection>> connections_;
    connection_list idle_;    // free, open
    connection_list closed_;  // free, closed
    std::uint32_t concurrency_ = 0;
    std::size_t preopen_next_ = 0, preopen_running_ = 0;
    std::string first_connect_error_;
};

}  // namespace sluice::loadtest::detail
