// The Redis client: hiredis 0.14's async API bridged onto Asio (see client.hpp for the contract).
//
// Pieces:
// - client_state owns everything and outlives the client while any handler of ours is queued
//   (handlers hold a shared_ptr to it). ~client runs stop(), which frees the hiredis context, so
//   hiredis never calls back into a state that is gone.
// - connection is one hiredis context plus a stream_descriptor on its fd. The descriptor is only
//   ever async_wait()ed on (hiredis does the I/O) and is release()d, never closed, in hiredis's
//   cleanup hook: hiredis owns the fd and closes it right after. The connection object stays alive
//   while a wait is queued (the wait handler holds a shared_ptr), so aborted waits are harmless.
// - in_flight holds the commands written on a connection, in order. hiredis answers callbacks in
//   the same order (pipelining), and on any disconnect runs every pending callback with a NULL
//   reply: so each callback pops the front of in_flight, and an id check ignores callbacks whose
//   entries were already failed (stopped) before the context was freed.
// - A call that misses its deadline completes with error::timeout and nothing else happens to the
//   connection: its entry stays in in_flight, abandoned, so that its reply, when it comes, is
//   matched in order and discarded. Calls enter in_flight in time order with the same timeout, so
//   the abandoned entries are almost always a prefix of in_flight (`expired` counts them). The
//   exceptions are "early" calls, whose deadline is before that of a call ahead of them: a
//   NOSCRIPT fallback re-sent with its original deadline, and a cluster router's call re-sent
//   after a redirection (detail::client_access). While any is in flight the sweep also looks for
//   them past the prefix, so they too complete at their own deadline.
// - Liveness, not deadlines, decides that a connection is dead: with commands outstanding and no
//   reply at all for options.liveness, or an idle heartbeat PING unanswered as long, the server
//   has stopped answering and the connection is dropped and re-made. A slow server that still
//   answers keeps its connection: dropping it would fail every call on it and make the reconnect
//   compete with the very load that made it slow.
// - One periodic steady_timer (the sweep) judges deadlines, liveness and the heartbeat: no timer
//   per call. Before it judges anything it reads what the server has already sent, so a reply
//   that sits in the socket because our own event loop is busy is never taken for a missing one.
//   The handshake commands are in_flight entries too, queued before the TCP connect completes,
//   with options.liveness as their deadline, so a reconnect is never failed by HTTP work that
//   delays our reading of its replies.
//
// Rules that keep it memory safe:
// - No user code runs inside a hiredis callback: completions and on_connection_change are posted.
// - Nothing frees a hiredis context from inside a hiredis callback: a handshake failure posts the
//   drop. redisAsyncFree is called only from our own handlers (sweep timer, descriptor wait,
//   posted drop) and from stop(), never with hiredis on the stack.
// - Every call into hiredis is made while a shared_ptr to the connection is held on the stack, so
//   the cleanup hook may drop the client's reference (conn_) without destroying the object.
// - The C callbacks are noexcept: an exception (only std::bad_alloc is possible) terminates rather
//   than unwinding through hiredis.
#include "redis/client.hpp"

#include "config/config.hpp"
#include "redis/detail/client_access.hpp"
#include "redis/detail/completion.hpp"
#include "redis/detail/reply_copy.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <random>
#include <stdexcept>
#include <vector>

namespace sluice::redis {

namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

namespace {

using clock = std::chrono::steady_clock;

// The doubling of the backoff stops here; backoff_max caps it long before for any sane setting.
constexpr unsigned max_backoff_doublings = 20;


bool is_noscript(const redisReply& r) {
    return r.type == REDIS_REPLY_ERROR && std::string_view(r.str, r.len).starts_with("NOSCRIPT");
}

void* as_privdata(std::uint64_t id) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)); }

std::uint64_t from_privdata(void* privdata) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(privdata));
}

std::string milliseconds_text(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

}  // namespace

