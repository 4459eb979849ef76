// Unit tests of loadtest/command_line.hpp: sluice-loadtest's grammar on config's option parser,
// and the presets: `deadline` expands to exactly the flags it documents (a 9,000-practice surge
// over two minutes, the polite/impatient/double mix, 2,000 connections), its fields change the
// surge, its mistakes are named, and every flag given on the command line overrides the preset's.
#include "loadtest/command_line.hpp"

#include "loadtest/behaviour.hpp"
#include "loadtest/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::loadtest {
namespace {

using namespace std::chrono_literals;

config::parsed_options parse(std::vector<const char*> args) {
    args.insert(args.begin(), "sluice-loadtest");
    return config::parse_options(static_cast<int>(args.size()), args.data(), command_grammar());
}

std::string expand_error(std::string_view spec) {
    try {
        (void)expand_preset(spec);
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    ADD_FAILURE() << spec << " expanded";
    return {};
}

TEST(loadtest_preset, deadline_expands_as_documented) {
    const std::vector<preset_flag> expected{{"--schedule", "surge:practices=9000,window=2m,peak_share=0.6"},
                                            {"--mix", "polite=70,impatient=20,double=10"},
                                            {"--connections", "2000"}};
    EXPECT_EQ(expand_preset("deadline"), expected);

    // What those values mean once parsed: the seeds' 9,000 practices, a surge peaking at the
    // deadline (60 % in the last tenth of the window), the three behaviours.
    const auto plan = schedule::parse(expected[0].value);
    EXPECT_EQ(plan.kind(), schedule::shape(surge_schedule{9000, 2min, 0.6}));
    EXPECT_EQ(plan.count(), 9000u);
    EXPECT_LE(plan.duration(), 2min);
    EXPECT_GT(plan.peak_rate(), 600.0);  // N k / (W (1 - e^-k)) = 687 submissions/s
    EXPECT_LT(plan.peak_rate(), 800.0);
    const auto mix = parse_behaviour_mix(expected[1].value);
    EXPECT_EQ(mix[client_behaviour::polite], 70u);
    EXPECT_EQ(mix[client_behaviour::impatient], 20u);
    EXPECT_EQ(mix[client_behaviour::double_submit], 10u);
}

TEST(loadtest_preset, fields_change_the_window_and_the_practices) {
    EXPECT_EQ(expand_preset("deadline:window=10m").at(0).value, "surge:practices=9000,window=10m,peak_share=0.6");
    EXPECT_EQ(expand_preset("deadline:practices=300,window=5s").at(0).value,
              "surge:practices=300,window=5s,peak_share=0.6");
    EXPECT_EQ(expand_preset("deadline:window=90s").at(0).value, "surge:practices=9000,window=1m30s,peak_share=0.6");
    EXPECT_EQ(expand_preset("deadline:practices=300").size(), 3u);
}

TEST(loadtest_preset, mistakes_are_named) {
    EXPECT_EQ(expand_error("rush"), "unknown preset 'rush': the presets are deadline");
    EXPECT_EQ(expand_error(""), "unknown preset '': the presets are deadline");
    EXPECT_EQ(expand_error("deadline:"),
              "preset 'deadline': no fields given (expected key=value,... with keys "
              "window, practices)");
    EXPECT_EQ(expand_error("deadline:colour=red"),
              "preset 'deadline': unknown field 'colour' (allowed: window, practices)");
    EXPECT_EQ(expand_error("deadline:window=2m,window=3m"), "preset 'deadline': field 'window' given twice");
    EXPECT_NE(expand_error("deadline:window=0s").find("preset 'deadline': "), std::string::npos);
    EXPECT_NE(expand_error("deadline:window=0s").find("window must be above 0s"), std::string::npos);
    EXPECT_NE(expand_error("deadline:practices=0").find("practices must be from 1"), std::string::npos);
    EXPECT_NE(expand_error("deadline:window=soon").find("window"), std::string::npos);
}

TEST(loadtest_preset, explicit_flags_override_it) {
    auto args = parse(
        {"--preset", "deadline", "--target", "http://127.0.0.1:8080", "--connections", "64", "--mix", "polite=100"});
    const auto applied = apply_preset(args);
    EXPECT_EQ(applied, (std::vector<preset_flag>{{"--schedule", "surge:practices=9000,window=2m,peak_share=0.6"}}));
    EXPECT_EQ(args.value("--schedule"), "surge:practices=9000,window=2m,peak_share=0.6");
    EXPECT_EQ(args.value("--connections"), "64");
    EXPECT_EQ(args.value("--mix"), "polite=100");
    EXPECT_EQ(args.value("--target"), "http://127.0.0.1:8080");

    auto own_schedule = parse({"--preset=deadline:window=5m", "--schedule", "constant:rate=5,duration=1s"});
    EXPECT_EQ(apply_preset(own_schedule).size(), 2u);
    EXPECT_EQ(own_schedule.value("--schedule"), "constant:rate=5,duration=1s");
    EXPECT_EQ(own_schedule.value("--mix"), "polite=70,impatient=20,double=10");
    EXPECT_EQ(own_schedule.value("--connections"), "2000");

    auto all_given = parse({"--preset", "deadline", "--schedule", "s", "--mix", "m", "--connections", "c"});
    EXPECT_TRUE(apply_preset(all_given).empty());

    auto no_preset = parse({"--target", "http://127.0.0.1:8080"});
    EXPECT_TRUE(apply_preset(no_preset).empty());
    EXPECT_FALSE(no_preset.given("--schedule"));

    auto unknown = parse({"--preset", "rush"});
    try {
        (void)apply_preset(unknown);
        ADD_FAILURE() << "rush applied";
    } catch (const config::usage_error& error) {
        EXPECT_STREQ(error.what(), "--preset \"rush\": unknown preset 'rush': the presets are deadline");
    }
}

TEST(loadtest_command_line, each_command_takes_its_own_flags) {
    EXPECT_EQ(parse({"generate", "--practices", "5"}).command, "generate");
    const auto run = parse({"--preset", "deadline", "--verify", "--quiet"});
    EXPECT_NO_THROW(run.allow_only(run_flags, "a run"));
    EXPECT_THROW(run.allow_only(generate_flags, "generate"), config::usage_error);
    try {
        parse({"--practice", "A81001", "--verify"}).allow_only(body_flags, "body");
        ADD_FAILURE();
    } catch (const config::usage_error& error) {
        EXPECT_STREQ(error.what(), "body takes no option --verify");
    }
}

TEST(loadtest_command_line, durations_and_decimals_in_the_tools_words) {
    const auto args = parse({"--timeout", "1500ms", "--verify-wait=0s", "--progress-interval", "5", "--es-share", "2"});
    EXPECT_EQ(duration_flag(args, "--timeout", 10s), 1500ms);
    EXPECT_EQ(duration_flag(args, "--json", 10s), 10s);
    try {
        (void)duration_flag(args, "--verify-wait", 1s);
        ADD_FAILURE();
    } catch (const config::usage_error& error) {
        EXPECT_STREQ(error.what(), "--verify-wait \"0s\": expected a duration above 0");
    }
    try {
        (void)duration_flag(args, "--progress-interval", 1s);
        ADD_FAILURE();
    } catch (const config::usage_error& error) {
        EXPECT_STREQ(error.what(), "--progress-interval \"5\": expected a duration such as 10s, 1500ms or 2m");
    }
    try {
        (void)decimal_flag(args, "--es-share", 0.1, 0, 1);
        ADD_FAILURE();
    } catch (const config::usage_error& error) {
        EXPECT_STREQ(error.what(), "--es-share \"2\": expected a number from 0 to 1");
    }
    EXPECT_EQ(decimal_flag(args, "--slo-p99-ms", 7.5, 0, 10), 7.5);
}

}  // namespace
}  // namespace sluice::loadtest
