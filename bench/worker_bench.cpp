// worker_bench: the C++ half of bench/worker.sh (the issue: "calculations per second per worker,
// and how long two workers take to drain 100,000 queued submissions"). It prints figures; it is
// not a test.
//
//   worker_bench calc [--seconds 3] [--items 20] [--catalogue DIR]
//       In process, one thread, no Redis: what sluice-worker does per entry between reading it and
//       writing its result (parse_submission + catalogue.period + calculate + result_json), on
//       realistic QOF bodies; then parse alone, calculate alone and result_json alone. Each loop
//       runs --seconds after a short warm-up; it prints operations per second and ns per operation.
//
//   worker_bench enqueue --redis HOST:PORT [--count 100000] [--practices 10000] [--shards 16]
//                        [--items 20] [--batch 1000] [--ttl 604800] [--catalogue DIR]
//       Writes --count queued submissions the way queue/admission.lua leaves one (its steps c and
//       d): XADD sluice:{S}:q * id practice sha256 received_at body, then HSET sluice:{S}:sub:<id>
//       id practice status=queued attempts=0 received_at content_sha256 receipt entry_id, and
//       EXPIRE. Practices Z00000.. in rotation, shard = queue::shard_of, ids =
//       queue::new_submission_id, SHA-256 of the actual body, the gateway's receipt. The
//       idempotency record and the rate-limit state are not written: no worker reads them.
//       Pipelined with hiredis's synchronous API, --batch submissions at a time: their XADDs (the
//       status record needs the entry id), then their HSETs and EXPIREs. Not atomic per
//       submission as the script is, so run it while no worker consumes the shards.
//
// Bodies are generated from the loaded catalogue's first period 2024-25 (or the last period if
// there is none): --items indicators spread evenly over its code-sorted list, so register,
// percentage and yes/no indicators all occur, with the registers of the prevalence-adjusted groups
// they touch; figures vary by practice, deterministically. Each body is checked with
// parse_submission before use: a body the gateway would refuse stops the program.
#include "catalogue/catalogue.hpp"
#include "config/digest.hpp"
#include "config/log.hpp"
#include "config/rfc3339.hpp"
#include "queue/keys.hpp"
#include "queue/submission.hpp"
#include "worker/calculation.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef SLUICE_CATALOGUE_DIR
#error "SLUICE_CATALOGUE_DIR must be defined by the build"
#endif

namespace {

using namespace sluice;
using steady = std::chrono::steady_clock;

constexpr std::string_view preferred_period = "2024-25";

#ifdef SLUICE_WITH_JEMALLOC
constexpr std::string_view allocator_name = "jemalloc";
#else
constexpr std::string_view allocator_name = "system malloc";
#endif

// ---- command line ----------------------------------------------------------------------------

struct options {
    std::string mode;
    double seconds = 3;
    std::size_t items = 20;
    std::string catalogue_dir = SLUICE_CATALOGUE_DIR;
    std::string redis_host;
    int redis_port = 0;
    std::uint64_t count = 100000;
    std::uint32_t practices = 10000;
    std::uint32_t shards = 16;
    std::size_t batch = 1000;
    std::uint64_t ttl_seconds = 604800;  // idempotency.ttl_seconds' default
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "worker_bench: " << why << "\n"
              << "usage: worker_bench calc [--seconds S] [--items N] [--catalogue DIR]\n"
              << "       worker_bench enqueue --redis HOST:PORT [--count N] [--practices N] [--shards N]\n"
              << "                            [--items N] [--batch N] [--ttl SECONDS] [--catalogue DIR]\n";
    std::exit(2);
}

std::uint64_t whole_number(const std::string& flag, const std::string& text, std::uint64_t least,
                           std::uint64_t most) {
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || value < least || value > most)
        usage(flag + " " + text + ": expected a whole number from " + std::to_string(least) + " to " +
              std::to_string(most));
    return value;
}

