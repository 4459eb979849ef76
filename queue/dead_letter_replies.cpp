// The dead-letter streams' pure parts (see dead_letter.hpp): references, entries and the replay
// script's reply, read strictly; no I/O (tests/fuzz/redis_reply_fuzz feeds them any bytes).
#include "queue/dead_letter.hpp"
#include "queue/keys.hpp"

#include <charconv>

namespace sluice::queue {

using redis::reply;

namespace {

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}

// "<ms>-<seq>", both decimal: a stream id as Redis prints it.
bool is_stream_id(std::string_view text) {
    const auto dash = text.find('-');
    return dash != std::string_view::npos && text.size() <= 41 && all_digits(text.substr(0, dash)) &&
           all_digits(text.substr(dash + 1));
}

}  // namespace

std::optional<dead_letter> parse_dead_letter(const reply& entry, std::uint32_t shard) {
    if (!entry.is_array() || entry.elements.size() != 2 || !entry.elements[0].is_string()) return std::nullopt;
    const auto& fields = entry.elements[1];
    if (!fields.is_array() || fields.elements.size() % 2 != 0) return std::nullopt;
    dead_letter d;
    d.shard = shard;
    d.dead_letter_id = entry.elements[0].str;
    for (std::size_t i = 0; i < fields.elements.size(); i += 2) {
        const auto& name = fields.elements[i].str;
        const auto& value = fields.elements[i + 1].str;
        if (name == "id")
            d.submission_id = value;
        else if (name == "practice")
            d.practice = value;
        else if (name == "sha256")
            d.sha256 = value;
        else if (name == "received_at")
            d.received_at = value;
        else if (name == "idem")
            d.idempotency_key = value;
        else if (name == "body")
            d.body = value;
        else if (name == "entry_id")
            d.queue_entry_id = value;
        else if (name == "reason")
            d.reason = value;
        else if (name == "attempts")
            d.attempts = value;
        else if (name == "failed_at")
            d.failed_at = value;
    }
    return d;
}

std::optional<dead_letter_reference> parse_reference(std::string_view text, std::uint32_t shards) {
    dead_letter_reference ref;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        const auto shard_text = text.substr(0, slash);
        const auto id = text.substr(slash + 1);
        std::uint32_t shard = 0;
        const auto [end, ec] = std::from_chars(shard_text.data(), shard_text.data() + shard_text.size(), shard);
        if (ec != std::errc{} || end != shard_text.data() + shard_text.size() || !all_digits(shard_text) ||
            shard >= shards || !is_stream_id(id))
            return std::nullopt;
        ref.shard = shard;
        ref.dead_letter_id = std::string(id);
        return ref;
    }
    const auto shard = shard_of_submission_id(text, shards);
    if (!shard) return std::nullopt;
    ref.shard = *shard;
    ref.submission_id = std::string(text);
    return ref;
}

std::string reference_of(const dead_letter& d) { return std::to_string(d.shard) + "/" + d.dead_letter_id; }

std::string_view to_string(replay_outcome o) noexcept {
    switch (o) {
    case replay_outcome::requeued: return "requeued";
    case replay_outcome::not_found: return "not_found";
    case replay_outcome::missing_record: return "missing_record";
    case replay_outcome::already_calculated: return "already_calculated";
    case replay_outcome::not_failed: return "not_failed";
    case replay_outcome::no_submission_id: return "no_submission_id";
    }
    return "unknown";
}

std::optional<replay_result> parse_replay_reply(const reply& r) {
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_string() || !r.elements[1].is_string())
        return std::nullopt;
    const auto& word = r.elements[0].str;
    replay_result out;
    if (word == "requeued") {
        out.outcome = replay_outcome::requeued;
        out.new_entry_id = r.elements[1].str;
    } else if (word == "not_found") {
        out.outcome = replay_outcome::not_found;
    } else if (word == "missing_record") {
        out.outcome = replay_outcome::missing_record;
    } else if (word == "already_calculated") {
        out.outcome = replay_outcome::already_calculated;
    } else if (word == "not_failed") {
        out.outcome = replay_outcome::not_failed;
        out.status = r.elements[1].str;
    } else {
        return std::nullopt;
    }
    return out;
}

}  // namespace sluice::queue
