// Reading the queue streams' replies (see stream_entries.hpp): pure, strict.
#include "queue/stream_entries.hpp"

#include <charconv>
#include <climits>

namespace sluice::queue {

using redis::reply;

std::string describe_reply(const reply& r) {
    switch (r.type) {
    case reply::kind::nil: return "nil";
    case reply::kind::integer: return "integer " + std::to_string(r.integer);
    case reply::kind::string: return "string \"" + r.str.substr(0, 200) + "\"";
    case reply::kind::status: return "status " + r.str.substr(0, 200);
    case reply::kind::error: return "error " + r.str.substr(0, 200);
    case reply::kind::array: return "array of " + std::to_string(r.elements.size());
    }
    return "?";
}

namespace {

bool parse_unsigned(std::string_view text, std::uint64_t& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

// The shard of "sluice:{7}:q".
std::optional<std::uint32_t> shard_of_queue_key(std::string_view key) {
    const auto open = key.find('{');
    const auto close = key.find('}');
    if (open == std::string_view::npos || close == std::string_view::npos || close <= open + 1) return std::nullopt;
    std::uint64_t shard = 0;
    if (!parse_unsigned(key.substr(open + 1, close - open - 1), shard) || shard > UINT32_MAX) return std::nullopt;
    return static_cast<std::uint32_t>(shard);
}

// [id, [field, value, ...]] (or [id, nil] for an entry deleted while pending).
bool parse_queued_entry(const reply& r, std::uint32_t shard, queued_entry& out) {
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_string()) return false;
    out.shard = shard;
    out.entry_id = r.elements[0].str;
    const auto& fields = r.elements[1];
    if (fields.is_nil()) {
        out.deleted = true;
        return true;
    }
    if (!fields.is_array() || fields.elements.size() % 2 != 0) return false;
    for (std::size_t i = 0; i < fields.elements.size(); i += 2) {
        const auto& name = fields.elements[i].str;
        auto value = fields.elements[i + 1].str;
        if (name == "id")
            out.submission_id = std::move(value);
        else if (name == "practice")
            out.practice = std::move(value);
        else if (name == "sha256")
            out.sha256 = std::move(value);
        else if (name == "received_at")
            out.received_at = std::move(value);
        else if (name == "idem")
            out.idempotency_key = std::move(value);
        else if (name == "body")
            out.body = std::move(value);
    }
    return true;
}

std::optional<std::string> read_queue_entries(const reply& r, std::uint32_t shards,
                                              std::vector<queued_entry>& entries) {
    if (r.is_nil()) return std::nullopt;
    auto unexpected_shape = [](std::string_view what, const reply& seen) {
        return std::optional<std::string>(std::string(what) + ": " + describe_reply(seen));
    };
    if (!r.is_array()) return unexpected_shape("XREADGROUP", r);
    for (const auto& stream : r.elements) {
        if (!stream.is_array() || stream.elements.size() != 2 || !stream.elements[1].is_array())
            return unexpected_shape("XREADGROUP stream", stream);
        const auto shard = shard_of_queue_key(stream.elements[0].str);
        if (!shard || *shard >= shards) return unexpected_shape("XREADGROUP key", stream.elements[0]);
        for (const auto& e : stream.elements[1].elements) {
            queued_entry entry;
            if (!parse_queued_entry(e, *shard, entry)) return unexpected_shape("XREADGROUP entry", e);
            entries.push_back(std::move(entry));
        }
    }
    return std::nullopt;
}

}  // namespace sluice::queue
