// Key layout, shard hash and submission ids (see keys.hpp; shard_of() must never change).
#include "queue/keys.hpp"

#include <array>

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

std::string ratelimit_key(std::uint32_t shard, std::string_view practice) {
    std::string key = tagged(shard, "rl:", practice.size());
    key += practice;
    return key;
}

std::string queue_key(std::uint32_t shard) { return tagged(shard, "q", 0); }

std::string submission_key(std::uint32_t shard, std::string_view submission_id) {
    std::string key = tagged(shard, "sub:", submission_id.size());
    key += submission_id;
    return key;
}

std::string latest_key(std::uint32_t shard, std::string_view practice) {
    std::string key = tagged(shard, "latest:", practice.size());
    key += practice;
    return key;
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
    const std::string_view random = id.substr(dash + 1);
    if (random.size() != submission_id_hex_digits) {
        return std::nullopt;
    }
    for (const char c : random) {
        if (!is_lower_hex(c)) {
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
