// The consumer side of the queue shards (see consumer.hpp): commands and scripts sent with the
// Redis client, replies read strictly (anything of another shape is unexpected_reply, never a
// guess).
#include "queue/consumer.hpp"

#include "embedded/consumer_fail_lua.hpp"
#include "embedded/consumer_finish_lua.hpp"
#include "embedded/consumer_leave_lua.hpp"
#include "embedded/consumer_start_lua.hpp"
#include "embedded/consumer_trim_lua.hpp"
#include "queue/keys.hpp"
#include "queue/stream_entries.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <utility>

namespace sluice::queue {

namespace {

namespace net = boost::asio;
using boost::system::error_code;
using redis::reply;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

const redis::script& start_script() {
    static const redis::script s{std::string(embedded::consumer_start_lua)};
    return s;
}
const redis::script& finish_script() {
    static const redis::script s{std::string(embedded::consumer_finish_lua)};
    return s;
}
const redis::script& fail_script() {
    static const redis::script s{std::string(embedded::consumer_fail_lua)};
    return s;
}
const redis::script& trim_script() {
    static const redis::script s{std::string(embedded::consumer_trim_lua)};
    return s;
}
const redis::script& leave_script() {
    static const redis::script s{std::string(embedded::consumer_leave_lua)};
    return s;
}

class consumer_error_category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sluice.queue.consumer"; }
    std::string message(int ev) const override {
        switch (static_cast<consumer_error>(ev)) {
        case consumer_error::no_group: return "the queue stream or its consumer group does not exist";
        case consumer_error::error_reply: return "Redis answered with an error";
        case consumer_error::unexpected_reply: return "Redis answered with a reply of an unexpected shape";
        }
        return "unknown consumer error";
    }
};

// A transport error, a Redis error reply, or nothing wrong (ec == {}): the common first check.
template <typename T>
bool failed(consumer_result<T>& out, const error_code& ec, const reply& r) {
    if (ec) {
        out.ec = ec;
        return true;
    }
    if (r.is_error()) {
        out.ec = r.str.starts_with("NOGROUP") ? consumer_error::no_group : consumer_error::error_reply;
        out.detail = r.str;
        return true;
    }
    return false;
}

template <typename T>
consumer_result<T> unexpected(std::string_view what, const reply& r) {
    consumer_result<T> out;
    out.ec = consumer_error::unexpected_reply;
    out.detail = std::string(what) + ": " + describe_reply(r);
    return out;
}

// An XREADGROUP reply into `entries` (stream_entries.hpp); false, with `out` saying why, for a
// reply of another shape.
template <typename T>
bool parse_read(const reply& r, std::uint32_t shards, std::vector<queued_entry>& entries, consumer_result<T>& out) {
    if (auto why = read_queue_entries(r, shards, entries)) {
        out.ec = consumer_error::unexpected_reply;
        out.detail = std::move(*why);
        return false;
    }
    return true;
}

// Sends every command (commands[i] about keys[i]) at once and waits for all of their replies.
// Every call completes (the router's deadline), so this always returns.
net::awaitable<std::vector<std::pair<error_code, reply>>> exec_all(
    redis::router& router, const std::vector<std::string_view>& keys,
    const std::vector<std::vector<std::string_view>>& commands) {
    struct gathering {
        explicit gathering(redis::router::executor_type ex, std::size_t n)
            : results(n), left(n), all_in(ex, net::steady_timer::time_point::max()) {}
        std::vector<std::pair<error_code, reply>> results;
        std::size_t left;
        net::steady_timer all_in;
    };
    auto state = std::make_shared<gathering>(router.get_executor(), commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        router.async_exec(keys[i], std::span<const std::string_view>(commands[i]), [state, i](error_code ec, reply r) {
            state->results[i] = {ec, std::move(r)};
            if (--state->left == 0) state->all_in.cancel();
        });
    }
    // Completions are never inline, so none has run yet: the wait is in place before the last.
    if (state->left > 0) co_await state->all_in.async_wait(use_tuple);
    co_return std::move(state->results);
}

// The status key of an entry, or a key of the same shard that never exists (so scripts that
// must be given a key on the right slot see "no record").
std::string status_key_or_placeholder(const queued_entry& entry, std::uint32_t shards) {
    if (auto key = status_key_of(entry, shards)) return *std::move(key);
    return submission_key(entry.shard, "");
}

const reply* flat_field(const reply& flat, std::string_view name) {
    if (!flat.is_array()) return nullptr;
    for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
        if (flat.elements[i].str == name) return &flat.elements[i + 1];
    return nullptr;
}

}  // namespace

