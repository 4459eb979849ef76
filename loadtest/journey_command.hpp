// --journey on sluice-loadtest's command line: its flags (--journey, --organisations,
// --commissioner-tokens, --database) checked before anything is sent, the journey run after the
// submissions (journey_client.hpp) and judged against PostgreSQL with --verify
// (journey_verify.hpp), and the `verify-journey` command. main.cpp calls these; they throw
// config::usage_error for a usage mistake, as the rest of the command line does.
#pragma once

#include "config/command_line.hpp"
#include "loadtest/client.hpp"
#include "loadtest/journey.hpp"
#include "loadtest/journey_client.hpp"
#include "loadtest/journey_report.hpp"
#include "loadtest/journey_verify.hpp"

#include <atomic>
#include <functional>
#include <optional>
#include <string>

namespace sluice::loadtest {

// --journey and its companions.
struct journey_setup {
    journey_options options;
    std::optional<std::string> database;  // --database: the journey's --verify reads it
};

// nullopt without --journey (its companions alone are a usage error); sets run.run_id if unset
// (the journey's keys share it).
std::optional<journey_setup> journey_of(const config::parsed_options& args, run_options& run, bool verify);

// What the journey did and, with --verify, what the database says of it.
struct journey_outcome {
    journey_result result;
    journey_replay scope;
    std::optional<journey_verdict> verdict;
};

// The journey of the practices `sent` accepted; `stop` ends it early; `on_note` hears progress
// notes (none when empty).
journey_outcome journey(const run_result& sent, journey_setup& setup, const std::string& period, bool verify,
                        const std::atomic<bool>* stop, std::function<void(const std::string&)> on_note);

// `verify-journey --report FILE --database URL`: a report's journey against the database now,
// the verdict printed on stdout; whether it held.
bool verify_journey(const config::parsed_options& args);

}  // namespace sluice::loadtest
