// The PostgreSQL client: libpq's non-blocking API bridged onto Asio (see client.hpp for the
// contract). Modelled on redis/client.cpp; read its design comment first.
//
// Pieces:
// - client_state owns the pool and outlives the client while any handler of ours is queued
//   (handlers hold a shared_ptr to it). ~client runs stop(), which PQfinish()es every connection.
// - connection is one PGconn plus a stream_descriptor on its socket. The descriptor is only ever
//   async_wait()ed on (libpq does the I/O) and is release()d, never closed: libpq owns the fd and
//   closes it in PQfinish. The socket may change while connecting (libpq tries each address of a
//   host name in turn), so after every PQconnectPoll the descriptor follows PQsocket().
// - A generation number per connection is bumped whenever its descriptor is released (reset or
//   new socket): every wait and timer handler carries the generation it was armed for and does
//   nothing if it is stale, so an aborted wait never touches the next socket's state.
// - Pipeline mode (libpq 15): calls are written back to back without waiting; each call is its
//   statements followed by one PQpipelineSync, so it is one implicit transaction, and the
//   server answers calls in order. in_flight holds them in that order; each expects a list of
//   "units" (a prepare's answer or a statement's), then the PGRES_PIPELINE_SYNC that ends it.
// - The read wait is armed whenever a connection exists past connecting, so a server that goes
//   away is noticed even while idle (PQconsumeInput fails), and the connection is reset at once.
// - One steady_timer per connection sweeps deadlines (the front of in_flight has the earliest,
//   since every call has the same timeout), and bounds connect + handshake while connecting.
//
// Memory-safety rules: libpq has no callbacks here, so nothing of ours runs inside libpq; user
// completions are always posted, never run from inside the processing loops; PQfinish is only
// called from reset(), after the descriptor was released.
#include "ledger/client.hpp"

#include "config/config.hpp"

#include <libpq-fe.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <random>
#include <set>

namespace sluice::ledger::detail {

// A call's completion with its results, keeping the caller's executor (as in redis/client.cpp:
// asio::append cannot wrap an any_completion_handler in Boost 1.81).
struct posted_completion {
    client::execute_handler handler;
    boost::system::error_code ec;
    std::vector<result> results;

    void operator()() { std::move(handler)(ec, std::move(results)); }
};

}  // namespace sluice::ledger::detail

template <typename Candidate>
struct boost::asio::associated_executor<sluice::ledger::detail::posted_completion, Candidate> {
    using type = boost::asio::any_completion_executor;
    static type get(const sluice::ledger::detail::posted_completion& c, const Candidate& candidate) noexcept {
        return boost::asio::get_associated_executor(c.handler, candidate);
    }
};

