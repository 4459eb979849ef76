// loadtest_stub_gateway: a small stand-in for sluice-gateway that the tests of sluice-loadtest run
// against, so they can plant exactly the misbehaviour the tool must see: a stall, a duplicate, a
// loss. It speaks just enough of API.md:
//
//   POST /v1/submissions      202 with a receipt; idempotent per (practice, Idempotency-Key): a
//                             repeat gets the same id and `Idempotent-Replayed: true`
//   GET /v1/submissions/{id}  200 {"submission_id","status","practice",...} or 404
//   GET /stats                {"open_connections","max_connections","requests","submissions"}
//
// The practice is the token's (from --tokens FILE, lines "practice,token" in either order), else
// the body's "practice". Flags:
//   --tokens FILE               token -> practice; an unknown token then gets 401
//   --stall-after-ms T --stall-ms D
//                               a request arriving in [T, T+D) after the first request is answered
//                               only at T+D: the server stalls for D
//   --duplicate-practice P      the second request for any of P's keys gets a NEW id (a planted
//                               duplicate; repeatable)
//   --lose-practice P           GET of any of P's ids answers 404 (a planted loss; repeatable)
//   --calculate-after-ms N      a submission reads "queued" for N ms, then "calculated" (default 0)
//
// One thread, one io_context, one coroutine per connection; RLIMIT_NOFILE's soft limit is raised
// to the hard one so it can hold >= 10,000 keep-alive connections. It counts the most connections
// open at once and prints "stub gateway max_connections N" (stdout and stderr) when SIGTERM or SIGINT
// stops it (exit 0).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::uint64_t max_body_bytes = 1 << 20;

struct options {
    std::string tokens_file;
    std::optional<std::chrono::milliseconds> stall_after;
    std::chrono::milliseconds stall_for{0};
    std::set<std::string> duplicate_practices;
    std::set<std::string> lose_practices;
    std::chrono::milliseconds calculate_after{0};
};

struct submission {
    std::string practice;
    clock_type::time_point received;
};

struct idempotency_entry {
    std::string submission_id;
    std::uint32_t requests = 0;
};

struct server_state {
    explicit server_state(net::io_context& c) : ioc(c), acceptor(c) {}

    net::io_context& ioc;
    tcp::acceptor acceptor;
    options opts;
    std::map<std::string, std::string> practice_of_token;
    std::map<std::pair<std::string, std::string>, idempotency_entry> keys;  // (practice, key)
    std::map<std::string, submission> submissions;                          // by id
    std::optional<clock_type::time_point> first_request;
    std::uint64_t open = 0;
    std::uint64_t max_open = 0;
    std::uint64_t requests = 0;
    std::mt19937_64 random{std::random_device{}()};
};

bool is_practice_code(std::string_view s) {
    if (s.size() != 6 || s[0] < 'A' || s[0] > 'Z') return false;
    return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string trim(std::string s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

// "practice,token" or "token,practice" a line; '#' comments and blank lines skipped.
std::map<std::string, std::string> read_tokens(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("--tokens: cannot read " + file);
    std::map<std::string, std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::stringstream ss(line);
        for (std::string f; std::getline(ss, f, ',');) fields.push_back(trim(f));
        if (fields.size() < 2) throw std::runtime_error("--tokens: expected practice,token in line: " + line);
        if (is_practice_code(fields[0]))
            out[fields[1]] = fields[0];
        else if (is_practice_code(fields[1]))
            out[fields[0]] = fields[1];
        else
            throw std::runtime_error("--tokens: no practice code in line: " + line);
    }
    return out;
}

std::string new_id(std::mt19937_64& random) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "S-";
    for (int half = 0; half < 2; ++half) {
        std::uint64_t v = random();
        for (int i = 0; i < 16; ++i, v >>= 4) id += hex[v & 15];
    }
    return id;
}

using request_type = http::request<http::string_body>;
using response_type = http::response<http::string_body>;

void answer_json(response_type& res, http::status status, const boost::json::object& body) {
    res.result(status);
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(body);
}

