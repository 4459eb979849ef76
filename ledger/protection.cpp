// Reading a practice's protected points (see protection.hpp).
#include "ledger/protection.hpp"

namespace sluice::ledger {

statement protection_lookup(std::string_view practice, std::string_view period) {
    // WITH ORDINALITY keeps the result's order; LEFT JOIN keeps a submission without indicators
    // (found, no points). The status test sits above the view's DISTINCT ON: the current row or
    // nothing, never an older calculated one.
    return {
        "SELECT s.submission_id, i.item ->> 'code' AS code, i.item ->> 'points' AS points "
        "FROM current_submissions s "
        "LEFT JOIN LATERAL jsonb_array_elements(s.result::jsonb -> 'indicators') WITH ORDINALITY AS i(item, n) "
        "ON true "
        "WHERE s.practice = $1 AND s.period = $2 AND s.scheme = 'QOF' AND s.status = 'calculated' "
        "ORDER BY i.n",
        {std::string(practice), std::string(period)},
        "sluice_protection_lookup"};
}

std::optional<std::int64_t> hundredths_of(std::string_view decimal) {
    constexpr std::int64_t max_hundredths = 1'000'000'000'000'000;
    const auto point = decimal.find('.');
    const std::string_view whole = decimal.substr(0, point);
    const std::string_view fraction = point == std::string_view::npos ? std::string_view() : decimal.substr(point + 1);
    if (whole.empty() || fraction.size() > 2 || (point != std::string_view::npos && fraction.empty()))
        return std::nullopt;
    std::int64_t value = 0;
    for (const char c : whole) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
        if (value > max_hundredths / 100) return std::nullopt;
    }
    value *= 100;
    std::int64_t scale = 10;
    for (const char c : fraction) {
        if (c < '0' || c > '9') return std::nullopt;
        value += (c - '0') * scale;
        scale /= 10;
    }
    return value;
}

std::optional<protection_record> protection_record_of(const result& r) {
    protection_record record;
    for (std::size_t row = 0; row < r.rows.size(); ++row) {
        const auto id = r.value(row, "submission_id");
        if (!id || id->empty()) return std::nullopt;
        if (!record.found) {
            record.found = true;
            record.submission_id = *id;
        } else if (*id != record.submission_id) {
            return std::nullopt;
        }
        const auto code = r.value(row, "code");
        const auto points = r.value(row, "points");
        if (!code && !points) {
            if (r.rows.size() != 1) return std::nullopt;  // only a result without indicators
            continue;
        }
        if (!code || code->empty() || !points) return std::nullopt;
        const auto hundredths = hundredths_of(*points);
        if (!hundredths) return std::nullopt;
        record.points.push_back({*code, *hundredths});
    }
    return record;
}

}  // namespace sluice::ledger
