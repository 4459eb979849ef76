// Key layout, shard hash and submission ids (see keys.hpp; shard_of() must never change).
#include "queue/keys.hpp"

#include "config/digest.hpp"

#include <array>
#include <span>

namespace sluice::queue {

namespace {

constexpr std::uint64_t fnv_offset_basis = 14695981039346656037ULL;
constexpr std::uint64_t fnv_prime = 1099511628211ULL;

constexpr std::string_view key_prefix = "sluice:";
// Shard numbers are below 16384 (config), so at most 5 digits; 10 covers any uint32.
constexpr std::size_t max_shard_digits = 10;

std::string tagged(std::uint32_t shard, std::string_view kind, std::size_t extra) {
    std::string key;
    key.reserve(key_prefix.size() + 16 + kind.size() + extra);
    key += key_prefix;
    key += '{';
    key += std::to_string(shard);
    key += "}:";
    key += kind;
    return key;
}

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::uint64_t fnv1a_64(std::string_view bytes) noexcept {
    std::uint64_t hash = fnv_offset_basis;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= fnv_prime;
    }
    return hash;
}

std::uint32_t shard_of(std::string_view practice, std::uint32_t shards) noexcept {
    return shards <= 1 ? 0 : static_cast<std::uint32_t>(fnv1a_64(practice) % shards);
}

std::string hash_tag(std::uint32_t shard) {
    // Appended piecewise: GCC 12 at -O3 reports a false -Wrestrict for "{" + std::to_string(...).
    std::string tag;
    tag.reserve(12);
    tag += '{';
    tag += std::to_string(shard);
    tag += '}';
    return tag;
}

std::string idem_key(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key) {
    std::string key = tagged(shard, "idem:", practice.size() + 1 + idempotency_key.size());
    key += practice;
    key += ':';
    key += idempotency_key;
    return key;
}

std::string practice_key(std::uint32_t shard, std::string_view practice) {
    std::string key = tagged(shard, "practice:", practice.size());
    key += practice;
    return key;
}

std::string queue_key(std::uint32_t shard) { return tagged(shard, "q", 0); }

std::string submission_key(std::uint32_t shard, std::string_view submission_id) {
    // "7-<24 hex>-<11 hex>" names its record by what precedes the second '-'.
    const auto dash = submission_id.find('-');
    const auto second = dash == std::string_view::npos ? dash : submission_id.find('-', dash + 1);
    if (second != std::string_view::npos) submission_id = submission_id.substr(0, second);
    std::string key = tagged(shard, "sub:", submission_id.size());
    key += submission_id;
    return key;
}

std::string submission_id_for(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key,
                              std::int64_t received_ms) {
    // Domain-separated, and unambiguous: the practice's length comes first.
    std::string named = "sluice submission record\n";
    named += std::to_string(practice.size());
    named += ':';
    named += practice;
    named += idempotency_key;
    const auto digest = config::sha256(named);
    std::string id = std::to_string(shard);
    id += '-';
    id += config::to_hex(std::span(digest.data(), submission_record_hex_digits / 2));
    id += '-';
    static constexpr std::array<char, 16> digits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                    '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    const auto ms = static_cast<std::uint64_t>(received_ms);
    for (int shift = 4 * (static_cast<int>(submission_time_hex_digits) - 1); shift >= 0; shift -= 4) {
        id += digits[(ms >> shift) & 0xF];
    }
    return id;
}

std::string record_key(std::uint32_t shard, std::string_view practice, std::string_view idempotency_key) {
    return submission_key(shard, submission_id_for(shard, practice, idempotency_key, 0));
}

std::string new_submission_id(std::uint32_t shard, std::uint64_t random_high, std::uint64_t random_low) {
    static constexpr std::array<char, 16> digits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                    '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string id = std::to_string(shard);
    id += '-';
    for (const std::uint64_t half : {random_high, random_low}) {
        for (int shift = 60; shift >= 0; shift -= 4) {
            id += digits[(half >> shift) & 0xF];
        }
    }
    return id;
}

std::optional<std::uint32_t> shard_of_submission_id(std::string_view id, std::uint32_t shards) noexcept {
    const auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > max_shard_digits) {
        return std::nullopt;
    }
    const std::string_view number = id.substr(0, dash);
    const std::string_view rest = id.substr(dash + 1);
    const bool merged = rest.size() == submission_record_hex_digits + 1 + submission_time_hex_digits &&
                        rest[submission_record_hex_digits] == '-';
    if (!merged && rest.size() != submission_id_hex_digits) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (!is_lower_hex(rest[i]) && !(merged && i == submission_record_hex_digits)) {
            return std::nullopt;
        }
    }
    if (number.size() > 1 && number.front() == '0') {
        return std::nullopt;
    }
    std::uint64_t shard = 0;
    for (const char c : number) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        shard = shard * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (shard >= (shards == 0 ? 1 : shards)) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(shard);
}

}  // namespace sluice::queue