void answer_problem(response_type& res, http::status status, std::string detail) {
    boost::json::object p;
    p["type"] = "https://sluice.invalid/problems/stub";
    p["title"] = std::string(http::obsolete_reason(status));
    p["status"] = static_cast<int>(status);
    p["detail"] = std::move(detail);
    res.result(status);
    res.set(http::field::content_type, "application/problem+json");
    res.body() = boost::json::serialize(p);
}

// The practice the request speaks for: the token's, else the body's (POST); nullopt after
// answering 401.
std::optional<std::string> authenticate(server_state& s, const request_type& req, response_type& res,
                                        bool body_may_name_it) {
    const auto auth = req[http::field::authorization];
    constexpr std::string_view bearer = "Bearer ";
    if (auth.size() <= bearer.size() || auth.substr(0, bearer.size()) != bearer) {
        res.set(http::field::www_authenticate, "Bearer");
        answer_problem(res, http::status::unauthorized, "missing bearer token");
        return std::nullopt;
    }
    const std::string token(auth.substr(bearer.size()));
    if (!s.practice_of_token.empty()) {
        const auto it = s.practice_of_token.find(token);
        if (it == s.practice_of_token.end()) {
            res.set(http::field::www_authenticate, "Bearer");
            answer_problem(res, http::status::unauthorized, "unknown token");
            return std::nullopt;
        }
        return it->second;
    }
    if (!body_may_name_it) return std::string();  // any practice
    boost::system::error_code ec;
    const auto body = boost::json::parse(req.body(), ec);
    if (!ec && body.is_object())
        if (const auto* p = body.get_object().if_contains("practice"); p != nullptr && p->is_string())
            return std::string(p->get_string());
    answer_problem(res, http::status::unprocessable_entity, "no practice in the body");
    return std::nullopt;
}

void submit(server_state& s, const request_type& req, response_type& res) {
    const auto practice = authenticate(s, req, res, true);
    if (!practice) return;
    const std::string key(req["Idempotency-Key"]);
    if (key.empty()) {
        answer_problem(res, http::status::bad_request, "Idempotency-Key is required");
        return;
    }
    auto& entry = s.keys[{*practice, key}];
    ++entry.requests;
    bool replayed = !entry.submission_id.empty();
    if (!replayed || (entry.requests == 2 && s.opts.duplicate_practices.count(*practice) > 0)) {
        entry.submission_id = new_id(s.random);  // the planted duplicate: a second, new id
        s.submissions[entry.submission_id] = {*practice, clock_type::now()};
        replayed = false;
    }
    const auto& id = entry.submission_id;
    boost::json::object receipt;
    receipt["submission_id"] = id;
    receipt["status"] = "queued";
    receipt["practice"] = *practice;
    receipt["status_url"] = "/v1/submissions/" + id;
    res.set(http::field::location, "/v1/submissions/" + id);
    if (replayed) res.set("Idempotent-Replayed", "true");
    answer_json(res, http::status::accepted, receipt);
}

void status(server_state& s, const request_type& req, response_type& res, const std::string& id) {
    const auto practice = authenticate(s, req, res, false);
    if (!practice) return;
    const auto it = s.submissions.find(id);
    if (it == s.submissions.end() || (!practice->empty() && it->second.practice != *practice) ||
        s.opts.lose_practices.count(it->second.practice) > 0) {
        answer_problem(res, http::status::not_found, "no submission of this practice has this id");
        return;
    }
    boost::json::object body;
    body["submission_id"] = id;
    body["practice"] = it->second.practice;
    body["status"] = clock_type::now() - it->second.received >= s.opts.calculate_after ? "calculated" : "queued";
    body["status_url"] = "/v1/submissions/" + id;
    answer_json(res, http::status::ok, body);
}

void stats(server_state& s, response_type& res) {
    boost::json::object body;
    body["open_connections"] = s.open;
    body["max_connections"] = s.max_open;
    body["requests"] = s.requests;
    body["submissions"] = s.submissions.size();
    answer_json(res, http::status::ok, body);
}

