// RFC 3339 formatting and parsing (see rfc3339.hpp).
#include "config/rfc3339.hpp"

#include <cstdio>
#include <ctime>

namespace sluice::config {

namespace {

// Reads `count` decimal digits at `pos`; -1 if any is not a digit.
int digits_at(std::string_view text, std::size_t pos, std::size_t count)
{
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

}  // namespace

std::string format_rfc3339(std::chrono::sys_seconds when)
{
    const auto day = std::chrono::floor<std::chrono::days>(when);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss time{when - day};
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return text;
}

std::string rfc3339_millis(std::chrono::system_clock::time_point when)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms % 1000));
    return stamp;
}

rfc3339_reading read_rfc3339(std::string_view text)
{
    // YYYY-MM-DDTHH:MM:SS is 19 characters; the shortest whole form adds "Z".
    constexpr std::size_t seconds_end = 19;
    rfc3339_reading result;
    if (text.size() < seconds_end + 1) return result;
    if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':'
        || text[16] != ':')
        return result;
    const int year = digits_at(text, 0, 4), month = digits_at(text, 5, 2), day = digits_at(text, 8, 2);
    const int hour = digits_at(text, 11, 2), minute = digits_at(text, 14, 2), second = digits_at(text, 17, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return result;
    if (hour > 23 || minute > 59 || second > 59) return result;  // no leap seconds: sys_seconds has none
    const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok()) return result;

    std::size_t pos = seconds_end;
    if (text[pos] == '.') {  // a fraction of a second: at least one digit, dropped
        const auto first_digit = ++pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == first_digit) return result;
    }
    const auto offset = text.substr(pos);
    if (offset == "Z" || offset == "z" || offset == "+00:00" || offset == "-00:00") {
        result.fault = rfc3339_fault::none;
    } else if (offset.size() == 6 && (offset[0] == '+' || offset[0] == '-') && offset[3] == ':'
               && digits_at(offset, 1, 2) >= 0 && digits_at(offset, 4, 2) >= 0) {
        result.fault = rfc3339_fault::not_utc;
    } else {
        return result;
    }
    result.when = std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute}
                  + std::chrono::seconds{second};
    return result;
}

std::optional<std::chrono::sys_seconds> parse_rfc3339(std::string_view text)
{
    const auto reading = read_rfc3339(text);
    if (reading.fault != rfc3339_fault::none) return std::nullopt;
    return reading.when;
}

}  // namespace sluice::config