options parse_command_line(int argc, char** argv) {
    if (argc < 2) usage("no mode given");
    options o;
    o.mode = argv[1];
    if (o.mode != "calc" && o.mode != "enqueue") usage("unknown mode " + o.mode);
    for (int i = 2; i < argc; i += 2) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) usage(flag + " needs a value");
        const std::string value = argv[i + 1];
        if (flag == "--seconds" && o.mode == "calc") {
            o.seconds = static_cast<double>(whole_number(flag, value, 1, 600));
        } else if (flag == "--items") {
            o.items = whole_number(flag, value, 1, queue::max_submission_items);
        } else if (flag == "--catalogue") {
            o.catalogue_dir = value;
        } else if (flag == "--redis" && o.mode == "enqueue") {
            const auto colon = value.rfind(':');
            if (colon == std::string::npos || colon == 0) usage("--redis " + value + ": expected HOST:PORT");
            o.redis_host = value.substr(0, colon);
            o.redis_port = static_cast<int>(whole_number(flag, value.substr(colon + 1), 1, 65535));
        } else if (flag == "--count" && o.mode == "enqueue") {
            o.count = whole_number(flag, value, 1, 100'000'000);
        } else if (flag == "--practices" && o.mode == "enqueue") {
            o.practices = static_cast<std::uint32_t>(whole_number(flag, value, 1, 100000));  // Z00000..Z99999
        } else if (flag == "--shards" && o.mode == "enqueue") {
            o.shards = static_cast<std::uint32_t>(whole_number(flag, value, 1, 16384));  // redis.shards' range
        } else if (flag == "--batch" && o.mode == "enqueue") {
            o.batch = whole_number(flag, value, 1, 100000);
        } else if (flag == "--ttl" && o.mode == "enqueue") {
            o.ttl_seconds = whole_number(flag, value, 1, 100'000'000);
        } else {
            usage("unknown option " + flag + " for " + o.mode);
        }
    }
    if (o.mode == "enqueue" && o.redis_host.empty()) usage("enqueue needs --redis HOST:PORT");
    return o;
}

// ---- realistic bodies ------------------------------------------------------------------------

const catalogue::period_catalogue& bench_period(const catalogue::catalogue& catalogue) {
    if (const auto* p = catalogue.period(preferred_period)) return *p;
    if (catalogue.periods().empty()) throw std::runtime_error("the catalogue has no period");
    return catalogue.periods().back();
}

// SplitMix64: the same figures for the same practice on every run.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
    x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
    return x ^ (x >> 31);
}

// "Z00042"
std::string practice_code(std::uint32_t number) {
    char code[8];
    std::snprintf(code, sizeof code, "Z%05u", static_cast<unsigned>(number % 100000));
    return code;
}

// A QOF body as a practice system would send it: `items` indicators spread over the period's
// list, plausible numerators and denominators, the registers of their prevalence-adjusted groups.
std::string qof_body(const catalogue::period_catalogue& period, std::string_view practice, std::uint32_t number,
                     std::size_t items) {
    const auto indicators = period.qof_indicators();
    items = std::min(items, indicators.size());
    std::uint64_t state = mix(number + 1);
    auto next = [&state](std::uint64_t below) {
        state = mix(state);
        return state % below;
    };
    const std::uint64_t list_size = 3000 + next(15000);

    boost::json::array qof_items;
    // Group -> its population: a disease register, or the eligible population of a public-health
    // or QI group (which a body does not send as a register).
    std::map<std::string, std::uint64_t> populations;
    for (std::size_t i = 0; i < items; ++i) {
        const auto& indicator = indicators[i * indicators.size() / items];
        auto& size = populations[indicator.group];
        if (size == 0) size = 20 + list_size * (1 + next(150)) / 1000;  // 0.1% to 15% of the list
        boost::json::object item;
        item["code"] = indicator.code;
        switch (indicator.kind) {
            case catalogue::indicator_kind::yes_no:
                item["numerator"] = 1;
                item["denominator"] = 1;
                break;
            case catalogue::indicator_kind::disease_register:
                item["numerator"] = size;
                item["denominator"] = size;
                break;
            case catalogue::indicator_kind::percentage: {
                const std::uint64_t denominator = size - size * next(10) / 100;  // after PCAs
                item["numerator"] = denominator * (40 + next(60)) / 100;
                item["denominator"] = denominator;
                item["pca"] = size - denominator;
                break;
            }
        }
        qof_items.push_back(std::move(item));
    }
    boost::json::array register_list;
    for (const auto& [group, size] : populations) {
        // The registers a practice keeps: those the APDF needs (the prevalence-adjusted groups).
        const auto* g = period.group(group);
        if (g == nullptr || !g->prevalence_adjusted) continue;
        boost::json::object entry;
        entry["condition"] = group;
        entry["size"] = size;
        register_list.push_back(std::move(entry));
    }

    boost::json::object body;
    body["practice"] = practice;
    body["period"] = period.name();
    body["scheme"] = catalogue::qof_scheme;
    body["list_size"] = list_size;
    body["items"] = std::move(qof_items);
    body["registers"] = std::move(register_list);
    return boost::json::serialize(body);
}

