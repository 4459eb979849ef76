// Hashing, in one small place: SHA-256 (a request body's content_sha256, a token's digest in the
// credential file, a ledger migration's checksum), SHA-1 (a Redis script's name for EVALSHA) and
// lower-case hex. OpenSSL's EVP interface underneath, private to this file's .cpp.
//
// sha256() is on the hot path (every submission's body, every bearer token): the algorithm is
// fetched once and each thread reuses one digest context. OpenSSL 3.0 still allocates the
// provider's context on every EVP_DigestInit (measured: 1 allocation per digest, against 3 for
// the one-shot SHA256()/EVP_Digest with an implicit fetch, which also takes a lock).
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace sluice::config {

using sha256_digest = std::array<unsigned char, 32>;
using sha1_digest = std::array<unsigned char, 20>;

// Thread-safe; throws std::runtime_error only if OpenSSL itself fails.
sha256_digest sha256(std::string_view data);
sha1_digest sha1(std::string_view data);

// Lower-case hex, two digits a byte (64 for a SHA-256 digest, 40 for SHA-1).
std::string to_hex(std::span<const unsigned char> bytes);

}  // namespace sluice::config
