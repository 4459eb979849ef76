// The credential file, the per-request token check, and generated practices for load tests
// (credentials.hpp).
//
// Parsing stops at the first faulty line and throws one config_error: key "credentials.file",
// the file's name as value, what is wrong with which field, and "at FILE:LINE". Readers take a
// shared flock() while they read the file; sluice-token appends under an exclusive one, so a
// reload never sees half of an appended line.
//
// authenticate() is the hot path: a table lookup to reject malformed tokens, one SHA-256
// (config/digest.hpp: a per-thread EVP context, the digest fetched once), a hash-map probe on the
// digest's first 8 bytes and a constant-time comparison (CRYPTO_memcmp) of all 32.

#include "credentials/credentials.hpp"

#include "credentials/detail/lines.hpp"

#include "config/config.hpp"
#include "config/rfc3339.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace sluice::credentials {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view config_key = "credentials.file";

// How long load() waits for a writer's exclusive lock (sluice-token holds it for one append).
constexpr auto lock_wait_limit = 2s;

// ---- base64url (RFC 4648 section 5) ----------------------------------------------------------

constexpr std::string_view base64url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<signed char, 256> base64url_values = [] {
    std::array<signed char, 256> values{};
    values.fill(-1);
    for (std::size_t i = 0; i < base64url_alphabet.size(); ++i)
        values[static_cast<unsigned char>(base64url_alphabet[i])] = static_cast<signed char>(i);
    return values;
}();

using detail::line_reader;
using detail::shown;
using detail::trim;

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<sha256_digest> parse_hex_digest(std::string_view text)
{
    sha256_digest digest{};
    if (text.size() != digest.size() * 2) return std::nullopt;
    for (std::size_t i = 0; i < digest.size(); ++i) {
        const int high = hex_value(text[2 * i]), low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        digest[i] = static_cast<unsigned char>(high * 16 + low);
    }
    return digest;
}

// ---- the file --------------------------------------------------------------------------------

std::uint64_t digest_prefix(const sha256_digest& digest)
{
    std::uint64_t prefix;
    std::memcpy(&prefix, digest.data(), sizeof prefix);
    return prefix;
}

std::string system_error_text(int error)
{
    return std::generic_category().message(error);  // strerror() is not thread-safe
}

// Takes a shared flock() on `fd`, waiting at most lock_wait_limit for a writer.
bool lock_shared(int fd)
{
    const auto give_up = std::chrono::steady_clock::now() + lock_wait_limit;
    while (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) return true;  // no locking here (some network filesystems)
        if (std::chrono::steady_clock::now() >= give_up) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

}  // namespace

// ---- credential_table ------------------------------------------------------------------------

credential_table credential_table::parse(std::string_view text, std::string_view source_name)
{
    credential_table table;
    std::vector<std::size_t> line_of;  // credential index -> line number, for duplicate messages
    line_reader lines(config_key, source_name, text);
    std::string_view line;
    while (lines.next(line)) {
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;

        const auto fields = detail::split_fields(line);
        if (fields.size() != 3 && fields.size() != 4)
            lines.fail("line " + shown(line) + " has " + std::to_string(fields.size())
                       + " comma-separated fields: expected 3 or 4, practice,token_sha256_hex,not_after[,role]");

        const auto access = fields.size() == 4 ? parse_role(fields[3]) : std::optional<role>(role::practice);
        if (!access)
            lines.fail("role " + shown(fields[3]) + " is not a role: expected practice, commissioner or operator");
        const auto practice = fields[0], hash_text = fields[1], not_after_text = fields[2];
        if (*access == role::practice && !well_formed_practice(practice))
            lines.fail("practice " + shown(practice) + " is not an ODS practice code: "
                       + "expected one upper-case letter and five digits, such as A81001");
        if (*access == role::commissioner && !well_formed_organisation(practice))
            lines.fail("commissioner " + shown(practice) + " is not an ODS organisation code: "
                       + "expected 3 to 5 upper-case letters or digits, such as QWE");
        if (*access == role::operator_ && !well_formed_operator(practice))
            lines.fail("operator " + shown(practice) + " is not an operator name: "
                       + "expected 1 to 32 upper-case letters, digits or hyphens, such as OPS-1");

        const auto digest = parse_hex_digest(hash_text);
        if (!digest)
            lines.fail("token_sha256_hex " + shown(hash_text) + " (" + std::to_string(hash_text.size())
                       + " characters): expected 64 hex digits, the SHA-256 of the token");

        const auto not_after = config::read_rfc3339(not_after_text);
        if (not_after.fault == config::rfc3339_fault::not_utc)
            lines.fail("not_after " + shown(not_after_text)
                       + " is not in UTC: expected the offset Z (or +00:00), such as 2027-03-31T23:59:59Z");
        if (not_after.fault != config::rfc3339_fault::none)
            lines.fail("not_after " + shown(not_after_text)
                       + " is not an RFC 3339 UTC time: expected such as 2027-03-31T23:59:59Z");

        const auto prefix = digest_prefix(*digest);
        const auto [first, last] = table.by_digest_prefix_.equal_range(prefix);
        for (auto it = first; it != last; ++it) {
            if (table.credentials_[it->second].token_sha256 == *digest)
                lines.fail("token_sha256_hex is the same as on line " + std::to_string(line_of[it->second])
                           + ": each token is issued once, to one practice");
        }
        table.by_digest_prefix_.emplace(prefix, table.credentials_.size());
        line_of.push_back(lines.line_number());
        table.credentials_.push_back(credential{std::string(practice), *digest, not_after.when, *access});
    }
    return table;
}

