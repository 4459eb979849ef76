// libFuzzer target for the Redis reply parsers besides admission's (admission_reply_fuzz): any
// bytes as what Redis sent back, read into replies as resp_reader.hpp says, and every reply given
// to each parser: queue/status.hpp's parse_status_reply (the status script), queue/
// ratelimit_state.hpp's read_tat (a practice's GCRA state), and redis/cluster_topology.hpp's
// parse_cluster_shards, parse_cluster_slots, classify_error and parse_redirection (the cluster
// router's view of the cluster, and its redirections: error replies and their text). Besides the
// sanitizers' checks it aborts when a property fails, each written from the header's contract:
//   * read_tat: nil is {valid, none}; a string or status is valid, with a tat exactly when the
//     whole text is a decimal int64 (and then that number); anything else is {invalid, none};
//   * parse_status_reply: valid exactly for [array, anything]; invalid has no record and no tat;
//     the tat is read_tat's of the second element; a record exactly when the first is non-empty;
//     each known field is the value of its last pair, absent when no pair names it; attempts is
//     the whole value as a decimal number, or 0 when it is not one;
//   * parse_cluster_shards / parse_cluster_slots: a topology exactly when `problem` stays empty;
//     every range has first <= last < 16384, a port from 1 and a host that is not "?";
//   * parse_redirection: only for a MOVED or ASK error (classify_error agrees); slot < 16384, port
//     from 1, no space in the host; written back as Redis writes it, it parses to the same value;
//   * queue/latest.hpp's read_latest (HGETALL of a practice's hash): valid exactly for
//     an array of an even number of strings, each period/scheme field's id the value of its last
//     pair, other fields (the rate limit's tat) left out;
//   * queue/stream_entries.hpp's read_queue_entries (XREADGROUP) and parse_queued_entry: nil reads
//     as nothing; otherwise every entry appended has the shard of a key below the shard count, and
//     a failure appends nothing more and says why; an entry's id is the reply's first string;
//   * queue/dead_letter.hpp's parse_dead_letter (an XRANGE element), parse_replay_reply (the replay
//     script's reply: a known word and its argument) and parse_reference (any bytes as an
//     operator's reference: a shard below the count, and reference_of a parsed "S/ID" gives it back).
//
//   redis_reply_fuzz -dict=tests/fuzz/redis_reply.dict <scratch copy of tests/fuzz/corpus/redis_reply>
#include "queue/dead_letter.hpp"
#include "queue/latest.hpp"
#include "queue/ratelimit_state.hpp"
#include "queue/stream_entries.hpp"
#include "queue/status.hpp"
#include "redis/cluster_topology.hpp"
#include "redis/slot.hpp"
#include "resp_reader.hpp"

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace {

using sluice::fuzz::require;
using sluice::redis::reply;
namespace queue = sluice::queue;
namespace redis = sluice::redis;

// The whole text as a decimal number of type T, or nothing.
template <typename T>
std::optional<T> whole_number(std::string_view text) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

void check_read_tat(const reply& r) {
    const auto reading = queue::read_tat(r);
    if (r.is_nil()) {
        require(reading.valid && !reading.tat_us, "nil: valid, no tat (a full bucket)");
    } else if (r.is_string()) {
        require(reading.valid, "a string is a valid tat reply");
        require(reading.tat_us == whole_number<std::int64_t>(r.str), "a tat exactly for a whole decimal int64");
    } else {
        require(!reading.valid && !reading.tat_us, "any other reply is invalid");
    }
}

void check_status(const reply& r) {
    const auto parsed = queue::parse_status_reply(r);
    const bool shape = r.is_array() && r.elements.size() == 2 && r.elements[0].is_array();
    require(parsed.valid == shape, "valid exactly for [array, anything]");
    if (!shape) {
        require(!parsed.record && !parsed.tat_us, "an invalid reply says nothing");
        return;
    }
    require(parsed.tat_us == queue::read_tat(r.elements[1]).tat_us, "the tat is read_tat's");
    const auto& fields = r.elements[0].elements;
    require(parsed.record.has_value() == !fields.empty(), "a record exactly when the hash has fields");
    if (!parsed.record) return;
    std::map<std::string, std::string> last;  // the value of each name's last pair
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) last[fields[i].str] = fields[i + 1].str;
    const auto field = [&](const char* name) -> std::optional<std::string> {
        const auto it = last.find(name);
        return it == last.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    const auto& record = *parsed.record;
    require(record.practice == field("practice"), "practice");
    require(record.status == field("status"), "status");
    require(record.received_at == field("received_at"), "received_at");
    require(record.content_sha256 == field("content_sha256"), "content_sha256");
    require(record.result == field("result"), "result");
    require(record.error == field("error"), "error");
    const auto attempts = field("attempts");
    require(record.attempts.has_value() == attempts.has_value(), "attempts exactly when the record has it");
    if (attempts)
        require(*record.attempts == whole_number<long long>(*attempts).value_or(0),
                "attempts: the whole value as a decimal number, else 0");
}

void check_topology(const std::optional<redis::cluster_topology>& topology, const std::string& problem) {
    require(topology.has_value() == problem.empty(), "a topology exactly when there is no problem");
    if (!topology) return;
    for (const auto& range : topology->ranges) {
        require(range.first <= range.last && range.last < redis::slot_count, "a range within 0..16383");
        require(range.master.port != 0, "a master's port is from 1");
        require(range.master.host != "?", "an unknown endpoint has no range");
    }
}

// How Redis writes a redirection: "MOVED 3999 127.0.0.1:6381", an IPv6 host in brackets.
std::string written(const redis::redirection& r) {
    const std::string& host = r.target.host;
    const bool bracketed =
        host.find(':') != std::string::npos || (host.size() >= 2 && host.front() == '[' && host.back() == ']');
    return std::string(r.ask ? "ASK " : "MOVED ") + std::to_string(r.slot) + " " +
           (bracketed ? "[" + host + "]" : host) + ":" + std::to_string(r.target.port);
}

void check_error_text(std::string_view text) {
    const auto kind = redis::classify_error(text);
    const auto redirection = redis::parse_redirection(text);
    if (!redirection) return;
    require(kind == (redirection->ask ? redis::cluster_error_kind::ask : redis::cluster_error_kind::moved),
            "a redirection is classified MOVED or ASK, as parsed");
    require(redirection->slot < redis::slot_count && redirection->target.port != 0, "slot and port in range");
    require(redirection->target.host.find(' ') == std::string::npos, "no space in the host");
    require(redis::parse_redirection(written(*redirection)) == redirection, "written back, it parses the same");
}

constexpr std::uint32_t shards = 16;

void check_latest(const reply& r) {
    const auto reading = queue::read_latest(r);
    bool shaped = r.is_array() && r.elements.size() % 2 == 0;
    if (shaped)
        for (const auto& e : r.elements) shaped = shaped && e.type == reply::kind::string;
    require(reading.valid == shaped, "latest: valid exactly for an even array of strings");
    if (!reading.valid) {
        require(reading.ids.empty(), "latest: an invalid reading names nothing");
        return;
    }
    std::map<std::string, std::string> expected;
    // The practice's hash also holds the rate limit's "tat": only "<period>/<scheme>" fields are ids.
    for (std::size_t i = 0; i < r.elements.size(); i += 2)
        if (r.elements[i].str.find('/') != std::string::npos) expected[r.elements[i].str] = r.elements[i + 1].str;
    require(reading.ids == expected, "latest: each period/scheme field's id is its last pair's value");
}

void check_stream_entries(const reply& r) {
    std::vector<queue::queued_entry> entries;
    const auto why = queue::read_queue_entries(r, shards, entries);
    if (r.is_nil()) require(!why && entries.empty(), "XREADGROUP nil: nothing, no fault");
    if (!r.is_array() && !r.is_nil()) require(why.has_value(), "XREADGROUP: a reply that is no array is a fault");
    if (why) require(!why->empty(), "a fault says what was unexpected");
    for (const auto& e : entries) require(e.shard < shards, "every entry is of a shard below the count");
    queue::queued_entry one;
    if (queue::parse_queued_entry(r, 3, one)) {
        require(r.is_array() && r.elements.size() == 2 && r.elements[0].is_string(), "an entry is [id, fields]");
        require(one.entry_id == r.elements[0].str && one.shard == 3, "the entry keeps its id and shard");
        require(one.deleted == r.elements[1].is_nil(), "deleted exactly for nil fields");
    }
}

void check_dead_letters(const reply& r) {
    if (const auto d = queue::parse_dead_letter(r, 5)) {
        require(r.is_array() && r.elements.size() == 2 && r.elements[0].is_string(), "a dead letter is [id, fields]");
        require(d->dead_letter_id == r.elements[0].str && d->shard == 5, "the dead letter keeps its id and shard");
        const auto ref = queue::parse_reference(queue::reference_of(*d), shards);
        if (ref) require(ref->shard == 5 && ref->dead_letter_id == d->dead_letter_id, "its reference names it");
    }
    if (const auto replay = queue::parse_replay_reply(r)) {
        require(r.is_array() && r.elements.size() == 2, "a replay reply is [word, argument]");
        require(!queue::to_string(replay->outcome).empty(), "a known outcome");
    }
}

void check_reference(std::string_view text) {
    const auto ref = queue::parse_reference(text, shards);
    if (!ref) return;
    require(ref->shard < shards, "a reference's shard is below the count");
    require(ref->submission_id.empty() != ref->dead_letter_id.empty(), "a reference names one thing");
    if (!ref->dead_letter_id.empty()) {
        queue::dead_letter d;
        d.shard = ref->shard;
        d.dead_letter_id = ref->dead_letter_id;
        const auto again = queue::parse_reference(queue::reference_of(d), shards);
        require(again && again->shard == ref->shard && again->dead_letter_id == ref->dead_letter_id,
                "reference_of gives the reference back");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sluice::fuzz::for_each_reply(data, size, [](const reply& r) {
        check_read_tat(r);
        check_status(r);
        std::string problem;
        const auto shards = redis::parse_cluster_shards(r, problem);
        check_topology(shards, problem);
        problem.clear();
        const auto slots = redis::parse_cluster_slots(r, problem);
        check_topology(slots, problem);
        if (r.is_error()) check_error_text(r.str);
        check_latest(r);
        check_stream_entries(r);
        check_dead_letters(r);
    });
    check_reference({reinterpret_cast<const char*>(data), size});
    // The error text alone, as the router sees it: any bytes (a RESP error line cannot hold CR/LF).
    check_error_text({reinterpret_cast<const char*>(data), size});
    return 0;
}