// One command written on a connection and not yet answered.
//
// Not assignable: Boost 1.81's any_completion_handler move assignment recurses without end
// (it wraps `other` as an lvalue); move construction is fine, and is all a deque needs here.
enum class call_kind : std::uint8_t {
    user,       // a caller's call, not completed yet
    abandoned,  // a caller's call completed with error::timeout: its reply is discarded
    handshake,  // SCRIPT LOAD / PING of the connection's handshake
    heartbeat,  // an idle connection's PING
};

struct in_flight_call {
    in_flight_call(call_kind kind, clock::time_point deadline, client::completion_handler handler = {})
        : kind(kind), deadline(deadline), handler(std::move(handler)) {}
    in_flight_call(in_flight_call&&) = default;
    in_flight_call& operator=(in_flight_call&&) = delete;

    call_kind kind;
    std::uint64_t id = 0;  // hiredis's privdata for this command
    clock::time_point deadline;
    clock::time_point written{};  // when hiredis wrote it to the socket (unset until then)
    client::completion_handler handler;  // only for call_kind::user
    bool early = false;  // a user call with a deadline before that of a call ahead of it
    // async_eval only: the script and the EVALSHA command, to re-send as EVAL after NOSCRIPT.
    std::shared_ptr<const script_text> eval_script;
    command evalsha;
};

class client_state;

// One hiredis context and the descriptor Asio waits on. Lives until hiredis's cleanup hook ran
// and no wait of ours is queued any more.
struct connection : std::enable_shared_from_this<connection> {
    connection(client_state& owner, asio::io_context& ioc) : owner(&owner), descriptor(ioc) {}

    void wait(asio::posix::descriptor_base::wait_type direction);

    client_state* owner;                   // outlives `context` (stop() frees the context)
    redisAsyncContext* context = nullptr;  // null once hiredis ran the cleanup hook
    asio::posix::stream_descriptor descriptor;
    bool want_read = false, want_write = false;        // what hiredis asked for (add/del hooks)
    bool read_waiting = false, write_waiting = false;  // an async_wait is queued
    std::deque<in_flight_call> in_flight;
    // The settled prefix of in_flight: entries no caller waits for any more (abandoned calls and
    // heartbeats), which the sweep has passed over; only their replies are still expected.
    std::size_t expired = 0;
    std::size_t handshake_left = 0;       // handshake replies still expected
    bool handshake_failed = false;        // an error reply: the drop is posted
    std::size_t user_calls = 0;           // entries of in_flight that belong to callers (kind user)
    std::size_t early_calls = 0;          // user entries marked early (see the top of this file)
    clock::time_point latest_deadline{};  // the latest deadline of a user call entered so far
    std::size_t unwritten_from = 0;       // entries from here on are still in hiredis's output buffer
    bool ready = false;                   // the handshake was answered
    // Liveness: when the server last showed it is alive (a reply, or the first command sent
    // while nothing was outstanding), and when anything last went either way (heartbeat).
    clock::time_point last_progress = clock::now();
    clock::time_point last_activity = clock::now();
};

class client_state : public std::enable_shared_from_this<client_state> {
public:
    client_state(asio::io_context& ioc, client_options options)
        : ioc_(ioc), options_(std::move(options)), sweep_(ioc), backoff_(ioc), rng_(std::random_device{}()) {}

    const client_options& options() const noexcept { return options_; }
    bool connected() const noexcept { return conn_ && conn_->ready; }
    std::size_t pending() const noexcept { return conn_ ? conn_->user_calls : 0; }
    const std::string& last_error() const noexcept { return last_error_; }
    const client_counters& counters() const noexcept { return counters_; }

    void register_script(const script& s) {
        const bool known = std::any_of(scripts_.begin(), scripts_.end(),
                                       [&](const script& r) { return r.sha1() == s.sha1(); });
        if (!known) scripts_.push_back(s);
    }

    void on_connection_change(std::function<void(bool)> f) { on_change_ = std::move(f); }