std::string detail::read_locked_file(const std::filesystem::path& file, std::string_view key, std::string_view what)
{
    const std::string name = file.string();
    auto fail = [&](const std::string& fault) -> void {
        throw config::config_error(std::string(key), shown(name, name.size()), fault);
    };

    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open the " + std::string(what) + ": " + system_error_text(errno));
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_on_exit{fd};

    struct stat status {};
    if (::fstat(fd, &status) != 0) fail("cannot read the " + std::string(what) + ": " + system_error_text(errno));
    if (!S_ISREG(status.st_mode)) fail("not a regular file");
    if (!lock_shared(fd))
        fail("the " + std::string(what) + " stayed locked by a writer (sluice-token?) for "
             + std::to_string(std::chrono::seconds(lock_wait_limit).count()) + " s");

    std::string text;
    char buffer[65536];
    for (;;) {
        const auto got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail("cannot read the " + std::string(what) + ": " + system_error_text(errno));
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

credential_table credential_table::load(const std::filesystem::path& file)
{
    return parse(detail::read_locked_file(file, config_key, "credential file"), file.string());
}

auth_result credential_table::authenticate(std::string_view bearer_token,
                                           std::chrono::system_clock::time_point now) const
{
    if (!well_formed_token(bearer_token)) return {auth_status::unknown, nullptr};
    const auto digest = config::sha256(bearer_token);
    const auto [first, last] = by_digest_prefix_.equal_range(digest_prefix(digest));
    for (auto it = first; it != last; ++it) {
        const credential& candidate = credentials_[it->second];
        if (CRYPTO_memcmp(candidate.token_sha256.data(), digest.data(), digest.size()) != 0) continue;
        // not_after names the last whole second at which the token works.
        const bool expired = std::chrono::floor<std::chrono::seconds>(now) > candidate.not_after;
        return {expired ? auth_status::expired : auth_status::ok, &candidate};
    }
    return {auth_status::unknown, nullptr};
}

std::vector<const credential*> credential_table::expiring_before(std::chrono::sys_seconds when) const
{
    std::map<std::string_view, const credential*> latest;  // practice -> its credential with the latest not_after
    for (const auto& c : credentials_) {
        auto [it, inserted] = latest.emplace(c.practice, &c);
        if (!inserted && c.not_after > it->second->not_after) it->second = &c;
    }
    std::vector<const credential*> expiring;
    for (const auto& [practice, c] : latest)
        if (c->not_after < when) expiring.push_back(c);
    std::stable_sort(expiring.begin(), expiring.end(),
                     [](const credential* a, const credential* b) { return a->not_after < b->not_after; });
    return expiring;  // ties stay in practice order (the map's)
}

// ---- free functions --------------------------------------------------------------------------

bool well_formed_token(std::string_view token)
{
    if (token.size() != token_length) return false;
    unsigned char all = 0;
    for (const char c : token) all |= static_cast<unsigned char>(base64url_values[static_cast<unsigned char>(c)]);
    if (all & 0x80) return false;  // some character is outside the alphabet (-1 sets the high bit)
    // 32 bytes are 256 bits: the 43rd character carries 4 of them, its 2 low bits are zero.
    return (base64url_values[static_cast<unsigned char>(token.back())] & 0x03) == 0;
}

std::string new_token()
{
    std::array<unsigned char, token_bytes> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(token_bytes)) != 1)
        throw std::runtime_error("OpenSSL: RAND_bytes failed to produce a token");
    std::string token;
    token.reserve(token_length + 1);
    for (std::size_t i = 0; i < token_bytes; i += 3) {  // 10 whole groups of 3 bytes, then 2 bytes
        const unsigned group = (unsigned{bytes[i]} << 16) | (unsigned{bytes[i + 1]} << 8)
                               | (i + 2 < token_bytes ? unsigned{bytes[i + 2]} : 0u);
        token += base64url_alphabet[(group >> 18) & 0x3f];
        token += base64url_alphabet[(group >> 12) & 0x3f];
        token += base64url_alphabet[(group >> 6) & 0x3f];
        if (i + 2 < token_bytes) token += base64url_alphabet[group & 0x3f];
    }
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return token;
}

