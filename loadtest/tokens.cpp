// The tokens file and practice generation (tokens.hpp). Parsing stops at the first faulty line
// with FILE:LINE; the whole file is read at start-up, never on a request path.
#include "loadtest/tokens.hpp"

#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "credentials/credentials.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

namespace sluice::loadtest {
namespace {

std::string_view trim(std::string_view text) {
    constexpr std::string_view blanks = " \t\r";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

// Shown in messages: at most 60 characters, control bytes as '?'. A token is never shown whole.
std::string shown(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < 60; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
    }
    if (text.size() > 60) out += "...";
    return "\"" + out + "\"";
}

bool header_safe(std::string_view token) {
    for (const char c : token) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return false;
    }
    return !token.empty();
}

}  // namespace

namespace {

// PRACTICE,TOKEN or CODE,TOKEN lines: `well_formed` checks the first field, `expected` says what
// it should be in a message.
std::vector<practice_token> parse_token_lines(std::string_view text, std::string_view source_name,
                                              bool (*well_formed)(std::string_view), std::string_view noun,
                                              std::string_view expected) {
    std::vector<practice_token> tokens;
    std::unordered_map<std::string, std::size_t> line_of;  // practice -> the line it was first on
    std::size_t line_number = 0;
    for (std::size_t position = 0; position <= text.size();) {
        const auto end = text.find('\n', position);
        const auto stop = end == std::string_view::npos ? text.size() : end;
        const auto line = trim(text.substr(position, stop - position));
        position = stop + 1;
        ++line_number;
        if (line.empty() || line.front() == '#') continue;

        const auto where = std::string(source_name) + ":" + std::to_string(line_number) + ": ";
        const auto comma = line.find(',');
        if (comma == std::string_view::npos)
            throw std::invalid_argument(where + "expected PRACTICE,TOKEN, got a line without a comma");
        const auto practice = trim(line.substr(0, comma));
        const auto token = trim(line.substr(comma + 1));
        if (!well_formed(practice))
            throw std::invalid_argument(where + std::string(noun) + " " + shown(practice) + " is not " +
                                        std::string(expected));
        if (token.find(',') != std::string_view::npos)
            throw std::invalid_argument(where + "expected PRACTICE,TOKEN, got more than two fields");
        if (!header_safe(token))
            throw std::invalid_argument(where + "the token of " + std::string(practice) +
                                        " is empty or holds spaces or control characters");
        const auto [it, inserted] = line_of.emplace(std::string(practice), line_number);
        if (!inserted)
            throw std::invalid_argument(where + "practice " + std::string(practice) + " again (first at line " +
                                        std::to_string(it->second) + "); each practice may appear once");
        tokens.push_back({std::string(practice), std::string(token)});
    }
    if (tokens.empty())
        throw std::invalid_argument(std::string(source_name) + ": no PRACTICE,TOKEN lines (an empty tokens file)");
    return tokens;
}

std::string read_text(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::error_code ec(errno, std::generic_category());
        throw std::invalid_argument("cannot read " + file.string() + ": " + ec.message());
    }
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw std::invalid_argument("cannot read " + file.string());
    return text;
}

}  // namespace

std::vector<practice_token> parse_tokens(std::string_view text, std::string_view source_name) {
    return parse_token_lines(text, source_name, &credentials::well_formed_practice, "practice",
                             "an ODS practice code (one upper-case letter and five digits, like A81001)");
}

std::vector<practice_token> parse_commissioner_tokens(std::string_view text, std::string_view source_name) {
    return parse_token_lines(text, source_name, &credentials::well_formed_organisation, "commissioner",
                             "an ODS organisation code (3 to 5 upper-case letters or digits, like QWE)");
}

std::vector<practice_token> read_commissioner_tokens(const std::filesystem::path& file) {
    return parse_commissioner_tokens(read_text(file), file.string());
}

std::vector<practice_token> read_tokens(const std::filesystem::path& file) {
    return parse_tokens(read_text(file), file.string());
}

generated_commissioners generate_commissioners(const std::vector<std::string>& practices, std::size_t count,
                                               std::chrono::sys_seconds not_after) {
    if (count < 1 || count > max_generated_commissioners)
        throw std::invalid_argument("expected from 1 to " + std::to_string(max_generated_commissioners) +
                                    " commissioners, got " + std::to_string(count));
    const std::string expiry = config::format_rfc3339(not_after);
    generated_commissioners generated;
    std::vector<std::string> codes;
    for (std::size_t k = 0; k < count; ++k) {
        char code[8];
        std::snprintf(code, sizeof code, "ICB%02zu", k);
        const std::string token = credentials::new_token();
        generated.credential_lines +=
            std::string(code) + "," + config::to_hex(config::sha256(token)) + "," + expiry + ",commissioner\n";
        generated.tokens_file += std::string(code) + "," + token + "\n";
        codes.emplace_back(code);
    }
    generated.organisations_file = "# practice,commissioner (generated for load tests)\n";
    for (std::size_t i = 0; i < practices.size(); ++i)
        generated.organisations_file += practices[i] + "," + codes[i % count] + "\n";
    return generated;
}

void generate_practices(std::size_t count, char letter, std::chrono::days valid_days,
                        const std::filesystem::path& credential_file, const std::filesystem::path& tokens_file,
                        const std::optional<commissioner_files>& commissioners) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto generated = credentials::generate_credentials(count, letter, now + valid_days);
    if (!commissioners) return credentials::write_generated_credentials(generated, credential_file, tokens_file);
    std::vector<std::string> practices;
    for (const auto& entry : parse_tokens(generated.tokens_file, "the generated tokens"))
        practices.push_back(entry.practice);
    const auto extra = generate_commissioners(practices, commissioners->count, now + valid_days);
    generated.credential_file += extra.credential_lines;
    credentials::write_generated_credentials(generated, credential_file, tokens_file);
    credentials::create_private_file(commissioners->tokens_file, extra.tokens_file);
    credentials::create_private_file(commissioners->organisations_file, extra.organisations_file);
}

}  // namespace sluice::loadtest
