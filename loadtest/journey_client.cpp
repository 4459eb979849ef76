// The journey's stages over HTTP (journey_client.hpp). One io_context, run by the caller's thread;
// each stage spawns `concurrency` lanes, each lane one keep-alive connection taking the next call
// of the stage's list until the list is done (closed loop), so no state is shared across threads.
#include "loadtest/journey_client.hpp"

#include "config/digest.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <exception>
#include <thread>

namespace sluice::loadtest {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::uint64_t max_body_bytes = 4 << 20;  // a result with every indicator is tens of KiB
constexpr std::chrono::milliseconds default_poll_delay{500};

// One call of a stage: a request, sent again per journey_retry() until its answer is final.
struct http_call {
    http::verb method = http::verb::get;
    std::string target;
    const std::string* token = nullptr;
    std::string key;   // Idempotency-Key; "" for a GET
    std::string body;  // "" for a GET
    call_outcome outcome;
    std::optional<std::chrono::seconds> retry_after;  // of the final answer
};

struct stage_run {
    net::io_context& ioc;
    const journey_options& options;
    tcp::endpoint endpoint;
    std::vector<http_call>& calls;
    stage_stats& stats;
    std::size_t next = 0;
    steady::time_point origin;           // open loop: call i is due at origin + i * period
    std::chrono::nanoseconds period{0};  // 0: closed loop
};

std::optional<std::chrono::seconds> retry_after_of(const http::response<http::string_body>& response) {
    const auto it = response.find(http::field::retry_after);
    if (it == response.end()) return std::nullopt;
    const std::string_view text = it->value();
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || end != text.data() + text.size() || seconds < 0) return std::nullopt;
    return std::chrono::seconds{std::min<long long>(seconds, 86'400)};
}

net::awaitable<void> lane(stage_run& run) {
    beast::tcp_stream stream(run.ioc);
    bool open = false;
    beast::flat_buffer buffer;
    net::steady_timer pause(run.ioc);
    const auto close = [&] {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        buffer.clear();
        open = false;
    };
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(run.options.timeout);
    const std::string host = run.options.host + ":" + std::to_string(run.options.port);

    while (run.next < run.calls.size() && !(run.options.stop && run.options.stop->load())) {
        const auto index = run.next++;
        http_call& call = run.calls[index];
        // Open loop: wait for the call's due time; its first request's latency counts from then.
        auto due = steady::now();
        if (run.period > std::chrono::nanoseconds{0}) {
            due = run.origin + run.period * static_cast<std::int64_t>(index);
            if (due > steady::now()) {
                pause.expires_at(due);
                co_await pause.async_wait(use_tuple);
            }
        }
        http::request<http::string_body> request{call.method, call.target, 11};
        request.set(http::field::host, host);
        if (call.token != nullptr) request.set(http::field::authorization, "Bearer " + *call.token);
        request.set(http::field::user_agent, "sluice-loadtest/journey");
        if (!call.key.empty()) request.set("Idempotency-Key", call.key);
        if (call.method != http::verb::get) {
            request.set(http::field::content_type, "application/json");
            request.body() = call.body;
        }
        request.keep_alive(true);
        request.prepare_payload();

        for (int attempt = 1;; ++attempt) {
            call.outcome.attempts = attempt;
            call.outcome.status = 0;
            call.outcome.body.clear();
            call.retry_after.reset();
            ++run.stats.requests;
            const auto sent = attempt == 1 ? std::min(due, steady::now()) : steady::now();
            bool answered = false;
            if (!open) {
                stream.expires_after(timeout);
                auto [cec] = co_await stream.async_connect(run.endpoint, use_tuple);
                if (!cec) {
                    stream.socket().set_option(tcp::no_delay(true));
                    open = true;
                } else {
                    close();
                }
            }
            if (open) {
                stream.expires_after(timeout);  // one deadline for the write and the read
                auto [wec, written] = co_await http::async_write(stream, request, use_tuple);
                (void)written;
                if (wec) {
                    close();
                } else {
                    http::response_parser<http::string_body> parser;
                    parser.body_limit(max_body_bytes);
                    auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
                    (void)read;
                    if (rec) {
                        close();
                    } else {
                        const auto& response = parser.get();
                        if (!response.keep_alive()) close();
                        call.outcome.status = static_cast<int>(response.result_int());
                        call.outcome.body = response.body();
                        call.retry_after = retry_after_of(response);
                        answered = true;
                    }
                }
            }
            if (answered) run.stats.latency.record(steady::now() - sent);
            const auto slug = call.outcome.status == 409 ? problem_slug(call.outcome.body) : std::string();
            const auto delay =
                journey_retry(call.outcome.status, call.retry_after, slug, attempt, run.options.max_attempts);
            if (!delay || (run.options.stop && run.options.stop->load())) break;
            pause.expires_after(*delay);
            co_await pause.async_wait(use_tuple);
        }
    }
    if (open) close();
}

// Runs every call of the list on up to concurrency lanes; adds their requests and latencies to
// `stats` (not the final statuses: the stage decides what is final).
void run_calls(std::vector<http_call>& calls, const journey_options& options, const tcp::endpoint& endpoint,
               stage_stats& stats, bool paced = false) {
    if (calls.empty()) return;
    net::io_context ioc(1);
    stage_run run{ioc, options, endpoint, calls, stats, 0, steady::now(), std::chrono::nanoseconds{0}};
    if (paced && options.spec.rate > 0)
        run.period = std::chrono::nanoseconds{static_cast<std::int64_t>(1e9 / options.spec.rate)};
    const auto lanes = std::min<std::size_t>(std::max<std::uint32_t>(options.spec.concurrency, 1), calls.size());
    std::exception_ptr failure;
    for (std::size_t i = 0; i < lanes; ++i)
        net::co_spawn(ioc, lane(run), [&failure](std::exception_ptr e) {
            if (e && !failure) failure = e;
        });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
}

std::string json_text(const json::object& object) { return json::serialize(object); }

std::string string_member(std::string_view body, std::string_view name) {
    boost::system::error_code ec;
    const auto doc = json::parse(body, ec);
    if (ec || !doc.is_object()) return {};
    const auto* value = doc.get_object().if_contains(name);
    return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

bool stopped(const journey_options& options) { return options.stop != nullptr && options.stop->load(); }

// The status stage: polls until each submission is calculated or failed, or the wait is over.
void status_stage(journey_result& result, const journey_options& options, const tcp::endpoint& endpoint) {
    stage_stats stats;
    stats.name = "status";
    stats.started_at = std::chrono::system_clock::now();
    const auto started = steady::now();
    const auto give_up_at = started + options.spec.wait;
    std::vector<std::size_t> pending;
    std::vector<steady::time_point> due(result.records.size(), started);
    std::vector<int> last_status(result.records.size(), 0);
    for (std::size_t i = 0; i < result.records.size(); ++i) pending.push_back(i);

    while (!pending.empty() && !stopped(options)) {
        const auto now = steady::now();
        std::vector<http_call> calls;
        std::vector<std::size_t> whose;
        for (const auto i : pending) {
            if (due[i] > now) continue;
            const auto& record = result.records[i];
            http_call call;
            call.target = "/v1/submissions/" + record.submission_id;
            const auto token = options.practice_tokens.find(record.practice);
            call.token = token == options.practice_tokens.end() ? nullptr : &token->second;
            calls.push_back(std::move(call));
            whose.push_back(i);
        }
        run_calls(calls, options, endpoint, stats);
        const auto answered_at = steady::now();
        for (std::size_t k = 0; k < calls.size(); ++k) {
            auto& record = result.records[whose[k]];
            const auto& call = calls[k];
            last_status[whose[k]] = call.outcome.status;
            bool final = call.outcome.status != 200 && call.outcome.status != 0 && call.outcome.status < 500 &&
                         call.outcome.status != 429;
            if (call.outcome.status == 200) {
                record.state = string_member(call.outcome.body, "status");
                if (record.state == "calculated") {
                    const auto bytes = member_bytes(call.outcome.body, "result");
                    if (bytes) {
                        record.statement_sha256 = config::to_hex(config::sha256(*bytes));
                        record.figures = figures_of_result(*bytes);
                    }
                    final = true;
                } else if (record.state == "failed") {
                    final = true;
                }
            }
            if (final) {
                ++stats.calls;
                ++stats.statuses[call.outcome.status];
                std::erase(pending, whose[k]);
            } else {
                due[whose[k]] =
                    answered_at + (call.retry_after && call.retry_after->count() > 0
                                       ? std::chrono::duration_cast<std::chrono::nanoseconds>(*call.retry_after)
                                       : std::chrono::nanoseconds{default_poll_delay});
            }
        }
        if (pending.empty()) break;
        if (steady::now() >= give_up_at) {
            result.waited_out = true;
            break;
        }
        auto next = give_up_at;
        for (const auto i : pending) next = std::min(next, due[i]);
        if (options.on_note && !calls.empty())
            options.on_note("journey: " + std::to_string(result.records.size() - pending.size()) + " of " +
                            std::to_string(result.records.size()) + " calculated or final, " +
                            std::to_string(pending.size()) + " waiting");
        std::this_thread::sleep_until(std::min(next, give_up_at));
    }
    for (const auto i : pending) ++stats.statuses[last_status[i]];  // not final: counted by their last answer
    stats.elapsed = steady::now() - started;
    result.stages.push_back(std::move(stats));
}

void declare_stage(journey_result& result, const journey_options& options, const tcp::endpoint& endpoint) {
    stage_stats stats;
    stats.name = "declare";
    std::vector<http_call> calls;
    std::vector<std::size_t> whose;
    for (std::size_t i = 0; i < result.records.size(); ++i) {
        const auto& record = result.records[i];
        if (record.state != "calculated" || record.statement_sha256.empty()) continue;
        http_call call;
        call.method = http::verb::post;
        call.target = "/v1/declarations";
        const auto token = options.practice_tokens.find(record.practice);
        call.token = token == options.practice_tokens.end() ? nullptr : &token->second;
        call.key = options.run_id + "-declare-" + record.practice;
        call.body = json_text({{"submission_id", record.submission_id},
                               {"declared_by", "sluice-loadtest for " + record.practice},
                               {"statement_sha256", record.statement_sha256}});
        calls.push_back(std::move(call));
        whose.push_back(i);
    }
    stats.started_at = std::chrono::system_clock::now();
    const auto started = steady::now();
    run_calls(calls, options, endpoint, stats, true);
    stats.elapsed = steady::now() - started;
    for (std::size_t k = 0; k < calls.size(); ++k) {
        auto& record = result.records[whose[k]];
        auto& call = calls[k];
        if (call.outcome.attempts == 0) continue;  // stopped before it was sent
        ++stats.calls;
        ++stats.statuses[call.outcome.status];
        if (call.outcome.status == 201) {
            record.declaration_id = string_member(call.outcome.body, "declaration_id");
            const auto points = member_bytes(call.outcome.body, "points");
            const auto payment = member_bytes(call.outcome.body, "payment_gbp");
            const auto p = points ? hundredths(*points) : std::nullopt;
            const auto g = payment ? hundredths(*payment) : std::nullopt;
            if (p && g) record.declared_figures = statement_figures{*p, *g};
        }
        record.declared = std::move(call.outcome);
    }
    result.stages.push_back(std::move(stats));
}

void decide_stage(journey_result& result, const journey_options& options, const tcp::endpoint& endpoint) {
    stage_stats stats;
    stats.name = "decide";
    std::vector<std::size_t> declared;
    for (std::size_t i = 0; i < result.records.size(); ++i)
        if (!result.records[i].declaration_id.empty()) declared.push_back(i);
    const auto kinds = assign_decisions(options.spec, options.seed, declared.size());
    std::vector<http_call> calls;
    std::vector<std::size_t> whose;
    for (std::size_t k = 0; k < declared.size(); ++k) {
        if (kinds[k] == decision_kind::none) continue;
        auto& record = result.records[declared[k]];
        record.decision = kinds[k];
        http_call call;
        call.method = http::verb::post;
        call.target = "/v1/declarations/" + record.declaration_id + "/decision";
        const auto commissioner = options.commissioner_of.find(record.practice);
        if (commissioner != options.commissioner_of.end()) {
            const auto token = options.commissioner_tokens.find(commissioner->second);
            if (token != options.commissioner_tokens.end()) call.token = &token->second;
        }
        call.key = options.run_id + "-decide-" + record.practice;
        json::object body{{"decision", decision_name(kinds[k])}, {"decided_by", "sluice-loadtest commissioner"}};
        if (kinds[k] == decision_kind::reject) body["reason"] = "rejected by the load test's share";
        call.body = json_text(body);
        calls.push_back(std::move(call));
        whose.push_back(declared[k]);
    }
    stats.started_at = std::chrono::system_clock::now();
    const auto started = steady::now();
    run_calls(calls, options, endpoint, stats, true);
    stats.elapsed = steady::now() - started;
    for (std::size_t k = 0; k < calls.size(); ++k) {
        if (calls[k].outcome.attempts == 0) continue;
        ++stats.calls;
        ++stats.statuses[calls[k].outcome.status];
        result.records[whose[k]].decided = std::move(calls[k].outcome);
    }
    result.stages.push_back(std::move(stats));
}

}  // namespace

journey_result run_journey(const std::vector<submission_record>& submissions, const journey_options& options) {
    journey_result result;
    result.spec = options.spec;
    for (const auto& submission : submissions) {
        if (submission.submission_ids.size() != 1) continue;
        journey_record record;
        record.practice = submission.practice;
        record.submission_id = submission.submission_ids.front();
        result.records.push_back(std::move(record));
    }
    boost::system::error_code ec;
    const auto address = net::ip::make_address(options.host, ec);
    if (ec) throw std::invalid_argument("journey: target address \"" + options.host + "\": " + ec.message());
    const tcp::endpoint endpoint(address, options.port);
    status_stage(result, options, endpoint);
    declare_stage(result, options, endpoint);
    decide_stage(result, options, endpoint);
    return result;
}

}  // namespace sluice::loadtest
