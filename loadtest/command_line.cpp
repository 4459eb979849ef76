// See command_line.hpp.
#include "loadtest/command_line.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "loadtest/detail/spec_fields.hpp"
#include "loadtest/schedule.hpp"

namespace sluice::loadtest {

namespace {

constexpr std::array<std::string_view, 3> switches{"--verify", "--find-capacity", "--quiet"};

}  // namespace

// clang-format off
const std::vector<std::string_view> run_flags{
    "--target", "--tokens", "--schedule", "--mix", "--connections", "--threads", "--submissions-per-practice",
    "--seed", "--timeout", "--period", "--catalogue", "--es-share", "--json", "--html", "--verify", "--verify-wait",
    "--find-capacity", "--slo-p99-ms", "--quiet", "--progress-interval", "--run-id", "--preset", "--journey",
    "--organisations", "--commissioner-tokens", "--database"};
// clang-format on
const std::vector<std::string_view> generate_flags{"--practices",     "--credentials",        "--tokens",
                                                   "--letter",        "--valid-days",         "--commissioners",
                                                   "--organisations", "--commissioner-tokens"};
const std::vector<std::string_view> verify_journey_flags{"--report", "--database"};
const std::vector<std::string_view> body_flags{"--practice", "--n", "--seed", "--period", "--catalogue", "--es-share"};

// Every command's flags, each once; each command refuses the others' (parsed_options::allow_only).
config::option_grammar command_grammar() {
    config::option_grammar g;
    for (const auto* flags : {&run_flags, &generate_flags, &body_flags, &verify_journey_flags})
        for (const std::string_view name : *flags) {
            const bool known = std::any_of(g.options.begin(), g.options.end(),
                                           [&](const config::option_spec& option) { return option.name == name; });
            const bool is_switch = std::find(switches.begin(), switches.end(), name) != switches.end();
            if (!known) g.options.push_back({name, !is_switch});
        }
    g.command = config::command_word::argument_one;
    g.commands = {"generate", "body", "verify-journey"};
    g.wording.unknown_option = "unknown option {name} (see sluice-loadtest --help)";
    return g;
}

const std::string& required_flag(const config::parsed_options& args, std::string_view name) {
    return args.required(name, std::string(name) + " is required (see sluice-loadtest --help)");
}

double decimal_flag(const config::parsed_options& args, std::string_view name, double fallback, double low,
                    double high) {
    const auto text = args.value(name);
    if (!text) return fallback;
    double value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (text->empty() || ec != std::errc{} || end != text->data() + text->size() || !(value >= low && value <= high))
        throw config::bad_value(
            name, *text, "expected a number from " + detail::format_number(low) + " to " + detail::format_number(high));
    return value;
}

std::chrono::nanoseconds duration_flag(const config::parsed_options& args, std::string_view name,
                                       std::chrono::nanoseconds fallback) {
    const auto text = args.value(name);
    if (!text) return fallback;
    std::chrono::nanoseconds value{};
    try {
        value = detail::parse_duration(*text, name, "value");
    } catch (const std::invalid_argument&) {
        throw config::bad_value(name, *text, "expected a duration such as 10s, 1500ms or 2m");
    }
    if (value <= std::chrono::nanoseconds{0}) throw config::bad_value(name, *text, "expected a duration above 0");
    return value;
}

// ---- presets -----------------------------------------------------------------------------------

std::vector<preset_flag> expand_preset(std::string_view spec) {
    const auto colon = spec.find(':');
    const std::string_view name = spec.substr(0, colon);
    if (name != deadline_preset)
        throw std::invalid_argument("unknown preset '" + std::string(name) + "': the presets are " +
                                    std::string(deadline_preset));
    const std::string context = "preset '" + std::string(name) + "'";
    surge_schedule surge{deadline_practices, deadline_window, deadline_peak_share};
    if (colon != std::string_view::npos) {
        for (const auto& field : detail::split_fields(spec.substr(colon + 1), context, {"window", "practices"})) {
            if (field.key == "window") surge.window = detail::parse_duration(field.value, context, field.key);
            if (field.key == "practices") surge.practices = detail::parse_whole(field.value, context, field.key);
        }
    }
    std::string schedule_spec;
    try {
        schedule_spec = schedule(surge).spec();
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument(context + ": " + error.what());
    }
    return {{"--schedule", schedule_spec},
            {"--mix", std::string(deadline_mix)},
            {"--connections", std::to_string(deadline_connections)}};
}

std::vector<preset_flag> apply_preset(config::parsed_options& args) {
    const auto spec = args.value("--preset");
    if (!spec) return {};
    std::vector<preset_flag> flags;
    try {
        flags = expand_preset(*spec);
    } catch (const std::invalid_argument& error) {
        throw config::bad_value("--preset", *spec, error.what());
    }
    std::vector<preset_flag> applied;
    for (auto& flag : flags) {
        if (args.given(flag.flag)) continue;
        args.set_default(flag.flag, flag.value);
        applied.push_back(std::move(flag));
    }
    return applied;
}

}  // namespace sluice::loadtest
