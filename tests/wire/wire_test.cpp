// Wire conformance: every tests/wire/*.vtc script, one test each, run by varnishtest (Debian's
// `varnish`) against a real sluice-gateway on a real redis-server.
//
// Each test starts its own redis-server (tests/support) and gateway (tests/integration/
// gateway_process), with one credential for practice A81001, then runs
//     varnishtest -t 30 -Dgw=127.0.0.1:PORT -Dtoken=TOKEN FILE
// A script's `client` speaks raw bytes to the gateway and asserts the status and whether the
// connection closes; its I/O timeout (4 s, well below header_timeout_ms and body_timeout_ms)
// makes "answered at once" part of every assertion. The scripts' names are the test names
// (compiled in from the directory's listing; a new .vtc is a new test after the next build).
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/support/redis_environment.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#if !defined(SLUICE_WIRE_DIR) || !defined(SLUICE_WIRE_SCRIPTS)
#error "SLUICE_WIRE_DIR and SLUICE_WIRE_SCRIPTS must be defined by the build"
#endif

namespace {

using namespace sluice::test;
namespace fs = std::filesystem;

[[maybe_unused]] auto* const redis_env = add_redis_environment();

// SLUICE_WIRE_SCRIPTS: the scripts' names without .vtc, comma-separated (tests/wire/CMakeLists.txt).
std::vector<std::string> scripts() {
    std::vector<std::string> names;
    std::stringstream list(SLUICE_WIRE_SCRIPTS);
    for (std::string name; std::getline(list, name, ',');)
        if (!name.empty()) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }  // paths and tokens hold no quote

std::string read_file(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class vtc : public ::testing::TestWithParam<std::string> {};

TEST_P(vtc, passes) {
    const auto credential = make_credential("A81001");
    gateway_options options;
    options.credentials = credential.line;
    gateway_process gateway(options);

    const fs::path script = fs::path(SLUICE_WIRE_DIR) / (GetParam() + ".vtc");
    const fs::path output = gateway.dir() / "varnishtest.log";
    const std::string command = "varnishtest -t 30 -Dgw=127.0.0.1:" + std::to_string(gateway.port()) +
                                " -Dtoken=" + quoted(credential.token) + " " + quoted(script.string()) + " >" +
                                quoted(output.string()) + " 2>&1";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << command;
    EXPECT_EQ(WEXITSTATUS(status), 0) << script << " failed:\n"
                                      << read_file(output) << "\ngateway log:\n"
                                      << gateway.log();
}

INSTANTIATE_TEST_SUITE_P(wire, vtc, ::testing::ValuesIn(scripts()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
