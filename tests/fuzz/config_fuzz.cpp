// libFuzzer target for the TOML configuration (config/config.hpp): any bytes as sluice.toml.
// Besides the sanitizers' checks it aborts when a property fails:
//   * parse either returns settings or throws config_error (toml++'s own errors included: nothing
//     else escapes, so main() reports every bad file as a config error naming the key);
//   * valid settings written back with to_toml parse to equal settings (config.hpp's promise).
//
//   config_fuzz -dict=tests/fuzz/config.dict tests/fuzz/corpus/config   (a scratch copy)
#include "config/config.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

void require(bool property, const char* what) {
    if (!property) {
        std::fprintf(stderr, "property failed: %s\n", what);
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice::config;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    settings parsed;
    try {
        parsed = parse(text, {}, "fuzz.toml");
    } catch (const config_error&) {
        return 0;
    }
    try {
        const settings again = parse(to_toml(parsed), {}, "written back");
        require(again == parsed, "to_toml round trip");
    } catch (const config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        require(false, "valid settings written back parse");
    }
    return 0;
}