    void start() {
        if (started_ && !stopped_) return;
        started_ = true;
        stopped_ = false;
        attempt_ = 0;
        connect();
    }

    void stop() {
        stopped_ = true;
        ++backoff_generation_;
        backoff_.cancel();
        sweep_.cancel();
        if (auto conn = conn_) drop(conn, error::stopped, error::stopped);
    }

    // ~client: stop, and never call the owner's callback again.
    void detach() {
        on_change_ = nullptr;
        stop();
    }

    void submit(command cmd, std::shared_ptr<const script_text> eval_script, client::completion_handler handler) {
        const std::string_view resp = cmd.resp;
        command* evalsha = eval_script ? &cmd : nullptr;
        submit_until(resp, clock::now() + options_.timeout, evalsha, std::move(eval_script), std::move(handler));
    }

    // One call with its deadline. `evalsha` (async_eval only) is kept for the NOSCRIPT fallback;
    // `resp` may point into it (it is written before `evalsha` is moved).
    void submit_until(std::string_view resp, clock::time_point deadline, command* evalsha,
                      std::shared_ptr<const script_text> eval_script, client::completion_handler handler) {
        if (stopped_) return complete(std::move(handler), error::stopped);
        if (!connected()) return complete(std::move(handler), error::not_connected);
        if (conn_->user_calls >= options_.max_pending) return complete(std::move(handler), error::too_many_pending);
        if (deadline <= clock::now()) {
            ++counters_.timeouts;
            return complete(std::move(handler), error::timeout);
        }

        connection& conn = *conn_;
        in_flight_call call(call_kind::user, deadline, std::move(handler));
        if (!send(conn, call, resp)) return complete(std::move(call.handler), error::connection_lost);
        if (eval_script && evalsha != nullptr) {
            call.eval_script = std::move(eval_script);
            call.evalsha = std::move(*evalsha);
        }
        enter_user_call(conn, std::move(call));
        ++conn.user_calls;
    }

    // Appends a user call to in_flight, marking it early if a call ahead of it has a later deadline.
    static void enter_user_call(connection& conn, in_flight_call&& call) {
        call.early = call.deadline < conn.latest_deadline;
        if (call.early) {
            ++conn.early_calls;
        } else {
            conn.latest_deadline = call.deadline;
        }
        conn.in_flight.push_back(std::move(call));
    }

    // Reads until the socket has nothing more: hiredis reads at most 16 KB a call, and the reactor
    // reports readiness on edges only, so replies left in the socket would wait for the next edge.
    // Only on a connected context (hiredis would take a connect in progress for complete).
    void read_all(connection& conn) {
        for (int i = 0; i < 256; ++i) {
            if (conn.context == nullptr || (conn.context->c.flags & REDIS_CONNECTED) == 0) return;
            const auto before = replies_read_;
            redisAsyncHandleRead(conn.context);
            if (replies_read_ == before) return;
        }
    }

    // Services the connection now, from the owner's own handler: replies waiting in the socket
    // are taken in and commands waiting in hiredis's buffer are written, without waiting for the
    // reactor. With thousands of client sockets ready, the reactor reports the Redis socket after
    // all of them; the gateway calls this every few requests so that Redis is never starved.
    void poll() {
        const auto conn = conn_;  // held: reading may end the connection
        if (!conn || conn->context == nullptr || (conn->context->c.flags & REDIS_CONNECTED) == 0) return;
        if (!conn->in_flight.empty()) read_all(*conn);
        if (conn->context != nullptr && conn->want_write) write_out(*conn);
    }

    // Writes what hiredis holds; once its buffer is empty, every command in flight has been
    // written, and those not yet stamped get the time (the start of their round trip).
    void write_out(connection& conn) {
        redisAsyncHandleWrite(conn.context);
        if (conn.context == nullptr || conn.want_write) return;
        const auto now = clock::now();
        for (auto i = conn.unwritten_from; i < conn.in_flight.size(); ++i) conn.in_flight[i].written = now;
        conn.unwritten_from = conn.in_flight.size();
    }

