// See command_line.hpp.
#include "loadtest/command_line.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "loadtest/detail/spec_fields.hpp"

namespace sluice::loadtest {

namespace {

constexpr std::array<std::string_view, 3> switches{"--verify", "--find-capacity", "--quiet"};

}  // namespace

// clang-format off
const std::vector<std::string_view> run_flags{
    "--target", "--tokens", "--schedule", "--mix", "--connections", "--threads", "--submissions-per-practice",
    "--seed", "--timeout", "--period", "--catalogue", "--es-share", "--json", "--html", "--verify", "--verify-wait",
    "--find-capacity", "--slo-p99-ms", "--quiet", "--progress-interval", "--run-id"};
// clang-format on
const std::vector<std::string_view> generate_flags{"--practices", "--credentials", "--tokens", "--letter",
                                                   "--valid-days"};
const std::vector<std::string_view> body_flags{"--practice", "--n", "--seed", "--period", "--catalogue", "--es-share"};

// Every command's flags, each once; each command refuses the others' (parsed_options::allow_only).
config::option_grammar command_grammar() {
    config::option_grammar g;
    for (const auto* flags : {&run_flags, &generate_flags, &body_flags})
        for (const std::string_view name : *flags) {
            const bool known = std::any_of(g.options.begin(), g.options.end(),
                                           [&](const config::option_spec& option) { return option.name == name; });
            const bool is_switch = std::find(switches.begin(), switches.end(), name) != switches.end();
            if (!known) g.options.push_back({name, !is_switch});
        }
    g.command = config::command_word::argument_one;
    g.commands = {"generate", "body"};
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

}  // namespace sluice::loadtest
