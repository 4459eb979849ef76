// libFuzzer target for the organisations file (credentials/organisations.hpp): any bytes as the
// file's text. Besides the sanitizers' checks it aborts when a property fails:
//   * parse either returns a table or throws config_error (nothing else escapes);
//   * every link has a well-formed practice and commissioner code, practices are unique and
//     sorted, and commissioner_of / covers / practices_of agree with the links;
//   * the table written back as a file parses to the same links.
//
//   organisations_fuzz tests/fuzz/corpus/organisations   (a scratch copy: libFuzzer writes into it)
#include "config/config.hpp"
#include "credentials/credentials.hpp"
#include "credentials/organisations.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace sluice::credentials;

void require(bool property, const char* what) {
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    organisation_table table;
    try {
        table = organisation_table::parse(text, "fuzz");
    } catch (const sluice::config::config_error&) {
        return 0;
    }
    std::string written;
    const auto links = table.links();
    for (std::size_t i = 0; i < links.size(); ++i) {
        const auto& l = links[i];
        require(well_formed_practice(l.practice), "practice code");
        require(well_formed_organisation(l.commissioner), "commissioner code");
        require(i == 0 || links[i - 1].practice < l.practice, "practices unique and sorted");
        require(table.commissioner_of(l.practice) == std::string_view(l.commissioner), "commissioner_of");
        require(table.covers(l.commissioner, l.practice), "covers");
        const auto of = table.practices_of(l.commissioner);
        require(std::find(of.begin(), of.end(), std::string_view(l.practice)) != of.end(), "practices_of");
        written += l.practice + "," + l.commissioner + "\n";
    }
    organisation_table again;
    try {
        again = organisation_table::parse(written, "written back");
    } catch (const sluice::config::config_error&) {
        require(false, "a table written back parses");
    }
    require(again.size() == table.size(), "same number of links");
    for (std::size_t i = 0; i < again.size(); ++i)
        require(again.links()[i].practice == links[i].practice &&
                    again.links()[i].commissioner == links[i].commissioner,
                "same links");
    return 0;
}