    // hiredis's reply callback: `r` is null when the context is going away.
    void on_reply(connection& conn, const redisReply* r, std::uint64_t id) {
        if (r != nullptr) ++replies_read_;
        auto& queue = conn.in_flight;
        if (queue.empty() || queue.front().id != id) return;  // failed already (stopped, dropped)
        in_flight_call call = std::move(queue.front());
        queue.pop_front();
        if (call.early) {
            call.early = false;
            --conn.early_calls;
        }
        if (conn.expired > 0) --conn.expired;  // the front was in the settled prefix
        if (conn.unwritten_from > 0) --conn.unwritten_from;
        if (r != nullptr) conn.last_progress = conn.last_activity = clock::now();

        switch (call.kind) {
            case call_kind::handshake: return on_handshake_reply(conn, r);
            case call_kind::heartbeat: return;
            case call_kind::abandoned:
                if (r != nullptr) ++counters_.late_replies;
                return;
            case call_kind::user: break;
        }

        if (r != nullptr && call.eval_script && is_noscript(*r)) {
            const auto eval = evalsha_to_eval(call.evalsha, call.eval_script->source);
            call.eval_script.reset();
            call.evalsha = {};
            // Same handler, same deadline, back of the line: usually an early call now (its
            // deadline is before those ahead of it), which the sweep finds past the prefix.
            call.written = {};
            if (send(conn, call, eval)) {
                enter_user_call(conn, std::move(call));
                return;
            }
            r = nullptr;  // the context is closing: no new command can be written
        }
        --conn.user_calls;
        if (r == nullptr) return complete(std::move(call.handler), error::connection_lost);
        auto result = detail::copy_reply(*r);
        if (call.written != clock::time_point{}) result.round_trip = clock::now() - call.written;
        complete(std::move(call.handler), {}, std::move(result));
    }

    // hiredis's cleanup hook: the context is being freed and will close the fd right after.
    void on_cleanup(connection& conn) {
        if (conn.context == nullptr) return;  // idempotent
        if (conn.context->c.err != 0 && !stopped_) last_error_ = conn.context->c.errstr;
        conn.context = nullptr;
        conn.want_read = conn.want_write = false;
        // Aborts our queued waits and deregisters the fd from the reactor; hiredis closes it next.
        if (conn.descriptor.is_open()) conn.descriptor.release();
        // hiredis ran every pending callback before this hook; fail whatever could be left.
        fail_all(conn, error::connection_lost, error::connection_lost);
        if (&conn != conn_.get()) return;
        const bool was_ready = conn.ready;
        conn.ready = false;
        conn_.reset();  // the caller into hiredis holds another reference
        if (was_ready) notify(false);
        if (!stopped_) schedule_reconnect();
    }

    void on_connect_failed(const redisAsyncContext& ac) {
        last_error_ = "connect to " + options_.host + ":" + std::to_string(options_.port) + ": " +
                      (ac.errstr != nullptr ? ac.errstr : ac.c.errstr);
    }

    // A wait on the descriptor failed (not by our own release): treat it as a lost connection.
    void on_wait_failed(connection& conn, error_code ec) {
        last_error_ = "waiting on the Redis socket: " + ec.message();
        drop(conn.shared_from_this(), error::connection_lost, error::connection_lost);
    }

    void on_disconnected(const redisAsyncContext& ac) {
        if (!stopped_) last_error_ = std::string("connection lost: ") + (ac.errstr != nullptr ? ac.errstr : ac.c.errstr);
    }

private:
    void connect();
    void schedule_reconnect();

    // Writes the command into hiredis's output buffer with `call.id` as its callback's privdata.
    // Sending to a connection with nothing outstanding starts its liveness clock.
    bool send(connection& conn, in_flight_call& call, std::string_view resp) {
        if (conn.context == nullptr) return false;
        call.id = next_id_++;
        const auto now = clock::now();
        if (conn.in_flight.empty()) conn.last_progress = now;
        conn.last_activity = now;
        return redisAsyncFormattedCommand(conn.context, &reply_callback, as_privdata(call.id), resp.data(),
                                          resp.size()) == REDIS_OK;
    }