namespace sluice::ledger {

namespace asio = boost::asio;
using boost::system::error_code;

std::optional<std::string> result::value(std::size_t row, std::string_view column) const {
    if (row >= rows.size()) return std::nullopt;
    for (std::size_t c = 0; c < columns.size() && c < rows[row].size(); ++c) {
        if (columns[c] == column) return rows[row][c];
    }
    return std::nullopt;
}

namespace detail {

namespace {

using clock = std::chrono::steady_clock;

constexpr unsigned max_backoff_doublings = 20;
// The server checks this often whether the client of a running query is still there
// (client_connection_check_interval), so a reset connection's work stops within it.
constexpr std::string_view connection_check_interval_ms = "1000";

std::string milliseconds_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

std::string trimmed(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

// What a call expects from the server, in order: a prepare's answer or a statement's.
struct unit {
    bool prepare = false;
    std::size_t statement = 0;  // the statement it belongs to
    std::size_t prepared = 0;   // a prepare: its index in call::prepared_here
};

// One call written on a connection and not yet answered. Not assignable: Boost 1.81's
// any_completion_handler move assignment recurses (see redis/client.cpp); deque needs only moves.
struct call {
    call(clock::time_point deadline, client::execute_handler handler, std::size_t statements)
        : deadline(deadline), handler(std::move(handler)), results(statements) {}
    call(call&&) = default;
    call& operator=(call&&) = delete;

    clock::time_point deadline;
    client::execute_handler handler;  // empty for the handshake
    std::vector<result> results;
    std::vector<unit> units;
    std::size_t next_unit = 0;   // the unit being answered
    bool unit_answered = false;  // a PGresult for it arrived; the NULL that follows ends it
    std::vector<std::string> prepared_here;
    std::vector<bool> prepare_answered;  // per prepared_here: the server created it
    bool failed = false;  // the server refused a statement: error::server_error
};

class client_state;

struct connection {
    connection(client_state& owner, asio::io_context& ioc) : owner(&owner), descriptor(ioc), sweep(ioc), backoff(ioc) {}

    enum class phase { idle, connecting, handshaking, ready };

    client_state* owner;
    PGconn* pg = nullptr;
    asio::posix::stream_descriptor descriptor;
    int fd = -1;  // the socket the descriptor holds
    phase state = phase::idle;
    std::uint64_t generation = 0;
    bool read_waiting = false, write_waiting = false;
    bool flushing = false;  // PQflush left data unsent: wait for writability
    clock::time_point connect_deadline;
    std::deque<call> in_flight;
    std::set<std::string, std::less<>> prepared;
    asio::steady_timer sweep;
    bool sweep_armed = false;
    asio::steady_timer backoff;
    unsigned attempt = 0;  // failed connects since the last handshake answered
};

using connection_ptr = std::shared_ptr<connection>;

class client_state : public std::enable_shared_from_this<client_state> {
public:
    client_state(asio::io_context& ioc, client_options options)
        : ioc_(ioc), options_(std::move(options)), rng_(std::random_device{}()) {
        options_.pool_size = std::max<std::size_t>(options_.pool_size, 1);
        options_.max_in_flight = std::max<std::size_t>(options_.max_in_flight, 1);
    }

    const client_options& options() const noexcept { return options_; }
    const std::string& last_error() const noexcept { return last_error_; }
    void on_connection_change(std::function<void(std::size_t)> f) { on_change_ = std::move(f); }

    std::size_t ready_connections() const noexcept {
        return static_cast<std::size_t>(std::count_if(
            pool_.begin(), pool_.end(), [](const connection_ptr& c) { return c->state == connection::phase::ready; }));
    }

    std::size_t in_flight() const noexcept {
        std::size_t n = 0;
        for (const auto& c : pool_)
            if (c->state == connection::phase::ready) n += c->in_flight.size();
        return n;
    }

    void start() {
        if (started_) return;
        started_ = true;
        stopped_ = false;
        if (pool_.empty()) {
            for (std::size_t i = 0; i < options_.pool_size; ++i)
                pool_.push_back(std::make_shared<connection>(*this, ioc_));
        }
        for (auto& c : pool_) connect(c);
    }

    void stop() {
        stopped_ = true;
        started_ = false;
        for (auto& c : pool_) {
            c->backoff.cancel();
            reset(c, error::stopped, error::stopped, false);
        }
    }

    void detach() {
        on_change_ = nullptr;
        stop();
    }

    void submit(std::vector<statement> statements, client::execute_handler handler) {
        if (!started_) return complete(std::move(handler), stopped_ ? error::stopped : error::not_connected);
        connection_ptr best;
        for (auto& c : pool_) {
            if (c->state == connection::phase::ready && (!best || c->in_flight.size() < best->in_flight.size()))
                best = c;
        }
        if (!best) return complete(std::move(handler), error::not_connected);
        if (best->in_flight.size() >= options_.max_in_flight)
            return complete(std::move(handler), error::pool_exhausted);
        call c(clock::now() + options_.timeout, std::move(handler), statements.size());
        if (statements.empty()) return complete(std::move(c.handler), {});
        if (!send(*best, c, statements)) {
            last_error_ = "cannot queue a query: " + trimmed(PQerrorMessage(best->pg));
            complete(std::move(c.handler), error::connection_lost);
            return reset(best, error::connection_lost, error::connection_lost);
        }
        best->in_flight.push_back(std::move(c));
        arm_sweep(best);
        flush(best);
    }

private:
    // ---- connecting ------------------------------------------------------------------------------

    void connect(const connection_ptr& c) {
        if (stopped_ || c->pg != nullptr) return;
        c->pg = PQconnectStart(options_.conninfo.c_str());
        if (c->pg == nullptr) {
            last_error_ = "connect: out of memory";
            return schedule_reconnect(c);
        }
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            last_error_ = "connect: " + trimmed(PQerrorMessage(c->pg));
            return reset(c, error::connection_lost, error::connection_lost);
        }
        c->state = connection::phase::connecting;
        c->connect_deadline = clock::now() + options_.timeout;
        arm_sweep(c);
        // As if PQconnectPoll had answered PGRES_POLLING_WRITING (libpq's documented start).
        if (!follow_socket(c)) return;
        wait(c, false);
    }

    // Points the descriptor at PQsocket() if libpq moved to another socket. False if it failed
    // (the connection was reset).
    bool follow_socket(const connection_ptr& c) {
        const int fd = PQsocket(c->pg);
        if (fd == c->fd) return true;
        if (c->descriptor.is_open()) {
            c->descriptor.release();
            ++c->generation;  // the aborted waits of the old socket are stale now
            c->read_waiting = c->write_waiting = false;
        }
        c->fd = -1;
        if (fd < 0) return true;  // between sockets; PQconnectPoll will say what to do
        error_code ec;
        c->descriptor.assign(fd, ec);
        if (ec) {
            last_error_ = "cannot watch the PostgreSQL socket: " + ec.message();
            reset(c, error::connection_lost, error::connection_lost);
            return false;
        }
        c->fd = fd;
        return true;
    }

    void continue_connect(const connection_ptr& c) {
        const auto polled = PQconnectPoll(c->pg);
        if (polled == PGRES_POLLING_FAILED) {
            last_error_ = "connect: " + trimmed(PQerrorMessage(c->pg));
            return reset(c, error::connection_lost, error::connection_lost);
        }
        if (!follow_socket(c)) return;
        if (polled == PGRES_POLLING_READING) return wait(c, true);
        if (polled == PGRES_POLLING_WRITING) return wait(c, false);
        if (polled != PGRES_POLLING_OK) return wait(c, true);
        // Connected: non-blocking, pipelined, then the session settings as the handshake.
        if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
            last_error_ = "cannot enter pipeline mode: " + trimmed(PQerrorMessage(c->pg));
            return reset(c, error::connection_lost, error::connection_lost);
        }
        c->state = connection::phase::handshaking;
        std::vector<statement> settings;
        settings.push_back(
            {"SELECT set_config('statement_timeout', $1, false), "
             "set_config('client_connection_check_interval', $2, false)",
             {std::to_string(2 * options_.timeout.count()), std::string(connection_check_interval_ms)},
             {}});
        call handshake(c->connect_deadline, {}, 1);
        if (!send(*c, handshake, settings)) {
            last_error_ = "handshake: " + trimmed(PQerrorMessage(c->pg));
            return reset(c, error::connection_lost, error::connection_lost);
        }
        c->in_flight.push_back(std::move(handshake));
        flush(c);
        if (c->pg != nullptr) wait(c, true);
    }

