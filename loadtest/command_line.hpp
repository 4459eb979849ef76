// sluice-loadtest's command line, on the option parser every sluice executable shares
// (config/command_line.hpp): its grammar (a run, or `generate`, `body` or `verify-journey` as the first argument,
// and the flags each takes), the readers of its values, whose mistakes are one line naming the
// flag, the value and what was expected (`--timeout "5": expected a duration such as 10s, ...`),
// and the presets.
//
// A preset (--preset NAME[:FIELDS]) is a scenario's flags under one name: it stands for those
// flags, and any of them given on the command line too overrides the preset's value. There is one:
//
//   deadline[:window=2m,practices=9000]
//       the deadline night that broke QMAS in 2007, rehearsed: 9,000 practices each signing off
//       once within the window, ever faster towards the deadline at its end (60 % of them in its
//       last tenth), 70 % polite, 20 % impatient (pressing OK again and again), 10 % sending
//       twice, over 2,000 keep-alive connections. That is
//         --schedule surge:practices=9000,window=2m,peak_share=0.6
//         --mix polite=70,impatient=20,double=10
//         --connections 2000
//       The window is short by default so that a rehearsal runs in bounded time on a small
//       machine (the peak is then about 690 submissions/s); window= sets the real one, and
//       practices= a smaller tokens file's number.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/command_line.hpp"

namespace sluice::loadtest {

// The flags each command takes; --verify, --find-capacity and --quiet are switches (no value).
extern const std::vector<std::string_view> run_flags;
extern const std::vector<std::string_view> generate_flags;
extern const std::vector<std::string_view> body_flags;
extern const std::vector<std::string_view> verify_journey_flags;

config::option_grammar command_grammar();

// The value of a flag a command needs: "--target is required (see sluice-loadtest --help)" when
// it is missing, "--target needs a value" when empty.
const std::string& required_flag(const config::parsed_options& args, std::string_view name);

// A decimal from low to high (`fallback` when not given).
double decimal_flag(const config::parsed_options& args, std::string_view name, double fallback, double low,
                    double high);

// A positive duration such as 10s, 1500ms or 2m (`fallback` when not given).
std::chrono::nanoseconds duration_flag(const config::parsed_options& args, std::string_view name,
                                       std::chrono::nanoseconds fallback);

// ---- presets -----------------------------------------------------------------------------------

inline constexpr std::string_view deadline_preset = "deadline";
inline constexpr std::uint64_t deadline_practices = 9000;
inline constexpr std::chrono::nanoseconds deadline_window = std::chrono::minutes{2};
inline constexpr double deadline_peak_share = 0.6;
inline constexpr std::string_view deadline_mix = "polite=70,impatient=20,double=10";
inline constexpr std::uint32_t deadline_connections = 2000;

struct preset_flag {
    std::string flag;   // "--schedule"
    std::string value;  // "surge:practices=9000,window=2m,peak_share=0.6"

    bool operator==(const preset_flag&) const = default;
};

// The flags a preset stands for, in order. Throws std::invalid_argument ("preset 'deadline': ...")
// for an unknown name, an unknown or repeated field, or a value out of range.
std::vector<preset_flag> expand_preset(std::string_view spec);

// With --preset, gives every flag of the preset that was not given explicitly its value, and
// returns those (the ones given override the preset's). Throws usage_error
// (`--preset "x": ...`) as expand_preset.
std::vector<preset_flag> apply_preset(config::parsed_options& args);

}  // namespace sluice::loadtest