    void send_handshake(connection& conn) {
        std::vector<std::string> commands;
        for (const auto& s : scripts_) {
            const std::string_view args[] = {"SCRIPT", "LOAD", s.source()};
            commands.push_back(format_command(args));
        }
        if (commands.empty()) {
            const std::string_view args[] = {"PING"};
            commands.push_back(format_command(args));
        }
        // The handshake is bounded by the liveness window, not the per-call timeout: under load our
        // own event loop may read its replies late, and a reconnect must not fail for that.
        const auto deadline = clock::now() + options_.liveness;
        for (const auto& resp : commands) {
            in_flight_call call(call_kind::handshake, deadline);
            if (!send(conn, call, resp)) break;
            conn.in_flight.push_back(std::move(call));
            ++conn.handshake_left;
        }
        arm_sweep();
    }

    void on_handshake_reply(connection& conn, const redisReply* r) {
        if (r == nullptr || conn.handshake_failed) return;  // the connection is going away
        if (r->type == REDIS_REPLY_ERROR) {
            conn.handshake_failed = true;
            last_error_ = "handshake: " + std::string(r->str, r->len);
            // Not from inside hiredis's callback: drop it from the io_context's queue.
            asio::post(ioc_, [self = shared_from_this(), conn = conn.shared_from_this()] {
                if (conn->context != nullptr && self->conn_ == conn) {
                    self->drop(conn, error::connection_lost, error::connection_lost);
                }
            });
            return;
        }
        if (--conn.handshake_left > 0) return;
        conn.ready = true;
        attempt_ = 0;
        notify(true);
    }

    // Fails every call of `conn` (overdue ones with `overdue`, the rest with `rest`) and frees
    // its context; the cleanup hook then schedules the reconnect.
    // `conn` is taken by value: the cleanup hook resets conn_ while hiredis still runs.
    void drop(std::shared_ptr<connection> conn, error overdue, error rest) {
        fail_all(*conn, overdue, rest);
        // Runs the remaining callbacks with NULL (nothing left to complete), then the cleanup hook.
        if (conn->context != nullptr) redisAsyncFree(conn->context);
    }

    void fail_all(connection& conn, error overdue, error rest) {
        const auto now = clock::now();
        auto calls = std::move(conn.in_flight);
        conn.in_flight.clear();
        conn.user_calls = 0;
        conn.early_calls = 0;
        conn.expired = 0;
        conn.unwritten_from = 0;
        conn.handshake_left = 0;
        for (auto& call : calls) {
            if (call.kind == call_kind::user) complete(std::move(call.handler), call.deadline <= now ? overdue : rest);
        }
    }

    // The sweep runs periodically while a connection exists (connecting, handshaking or ready).
    void arm_sweep() {
        if (sweep_armed_ || stopped_ || !conn_) return;
        sweep_armed_ = true;
        sweep_.expires_after(sweep_interval());
        sweep_.async_wait([self = shared_from_this()](error_code) {
            self->sweep_armed_ = false;
            if (!self->stopped_) self->sweep();
        });
    }

    // Often enough to complete a timed-out call within a tenth of its timeout (5 to 50 ms).
    clock::duration sweep_interval() const {
        return std::clamp<clock::duration>(options_.timeout / 10, std::chrono::milliseconds(5),
                                           std::chrono::milliseconds(50));
    }