    void schedule_reconnect(const connection_ptr& c) {
        // Full jitter spreads the reconnects of many workers after a PostgreSQL restart.
        auto cap = std::max<std::chrono::milliseconds::rep>(options_.backoff_initial.count(), 0);
        const auto max = std::max<std::chrono::milliseconds::rep>(options_.backoff_max.count(), 0);
        for (unsigned i = 0; i < c->attempt && i < max_backoff_doublings && cap < max; ++i) cap *= 2;
        cap = std::min(cap, max);
        ++c->attempt;
        std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(0, cap);
        c->backoff.expires_after(std::chrono::milliseconds(jitter(rng_)));
        c->backoff.async_wait([self = shared_from_this(), c, generation = c->generation](error_code ec) {
            if (ec || self->stopped_ || generation != c->generation) return;
            self->connect(c);
        });
    }

    // ---- sending -----------------------------------------------------------------------------------

    // Queues the statements and their Sync in libpq's output buffer (prepares first, so that a
    // failing statement never leaves a later statement's prepare unsent). False if libpq refused.
    bool send(connection& c, call& out, const std::vector<statement>& statements) {
        for (std::size_t i = 0; i < statements.size(); ++i) {
            const auto& s = statements[i];
            if (s.prepared_name.empty() || c.prepared.contains(s.prepared_name)) continue;
            if (PQsendPrepare(c.pg, s.prepared_name.c_str(), s.sql.c_str(), static_cast<int>(s.params.size()),
                              nullptr) != 1)
                return false;
            c.prepared.insert(s.prepared_name);
            out.prepared_here.push_back(s.prepared_name);
            out.prepare_answered.push_back(false);
            out.units.push_back({true, i, out.prepared_here.size() - 1});
        }
        std::vector<const char*> values;
        for (std::size_t i = 0; i < statements.size(); ++i) {
            const auto& s = statements[i];
            values.clear();
            for (const auto& p : s.params) values.push_back(p ? p->c_str() : nullptr);
            const int n = static_cast<int>(values.size());
            const int sent =
                s.prepared_name.empty()
                    ? PQsendQueryParams(c.pg, s.sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0)
                    : PQsendQueryPrepared(c.pg, s.prepared_name.c_str(), n, values.data(), nullptr, nullptr, 0);
            if (sent != 1) return false;
            out.units.push_back({false, i});
        }
        return PQpipelineSync(c.pg) == 1;
    }