// A body the gateway would refuse makes every figure meaningless: stop.
queue::submission checked_submission(const std::string& body, const catalogue::catalogue& catalogue) {
    auto parsed = queue::parse_submission(body, catalogue);
    if (!parsed) {
        std::string why = parsed.fault().detail;
        for (const auto& e : parsed.fault().errors) why += " " + e.pointer + ": " + e.detail + ";";
        throw std::runtime_error("generated body refused by parse_submission (" + why + "): " + body);
    }
    return std::move(parsed).value();
}

// ---- calc ------------------------------------------------------------------------------------

// Keeps a result alive so the optimiser cannot drop the work that produced it.
volatile std::size_t sink = 0;

struct loop_figures {
    std::uint64_t operations = 0;
    double seconds = 0;
};

// Runs `one(i)` for i = 0, 1, ... during `seconds` (after a warm-up of a tenth of that, at most
// 0.5 s), reading the clock every 64 operations.
template <typename Operation>
loop_figures timed_loop(double seconds, Operation one) {
    const auto warm_until = steady::now() + std::chrono::duration<double>(std::min(seconds / 10, 0.5));
    std::uint64_t i = 0;
    while (steady::now() < warm_until)
        for (int k = 0; k < 64; ++k) sink = sink + one(i++);
    const auto start = steady::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    loop_figures f;
    auto now = start;
    while (now < until) {
        for (int k = 0; k < 64; ++k) sink = sink + one(i++);
        f.operations += 64;
        now = steady::now();
    }
    f.seconds = std::chrono::duration<double>(now - start).count();
    return f;
}

void print_loop(std::string_view name, const loop_figures& f) {
    const double per_second = static_cast<double>(f.operations) / f.seconds;
    std::printf("%-46s %12.0f/s %10.0f ns %12llu ops %6.2f s\n", std::string(name).c_str(), per_second,
                1e9 / per_second, static_cast<unsigned long long>(f.operations), f.seconds);
}