    void sweep() {
        const auto conn = conn_;  // held: reading below may end the connection (cleanup hook)
        if (!conn) return;
        // First take in whatever the server has already answered: a reply waiting in the socket
        // because our event loop is busy is late only by our fault, and must not be judged missing.
        poll();
        if (conn_ != conn || conn->context == nullptr) return;  // it ended; the cleanup rescheduled

        const auto now = clock::now();
        if (!conn->ready) {
            if (!conn->in_flight.empty() && conn->in_flight.front().deadline <= now) {
                last_error_ = "connect and handshake took longer than " + milliseconds_text(options_.liveness);
                return drop(conn, error::timeout, error::connection_lost);
            }
            return arm_sweep();
        }
        expire_overdue_calls(*conn, now);
        if (!conn->in_flight.empty() && now - conn->last_progress >= options_.liveness) {
            ++counters_.liveness_drops;
            last_error_ = "no reply at all for " + milliseconds_text(options_.liveness) + " with " +
                          std::to_string(conn->in_flight.size()) + " command(s) outstanding: dropped the connection";
            return drop(conn, error::timeout, error::connection_lost);
        }
        if (conn->in_flight.empty() && now - conn->last_activity >= options_.liveness / 2) send_heartbeat(*conn);
        arm_sweep();
    }

    // Completes every call past its deadline with error::timeout, oldest first; their entries stay,
    // abandoned, so that their replies are matched and discarded. Heartbeats and early calls
    // abandoned before join the settled prefix as they are passed (liveness, not a deadline,
    // judges heartbeats). Early calls past the prefix are looked for only while there are any.
    void expire_overdue_calls(connection& conn, clock::time_point now) {
        while (conn.expired < conn.in_flight.size()) {
            auto& call = conn.in_flight[conn.expired];
            if (call.kind == call_kind::heartbeat || call.kind == call_kind::abandoned) {
                ++conn.expired;
                continue;
            }
            if (call.kind != call_kind::user || call.deadline > now) break;
            abandon(conn, call);
            ++conn.expired;
        }
        for (auto i = conn.expired; conn.early_calls > 0 && i < conn.in_flight.size(); ++i) {
            auto& call = conn.in_flight[i];
            if (call.kind == call_kind::user && call.early && call.deadline <= now) abandon(conn, call);
        }
    }

    void abandon(connection& conn, in_flight_call& call) {
        if (call.early) {
            call.early = false;
            --conn.early_calls;
        }
        call.kind = call_kind::abandoned;
        call.eval_script.reset();
        call.evalsha = {};
        --conn.user_calls;
        ++counters_.timeouts;
        complete(std::move(call.handler), error::timeout);
    }

    void send_heartbeat(connection& conn) {
        static const std::string ping = [] {
            const std::string_view args[] = {"PING"};
            return format_command(args);
        }();
        in_flight_call call(call_kind::heartbeat, clock::time_point::max());
        if (send(conn, call, ping)) conn.in_flight.push_back(std::move(call));
    }

    // Posted to the io_context, from where post() dispatches it to the handler's own executor.
    void complete(client::completion_handler handler, error_code ec, reply r = {}) {
        asio::post(ioc_, posted_completion{std::move(handler), ec, std::move(r)});
    }

    void notify(bool up) {
        asio::post(ioc_, [self = shared_from_this(), up] {
            if (self->on_change_) self->on_change_(up);
        });
    }

    static void reply_callback(redisAsyncContext* ac, void* r, void* privdata) noexcept {
        auto* conn = static_cast<connection*>(ac->data);
        conn->owner->on_reply(*conn, static_cast<const redisReply*>(r), from_privdata(privdata));
    }

    asio::io_context& ioc_;
    client_options options_;
    std::vector<script> scripts_;
    std::function<void(bool)> on_change_;
    std::shared_ptr<connection> conn_;  // connecting, handshaking or ready; null otherwise
    asio::steady_timer sweep_;
    bool sweep_armed_ = false;
    client_counters counters_;
    asio::steady_timer backoff_;
    std::uint64_t backoff_generation_ = 0;  // a backoff wait of an older generation does nothing
    unsigned attempt_ = 0;                  // failed connects since the last handshake answered
    std::minstd_rand rng_;
    bool started_ = false;
    bool stopped_ = false;
    std::uint64_t next_id_ = 1;
    std::uint64_t replies_read_ = 0;
    std::string last_error_;
};