    void flush(const connection_ptr& c) {
        if (c->pg == nullptr) return;
        const int flushed = PQflush(c->pg);
        if (flushed < 0) {
            last_error_ = "write: " + trimmed(PQerrorMessage(c->pg));
            return reset(c, error::connection_lost, error::connection_lost);
        }
        c->flushing = flushed == 1;
        if (c->flushing) wait(c, false);
    }

    // ---- waiting and reading ---------------------------------------------------------------------

    void wait(const connection_ptr& c, bool read) {
        bool& waiting = read ? c->read_waiting : c->write_waiting;
        if (waiting || c->pg == nullptr || !c->descriptor.is_open()) return;
        waiting = true;
        c->descriptor.async_wait(
            read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
            [self = shared_from_this(), c, read, generation = c->generation](error_code ec) {
                if (generation != c->generation) return;  // its socket was released
                (read ? c->read_waiting : c->write_waiting) = false;
                if (ec == asio::error::operation_aborted || self->stopped_) return;
                if (ec) {
                    self->last_error_ = "waiting on the PostgreSQL socket: " + ec.message();
                    return self->reset(c, error::connection_lost, error::connection_lost);
                }
                self->on_ready(c, read);
            });
    }

    void on_ready(const connection_ptr& c, bool read) {
        if (c->pg == nullptr) return;
        if (c->state == connection::phase::connecting) return continue_connect(c);
        const auto generation = c->generation;
        if (read) {
            if (PQconsumeInput(c->pg) != 1) {
                last_error_ = "connection lost: " + trimmed(PQerrorMessage(c->pg));
                return reset(c, error::connection_lost, error::connection_lost);
            }
            process_results(c);
            if (generation != c->generation || c->pg == nullptr) return;
            if (PQstatus(c->pg) == CONNECTION_BAD) {
                last_error_ = "connection lost: " + trimmed(PQerrorMessage(c->pg));
                return reset(c, error::connection_lost, error::connection_lost);
            }
        }
        if (c->flushing || !read) flush(c);
        if (generation == c->generation && c->pg != nullptr) wait(c, true);
    }

