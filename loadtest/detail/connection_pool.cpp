// See connection_pool.hpp.
#include "loadtest/detail/connection_pool.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

namespace sluice::loadtest::detail {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;

}  // namespace

void open_count::change(int by) noexcept {
    if (by > 0) {
        const auto open = now.fetch_add(1, std::memory_order_relaxed) + 1;
        auto seen = most.load(std::memory_order_relaxed);
        while (open > seen && !most.compare_exchange_weak(seen, open, std::memory_order_relaxed)) {
        }
    } else {
        now.fetch_sub(1, std::memory_order_relaxed);
    }
}

struct connection_pool::connection {
    explicit connection(net::io_context& ctx) : socket(ctx) {}
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    std::optional<answer_reader> reader;
    std::string body;  // of a 2xx answer
    pending current{};
    std::string_view bytes;  // current's request
    steady_time deadline{};
    std::uint64_t generation = 0;
    connection* previous = nullptr;  // in idle_ or closed_
    connection* next = nullptr;
    bool listed = false;
    bool open = false;
    bool connecting = false;
    bool busy = false;
    bool answer_started = false;
    bool reused = false;  // open before the current request
    bool resent = false;
};

connection_pool::connection_pool(net::io_context& ctx, std::uint32_t connections, std::chrono::nanoseconds timeout,
                                 open_count& counter, connection_events& events)
    : timeout_(timeout), counter_(counter), events_(events) {
    connections_.reserve(connections);
    for (std::uint32_t k = 0; k < connections; ++k) connections_.push_back(std::make_unique<connection>(ctx));
}

connection_pool::~connection_pool() = default;

// ---- the free lists ------------------------------------------------------------------------------

void connection_pool::list_add(connection_list& list, connection& c) {
    c.previous = list.tail;
    c.next = nullptr;
    (list.tail ? list.tail->next : list.head) = &c;
    list.tail = &c;
    c.listed = true;
    ++list.size;
}

void connection_pool::list_remove(connection_list& list, connection& c) {
    (c.previous ? c.previous->next : list.head) = c.next;
    (c.next ? c.next->previous : list.tail) = c.previous;
    c.previous = c.next = nullptr;
    c.listed = false;
    --list.size;
}

connection_pool::connection& connection_pool::list_take(connection_list& list) {
    connection& c = *list.head;
    list_remove(list, c);
    return c;
}

// ---- opening the connections before the run --------------------------------------------------------

void connection_pool::open_all(const tcp::endpoint& endpoint, std::uint32_t concurrency) {
    endpoint_ = endpoint;
    concurrency_ = concurrency;
    preopen_next_ = 0;
    preopen_running_ = 0;
    if (connections_.empty()) {
        events_.opened(0, first_connect_error_);
        return;
    }
    while (preopen_running_ < concurrency_ && preopen_next_ < connections_.size()) {
        ++preopen_running_;
        connect(*connections_[preopen_next_++]);
    }
}

void connection_pool::preopen_finished(connection& c, const error_code& ec) {
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
        events_.opened(static_cast<std::uint32_t>(idle_.size), first_connect_error_);
    }
}

// ---- a request -------------------------------------------------------------------------------------

void connection_pool::send(const pending& request, std::string_view bytes, steady_time now) {
    connection& c = !idle_.empty() ? list_take(idle_) : list_take(closed_);
    c.busy = true;
    c.current = request;
    c.bytes = bytes;
    c.reused = c.open;
    c.resent = false;
    c.deadline = now + timeout_;
    if (c.open) {
        write(c);
    } else {
        connect(c);
    }
}

void connection_pool::connect(connection& c) {
    c.connecting = true;
    const auto generation = ++c.generation;
    if (!c.busy) c.deadline = std::chrono::steady_clock::now() + timeout_;
    c.socket.async_connect(endpoint_, [this, &c, generation](error_code ec) {
        if (generation != c.generation) return;  // timed out and closed meanwhile
        c.connecting = false;
        if (!ec) {
            c.open = true;
            counter_.change(+1);
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

void connection_pool::close(connection& c) {
    ++c.generation;
    if (c.open) counter_.change(-1);
    c.open = false;
    c.connecting = false;
    error_code ignored;
    c.socket.close(ignored);
    c.buffer.clear();
}

void connection_pool::start_read(connection& c) {
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

void connection_pool::write(connection& c) {
    c.reader.emplace(c.body);
    c.answer_started = false;
    events_.writing();
    const auto generation = c.generation;
    net::async_write(c.socket, net::buffer(c.bytes.data(), c.bytes.size()),
                     [this, &c, generation](error_code ec, std::size_t) {
                         if (generation != c.generation || !ec) return;
                         lost(c, ec);
                     });
}

void connection_pool::on_read(connection& c, std::uint64_t generation) {
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
    const bool keep = c.reader->keep_alive() && c.buffer.size() == 0;
    if (!keep) close(c);
    finish(c, c.reader->status, c.reader->retry_after);
    if (generation == c.generation && c.open) start_read(c);
}

// The socket failed or the server closed it.
void connection_pool::lost(connection& c, const error_code& ec) {
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
    if (!c.answer_started && c.reused && !c.resent) {
        // A kept-alive connection the server closed as we wrote: once more on a fresh one.
        c.resent = true;
        events_.resending(c.current);
        connect(c);
        return;
    }
    finish(c, std::nullopt, std::nullopt);
}

// `status` none: a transport error. The connection is closed already if it cannot be reused.
void connection_pool::finish(connection& c, std::optional<int> status,
                             std::optional<std::chrono::seconds> retry_after) {
    const pending request = c.current;
    c.busy = false;
    std::string_view submission_id;
    if (status && is_2xx(*status)) submission_id = find_submission_id(c.body);
    events_.answered(request, status, retry_after, submission_id);
    list_add(c.open ? idle_ : closed_, c);
    events_.freed();
}

// ---- deadlines and the end ---------------------------------------------------------------------------

void connection_pool::sweep(steady_time now) {
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
}

void connection_pool::close_all() {
    for (auto& c : connections_) close(*c);
}

}  // namespace sluice::loadtest::detail
