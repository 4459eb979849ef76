// --verify (see verify.hpp): the pure verdict, and the status fetcher that feeds it.
//
// judge() walks the records once. For each submission it asks, in this order: was it accepted at
// all (a 2xx with an id), was it accepted once (one distinct id), and is every id it was given
// known to the gateway for that practice. A lookup that could not be made (transport error, 5xx,
// any answer other than 200 or 404) is "lookup failed": we do not know, so it is not counted as
// lost, but it is still a violation, because an unverified run must not pass.
//
// fetch_statuses() is one io_context on the calling thread with `connections` coroutines, each
// owning one keep-alive connection and taking the next id from a shared cursor (no locks: one
// thread). Every request has one deadline for write and read together; a transport error closes
// the connection (the next attempt opens a fresh one), and transport errors, 5xx, 408, 429 and
// unreadable 200s are retried after a short backoff until `attempts` requests were made.
#include "loadtest/verify.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <exception>

namespace sluice::loadtest {

std::string_view violation_name(violation_kind kind) noexcept {
    switch (kind) {
    case violation_kind::duplicate: return "duplicate";
    case violation_kind::lost: return "lost";
    case violation_kind::wrong_practice: return "wrong_practice";
    case violation_kind::not_accepted: return "not_accepted";
    case violation_kind::lookup_failed: return "lookup_failed";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------------------------
// The verdict.

namespace {

std::string join_ids(const std::vector<std::string>& ids) {
    std::string out = "ids ";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) out += ", ";
        out += ids[i];
    }
    return out;
}

std::string lookup_path(const std::string& id) { return "GET /v1/submissions/" + id; }

// What one id's lookup says about it.
enum class id_finding : std::uint8_t { found, lost, wrong_practice, lookup_failed };

struct id_check {
    id_finding finding = id_finding::found;
    std::string detail;
};

id_check check_id(const std::string& id, const std::string& practice,
                  const std::map<std::string, status_lookup>& lookups) {
    const auto it = lookups.find(id);
    if (it == lookups.end()) return {id_finding::lookup_failed, lookup_path(id) + " was not made"};
    const status_lookup& lookup = it->second;
    if (lookup.http_status == 404) return {id_finding::lost, lookup_path(id) + " answered 404"};
    if (lookup.http_status == 0) return {id_finding::lookup_failed, lookup_path(id) + " got no answer"};
    if (lookup.http_status != 200)
        return {id_finding::lookup_failed, lookup_path(id) + " answered " + std::to_string(lookup.http_status)};
    if (lookup.state.empty()) return {id_finding::lookup_failed, lookup_path(id) + " answered 200 without a status"};
    if (!lookup.practice.empty() && lookup.practice != practice)
        return {id_finding::wrong_practice, lookup_path(id) + " names practice " + lookup.practice};
    return {};
}

void add(verdict& result, violation_kind kind, const submission_record& record, std::string detail) {
    switch (kind) {
    case violation_kind::duplicate: ++result.duplicates; break;
    case violation_kind::lost: ++result.lost; break;
    case violation_kind::wrong_practice: ++result.wrong_practice; break;
    case violation_kind::not_accepted: ++result.not_accepted; break;
    case violation_kind::lookup_failed: ++result.lookup_failed; break;
    }
    result.violations.push_back({kind, record.practice, record.idempotency_key, std::move(detail)});
}

void count_state(verdict& result, const std::string& state) {
    if (state == "queued")
        ++result.queued;
    else if (state == "processing")
        ++result.processing;
    else if (state == "calculated")
        ++result.calculated;
    else if (state == "failed")
        ++result.failed;
}

}  // namespace

verdict judge(const std::vector<submission_record>& records, const std::map<std::string, status_lookup>& lookups) {
    verdict result;
    result.submissions = records.size();
    for (const auto& record : records) {
        if (record.submission_ids.empty()) {
            std::string detail = "no 2xx answer in " + std::to_string(record.requests) + " request(s)";
            if (record.last_status)
                detail +=
                    ", last " + (*record.last_status == transport_error_status ? std::string("a transport error")
                                                                               : std::to_string(*record.last_status));
            if (record.gave_up) detail += ", gave up";
            add(result, violation_kind::not_accepted, record, std::move(detail));
            continue;
        }
        if (record.submission_ids.size() > 1)
            add(result, violation_kind::duplicate, record, join_ids(record.submission_ids));

        // Each kind once per submission: the first id that shows it names it.
        std::optional<std::string> lost, wrong, failed;
        for (const auto& id : record.submission_ids) {
            auto check = check_id(id, record.practice, lookups);
            switch (check.finding) {
            case id_finding::found: break;
            case id_finding::lost:
                if (!lost) lost = std::move(check.detail);
                break;
            case id_finding::wrong_practice:
                if (!wrong) wrong = std::move(check.detail);
                break;
            case id_finding::lookup_failed:
                if (!failed) failed = std::move(check.detail);
                break;
            }
        }
        if (lost) add(result, violation_kind::lost, record, std::move(*lost));
        if (wrong) add(result, violation_kind::wrong_practice, record, std::move(*wrong));
        if (failed) add(result, violation_kind::lookup_failed, record, std::move(*failed));

        if (record.submission_ids.size() == 1 && !lost && !wrong && !failed) {
            ++result.accepted_once;
            count_state(result, lookups.at(record.submission_ids.front()).state);
        }
    }
    return result;
}

std::string format_verdict(const verdict& result, std::size_t max_listed) {
    std::string out = "verify: ";
    out += result.ok() ? "OK: " : "FAILED: ";
    if (result.ok()) {
        out += std::to_string(result.accepted_once) + " submissions accepted exactly once";
    } else {
        out += std::to_string(result.accepted_once) + " of " + std::to_string(result.submissions) +
               " submissions accepted exactly once";
    }
    out += ", " + std::to_string(result.lost) + " lost, " + std::to_string(result.duplicates) + " duplicated";
    if (result.wrong_practice > 0) out += ", " + std::to_string(result.wrong_practice) + " with the wrong practice";
    if (result.not_accepted > 0) out += ", " + std::to_string(result.not_accepted) + " not accepted";
    if (result.lookup_failed > 0)
        out += ", " + std::to_string(result.lookup_failed) + " not verifiable (lookup failed)";
    out += "; " + std::to_string(result.calculated) + " calculated, " + std::to_string(result.queued) + " queued";
    if (result.processing > 0) out += ", " + std::to_string(result.processing) + " processing";
    if (result.failed > 0) out += ", " + std::to_string(result.failed) + " failed";
    out += '\n';
    const std::size_t listed = std::min(max_listed, result.violations.size());
    for (std::size_t i = 0; i < listed; ++i) {
        const auto& v = result.violations[i];
        out += "  ";
        out += violation_name(v.kind);
        out += ": practice " + v.practice + ", key " + v.idempotency_key + ": " + v.detail + '\n';
    }
    if (listed < result.violations.size())
        out += "  ... and " + std::to_string(result.violations.size() - listed) + " more\n";
    return out;
}

// ---------------------------------------------------------------------------------------------
// Fetching the statuses.

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
// A status document is a few hundred bytes; a result with 200 indicators a few tens of KiB.
constexpr std::uint64_t max_status_body_bytes = 1 << 20;
constexpr std::chrono::milliseconds first_retry_delay{100};
constexpr std::chrono::milliseconds max_retry_delay{2000};

struct fetch_job {
    const std::string* id = nullptr;
    const std::string* token = nullptr;  // null: no token for the practice
    status_lookup* lookup = nullptr;
};

struct fetch_state {
    net::io_context& ioc;
    const fetch_options& options;
    tcp::resolver::results_type endpoints;
    std::vector<fetch_job> jobs;
    std::size_t next = 0;
};

bool worth_retrying(int status) noexcept {
    return status == transport_error_status || status == 408 || status == 429 || status >= 500;
}

// Fills `lookup` from a 200's body; false if the body is not a status document.
bool read_status_document(const std::string& body, status_lookup& lookup) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(body, ec);
    if (ec || !doc.is_object()) return false;
    const auto& object = doc.get_object();
    const auto* state = object.if_contains("status");
    if (state == nullptr || !state->is_string() || state->get_string().empty()) return false;
    lookup.state = std::string(state->get_string());
    if (const auto* practice = object.if_contains("practice"); practice != nullptr && practice->is_string())
        lookup.practice = std::string(practice->get_string());
    return true;
}