    void process_results(const connection_ptr& c) {
        int nulls_in_a_row = 0;
        while (c->pg != nullptr && !c->in_flight.empty() && PQisBusy(c->pg) == 0) {
            PGresult* r = PQgetResult(c->pg);
            auto& front = c->in_flight.front();
            if (r == nullptr) {
                if (front.unit_answered) {
                    ++front.next_unit;
                    front.unit_answered = false;
                }
                if (++nulls_in_a_row > 1) break;  // nothing more to read now
                continue;
            }
            nulls_in_a_row = 0;
            const auto status = PQresultStatus(r);
            if (status == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                call done = std::move(front);
                c->in_flight.pop_front();
                if (!finish_call(c, std::move(done))) return;  // the connection was reset
                continue;
            }
            record(front, r, status);
            PQclear(r);
        }
    }

    static void record(call& into, PGresult* r, ExecStatusType status) {
        into.unit_answered = true;
        if (into.next_unit >= into.units.size()) return;  // more answers than asked for: ignore
        const auto u = into.units[into.next_unit];
        auto& out = into.results[u.statement];
        switch (status) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            if (u.prepare) {
                into.prepare_answered[u.prepared] = true;
                return;
            }
            out.columns.clear();
            for (int col = 0; col < PQnfields(r); ++col) out.columns.emplace_back(PQfname(r, col));
            out.rows.resize(static_cast<std::size_t>(PQntuples(r)));
            for (int row = 0; row < PQntuples(r); ++row) {
                auto& values = out.rows[static_cast<std::size_t>(row)];
                values.reserve(out.columns.size());
                for (int col = 0; col < PQnfields(r); ++col) {
                    if (PQgetisnull(r, row, col) != 0) {
                        values.emplace_back(std::nullopt);
                    } else {
                        values.emplace_back(
                            std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))));
                    }
                }
            }
            out.affected = std::strtoull(PQcmdTuples(r), nullptr, 10);
            if (status == PGRES_TUPLES_OK && out.affected == 0) out.affected = out.rows.size();
            return;
        case PGRES_PIPELINE_ABORTED:  // a failure earlier in this call (finish_call forgets its prepares)
            if (!u.prepare && out.sqlstate.empty()) out.skipped = true;
            return;
        default: {
            into.failed = true;
            const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            out.skipped = false;
            out.sqlstate = state != nullptr ? state : "";
            out.message = primary != nullptr ? primary : trimmed(PQresultErrorMessage(r));
            return;
        }
        }
    }

    // A call's Sync arrived. False if the connection was reset meanwhile (handshake refused).
    bool finish_call(const connection_ptr& c, call done) {
        if (done.failed) {
            // Prepares of a failed call that were not answered do not exist on the server: prepare
            // them again next time.
            // A prepare the server answered exists even though the call failed after it (named
            // prepared statements are not transactional); only the others must be sent again.
            for (std::size_t i = 0; i < done.prepared_here.size(); ++i)
                if (!done.prepare_answered[i]) c->prepared.erase(done.prepared_here[i]);
        }
        if (!done.handler) {  // the handshake
            if (done.failed) {
                last_error_ = "handshake refused: " + done.results.front().message;
                reset(c, error::connection_lost, error::connection_lost);
                return false;
            }
            c->state = connection::phase::ready;
            c->attempt = 0;
            notify();
            return true;
        }
        complete(std::move(done.handler), done.failed ? error::server_error : error_code{}, std::move(done.results));
        return true;
    }

    // ---- deadlines and resets --------------------------------------------------------------------

    void arm_sweep(const connection_ptr& c) {
        if (c->sweep_armed || c->pg == nullptr) return;
        clock::time_point deadline;
        if (c->state == connection::phase::connecting) {
            deadline = c->connect_deadline;
        } else if (!c->in_flight.empty()) {
            deadline = c->in_flight.front().deadline;
        } else {
            return;
        }
        c->sweep_armed = true;
        c->sweep.expires_at(deadline);
        c->sweep.async_wait([self = shared_from_this(), c, generation = c->generation](error_code) {
            if (generation != c->generation) return;
            c->sweep_armed = false;
            if (!self->stopped_) self->sweep(c);
        });
    }

    void sweep(const connection_ptr& c) {
        if (c->pg == nullptr) return;
        const auto now = clock::now();
        if (c->state == connection::phase::connecting) {
            if (c->connect_deadline > now) return arm_sweep(c);
            last_error_ = "connect took longer than " + milliseconds_text(options_.timeout);
            return reset(c, error::timeout, error::connection_lost);
        }
        if (c->in_flight.empty()) return;
        if (c->in_flight.front().deadline > now) return arm_sweep(c);
        last_error_ = c->state == connection::phase::ready
                          ? "no answer within " + milliseconds_text(options_.timeout) + ": reset the connection"
                          : "handshake took longer than " + milliseconds_text(options_.timeout);
        reset(c, error::timeout, error::connection_lost);
    }

    // Fails every call of `c` (overdue ones with `overdue`, the rest with `rest`), releases the
    // descriptor, PQfinish()es the connection and, unless stopping, schedules the reconnect.
    void reset(const connection_ptr& c, error overdue, error rest, bool reconnect = true) {
        ++c->generation;
        const bool was_ready = c->state == connection::phase::ready;
        const auto now = clock::now();
        auto calls = std::move(c->in_flight);
        c->in_flight.clear();
        for (auto& call : calls) {
            if (call.handler) complete(std::move(call.handler), call.deadline <= now ? overdue : rest);
        }
        c->prepared.clear();
        c->flushing = c->read_waiting = c->write_waiting = false;
        c->sweep_armed = false;
        c->sweep.cancel();
        if (c->descriptor.is_open()) c->descriptor.release();  // libpq owns the fd: never close it
        c->fd = -1;
        if (c->pg != nullptr) PQfinish(c->pg);
        c->pg = nullptr;
        c->state = connection::phase::idle;
        if (was_ready) notify();
        if (reconnect && !stopped_) schedule_reconnect(c);
    }

    void complete(client::execute_handler handler, error_code ec, std::vector<result> results = {}) {
        asio::post(ioc_, posted_completion{std::move(handler), ec, std::move(results)});
    }

    void notify() {
        asio::post(ioc_, [self = shared_from_this(), ready = ready_connections()] {
            if (self->on_change_) self->on_change_(ready);
        });
    }

    asio::io_context& ioc_;
    client_options options_;
    std::vector<connection_ptr> pool_;
    std::function<void(std::size_t)> on_change_;
    std::minstd_rand rng_;
    bool started_ = false;
    bool stopped_ = false;
    std::string last_error_;
};

}  // namespace detail