const boost::system::error_category& consumer_error_category() noexcept {
    static const consumer_error_category_impl category;
    return category;
}

boost::system::error_code make_error_code(consumer_error e) noexcept {
    return {static_cast<int>(e), consumer_error_category()};
}

std::string dead_letter_key(std::uint32_t shard) { return "sluice:" + hash_tag(shard) + ":dlq"; }

std::string unique_consumer_name() {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    std::string name = host[0] != '\0' ? std::string(host.data()) : std::string("unknown");
    std::random_device device;
    std::uniform_int_distribution<std::uint32_t> bits;
    char random_hex[9];
    static constexpr char digits[] = "0123456789abcdef";
    auto r = bits(device);
    for (int i = 7; i >= 0; --i) {
        random_hex[i] = digits[r & 0xf];
        r >>= 4;
    }
    random_hex[8] = '\0';
    return name + "-" + std::to_string(::getpid()) + "-" + random_hex;
}

std::string_view consumer_start_script_source() noexcept { return embedded::consumer_start_lua; }
std::string_view consumer_finish_script_source() noexcept { return embedded::consumer_finish_lua; }
std::string_view consumer_fail_script_source() noexcept { return embedded::consumer_fail_lua; }
std::string_view consumer_trim_script_source() noexcept { return embedded::consumer_trim_lua; }
std::string_view consumer_leave_script_source() noexcept { return embedded::consumer_leave_lua; }

std::optional<std::string> status_key_of(const queued_entry& entry, std::uint32_t shards) {
    if (entry.deleted) return std::nullopt;
    const auto shard = shard_of_submission_id(entry.submission_id, shards);
    if (!shard || *shard != entry.shard) return std::nullopt;
    return submission_key(entry.shard, entry.submission_id);
}

consumer_options consumer_options_from(const config::settings& settings, std::string name) {
    consumer_options o;
    o.shards = settings.redis.shards;
    o.name = std::move(name);
    o.claim_idle = std::chrono::milliseconds(settings.worker.claim_idle_ms);
    o.max_attempts = settings.worker.max_attempts;
    return o;
}

std::string_view to_string(start_outcome o) noexcept {
    switch (o) {
    case start_outcome::started: return "started";
    case start_outcome::exhausted: return "exhausted";
    case start_outcome::missing_record: return "missing";
    case start_outcome::invalid_entry: return "invalid_entry";
    case start_outcome::already_calculated: return "already_calculated";
    case start_outcome::already_failed: return "already_failed";
    case start_outcome::not_pending: return "not_pending";
    case start_outcome::not_owner: return "not_owner";
    }
    return "unknown";
}

std::string_view to_string(finish_outcome o) noexcept {
    switch (o) {
    case finish_outcome::calculated: return "calculated";
    case finish_outcome::duplicate: return "duplicate";
    case finish_outcome::already_failed: return "already_failed";
    case finish_outcome::missing_record: return "missing";
    }
    return "unknown";
}

std::string_view to_string(fail_outcome o) noexcept {
    switch (o) {
    case fail_outcome::will_retry: return "retry";
    case fail_outcome::dead_lettered: return "dead_lettered";
    case fail_outcome::not_pending: return "not_pending";
    }
    return "unknown";
}

consumer::consumer(redis::router& commands, redis::router& blocking, consumer_options options)
    : commands_(commands), blocking_(blocking), options_(std::move(options)) {
    if (options_.shards == 0) options_.shards = 1;
    queue_keys_.reserve(options_.shards);
    for (std::uint32_t shard = 0; shard < options_.shards; ++shard) queue_keys_.push_back(queue::queue_key(shard));
}

std::string consumer::queue_key(std::uint32_t shard) const { return queue::queue_key(shard); }

void consumer::register_scripts(redis::router& commands) const {
    commands.register_script(start_script());
    commands.register_script(finish_script());
    commands.register_script(fail_script());
    commands.register_script(trim_script());
    commands.register_script(leave_script());
}

consumer::awaitable<std::uint32_t> consumer::create_groups() {
    consumer_result<std::uint32_t> out;
    for (std::uint32_t shard = 0; shard < options_.shards; ++shard) {
        const std::array<std::string_view, 6> args{"XGROUP",       "CREATE", queue_keys_[shard],
                                                   options_.group, "0",      "MKSTREAM"};
        auto [ec, r] = co_await commands_.async_exec(queue_keys_[shard], args, use_tuple);
        if (!ec && r.is_error() && r.str.starts_with("BUSYGROUP")) continue;  // there already
        if (failed(out, ec, r)) co_return out;
        ++out.value;
    }
    co_return out;
}

