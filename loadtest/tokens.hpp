// The practices a load test speaks for: the tokens file of sluice-loadtest (one practice a line,
// `PRACTICE,TOKEN`, as `sluice-token generate` and `sluice-loadtest generate` write it), and the
// generation of N practices with their credential file for the gateway.
//
//   # practice,token
//   Z00000,q8Vd...43 characters...
//
// '#' starts a comment line; blank lines are skipped; spaces around a field and a trailing '\r'
// are ignored. Invariants of a parsed list: file order, every practice an ODS code (it goes into
// the submission body, which the gateway checks against the token), no practice twice (arrival i
// is practice i % P: a duplicate would make two practices one), every token non-empty visible
// ASCII (it goes into an Authorization header as is).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::loadtest {

struct practice_token {
    std::string practice;  // "A81001"
    std::string token;     // the bearer token, as the practice sends it

    bool operator==(const practice_token&) const = default;
};

// Parses a tokens file's text; `source_name` stands for the file in messages. Throws
// std::invalid_argument "FILE:LINE: what is wrong" for the first bad line or repeated practice,
// and for a file that holds no practice at all.
std::vector<practice_token> parse_tokens(std::string_view text, std::string_view source_name);

// Reads and parses the file. Throws std::invalid_argument (as parse_tokens, or "cannot read FILE: ...").
std::vector<practice_token> read_tokens(const std::filesystem::path& file);

// The commissioner tokens file of the journey (--commissioner-tokens): `CODE,TOKEN` lines, CODE an
// ODS organisation code (credentials::well_formed_organisation), otherwise as a tokens file
// (practice_token::practice holds the code).
std::vector<practice_token> parse_commissioner_tokens(std::string_view text, std::string_view source_name);
std::vector<practice_token> read_commissioner_tokens(const std::filesystem::path& file);

// `generate --commissioners N`: commissioners ICB00 .. ICB{N-1} (N at most 100), practice i
// belonging to commissioner i % N. Their credential lines (role commissioner) for the gateway's
// file, their CODE,TOKEN lines, and the organisations file (practice,commissioner) for the gateway
// and for the run's --organisations.
inline constexpr std::size_t max_generated_commissioners = 100;
struct generated_commissioners {
    std::string credential_lines;
    std::string tokens_file;
    std::string organisations_file;
};
generated_commissioners generate_commissioners(const std::vector<std::string>& practices, std::size_t count,
                                               std::chrono::sys_seconds not_after);

// `sluice-loadtest generate`: practices L00000 .. L{count-1} with fresh tokens valid for
// `valid_days`, written as a new credential file (for the gateway) and a new tokens file (for
// sluice-loadtest), both mode 0600; neither is overwritten. credentials::generate_credentials and
// credentials::write_generated_credentials do the work (shared with `sluice-token generate`).
// Throws std::invalid_argument for a count or letter out of range, credentials::credential_write_error
// when a file cannot be written.
//
// With `commissioners`, also commissioners as generate_commissioners() makes them: their lines are
// added to the credential file, and their tokens file and the organisations file are written
// (new, mode 0600, after the other two).
struct commissioner_files {
    std::size_t count = 0;
    std::filesystem::path tokens_file;
    std::filesystem::path organisations_file;
};
void generate_practices(std::size_t count, char letter, std::chrono::days valid_days,
                        const std::filesystem::path& credential_file, const std::filesystem::path& tokens_file,
                        const std::optional<commissioner_files>& commissioners = std::nullopt);

}  // namespace sluice::loadtest