// ---- client --------------------------------------------------------------------------------------

client::client(asio::io_context& ioc, client_options options)
    : ioc_(ioc), state_(std::make_shared<detail::client_state>(ioc, std::move(options))) {}

client::~client() { state_->detach(); }

client::executor_type client::get_executor() const noexcept { return ioc_.get_executor(); }

const client_options& client::options() const noexcept { return state_->options(); }

void client::start() { state_->start(); }

void client::stop() { state_->stop(); }

std::size_t client::ready_connections() const noexcept { return state_->ready_connections(); }

std::size_t client::in_flight() const noexcept { return state_->in_flight(); }

const std::string& client::last_error() const noexcept { return state_->last_error(); }

void client::on_connection_change(std::function<void(std::size_t)> f) { state_->on_connection_change(std::move(f)); }

void client::submit(std::vector<statement> statements, execute_handler handler) {
    state_->submit(std::move(statements), std::move(handler));
}

// ---- configuration -----------------------------------------------------------------------------

client_options options_from(const config::settings& settings) {
    const auto& url = settings.ledger.url;
    const auto shown = "\"" + url + "\"";
    if (url.empty()) throw config::config_error("ledger.url", shown, "a PostgreSQL connection string (none is set)");
    char* message = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &message);
    if (parsed == nullptr) {
        const std::string why = message != nullptr ? detail::trimmed(message) : "out of memory";
        PQfreemem(message);
        throw config::config_error("ledger.url", shown, "a connection string libpq accepts (" + why + ")");
    }
    PQconninfoFree(parsed);
    client_options options;
    options.conninfo = url;
    options.pool_size = settings.ledger.pool_size;
    options.timeout = std::chrono::milliseconds(settings.ledger.timeout_ms);
    return options;
}

}  // namespace sluice::ledger
