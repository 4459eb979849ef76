// The organisations file (organisations.hpp). Parsing stops at the first faulty line and throws
// one config_error: key "organisations.file", the file, what is wrong and "at FILE:LINE".
#include "credentials/organisations.hpp"

#include "credentials/credentials.hpp"
#include "credentials/detail/lines.hpp"

#include <algorithm>
#include <map>

namespace sluice::credentials {

namespace {

constexpr std::string_view config_key = "organisations.file";

}  // namespace

organisation_table organisation_table::parse(std::string_view text, std::string_view source_name) {
    using detail::shown;
    organisation_table table;
    std::map<std::string, std::size_t, std::less<>> line_of;  // practice -> its line
    detail::line_reader lines(config_key, source_name, text);
    std::string_view line;
    while (lines.next(line)) {
        line = detail::trim(line);
        if (line.empty() || line.front() == '#') continue;
        const auto fields = detail::split_fields(line);
        if (fields.size() != 2)
            lines.fail("line " + shown(line) + " has " + std::to_string(fields.size()) +
                       " comma-separated fields: expected 2, practice,commissioner");
        const auto practice = fields[0], commissioner = fields[1];
        if (!well_formed_practice(practice))
            lines.fail("practice " + shown(practice) + " is not an ODS practice code: " +
                       "expected one upper-case letter and five digits, such as A81001");
        if (!well_formed_organisation(commissioner))
            lines.fail("commissioner " + shown(commissioner) + " is not an ODS organisation code: " +
                       "expected 3 to 5 upper-case letters or digits, such as QWE");
        const auto [it, inserted] = line_of.emplace(std::string(practice), lines.line_number());
        if (!inserted)
            lines.fail("practice " + std::string(practice) + " is listed already on line " +
                       std::to_string(it->second) + ": a practice has one commissioner");
        table.links_.push_back({std::string(practice), std::string(commissioner)});
    }
    std::sort(table.links_.begin(), table.links_.end(),
              [](const organisation_link& a, const organisation_link& b) { return a.practice < b.practice; });
    return table;
}

organisation_table organisation_table::load(const std::filesystem::path& file) {
    return parse(detail::read_locked_file(file, config_key, "organisations file"), file.string());
}

std::optional<std::string_view> organisation_table::commissioner_of(std::string_view practice) const noexcept {
    const auto it = std::lower_bound(links_.begin(), links_.end(), practice,
                                     [](const organisation_link& l, std::string_view p) { return l.practice < p; });
    if (it == links_.end() || it->practice != practice) return std::nullopt;
    return std::string_view(it->commissioner);
}

bool organisation_table::covers(std::string_view commissioner, std::string_view practice) const noexcept {
    const auto c = commissioner_of(practice);
    return c && *c == commissioner;
}

std::vector<std::string_view> organisation_table::practices_of(std::string_view commissioner) const {
    std::vector<std::string_view> out;
    for (const auto& l : links_)
        if (l.commissioner == commissioner) out.push_back(l.practice);
    return out;
}

}  // namespace sluice::credentials