consumer::awaitable<std::vector<queued_entry>> consumer::read(std::size_t count_per_shard, bool block) {
    if (blocking_.is_cluster()) co_return co_await read_cluster(count_per_shard, block);
    const auto count = std::to_string(count_per_shard == 0 ? 1 : count_per_shard);
    const auto block_ms = std::to_string(options_.block.count());
    std::vector<std::string_view> args{"XREADGROUP", "GROUP", options_.group, options_.name, "COUNT", count};
    if (block) {
        args.push_back("BLOCK");
        args.push_back(block_ms);
    }
    args.push_back("STREAMS");
    args.insert(args.end(), queue_keys_.begin(), queue_keys_.end());
    args.insert(args.end(), queue_keys_.size(), ">");
    auto [ec, r] =
        co_await blocking_.async_exec(queue_keys_.front(), std::span<const std::string_view>(args), use_tuple);
    consumer_result<std::vector<queued_entry>> out;
    if (failed(out, ec, r)) co_return out;
    if (!parse_read(r, options_.shards, out.value, out)) co_return out;
    co_return out;
}

consumer::awaitable<std::vector<queued_entry>> consumer::read_cluster(std::size_t count_per_shard, bool block) {
    consumer_result<std::vector<queued_entry>> out;
    if (no_group_seen_) {
        no_group_seen_ = false;
        out.ec = consumer_error::no_group;
        out.detail = "a shard answered NOGROUP during an earlier read";
        co_return out;
    }
    const auto count = std::to_string(count_per_shard == 0 ? 1 : count_per_shard);
    const auto deadline = std::chrono::steady_clock::now() + (block ? options_.block : std::chrono::milliseconds(0));

    std::vector<std::uint32_t> every_shard(options_.shards);
    for (std::uint32_t shard = 0; shard < options_.shards; ++shard) every_shard[shard] = shard;
    for (;;) {
        if (!co_await read_round(every_shard, count, "", out)) co_return out;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) co_return out;
        // Nothing anywhere: block on one shard per master, a different one of its shards each time.
        std::map<std::string, std::vector<std::uint32_t>> by_master;
        for (std::uint32_t shard = 0; shard < options_.shards; ++shard) {
            auto master = blocking_.node_of(queue_keys_[shard]);
            if (!master.empty()) by_master[std::move(master)].push_back(shard);
        }
        std::vector<std::uint32_t> leads;
        for (const auto& [master, shards] : by_master) leads.push_back(shards[lead_rotation_ % shards.size()]);
        ++lead_rotation_;
        if (leads.empty()) co_return out;  // no master known: the caller pauses and reads again
        const auto slice =
            std::max<std::chrono::milliseconds::rep>(1, std::min(left, options_.cluster_block_slice).count());
        if (!co_await read_round(leads, count, std::to_string(slice), out)) co_return out;
    }
}

// One XREADGROUP per shard in `shards` (BLOCK `block_ms` unless empty), sent at once; what they
// deliver is added to `out`. False when the read is over: entries arrived, or an error for `out`.
net::awaitable<bool> consumer::read_round(const std::vector<std::uint32_t>& shards, const std::string& count,
                                          const std::string& block_ms,
                                          consumer_result<std::vector<queued_entry>>& out) {
    std::vector<std::vector<std::string_view>> commands;
    std::vector<std::string_view> keys;
    for (const auto shard : shards) {
        std::vector<std::string_view> args{"XREADGROUP", "GROUP", options_.group, options_.name, "COUNT", count};
        if (!block_ms.empty()) {
            args.push_back("BLOCK");
            args.push_back(block_ms);
        }
        args.push_back("STREAMS");
        args.push_back(queue_keys_[shard]);
        args.push_back(">");
        commands.push_back(std::move(args));
        keys.push_back(queue_keys_[shard]);
    }
    const auto results = co_await exec_all(blocking_, keys, commands);
    consumer_result<std::vector<queued_entry>> first_failure;
    for (const auto& [ec, r] : results) {
        consumer_result<std::vector<queued_entry>> one;
        if (failed(one, ec, r) || !parse_read(r, options_.shards, out.value, one)) {
            if (one.ec == consumer_error::no_group) no_group_seen_ = true;
            if (!first_failure.ec || one.ec == consumer_error::no_group) first_failure = std::move(one);
        }
    }
    if (!out.value.empty()) co_return false;  // a shard that failed is asked again next time
    if (first_failure.ec) {
        no_group_seen_ = false;  // returned now
        out.ec = first_failure.ec;
        out.detail = std::move(first_failure.detail);
        co_return false;
    }
    co_return true;
}

