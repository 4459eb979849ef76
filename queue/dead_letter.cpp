// The dead-letter streams as an operator works them (see dead_letter.hpp): references and replies
// read strictly, calls sent through redis/.
#include "queue/dead_letter.hpp"

#include "embedded/dead_letter_replay_lua.hpp"
#include "queue/keys.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <charconv>

namespace sluice::queue {

namespace {

namespace net = boost::asio;
using boost::system::error_code;
using redis::reply;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
// XRANGE page size when a whole stream is read (find by submission id).
constexpr std::size_t scan_page = 500;

const redis::script& replay_script() {
    static const redis::script s{std::string(embedded::dead_letter_replay_lua)};
    return s;
}

template <typename T>
bool failed(consumer_result<T>& out, const error_code& ec, const reply& r) {
    if (ec) {
        out.ec = ec;
        return true;
    }
    if (r.is_error()) {
        out.ec = consumer_error::error_reply;
        out.detail = r.str;
        return true;
    }
    return false;
}

template <typename T>
consumer_result<T> unexpected(std::string_view what) {
    consumer_result<T> out;
    out.ec = consumer_error::unexpected_reply;
    out.detail = std::string(what);
    return out;
}

// The smallest stream id above `id` ("5-3" -> "5-4"), for exclusive paging on Redis 6.2 too.
std::string next_stream_id(std::string_view id) {
    const auto dash = id.find('-');
    std::uint64_t seq = 0;
    std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
    if (seq != UINT64_MAX) return std::string(id.substr(0, dash + 1)) + std::to_string(seq + 1);
    std::uint64_t ms = 0;
    std::from_chars(id.data(), id.data() + dash, ms);
    return std::to_string(ms + 1) + "-0";
}

}  // namespace

std::string_view dead_letter_replay_script_source() noexcept { return embedded::dead_letter_replay_lua; }

dead_letters::dead_letters(redis::router& commands, std::uint32_t shards)
    : commands_(commands), shards_(shards == 0 ? 1 : shards) {}

dead_letters::awaitable<std::uint64_t> dead_letters::count(std::uint32_t shard) {
    consumer_result<std::uint64_t> out;
    const auto key = dead_letter_key(shard);
    const std::array<std::string_view, 2> args{"XLEN", key};
    auto [ec, r] = co_await commands_.async_exec(args[1], args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_integer() || r.integer < 0) co_return unexpected<std::uint64_t>("XLEN: not a count");
    out.value = static_cast<std::uint64_t>(r.integer);
    co_return out;
}

dead_letters::awaitable<std::vector<dead_letter>> dead_letters::list(std::uint32_t shard, std::size_t limit,
                                                                     std::string_view after) {
    consumer_result<std::vector<dead_letter>> out;
    const auto key = dead_letter_key(shard);
    const std::string start = after.empty() ? std::string("-") : next_stream_id(after);
    const auto count = std::to_string(limit == 0 ? 1 : limit);
    const std::array<std::string_view, 6> args{"XRANGE", key, start, "+", "COUNT", count};
    auto [ec, r] = co_await commands_.async_exec(args[1], args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_array()) co_return unexpected<std::vector<dead_letter>>("XRANGE: not an array");
    for (const auto& e : r.elements) {
        auto d = parse_dead_letter(e, shard);
        if (!d) co_return unexpected<std::vector<dead_letter>>("XRANGE: an entry of an unexpected shape");
        out.value.push_back(*std::move(d));
    }
    co_return out;
}

dead_letters::awaitable<std::vector<dead_letter>> dead_letters::find(const dead_letter_reference& ref) {
    consumer_result<std::vector<dead_letter>> out;
    if (ref.shard >= shards_) co_return out;
    if (!ref.dead_letter_id.empty()) {
        const auto key = dead_letter_key(ref.shard);
        const std::array<std::string_view, 4> args{"XRANGE", key, ref.dead_letter_id, ref.dead_letter_id};
        auto [ec, r] = co_await commands_.async_exec(args[1], args, use_tuple);
        if (failed(out, ec, r)) co_return out;
        if (!r.is_array()) co_return unexpected<std::vector<dead_letter>>("XRANGE: not an array");
        for (const auto& e : r.elements) {
            auto d = parse_dead_letter(e, ref.shard);
            if (!d) co_return unexpected<std::vector<dead_letter>>("XRANGE: an entry of an unexpected shape");
            out.value.push_back(*std::move(d));
        }
        co_return out;
    }
    std::string after;
    for (;;) {
        auto page = co_await list(ref.shard, scan_page, after);
        if (!page) co_return page;
        for (auto& d : page.value)
            if (d.submission_id == ref.submission_id) out.value.push_back(d);
        if (page.value.size() < scan_page) break;
        after = page.value.back().dead_letter_id;
    }
    co_return out;
}

dead_letters::awaitable<replay_result> dead_letters::replay(const dead_letter& d, bool dry_run,
                                                            std::string_view replayed_at) {
    consumer_result<replay_result> out;
    const auto shard = shard_of_submission_id(d.submission_id, shards_);
    if (!shard || *shard != d.shard) {
        out.value.outcome = replay_outcome::no_submission_id;
        co_return out;
    }
    const auto dlq = dead_letter_key(d.shard);
    const auto queue = queue_key(d.shard);
    const auto status = submission_key(d.shard, d.submission_id);
    const std::array<std::string_view, 3> keys{dlq, queue, status};
    const std::array<std::string_view, 4> args{d.dead_letter_id, d.submission_id, dry_run ? "1" : "0", replayed_at};
    auto [ec, r] = co_await commands_.async_eval(replay_script(), keys, args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    auto parsed = parse_replay_reply(r);
    if (!parsed) co_return unexpected<replay_result>("dead_letter_replay.lua: a reply of an unexpected shape");
    out.value = *std::move(parsed);
    co_return out;
}

dead_letters::awaitable<bool> dead_letters::purge(std::uint32_t shard, std::string_view dead_letter_id, bool dry_run) {
    consumer_result<bool> out;
    const auto key = dead_letter_key(shard);
    if (dry_run) {
        const std::array<std::string_view, 4> args{"XRANGE", key, dead_letter_id, dead_letter_id};
        auto [ec, r] = co_await commands_.async_exec(args[1], args, use_tuple);
        if (failed(out, ec, r)) co_return out;
        if (!r.is_array()) co_return unexpected<bool>("XRANGE: not an array");
        out.value = !r.elements.empty();
        co_return out;
    }
    const std::array<std::string_view, 3> args{"XDEL", key, dead_letter_id};
    auto [ec, r] = co_await commands_.async_exec(args[1], args, use_tuple);
    if (failed(out, ec, r)) co_return out;
    if (!r.is_integer()) co_return unexpected<bool>("XDEL: not a count");
    out.value = r.integer == 1;
    co_return out;
}

}  // namespace sluice::queue
