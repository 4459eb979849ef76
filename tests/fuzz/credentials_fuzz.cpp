// libFuzzer target for the credential file (credentials/credentials.hpp): any bytes as the file's
// text. Besides the sanitizers' checks it aborts when a property fails:
//   * parse either returns a table or throws config_error (nothing else escapes);
//   * every credential of a table has a well-formed code for its role (a practice code, a
//     commissioner's organisation code, an operator's name), and the table written back as a
//     credential file (the role column for the roles that are not practice) parses to the same
//     credentials;
//   * parse_rfc3339 of any line's third field, when it succeeds, round-trips through
//     format_rfc3339 to the same second.
//
//   credentials_fuzz tests/fuzz/corpus/credentials   (a scratch copy: libFuzzer writes into it)
#include "config/config.hpp"
#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "credentials/credentials.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace sluice::config;
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

    // The date parser on every field that could be a not_after.
    for (std::size_t start = 0; start <= text.size();) {
        std::size_t end = text.find_first_of(",\n", start);
        if (end == std::string_view::npos) end = text.size();
        if (const auto when = parse_rfc3339(text.substr(start, end - start))) {
            const auto again = parse_rfc3339(format_rfc3339(*when));
            require(again && *again == *when, "RFC 3339 round trip");
        }
        start = end + 1;
    }

    credential_table table;
    try {
        table = credential_table::parse(text, "fuzz");
    } catch (const config_error&) {
        return 0;
    }
    std::string written;
    for (const auto& c : table.credentials()) {
        require(c.access == role::practice       ? well_formed_practice(c.practice)
                : c.access == role::commissioner ? well_formed_organisation(c.practice)
                                                 : well_formed_operator(c.practice),
                "code for the role");
        written += c.practice + "," + to_hex(c.token_sha256) + "," + format_rfc3339(c.not_after) +
                   (c.access == role::practice ? "" : "," + std::string(role_name(c.access))) + "\n";
    }
    credential_table again;
    try {
        again = credential_table::parse(written, "written back");
    } catch (const config_error&) {
        require(false, "a table written back parses");
    }
    require(again.size() == table.size(), "same number of credentials");
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto& a = table.credentials()[i];
        const auto& b = again.credentials()[i];
        require(a.practice == b.practice && a.token_sha256 == b.token_sha256 && a.not_after == b.not_after &&
                    a.access == b.access,
                "same credentials");
    }
    return 0;
}
