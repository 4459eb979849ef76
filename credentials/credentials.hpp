// Practice credentials: the credential file of API.md's "Credentials" section, and the check the
// gateway makes on every request's `Authorization: Bearer <token>`.
//
// The file holds one credential a line, `practice,token_sha256_hex,not_after[,role]` (role:
// practice, the default, commissioner or operator; see `role` below):
//
//   # practice,token_sha256_hex,not_after
//   A81001,3f5c...e1,2027-03-31T23:59:59Z
//
// A token is 32 random bytes written base64url without padding (43 characters). The file and
// this table hold only SHA-256 of the token's text (its 43 ASCII characters), never the token.
// A practice may have several lines (token rotation: each token works until its own not_after);
// the same hash on two lines is an error, so a token always names exactly one practice.
//
// Invariants: a credential_table is immutable once built and every credential in it passed
// validation; the gateway shares one through a shared_ptr<const credential_table> and swaps it
// whole on SIGHUP. authenticate() is safe to call from any number of threads at once and does not
// allocate, apart from the one allocation OpenSSL 3.0's EVP makes per digest (config/digest.hpp).
#pragma once

#include "config/digest.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::credentials {

// Protocol facts of API.md: a token is 32 random bytes, base64url without padding.
inline constexpr std::size_t token_bytes = 32;
inline constexpr std::size_t token_length = 43;  // ceil(32 * 8 / 6)

using config::sha256_digest;

// Who a token speaks for (API.md "Organisations and roles"): the credential file's optional
// fourth column, `practice` when absent (three-column files keep working).
enum class role : std::uint8_t {
    practice,      // its own practice's submissions, declarations and statements
    commissioner,  // reads its practices' (organisations file) and decides their declarations
    operator_,     // GET /v1/admin/outstanding ("operator" in the file)
};

std::string_view role_name(role r) noexcept;                     // "practice", "commissioner", "operator"
std::optional<role> parse_role(std::string_view text) noexcept;  // the file's words; nullopt otherwise

struct credential {
    // The organisation the token speaks for: an ODS practice code (one upper-case letter and five
    // digits) for a practice, an ODS organisation code (3 to 5 upper-case letters or digits) for a
    // commissioner, an operator's name (1 to 32 upper-case letters, digits or hyphens).
    std::string practice;
    sha256_digest token_sha256;
    std::chrono::sys_seconds not_after;  // the last second at which the token still works
    role access = role::practice;
};

enum class auth_status { ok, expired, unknown };

struct auth_result {
    auth_status status;
    const credential* who;  // set for ok and expired (points into the table), null for unknown
};

class credential_table {
public:
    credential_table() = default;

    // Reads and parses the file. Throws config::config_error (key "credentials.file") for a file that
    // cannot be read and for the first faulty line, naming FILE:LINE and what is wrong.
    static credential_table load(const std::filesystem::path& file);

    // Parses the file's text; `source_name` stands for the file in messages. Throws config::config_error.
    static credential_table parse(std::string_view text, std::string_view source_name);

    // `bearer_token` is the token as sent (after "Bearer "). ok: the token is known and
    // now <= not_after (the not_after second itself still works); expired: known, now > not_after;
    // unknown: malformed or not in the table. The comparison of the digest is constant-time.
    auth_result authenticate(std::string_view bearer_token, std::chrono::system_clock::time_point now) const;

    // For each practice whose latest not_after (over all its tokens) is before `when`: the
    // credential carrying that latest not_after. Sorted by not_after, then practice.
    std::vector<const credential*> expiring_before(std::chrono::sys_seconds when) const;

    // Number of credentials (lines), not of practices.
    std::size_t size() const { return credentials_.size(); }

    // The credentials in file order.
    const std::vector<credential>& credentials() const { return credentials_; }

private:
    // The digest is already uniformly random: its first 8 bytes are the bucket hash. The full
    // 32 bytes are then compared in constant time, so the map's own comparison sees only the prefix.
    struct prefix_hash {
        std::size_t operator()(std::uint64_t prefix) const noexcept { return static_cast<std::size_t>(prefix); }
    };

    std::vector<credential> credentials_;
    std::unordered_multimap<std::uint64_t, std::size_t, prefix_hash> by_digest_prefix_;  // -> index in credentials_
};

// True for a token as new_token() writes it: 43 characters of the base64url alphabet, no padding,
// and the last character carrying only 4 bits (its 2 unused low bits zero).
bool well_formed_token(std::string_view token);

// A new token: 32 bytes from OpenSSL's RAND_bytes, base64url without padding. Throws
// std::runtime_error if the random generator fails.
std::string new_token();

// True for an ODS practice code: one upper-case letter and five digits.
bool well_formed_practice(std::string_view practice);

// True for an ODS organisation code as a commissioner has: 3 to 5 upper-case letters or digits (QWE).
bool well_formed_organisation(std::string_view code);

// True for an operator's name in the credential file: 1 to 32 upper-case letters, digits or hyphens.
bool well_formed_operator(std::string_view name);

// ---- generated practices, for load tests and benchmarks --------------------------------------
// `sluice-token generate` and `sluice-loadtest generate` both write these: a credential file the
// gateway loads and a tokens file (PRACTICE,TOKEN lines) the load generator reads.

inline constexpr std::size_t max_generated_practices = 100000;  // L00000 .. L99999

struct generated_credentials {
    std::string credential_file;  // a header comment, then practice,token_sha256_hex,not_after lines
    std::string tokens_file;      // practice,token lines, in the same order
};

// Practices L00000, L00001, ... (count of them), each with a fresh token (new_token()), all valid
// until `not_after`. The credential text is checked with credential_table::parse before it is
// returned (config::config_error if it would not load). Throws std::invalid_argument for a count outside
// [1, max_generated_practices] or a letter outside 'A'..'Z'.
generated_credentials generate_credentials(std::size_t count, char letter, std::chrono::sys_seconds not_after);

// A generated file that could not be written. refused(): it could not be created (it exists
// already, or its directory does not); otherwise an I/O failure while writing it.
class credential_write_error : public std::runtime_error {
public:
    credential_write_error(const std::string& message, bool refused) : std::runtime_error(message), refused_(refused) {}
    bool refused() const noexcept { return refused_; }

private:
    bool refused_;
};

// Creates `file` holding `text`, mode 0600, and fsync()s it; never overwrites (O_EXCL). Throws
// credential_write_error ("cannot create FILE: File exists", ...).
void create_private_file(const std::filesystem::path& file, std::string_view text);

// The credential file first, then the tokens file, each with create_private_file().
void write_generated_credentials(const generated_credentials& generated, const std::filesystem::path& credential_file,
                                 const std::filesystem::path& tokens_file);

}  // namespace sluice::credentials