int run_calc(const options& o) {
    const auto catalogue = catalogue::load_catalogue(o.catalogue_dir);
    const auto& period = bench_period(catalogue);

    // A few dozen practices' bodies in rotation: the figures of one body would flatter the caches.
    constexpr std::uint32_t rotation = 64;
    std::vector<std::string> bodies;
    std::vector<queue::submission> submissions;
    std::vector<worker::calculation_result> results;
    std::size_t body_bytes = 0, result_bytes = 0, notes = 0;
    for (std::uint32_t n = 0; n < rotation; ++n) {
        bodies.push_back(qof_body(period, practice_code(n), n, o.items));
        submissions.push_back(checked_submission(bodies.back(), catalogue));
        results.push_back(worker::calculate(submissions.back(), period));
        body_bytes += bodies.back().size();
        result_bytes += worker::result_json(results.back()).size();
        notes += results.back().notes.size();
        for (const auto& i : results.back().indicators) notes += i.notes.size();
    }
    std::printf("calc: period %s, %zu indicators a body (%zu registers), %u bodies in rotation: body %zu B, "
                "result %zu B, %zu notes a result on average; one thread, %s\n",
                period.name().c_str(), submissions[0].qof_items.size(), submissions[0].registers.size(), rotation,
                body_bytes / rotation, result_bytes / rotation, notes / rotation, std::string(allocator_name).c_str());
    std::printf("%-46s %14s %13s %16s %8s\n", "operation", "per second", "per op", "operations", "time");

    // What the worker does per entry (worker.cpp calculate_entry), without the Redis calls.
    print_loop("parse + calculate + result_json (worker's)", timed_loop(o.seconds, [&](std::uint64_t i) {
                   const auto& body = bodies[i % rotation];
                   auto parsed = queue::parse_submission(body, catalogue);
                   if (!parsed) return std::size_t{0};
                   const auto* p = catalogue.period(parsed.value().period);
                   if (p == nullptr || parsed.value().practice.empty()) return std::size_t{0};
                   return worker::result_json(worker::calculate(parsed.value(), *p)).size();
               }));
    print_loop("parse_submission alone", timed_loop(o.seconds, [&](std::uint64_t i) {
                   auto parsed = queue::parse_submission(bodies[i % rotation], catalogue);
                   return parsed ? parsed.value().qof_items.size() : std::size_t{0};
               }));
    print_loop("calculate alone", timed_loop(o.seconds, [&](std::uint64_t i) {
                   return worker::calculate(submissions[i % rotation], period).indicators.size();
               }));
    print_loop("result_json alone", timed_loop(o.seconds, [&](std::uint64_t i) {
                   return worker::result_json(results[i % rotation]).size();
               }));
    return 0;
}

// ---- enqueue ---------------------------------------------------------------------------------

struct redis_context_deleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct redis_reply_deleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using redis_connection = std::unique_ptr<redisContext, redis_context_deleter>;
using owned_reply = std::unique_ptr<redisReply, redis_reply_deleter>;

redis_connection connect_redis(const options& o) {
    // hiredis 0.14 has no command timeout: bound the connect, and every read with SO_RCVTIMEO.
    const timeval connect_timeout{5, 0};
    redis_connection c(redisConnectWithTimeout(o.redis_host.c_str(), o.redis_port, connect_timeout));
    if (!c) throw std::runtime_error("redis: out of memory");
    if (c->err) throw std::runtime_error("redis " + o.redis_host + ":" + std::to_string(o.redis_port) + ": " + c->errstr);
    const timeval reply_timeout{30, 0};
    if (redisSetTimeout(c.get(), reply_timeout) != REDIS_OK) throw std::runtime_error("redis: cannot set a timeout");
    return c;
}

// One command in the pipeline; the strings must live until the replies are read.
void append(redisContext* c, const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (auto a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data()) != REDIS_OK)
        throw std::runtime_error(std::string("redis: cannot append a command: ") + c->errstr);
}

owned_reply next_reply(redisContext* c, std::string_view what) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr)
        throw std::runtime_error("redis: no reply to " + std::string(what) + ": " + c->errstr);
    owned_reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR)
        throw std::runtime_error("redis: " + std::string(what) + ": " + std::string(r->str, r->len));
    return r;
}

struct practice_entry {
    std::string code;
    std::uint32_t shard = 0;
    std::string body;
    std::string sha256_hex;
};

// The gateway's receipt (gateway/handlers/submissions.cpp receipt_json): same keys, same order.
std::string receipt_json(const std::string& id, const practice_entry& p, const std::string& received_at) {
    boost::json::object r;
    r["submission_id"] = id;
    r["status"] = "queued";
    r["practice"] = p.code;
    r["received_at"] = received_at;
    r["content_sha256"] = p.sha256_hex;
    r["status_url"] = "/v1/submissions/" + id;
    return boost::json::serialize(r);
}