bool well_formed_practice(std::string_view practice)
{
    return practice.size() == 6 && practice[0] >= 'A' && practice[0] <= 'Z'
           && std::all_of(practice.begin() + 1, practice.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool well_formed_organisation(std::string_view code)
{
    return code.size() >= 3 && code.size() <= 5 && std::all_of(code.begin(), code.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
           });
}

bool well_formed_operator(std::string_view name)
{
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
           });
}

std::string_view role_name(role r) noexcept
{
    switch (r) {
    case role::practice: return "practice";
    case role::commissioner: return "commissioner";
    case role::operator_: return "operator";
    }
    return "practice";
}

std::optional<role> parse_role(std::string_view text) noexcept
{
    if (text == "practice") return role::practice;
    if (text == "commissioner") return role::commissioner;
    if (text == "operator") return role::operator_;
    return std::nullopt;
}

// ---- generated practices ---------------------------------------------------------------------

generated_credentials generate_credentials(std::size_t count, char letter, std::chrono::sys_seconds not_after)
{
    if (count < 1 || count > max_generated_practices)
        throw std::invalid_argument("expected from 1 to " + std::to_string(max_generated_practices)
                                    + " practices, got " + std::to_string(count));
    if (letter < 'A' || letter > 'Z')
        throw std::invalid_argument("expected one upper-case letter for the practice codes");
    const std::string expiry = config::format_rfc3339(not_after);
    generated_credentials generated;
    generated.credential_file = "# practice,token_sha256_hex,not_after (generated for load tests)\n";
    for (std::size_t i = 0; i < count; ++i) {
        char practice[24];
        std::snprintf(practice, sizeof practice, "%c%05zu", letter, i % max_generated_practices);
        const std::string token = new_token();
        generated.credential_file += std::string(practice) + "," + config::to_hex(config::sha256(token)) + "," + expiry + "\n";
        generated.tokens_file += std::string(practice) + "," + token + "\n";
    }
    credential_table::parse(generated.credential_file, "the generated credential file");
    return generated;
}

void create_private_file(const std::filesystem::path& file, std::string_view text)
{
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw credential_write_error("cannot create " + file.string() + ": " + system_error_text(errno), true);
    const auto fail = [&](const std::string& what) {
        const int error = errno;
        ::close(fd);
        throw credential_write_error(what + " " + file.string() + ": " + system_error_text(error), false);
    };
    while (!text.empty()) {
        const auto written = ::write(fd, text.data(), text.size());
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) fail("cannot write");
        text.remove_prefix(static_cast<std::size_t>(written));
    }
    if (::fsync(fd) != 0) fail("cannot fsync");
    ::close(fd);
}

void write_generated_credentials(const generated_credentials& generated, const std::filesystem::path& credential_file,
                                 const std::filesystem::path& tokens_file)
{
    create_private_file(credential_file, generated.credential_file);
    create_private_file(tokens_file, generated.tokens_file);
}

}  // namespace sluice::credentials
