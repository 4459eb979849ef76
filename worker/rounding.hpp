// Rounding in the worker: the one place that says where figures are rounded, and how.
//
// The calculation (calculation.hpp) works in exact integer arithmetic (`exact_integer`, an
// unbounded integer, so no input the validator accepts can overflow it) and rounds at these
// points only, always half up (every figure is >= 0, so half up is also half away from zero):
//
//   1. Points: per indicator, once, from the exact rational value of the linear scale, to the
//      period's points_decimal_places (catalogue: 0 to 2, 2 by default), and held as whole
//      hundredths of a point (std::int64_t). Total points = the sum of the rounded points of the
//      indicators.
//   2. Money: per indicator and per item of service, once, from an exact fraction of whole pence
//      built from the indicator's ROUNDED points (what the practice sees, so the payment can be
//      reproduced from the printed points), the whole pence per point, the list sizes, the
//      register size and the national prevalence, to the money unit: one penny when the period's
//      pounds_decimal_places is 2, 10 pence for 1, one pound for 0. Total payment = the sum of
//      the rounded parts. Amounts are held as whole pence (std::int64_t), never as pounds in
//      binary floating point. (qof-reference.md §1.5: £5,973.16 for its example is this rule;
//      unrounded points would give £5,973.84, rounded CPI and APDF factors £5,973.15.)
//   3. Achievement (numerator / denominator) is never rounded for the calculation: thresholds are
//      compared with n / d exactly. It is printed to achievement_decimal_places (4: a percentage
//      to 2 places, as the reference's worked examples write it), half up, from n and d.
//   4. Catalogue decimals arrive as doubles (toml++); they are read back as the decimal the file
//      wrote by rounding to a fixed number of places: thresholds (percent) to 6 places, national
//      prevalence (a fraction) to 9 places, more than any published figure has.
//   5. Printing (API.md, "Money and numbers"): points and money with exactly
//      printed_decimal_places (2) decimals, achievement with achievement_decimal_places (4), never
//      in exponent notation. Every number of result_json is written from those integers
//      (hundredths of a point, pence, n and d), never by printing a double, so the text is exact
//      and the same on every run.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace sluice::worker {

using exact_integer = boost::multiprecision::cpp_int;

inline constexpr int printed_decimal_places = 2;      // rule 5: points and money, as API.md prints them
inline constexpr int achievement_decimal_places = 4;  // rule 3
inline constexpr int threshold_decimal_places = 6;    // rule 4: percent, 57.5 -> 57500000
inline constexpr int prevalence_decimal_places = 9;   // rule 4: fraction, 0.021 -> 21000000

// 10^places, for places in [0, 18].
constexpr std::int64_t power_of_ten(int places) noexcept
{
    std::int64_t result = 1;
    for (int i = 0; i < places; ++i) result *= 10;
    return result;
}

// numerator / denominator rounded half up to an integer. Preconditions: numerator >= 0,
// denominator > 0.
inline exact_integer divide_half_up(const exact_integer& numerator, const exact_integer& denominator)
{
    return (2 * numerator + denominator) / (2 * denominator);  // floor((n + d/2) / d), exactly
}

// A decimal given as a double, as whole units of 10^-places: to_units(57.5, 6) == 57500000,
// to_units(0.021, 9) == 21000000. Exact for the decimal the double was read from whenever
// |value| * 10^places stays below 2^52 (every figure of the catalogue and of a result does).
inline std::int64_t to_units(double value, int places) noexcept
{
    return std::llround(value * static_cast<double>(power_of_ten(places)));
}

// Whole units of 10^-places written as a decimal with exactly `places` decimals:
// fixed_decimal(9623318, 2) == "96233.18", fixed_decimal(5, 2) == "0.05", fixed_decimal(12, 0) == "12".
inline std::string fixed_decimal(std::int64_t units, int places)
{
    const bool negative = units < 0;
    // Magnitude as unsigned: correct for INT64_MIN too.
    const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
    std::string digits = std::to_string(magnitude);
    if (places > 0) {
        const auto width = static_cast<std::size_t>(places);
        if (digits.size() <= width) digits.insert(0, width + 1 - digits.size(), '0');
        digits.insert(digits.size() - width, 1, '.');
    }
    return negative ? "-" + digits : digits;
}

}  // namespace sluice::worker