// ---- the Asio adapter: hiredis's event hooks ---------------------------------------------------

namespace {

connection& hooked(void* privdata) {
    return *static_cast<connection*>(privdata);
}

// hiredis calls these whenever it wants (or no longer wants) readiness; they may be called
// repeatedly, so they only record the wish and queue a wait if none is queued.
void add_read(void* privdata) noexcept {
    auto& conn = hooked(privdata);
    if (conn.context == nullptr) return;
    conn.want_read = true;
    if (!conn.read_waiting) conn.wait(asio::posix::descriptor_base::wait_read);
}

void del_read(void* privdata) noexcept {
    hooked(privdata).want_read = false;
}

void add_write(void* privdata) noexcept {
    auto& conn = hooked(privdata);
    if (conn.context == nullptr) return;
    conn.want_write = true;
    if (!conn.write_waiting) conn.wait(asio::posix::descriptor_base::wait_write);
}

void del_write(void* privdata) noexcept {
    hooked(privdata).want_write = false;
}

void cleanup(void* privdata) noexcept {
    auto& conn = hooked(privdata);
    conn.owner->on_cleanup(conn);
}

void connect_callback(const redisAsyncContext* ac, int status) noexcept {
    if (status != REDIS_OK) static_cast<connection*>(ac->data)->owner->on_connect_failed(*ac);
}

void disconnect_callback(const redisAsyncContext* ac, int status) noexcept {
    if (status != REDIS_OK) static_cast<connection*>(ac->data)->owner->on_disconnected(*ac);
}

}  // namespace

void connection::wait(asio::posix::descriptor_base::wait_type direction) {
    const bool read = direction == asio::posix::descriptor_base::wait_read;
    (read ? read_waiting : write_waiting) = true;
    descriptor.async_wait(direction, [self = shared_from_this(), read](error_code ec) {
        (read ? self->read_waiting : self->write_waiting) = false;
        if (self->context == nullptr || ec == asio::error::operation_aborted) return;
        if (ec) return self->owner->on_wait_failed(*self, ec);
        if (!(read ? self->want_read : self->want_write)) return;
        // hiredis does the I/O; it may run callbacks and may free the context (cleanup hook).
        if (read) {
            self->owner->read_all(*self);
        } else {
            self->owner->write_out(*self);
        }
        const bool still_wanted = read ? self->want_read : self->want_write;
        const bool queued = read ? self->read_waiting : self->write_waiting;
        if (self->context != nullptr && still_wanted && !queued) {
            self->wait(read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write);
        }
    });
}

void client_state::connect() {
    if (stopped_ || conn_) return;
    redisAsyncContext* ac = redisAsyncConnect(options_.host.c_str(), options_.port);
    if (ac == nullptr) {
        last_error_ = "connect: out of memory";
        return schedule_reconnect();
    }
    if (ac->err != 0) {  // e.g. refused at once, or the name did not resolve
        last_error_ = "connect to " + options_.host + ":" + std::to_string(options_.port) + ": " + ac->errstr;
        redisAsyncFree(ac);  // no hooks attached yet: nothing of ours is called
        return schedule_reconnect();
    }
    auto conn = std::make_shared<connection>(*this, ioc_);
    error_code ec;
    conn->descriptor.assign(ac->c.fd, ec);
    if (ec) {
        last_error_ = "connect: cannot watch the socket: " + ec.message();
        redisAsyncFree(ac);
        return schedule_reconnect();
    }
    conn->context = ac;
    ac->data = conn.get();
    // The adapter goes on before the connect callback: setting that callback asks for a write.
    ac->ev.data = conn.get();
    ac->ev.addRead = &add_read;
    ac->ev.delRead = &del_read;
    ac->ev.addWrite = &add_write;
    ac->ev.delWrite = &del_write;
    ac->ev.cleanup = &cleanup;
    conn_ = conn;
    redisAsyncSetConnectCallback(ac, &connect_callback);
    redisAsyncSetDisconnectCallback(ac, &disconnect_callback);
    // hiredis buffers these until the TCP connect completes; their deadline bounds both.
    send_handshake(*conn);
}