// One connection working through the shared list of ids.
net::awaitable<void> lookup_worker(fetch_state& state) {
    beast::tcp_stream stream(state.ioc);
    bool open = false;
    beast::flat_buffer buffer;
    net::steady_timer backoff(state.ioc);
    auto close = [&] {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        buffer.clear();
        open = false;
    };

    while (state.next < state.jobs.size()) {
        const fetch_job& job = state.jobs[state.next++];
        status_lookup& lookup = *job.lookup;
        if (job.token == nullptr) continue;  // left as "no answer": we cannot ask for it

        http::request<http::empty_body> request;
        request.method(http::verb::get);
        request.target("/v1/submissions/" + *job.id);
        request.version(11);
        request.set(http::field::host, state.options.host + ":" + std::to_string(state.options.port));
        request.set(http::field::authorization, "Bearer " + *job.token);
        request.set(http::field::user_agent, "sluice-loadtest/verify");
        request.keep_alive(true);

        auto delay = first_retry_delay;
        for (int attempt = 1; attempt <= std::max(1, state.options.attempts); ++attempt) {
            if (attempt > 1) {
                backoff.expires_after(delay);
                co_await backoff.async_wait(use_tuple);
                delay = std::min(delay * 2, max_retry_delay);
            }
            lookup.http_status = transport_error_status;
            lookup.state.clear();
            lookup.practice.clear();
            if (!open) {
                stream.expires_after(state.options.timeout);
                auto [cec, endpoint] = co_await stream.async_connect(state.endpoints, use_tuple);
                (void)endpoint;
                if (cec) {
                    close();
                    continue;
                }
                stream.socket().set_option(tcp::no_delay(true));
                open = true;
            }
            stream.expires_after(state.options.timeout);  // one deadline for the write and the read
            auto [wec, written] = co_await http::async_write(stream, request, use_tuple);
            (void)written;
            if (wec) {
                close();
                continue;
            }
            http::response_parser<http::string_body> parser;
            parser.body_limit(max_status_body_bytes);
            auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
            (void)read;
            if (rec) {
                close();
                continue;
            }
            const auto& response = parser.get();
            if (!response.keep_alive()) close();
            lookup.http_status = static_cast<int>(response.result_int());
            if (lookup.http_status == 200 && !read_status_document(response.body(), lookup)) continue;
            if (!worth_retrying(lookup.http_status)) break;
        }
    }
    if (open) close();
}

}  // namespace

