// sluice-gateway: the HTTP front end. `--config FILE`, `--check-config`; see README.md.
#include "config/command_line.hpp"
#include "config/process.hpp"
#include "config/log.hpp"
#include "gateway/server.hpp"

#include <sys/resource.h>

#include <exception>
#include <string>

namespace {

// limits.max_connections needs as many descriptors, plus some for Redis, logs and accept bursts.
void raise_descriptor_limit(std::uint32_t max_connections) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    const rlim_t wanted = static_cast<rlim_t>(max_connections) + 256;
    if (rl.rlim_cur < wanted)
        sluice::config::log(sluice::config::log_level::warning,
                            "open-file limit " + std::to_string(rl.rlim_cur) +
                                " is below limits.max_connections + 256 (" + std::to_string(wanted) +
                                "): accept() will fail before the connection limit is reached");
}

}  // namespace

int main(int argc, char** argv) {
    namespace config = sluice::config;
    using sluice::config::log;
    using sluice::config::log_level;
    try {
        const auto allocator = config::start_process("sluice-gateway");
        auto start = config::handle_command_line(argc, argv, "accepts practice submissions over HTTP");
        if (start.exit_code) return *start.exit_code;  // --help, --check-config, or a usage/config error
        config::set_log_format(start.config.log.format);
        raise_descriptor_limit(start.config.limits.max_connections);
        log(log_level::info,
            "allocator: " + allocator.name + (allocator.version.empty() ? "" : " " + allocator.version));
        sluice::gateway::server server({std::move(start.config), start.config_file, allocator});
        return server.run();
    } catch (const std::exception& e) {
        log(log_level::error, e.what());
        return 1;
    }
}
