// The line-by-line reading shared by credentials/'s two files (the credential file and the
// organisations file), internal to credentials/: comment and blank lines, comma-separated fields,
// and one config_error per fault naming the key, the file, FILE:LINE and what is wrong.
#pragma once

#include "config/config.hpp"

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::credentials::detail {

inline std::string_view trim(std::string_view text) {
    constexpr std::string_view blanks = " \t\r";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

// A field as shown in a message: quoted, control bytes escaped, text beyond `limit` cut (a line
// of the file may be anything; a file name is shown whole).
inline constexpr std::size_t field_limit = 80;

inline std::string shown(std::string_view text, std::size_t limit = field_limit) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += text.size() > limit ? "\"..." : "\"";
    return out;
}

// The comma-separated fields of a line, each trimmed.
inline std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        const auto comma = line.find(',', start);
        fields.push_back(trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start)));
        if (comma == std::string_view::npos) return fields;
        start = comma + 1;
    }
}

class line_reader {
public:
    line_reader(std::string_view config_key, std::string_view source, std::string_view text)
        : config_key_(config_key), source_(source), text_(text) {}

    // Throws the config_error for the current line; `fault` says which field is wrong and how.
    [[noreturn]] void fail(const std::string& fault) const {
        throw config::config_error(std::string(config_key_), shown(source_, source_.size()), fault,
                                   "at " + std::string(source_) + ":" + std::to_string(line_number_));
    }

    bool next(std::string_view& line) {
        if (position_ > text_.size()) return false;
        const auto end = text_.find('\n', position_);
        const auto stop = end == std::string_view::npos ? text_.size() : end;
        line = text_.substr(position_, stop - position_);
        position_ = stop + 1;
        ++line_number_;
        return true;
    }

    std::size_t line_number() const { return line_number_; }

private:
    std::string_view config_key_, source_, text_;
    std::size_t position_ = 0, line_number_ = 0;
};

// The whole file, read under a shared flock() (sluice-token appends under an exclusive one, so a
// reload never sees half a line). Throws config_error naming `key` and the file; `what` names the
// file in messages ("credential file"). Defined in credentials.cpp.
std::string read_locked_file(const std::filesystem::path& file, std::string_view key, std::string_view what);

}  // namespace sluice::credentials::detail