int run_enqueue(const options& o) {
    const auto catalogue = catalogue::load_catalogue(o.catalogue_dir);
    const auto& period = bench_period(catalogue);

    std::vector<practice_entry> practices(o.practices);
    std::size_t body_bytes = 0;
    for (std::uint32_t n = 0; n < o.practices; ++n) {
        auto& p = practices[n];
        p.code = practice_code(n);
        p.shard = queue::shard_of(p.code, o.shards);
        p.body = qof_body(period, p.code, n, o.items);
        checked_submission(p.body, catalogue);
        p.sha256_hex = config::to_hex(config::sha256(p.body));
        body_bytes += p.body.size();
    }
    std::vector<std::string> queue_keys;
    for (std::uint32_t s = 0; s < o.shards; ++s) queue_keys.push_back(queue::queue_key(s));

    auto connection = connect_redis(o);
    redisContext* c = connection.get();
    std::mt19937_64 random{std::random_device{}()};
    const std::string ttl = std::to_string(o.ttl_seconds);
    std::vector<std::uint64_t> per_shard(o.shards, 0);

    struct pending_submission {
        const practice_entry* practice = nullptr;
        std::string id, key, received_at, receipt, entry_id;
    };
    std::vector<pending_submission> batch;
    batch.reserve(o.batch);

    const auto start = steady::now();
    for (std::uint64_t done = 0; done < o.count;) {
        const std::uint64_t n = std::min<std::uint64_t>(o.batch, o.count - done);
        batch.clear();
        const std::string received_at = config::utc_timestamp();
        for (std::uint64_t k = 0; k < n; ++k) {
            auto& s = batch.emplace_back();
            s.practice = &practices[(done + k) % o.practices];
            s.id = queue::new_submission_id(s.practice->shard, random);
            s.key = queue::submission_key(s.practice->shard, s.id);
            s.received_at = received_at;
            s.receipt = receipt_json(s.id, *s.practice, s.received_at);
        }
        // (c) of admission.lua: the queue entries. The status records need their ids.
        for (const auto& s : batch)
            append(c, {"XADD", queue_keys[s.practice->shard], "*", "id", s.id, "practice", s.practice->code, "sha256",
                       s.practice->sha256_hex, "received_at", s.received_at, "body", s.practice->body});
        for (auto& s : batch) {
            const auto r = next_reply(c, "XADD");
            if (r->type != REDIS_REPLY_STRING) throw std::runtime_error("redis: XADD did not answer an entry id");
            s.entry_id.assign(r->str, r->len);
        }
        // (d): the status record, with the TTL the idempotency settings give it.
        for (const auto& s : batch) {
            append(c, {"HSET", s.key, "id", s.id, "practice", s.practice->code, "status", "queued", "attempts", "0",
                       "received_at", s.received_at, "content_sha256", s.practice->sha256_hex, "receipt", s.receipt,
                       "entry_id", s.entry_id});
            append(c, {"EXPIRE", s.key, ttl});
        }
        for (std::uint64_t k = 0; k < 2 * n; ++k) next_reply(c, k % 2 == 0 ? "HSET" : "EXPIRE");
        for (const auto& s : batch) ++per_shard[s.practice->shard];
        done += n;
    }
    const double seconds = std::chrono::duration<double>(steady::now() - start).count();

    const auto [least, most] = std::minmax_element(per_shard.begin(), per_shard.end());
    std::printf("enqueue: %llu submissions of %u practices (Z00000..%s) on %u shards in %.3f s: %.0f/s "
                "(pipelined, %zu a batch: XADDs, then HSET + EXPIRE); body %zu B on average; "
                "per shard %llu..%llu\n",
                static_cast<unsigned long long>(o.count), o.practices, practice_code(o.practices - 1).c_str(),
                o.shards, seconds, static_cast<double>(o.count) / seconds, o.batch, body_bytes / o.practices,
                static_cast<unsigned long long>(*least), static_cast<unsigned long long>(*most));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const auto o = parse_command_line(argc, argv);
        return o.mode == "calc" ? run_calc(o) : run_enqueue(o);
    } catch (const std::exception& e) {
        std::cerr << "worker_bench: " << e.what() << "\n";
        return 1;
    }
}