std::map<std::string, status_lookup> fetch_statuses(const std::vector<submission_record>& records,
                                                    const std::map<std::string, std::string>& tokens,
                                                    const fetch_options& options) {
    std::map<std::string, status_lookup> lookups;
    net::io_context ioc(1);
    fetch_state state{ioc, options, {}, {}, 0};

    // Every distinct id once, asked with the token of the first practice that was given it.
    for (const auto& record : records) {
        const auto token = tokens.find(record.practice);
        for (const auto& id : record.submission_ids) {
            auto [it, inserted] = lookups.try_emplace(id);
            if (!inserted) continue;
            it->second.submission_id = id;
            state.jobs.push_back({&it->first, token == tokens.end() ? nullptr : &token->second, &it->second});
        }
    }
    if (state.jobs.empty()) return lookups;

    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    state.endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) return lookups;  // every lookup stays "no answer": lookup_failed, not lost

    const std::size_t workers =
        std::min<std::size_t>(std::max<std::uint32_t>(options.connections, 1), state.jobs.size());
    std::exception_ptr failure;
    for (std::size_t i = 0; i < workers; ++i)
        net::co_spawn(ioc, lookup_worker(state), [&failure](std::exception_ptr e) {
            if (e && !failure) failure = e;
        });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    return lookups;
}

}  // namespace sluice::loadtest
