// Parsers of the cluster's replies (see cluster_topology.hpp). Strict about shape: anything
// unexpected makes the whole reply unusable, with a reason, rather than a partial guess.
#include "redis/cluster_topology.hpp"

#include "redis/slot.hpp"

#include <charconv>

namespace sluice::redis {

namespace {

bool valid_slot(long long value) noexcept { return value >= 0 && value < slot_count; }

bool valid_port(long long value) noexcept { return value > 0 && value <= 65535; }

// A field of a flat map (RESP2's rendering of a map: key, value, key, value...).
const reply* field(const reply& map, std::string_view name) {
    if (!map.is_array() || map.elements.size() % 2 != 0) return nullptr;
    for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2)
        if (map.elements[i].is_string() && map.elements[i].str == name) return &map.elements[i + 1];
    return nullptr;
}

// The preferred endpoint's host, "" for "the node you asked", nullopt for "unknown" ("?").
std::optional<std::string> endpoint_host(const reply* preferred, const reply* ip) {
    const reply* chosen = preferred != nullptr ? preferred : ip;
    if (chosen == nullptr || chosen->is_nil()) return std::string();
    if (!chosen->is_string()) return std::nullopt;
    if (chosen->str == "?") return std::nullopt;
    return chosen->str;
}

}  // namespace

std::optional<cluster_topology> parse_cluster_shards(const reply& r, std::string& problem) {
    if (!r.is_array()) {
        problem = "CLUSTER SHARDS: not an array";
        return std::nullopt;
    }
    cluster_topology out;
    for (const auto& shard : r.elements) {
        const reply* slots = field(shard, "slots");
        const reply* nodes = field(shard, "nodes");
        if (slots == nullptr || nodes == nullptr || !slots->is_array() || !nodes->is_array() ||
            slots->elements.size() % 2 != 0) {
            problem = "CLUSTER SHARDS: a shard without slots or nodes";
            return std::nullopt;
        }
        if (slots->elements.empty()) continue;  // a failed master that lost its slots, or an empty shard
        const reply* master = nullptr;
        for (const auto& node : nodes->elements) {
            const reply* role = field(node, "role");
            if (role != nullptr && role->is_string() && role->str == "master") master = &node;
        }
        if (master == nullptr) {
            problem = "CLUSTER SHARDS: a shard with slots and no master";
            return std::nullopt;
        }
        const reply* port = field(*master, "port");
        if (port == nullptr || !port->is_integer() || !valid_port(port->integer)) {
            problem = "CLUSTER SHARDS: a master without a plain-text port";
            return std::nullopt;
        }
        const auto host = endpoint_host(field(*master, "endpoint"), field(*master, "ip"));
        const reply* id = field(*master, "id");
        for (std::size_t i = 0; i < slots->elements.size(); i += 2) {
            const auto& first = slots->elements[i];
            const auto& last = slots->elements[i + 1];
            if (!first.is_integer() || !last.is_integer() || !valid_slot(first.integer) || !valid_slot(last.integer) ||
                first.integer > last.integer) {
                problem = "CLUSTER SHARDS: a slot range out of 0..16383";
                return std::nullopt;
            }
            if (!host) continue;  // "?": nobody knows where this master is
            slot_range range;
            range.first = static_cast<std::uint16_t>(first.integer);
            range.last = static_cast<std::uint16_t>(last.integer);
            range.master = {*host, static_cast<std::uint16_t>(port->integer)};
            if (id != nullptr && id->is_string()) range.master_id = id->str;
            out.ranges.push_back(std::move(range));
        }
    }
    return out;
}

std::optional<cluster_topology> parse_cluster_slots(const reply& r, std::string& problem) {
    if (!r.is_array()) {
        problem = "CLUSTER SLOTS: not an array";
        return std::nullopt;
    }
    cluster_topology out;
    for (const auto& entry : r.elements) {
        if (!entry.is_array() || entry.elements.size() < 3 || !entry.elements[0].is_integer() ||
            !entry.elements[1].is_integer() || !entry.elements[2].is_array()) {
            problem = "CLUSTER SLOTS: an entry that is not [first, last, master, ...]";
            return std::nullopt;
        }
        const auto first = entry.elements[0].integer;
        const auto last = entry.elements[1].integer;
        if (!valid_slot(first) || !valid_slot(last) || first > last) {
            problem = "CLUSTER SLOTS: a slot range out of 0..16383";
            return std::nullopt;
        }
        const auto& master = entry.elements[2].elements;
        if (master.size() < 2 || !master[1].is_integer() || !valid_port(master[1].integer)) {
            problem = "CLUSTER SLOTS: a master without a port";
            return std::nullopt;
        }
        const auto host = endpoint_host(&master[0], nullptr);
        if (!host) continue;
        slot_range range;
        range.first = static_cast<std::uint16_t>(first);
        range.last = static_cast<std::uint16_t>(last);
        range.master = {*host, static_cast<std::uint16_t>(master[1].integer)};
        if (master.size() >= 3 && master[2].is_string()) range.master_id = master[2].str;
        out.ranges.push_back(std::move(range));
    }
    return out;
}

cluster_error_kind classify_error(std::string_view text) noexcept {
    const auto word = text.substr(0, text.find(' '));
    if (word == "MOVED") return cluster_error_kind::moved;
    if (word == "ASK") return cluster_error_kind::ask;
    if (word == "TRYAGAIN") return cluster_error_kind::try_again;
    if (word == "CLUSTERDOWN") return cluster_error_kind::cluster_down;
    if (word == "NOSCRIPT") return cluster_error_kind::no_script;
    return cluster_error_kind::other;
}

std::optional<redirection> parse_redirection(std::string_view text) {
    redirection out;
    if (text.starts_with("MOVED ")) {
        text.remove_prefix(6);
    } else if (text.starts_with("ASK ")) {
        out.ask = true;
        text.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    const auto space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto slot_text = text.substr(0, space);
    auto address = text.substr(space + 1);
    unsigned slot = 0;
    const auto [slot_end, slot_ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
    if (slot_ec != std::errc{} || slot_end != slot_text.data() + slot_text.size() || slot >= slot_count)
        return std::nullopt;
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto host = address.substr(0, colon);
    const auto port_text = address.substr(colon + 1);
    unsigned port = 0;
    const auto [port_end, port_ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_ec != std::errc{} || port_end != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return std::nullopt;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.find(' ') != std::string_view::npos) return std::nullopt;
    out.slot = static_cast<std::uint16_t>(slot);
    out.target = {std::string(host), static_cast<std::uint16_t>(port)};
    return out;
}

}  // namespace sluice::redis
