// The key=value spec lists of sluice-loadtest's command line (see the header).
#include "loadtest/detail/spec_fields.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace sluice::loadtest::detail {

namespace {

[[noreturn]] void fail(std::string_view context, const std::string& what) {
    throw std::invalid_argument(std::string(context) + ": " + what);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits with at most one '.', at least one digit: what parse_number and parse_duration accept.
bool is_plain_decimal(std::string_view text) {
    if (text.empty() || text == ".") {
        return false;
    }
    bool dot = false;
    for (const char c : text) {
        if (c == '.') {
            if (dot) {
                return false;
            }
            dot = true;
        } else if (!is_digit(c)) {
            return false;
        }
    }
    return true;
}

double decimal_value(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
        return NAN;
    }
    return value;
}

struct duration_unit {
    std::string_view name;
    std::int64_t ns;
};

constexpr std::array<duration_unit, 6> duration_units{{
    {"h", 3'600'000'000'000},
    {"m", 60'000'000'000},
    {"s", 1'000'000'000},
    {"ms", 1'000'000},
    {"us", 1'000},
    {"ns", 1},
}};

}  // namespace

std::string join(std::initializer_list<std::string_view> names) {
    std::string result;
    for (const std::string_view name : names) {
        if (!result.empty()) {
            result += ", ";
        }
        result += name;
    }
    return result;
}

std::vector<spec_field> split_fields(std::string_view text, std::string_view context,
                                     std::initializer_list<std::string_view> allowed) {
    if (text.empty()) {
        fail(context, "no fields given (expected key=value,... with keys " + join(allowed) + ")");
    }
    std::vector<spec_field> fields;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view item = text.substr(start, comma - start);
        start = comma + 1;
        if (item.empty()) {
            fail(context, "empty field in '" + std::string(text) + "' (expected key=value,...)");
        }
        const std::size_t equals = item.find('=');
        if (equals == std::string_view::npos) {
            fail(context, "field '" + std::string(item) + "' has no '=' (expected key=value with keys " +
                              join(allowed) + ")");
        }
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = item.substr(equals + 1);
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            fail(context, "unknown field '" + std::string(key) + "' (allowed: " + join(allowed) + ")");
        }
        if (value.empty()) {
            fail(context, "field '" + std::string(key) + "' has no value");
        }
        if (std::any_of(fields.begin(), fields.end(), [key](const spec_field& f) { return f.key == key; })) {
            fail(context, "field '" + std::string(key) + "' given twice");
        }
        fields.push_back({key, value});
    }
    return fields;
}

double parse_number(std::string_view value, std::string_view context, std::string_view key) {
    const double number = is_plain_decimal(value) ? decimal_value(value) : NAN;
    if (std::isnan(number)) {
        fail(context, std::string(key) + " '" + std::string(value) + "' is not a number (expected digits, e.g. " +
                          std::string(key) + "=500 or " + std::string(key) + "=0.5)");
    }
    return number;
}

std::uint64_t parse_whole(std::string_view value, std::string_view context, std::string_view key) {
    std::uint64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || !is_digit(value.front()) || error != std::errc{} || end != value.data() + value.size()) {
        fail(context, std::string(key) + " '" + std::string(value) + "' is not a whole number (expected digits, e.g. " +
                          std::string(key) + "=7000)");
    }
    return number;
}

std::chrono::nanoseconds parse_duration(std::string_view value, std::string_view context, std::string_view key) {
    const auto bad = [&](const std::string& why) {
        fail(context, std::string(key) + " '" + std::string(value) + "' " + why +
                          " (expected a duration such as 30s, 10m, 1h30m, 1.5s or 250ms; units h, m, s, ms, us, ns)");
    };
    if (value.empty()) {
        bad("is empty");
    }
    long double total_ns = 0;
    std::size_t at = 0;
    while (at < value.size()) {
        std::size_t number_end = at;
        while (number_end < value.size() && (is_digit(value[number_end]) || value[number_end] == '.')) {
            ++number_end;
        }
        std::size_t unit_end = number_end;
        while (unit_end < value.size() && std::isalpha(static_cast<unsigned char>(value[unit_end])) != 0) {
            ++unit_end;
        }
        const std::string_view number = value.substr(at, number_end - at);
        const std::string_view unit = value.substr(number_end, unit_end - number_end);
        if (!is_plain_decimal(number)) {
            bad("is not a duration");
        }
        if (unit.empty()) {
            bad("has no unit");
        }
        const auto found = std::find_if(duration_units.begin(), duration_units.end(),
                                        [unit](const duration_unit& u) { return u.name == unit; });
        if (found == duration_units.end()) {
            bad("has an unknown unit '" + std::string(unit) + "'");
        }
        total_ns += static_cast<long double>(decimal_value(number)) * static_cast<long double>(found->ns);
        if (!(total_ns <= static_cast<long double>(max_duration.count()))) {
            bad("is longer than " + format_duration(max_duration));
        }
        at = unit_end;
    }
    return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(total_ns))};
}

std::string format_duration(std::chrono::nanoseconds duration) {
    std::int64_t rest = duration.count();
    if (rest == 0) {
        return "0s";
    }
    std::string text;
    if (rest < 0) {
        text = "-";
        rest = -rest;
    }
    for (const duration_unit& unit : duration_units) {
        if (rest >= unit.ns) {
            text += std::to_string(rest / unit.ns);
            text += unit.name;
            rest %= unit.ns;
        }
    }
    return text;
}

std::string format_number(double value) {
    std::array<char, 512> buffer{};  // any double in fixed notation (5e-324 takes 326)
    const auto [end, error] =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
    return error == std::errc{} ? std::string(buffer.data(), end) : std::string("inf");
}

}  // namespace sluice::loadtest::detail
