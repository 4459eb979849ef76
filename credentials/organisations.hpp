// The organisations file (API.md "Organisations and roles"): which commissioner (an ICB, as an ODS
// organisation code) each practice belongs to. Config `organisations.file`; re-read on SIGHUP with
// the credential file and swapped whole with it.
//
//   # practice,commissioner
//   A81001,QWE
//   A81002,QWE
//
// One practice a line, `#` starts a comment line; a practice appears at most once (two lines for
// one practice are an error naming both, never "the last one wins"). A commissioner token covers
// exactly the practices mapped to its code here; a practice not in the file has no commissioner
// (nobody can decide its declarations, and a declaration names none, so it is refused).
//
// Invariants: immutable once built; every row passed validation; look-ups are binary searches
// over sorted vectors and return views that live as long as the table.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::credentials {

struct organisation_link {
    std::string practice;      // ODS practice code, A81001
    std::string commissioner;  // ODS organisation code, QWE
};

class organisation_table {
public:
    organisation_table() = default;

    // Throws config::config_error (key "organisations.file") for a file that cannot be read and for
    // the first faulty line, naming FILE:LINE and what is wrong.
    static organisation_table load(const std::filesystem::path& file);
    static organisation_table parse(std::string_view text, std::string_view source_name);

    // The practice's commissioner; nullopt when the file does not list it.
    std::optional<std::string_view> commissioner_of(std::string_view practice) const noexcept;

    // Whether a commissioner token of `commissioner` covers `practice`.
    bool covers(std::string_view commissioner, std::string_view practice) const noexcept;

    // The practices of a commissioner, sorted.
    std::vector<std::string_view> practices_of(std::string_view commissioner) const;

    // Every link, sorted by practice.
    std::span<const organisation_link> links() const noexcept { return links_; }
    std::size_t size() const noexcept { return links_.size(); }

private:
    std::vector<organisation_link> links_;  // sorted by practice, practices unique
};

}  // namespace sluice::credentials