consumer::awaitable<claim_page_result> consumer::claim_page(std::uint32_t shard, std::string_view cursor,
                                                            std::size_t count) {
    const auto idle = std::to_string(options_.claim_idle.count());
    const auto count_text = std::to_string(count == 0 ? 1 : count);
    const std::array<std::string_view, 8> args{
        "XAUTOCLAIM", queue_keys_.at(shard), options_.group, options_.name, idle, cursor, "COUNT", count_text};
    auto [ec, r] = co_await commands_.async_exec(queue_keys_.at(shard), args, use_tuple);
    consumer_result<claim_page_result> out;
    if (failed(out, ec, r)) co_return out;
    // Redis 7: [next cursor, [entries], [deleted ids]]; 6.2: the first two, deleted entries as nil.
    if (!r.is_array() || r.elements.size() < 2 || !r.elements[0].is_string() || !r.elements[1].is_array())
        co_return unexpected<claim_page_result>("XAUTOCLAIM", r);
    out.value.next_cursor = r.elements[0].str;
    for (const auto& e : r.elements[1].elements) {
        if (e.is_nil()) {
            ++out.value.deleted;
            continue;
        }
        queued_entry entry;
        if (!parse_queued_entry(e, shard, entry)) co_return unexpected<claim_page_result>("XAUTOCLAIM entry", e);
        out.value.entries.push_back(std::move(entry));
    }
    if (r.elements.size() >= 3 && r.elements[2].is_array()) out.value.deleted += r.elements[2].elements.size();
    co_return out;
}

consumer::awaitable<std::vector<queued_entry>> consumer::reclaim(std::uint32_t shard, std::size_t page_size) {
    consumer_result<std::vector<queued_entry>> out;
    std::string cursor = "0-0";
    do {
        auto page = co_await claim_page(shard, cursor, page_size);
        if (!page) {
            out.ec = page.ec;
            out.detail = std::move(page.detail);
            co_return out;
        }
        for (auto& e : page.value.entries) out.value.push_back(std::move(e));
        cursor = std::move(page.value.next_cursor);
    } while (cursor != "0-0");
    co_return out;
}

consumer::awaitable<start_result> consumer::start(const queued_entry& entry) {
    consumer_result<start_result> out;
    const auto status_key = status_key_of(entry, options_.shards);
    if (!status_key) {
        out.value.outcome = start_outcome::invalid_entry;
        co_return out;
    }
    const auto max_attempts = std::to_string(options_.max_attempts);
    const std::array<std::string_view, 2> keys{queue_keys_.at(entry.shard), *status_key};
    const std::array<std::string_view, 4> args{options_.group, entry.entry_id, options_.name, max_attempts};
    auto [ec, r] = co_await commands_.async_eval(start_script(), keys, args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_string() || !r.elements[1].is_integer() ||
        r.elements[1].integer < 0)
        co_return unexpected<start_result>("consumer_start.lua", r);
    const auto& word = r.elements[0].str;
    out.value.deliveries = static_cast<std::uint64_t>(r.elements[1].integer);
    if (word == "started")
        out.value.outcome = start_outcome::started;
    else if (word == "exhausted")
        out.value.outcome = start_outcome::exhausted;
    else if (word == "missing")
        out.value.outcome = start_outcome::missing_record;
    else if (word == "already_calculated")
        out.value.outcome = start_outcome::already_calculated;
    else if (word == "already_failed")
        out.value.outcome = start_outcome::already_failed;
    else if (word == "not_pending")
        out.value.outcome = start_outcome::not_pending;
    else if (word == "not_owner")
        out.value.outcome = start_outcome::not_owner;
    else
        co_return unexpected<start_result>("consumer_start.lua", r);
    co_return out;
}

consumer::awaitable<finish_outcome> consumer::finish(const queued_entry& entry, std::string_view result_json,
                                                     std::string_view calculated_at) {
    consumer_result<finish_outcome> out;
    const auto status_key = status_key_or_placeholder(entry, options_.shards);
    const std::array<std::string_view, 2> keys{queue_keys_.at(entry.shard), status_key};
    const std::array<std::string_view, 4> args{options_.group, entry.entry_id, result_json, calculated_at};
    auto [ec, r] = co_await commands_.async_eval(finish_script(), keys, args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_string()) co_return unexpected<finish_outcome>("consumer_finish.lua", r);
    if (r.str == "calculated")
        out.value = finish_outcome::calculated;
    else if (r.str == "duplicate")
        out.value = finish_outcome::duplicate;
    else if (r.str == "already_failed")
        out.value = finish_outcome::already_failed;
    else if (r.str == "missing")
        out.value = finish_outcome::missing_record;
    else
        co_return unexpected<finish_outcome>("consumer_finish.lua", r);
    co_return out;
}