void client_state::schedule_reconnect() {
    // Full jitter (uniform in [0, cap]) spreads the reconnects of many gateway threads and
    // processes after a Redis restart; the cap doubles per failed attempt up to backoff_max.
    auto cap = std::max<std::chrono::milliseconds::rep>(options_.backoff_initial.count(), 0);
    const auto max = std::max<std::chrono::milliseconds::rep>(options_.backoff_max.count(), 0);
    for (unsigned i = 0; i < attempt_ && i < max_backoff_doublings && cap < max; ++i) cap *= 2;
    cap = std::min(cap, max);
    ++attempt_;
    std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(0, cap);
    backoff_.expires_after(std::chrono::milliseconds(jitter(rng_)));
    backoff_.async_wait([self = shared_from_this(), generation = ++backoff_generation_](error_code ec) {
        if (ec || self->stopped_ || generation != self->backoff_generation_) return;
        self->connect();
    });
}

}  // namespace detail

// ---- client ------------------------------------------------------------------------------------

namespace {

client_options single_server(client_options options) {
    if (!options.cluster_seeds.empty()) {
        throw std::invalid_argument("redis::client connects to one server; the cluster seeded by " +
                                    options.cluster_seeds.front().address() + " needs a redis::router");
    }
    return options;
}

}  // namespace

client::client(asio::io_context& ioc, client_options options)
    : ioc_(ioc), state_(std::make_shared<detail::client_state>(ioc, single_server(std::move(options)))) {}

client::~client() {
    state_->detach();
}

client::executor_type client::get_executor() const noexcept {
    return ioc_.get_executor();
}

const client_options& client::options() const noexcept {
    return state_->options();
}

void client::register_script(const script& s) {
    state_->register_script(s);
}

void client::start() {
    state_->start();
}

void client::poll() {
    state_->poll();
}

void client::stop() {
    state_->stop();
}

bool client::connected() const noexcept {
    return state_->connected();
}

std::size_t client::pending() const noexcept {
    return state_->pending();
}

const std::string& client::last_error() const noexcept {
    return state_->last_error();
}

const client_counters& client::counters() const noexcept {
    return state_->counters();
}

void client::on_connection_change(std::function<void(bool connected)> f) {
    state_->on_connection_change(std::move(f));
}

void client::submit(detail::command cmd, std::shared_ptr<const detail::script_text> eval_script,
                    completion_handler handler) {
    state_->submit(std::move(cmd), std::move(eval_script), std::move(handler));
}

void detail::client_access::submit_until(client& c, std::string_view resp,
                                         std::chrono::steady_clock::time_point deadline,
                                         client::completion_handler handler) {
    c.state_->submit_until(resp, deadline, nullptr, nullptr, std::move(handler));
}

// ---- configuration -----------------------------------------------------------------------------

client_options options_from(const config::settings& settings) {
    const auto& url = settings.redis.url;
    const auto target = config::parse_redis_url(url);
    if (!target.socket_path.empty() || target.endpoints.empty() || (!target.cluster && target.endpoints.size() != 1)) {
        throw std::invalid_argument(
            "redis.url = \"" + url +
            "\": unix:// is not supported yet (expected redis://HOST:PORT or redis+cluster://HOST:PORT,...)");
    }
    client_options options;
    options.host = target.endpoints.front().host;
    options.port = target.endpoints.front().port;
    if (target.cluster) {
        for (const auto& e : target.endpoints) options.cluster_seeds.push_back({e.host, e.port});
    }
    options.timeout = std::chrono::milliseconds(settings.redis.timeout_ms);
    options.liveness = std::chrono::milliseconds(
        settings.redis.liveness_ms != 0 ? settings.redis.liveness_ms : std::max(2000u, 2 * settings.redis.timeout_ms));
    return options;
}

}  // namespace sluice::redis
