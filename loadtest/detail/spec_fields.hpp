// The compact command-line specs of sluice-loadtest ("surge:practices=7000,window=10m",
// "polite=70,impatient=20,double=10"): a comma-separated list of key=value fields, numbers and
// durations. Shared by schedule.cpp and behaviour.cpp; no other module includes it.
//
// Every error is a std::invalid_argument whose message starts with the `context` given (for
// example "schedule 'surge'") and names the field, the value and what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::loadtest::detail {

struct spec_field {
    std::string_view key;
    std::string_view value;
};

// "a=1,b=2" into its fields, in order. Rejects an empty list, an empty item ("a=1,,b=2"), an
// item without '=', an empty key or value, a key not in `allowed` and a key given twice.
std::vector<spec_field> split_fields(std::string_view text, std::string_view context,
                                     std::initializer_list<std::string_view> allowed);

// "a, b, c": for error messages.
std::string join(std::initializer_list<std::string_view> names);

// A finite decimal number ("500", "0.6", "2.5"; no sign, no exponent, no unit).
double parse_number(std::string_view value, std::string_view context, std::string_view key);
// A whole number ("7000"; no sign).
std::uint64_t parse_whole(std::string_view value, std::string_view context, std::string_view key);
// One or more <number><unit> groups, unit h, m, s, ms, us or ns: "30s", "10m", "1h30m", "1.5s",
// "250ms". At most max_duration. A bare number is rejected: "30" could mean anything.
std::chrono::nanoseconds parse_duration(std::string_view value, std::string_view context, std::string_view key);

inline constexpr std::chrono::nanoseconds max_duration = std::chrono::hours{24 * 30};

// The shortest text parse_duration reads back to the same value: "30s", "1h30m", "1s500ms", "0s".
std::string format_duration(std::chrono::nanoseconds duration);
// The shortest plain decimal that reads back to the same double: "500", "0.6", "0.00001".
std::string format_number(double value);

}  // namespace sluice::loadtest::detail
