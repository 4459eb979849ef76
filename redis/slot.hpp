// Redis Cluster's key-to-slot function (the Redis Cluster specification, "Keys distribution
// model"): HASH_SLOT = CRC16(key) mod 16384, where CRC16 is the XMODEM variant (polynomial
// 0x1021, initial value 0, no reflection) and only the hash tag is hashed when the key has one:
// the bytes between the first '{' and the first '}' after it, if there is at least one byte
// between them. Every key of one sluice admission carries its shard's tag ("sluice:{7}:q"), so
// all of them hash to one slot. Pure, constexpr-free and allocation-free.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::redis {

// The number of hash slots of every Redis Cluster (a protocol fact).
inline constexpr std::uint16_t slot_count = 16384;

// CRC16/XMODEM of `bytes` (check value: crc16("123456789") == 0x31C3).
std::uint16_t crc16(std::string_view bytes) noexcept;

// What Redis hashes of `key`: the hash tag if it has a non-empty one, else the whole key.
std::string_view hashed_part(std::string_view key) noexcept;

// The slot of `key`, 0 to 16383: what CLUSTER KEYSLOT answers.
std::uint16_t key_slot(std::string_view key) noexcept;

}  // namespace sluice::redis