consumer::awaitable<fail_result> consumer::fail(const queued_entry& entry, std::string_view reason,
                                                std::string_view failed_at, failure_kind kind) {
    consumer_result<fail_result> out;
    const auto status_key = status_key_or_placeholder(entry, options_.shards);
    const auto dlq = dead_letter_key(entry.shard);
    // A pending entry has been delivered at least once, so 1 dead-letters it now.
    const auto max_attempts = std::to_string(kind == failure_kind::permanent ? 1 : options_.max_attempts);
    const std::array<std::string_view, 3> keys{queue_keys_.at(entry.shard), status_key, dlq};
    const std::array<std::string_view, 5> args{options_.group, entry.entry_id, reason, max_attempts, failed_at};
    auto [ec, r] = co_await commands_.async_eval(fail_script(), keys, args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_string() || !r.elements[1].is_integer() ||
        r.elements[1].integer < 0)
        co_return unexpected<fail_result>("consumer_fail.lua", r);
    const auto& word = r.elements[0].str;
    out.value.deliveries = static_cast<std::uint64_t>(r.elements[1].integer);
    if (word == "retry")
        out.value.outcome = fail_outcome::will_retry;
    else if (word == "dead_lettered")
        out.value.outcome = fail_outcome::dead_lettered;
    else if (word == "not_pending")
        out.value.outcome = fail_outcome::not_pending;
    else
        co_return unexpected<fail_result>("consumer_fail.lua", r);
    co_return out;
}

consumer::awaitable<trim_result> consumer::trim(std::uint32_t shard) {
    consumer_result<trim_result> out;
    const auto forget = std::to_string(options_.forget_idle.count());
    const std::array<std::string_view, 1> keys{queue_keys_.at(shard)};
    const std::array<std::string_view, 1> args{forget};
    auto [ec, r] = co_await commands_.async_eval(trim_script(), keys, args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_array() || r.elements.size() != 3 || !r.elements[0].is_integer() || !r.elements[1].is_string() ||
        !r.elements[2].is_integer() || r.elements[0].integer < 0 || r.elements[2].integer < 0)
        co_return unexpected<trim_result>("consumer_trim.lua", r);
    out.value.removed = static_cast<std::uint64_t>(r.elements[0].integer);
    out.value.min_id = r.elements[1].str;
    out.value.forgotten_consumers = static_cast<std::uint64_t>(r.elements[2].integer);
    co_return out;
}

consumer::awaitable<group_lag> consumer::lag(std::uint32_t shard) {
    consumer_result<group_lag> out;
    const std::array<std::string_view, 3> args{"XINFO", "GROUPS", queue_keys_.at(shard)};
    auto [ec, r] = co_await commands_.async_exec(queue_keys_.at(shard), args, use_tuple);
    if (!ec && r.is_error() && r.str.starts_with("ERR no such key")) {
        out.ec = consumer_error::no_group;
        out.detail = r.str;
        co_return out;
    }
    if (failed(out, ec, r)) co_return out;
    if (!r.is_array()) co_return unexpected<group_lag>("XINFO GROUPS", r);
    for (const auto& group : r.elements) {
        const auto* name = flat_field(group, "name");
        if (name == nullptr || name->str != options_.group) continue;
        const auto* pending = flat_field(group, "pending");
        if (pending == nullptr || !pending->is_integer() || pending->integer < 0)
            co_return unexpected<group_lag>("XINFO GROUPS pending", group);
        out.value.pending = static_cast<std::uint64_t>(pending->integer);
        if (const auto* lag = flat_field(group, "lag"); lag != nullptr && lag->is_integer() && lag->integer >= 0)
            out.value.undelivered = static_cast<std::uint64_t>(lag->integer);
        co_return out;
    }
    out.ec = consumer_error::no_group;
    out.detail = "no group " + options_.group + " on " + queue_keys_.at(shard);
    co_return out;
}

consumer::awaitable<bool> consumer::leave(std::uint32_t shard) {
    consumer_result<bool> out;
    const std::array<std::string_view, 1> keys{queue_keys_.at(shard)};
    const std::array<std::string_view, 2> args{options_.group, options_.name};
    auto [ec, r] = co_await commands_.async_eval(leave_script(), keys, args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_integer() || (r.integer != 0 && r.integer != 1)) co_return unexpected<bool>("consumer_leave.lua", r);
    out.value = r.integer == 1;
    co_return out;
}

}  // namespace sluice::queue