// When a request arriving now must be answered: at once, or at the end of the stall.
std::optional<clock_type::time_point> stalled_until(server_state& s, clock_type::time_point now) {
    if (!s.first_request) s.first_request = now;
    if (!s.opts.stall_after) return std::nullopt;
    const auto start = *s.first_request + *s.opts.stall_after;
    const auto end = start + s.opts.stall_for;
    if (now >= start && now < end) return end;
    return std::nullopt;
}

net::awaitable<void> serve(server_state& s, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    net::steady_timer stall(s.ioc);
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_body_bytes);
        auto [rec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        (void)n;
        if (rec) break;
        const auto& req = parser.get();
        const std::string target(req.target());
        response_type res;
        res.version(11);
        if (target != "/stats") {
            ++s.requests;
            if (const auto until = stalled_until(s, clock_type::now())) {
                stall.expires_at(*until);
                co_await stall.async_wait(use_tuple);
            }
        }
        constexpr std::string_view status_prefix = "/v1/submissions/";
        if (req.method() == http::verb::post && target == "/v1/submissions")
            submit(s, req, res);
        else if (req.method() == http::verb::get && target.rfind(status_prefix, 0) == 0)
            status(s, req, res, target.substr(status_prefix.size()));
        else if (req.method() == http::verb::get && target == "/stats")
            stats(s, res);
        else
            answer_problem(res, http::status::not_found, "the stub serves /v1/submissions and /stats only");
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [wec, written] = co_await http::async_write(stream, res, use_tuple);
        (void)written;
        if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    --s.open;
}

net::awaitable<void> accept_loop(server_state& s) {
    net::steady_timer pause(s.ioc);
    for (;;) {
        auto [ec, socket] = co_await s.acceptor.async_accept(use_tuple);
        if (ec == net::error::operation_aborted) break;
        if (ec) {  // e.g. EMFILE: wait for a descriptor to come free
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        ++s.open;
        s.max_open = std::max(s.max_open, s.open);
        net::co_spawn(s.ioc, serve(s, std::move(socket)), net::detached);
    }
}

void raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

options parse_options(int argc, char** argv) {
    options o;
    auto value = [&](int& i) -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(std::string(argv[i]) + " needs a value");
        return argv[++i];
    };
    auto millis = [&](int& i) {
        const std::string name = argv[i];
        const std::string v = value(i);
        try {
            return std::chrono::milliseconds(std::stoll(v));
        } catch (const std::exception&) {
            throw std::runtime_error(name + ": expected milliseconds, got " + v);
        }
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--tokens")
            o.tokens_file = value(i);
        else if (arg == "--stall-after-ms")
            o.stall_after = millis(i);
        else if (arg == "--stall-ms")
            o.stall_for = millis(i);
        else if (arg == "--duplicate-practice")
            o.duplicate_practices.insert(value(i));
        else if (arg == "--lose-practice")
            o.lose_practices.insert(value(i));
        else if (arg == "--calculate-after-ms")
            o.calculate_after = millis(i);
        else
            throw std::runtime_error("unknown argument " + arg);
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    // The test may stop reading stdout once it has the port: a later line must not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    try {
        net::io_context ioc(1);
        server_state s(ioc);
        s.opts = parse_options(argc, argv);
        if (!s.opts.tokens_file.empty()) s.practice_of_token = read_tokens(s.opts.tokens_file);
        raise_descriptor_limit();

        const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
        s.acceptor.open(endpoint.protocol());
        s.acceptor.set_option(net::socket_base::reuse_address(true));
        s.acceptor.bind(endpoint);
        s.acceptor.listen(net::socket_base::max_listen_connections);
        std::cout << "stub gateway listening on 127.0.0.1:" << s.acceptor.local_endpoint().port() << std::endl;

        net::signal_set signals(ioc, SIGTERM, SIGINT);
        signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
        net::co_spawn(ioc, accept_loop(s), net::detached);
        ioc.run();
        std::cout << "stub gateway max_connections " << s.max_open << std::endl;
        std::cerr << "stub gateway max_connections " << s.max_open << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "loadtest_stub_gateway: " << e.what() << '\n';
        return 2;
    }
}
