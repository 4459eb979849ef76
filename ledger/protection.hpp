// Income protection's read of the system of record (worker/calculation.hpp R7): a practice's
// points per indicator in its current calculated QOF submission of an earlier period (2023-24
// for 2024-25), which the worker gives the calculation before it calculates a QOF submission of a
// period whose catalogue names an income_protection_period. Pure: the statement for
// ledger::client, and the typed record from its result.
//
// Which submission: the practice's CURRENT one for that period and QOF (the view
// current_submissions: the latest received), and only if it was calculated; a current one that
// failed means no record (decision 20), never an older calculated one it superseded.
//
// Where the points come from: that submission's stored result JSON (worker/calculation.hpp
// result_json: "indicators":[{"code":..,"points":10.00,..}]), read by PostgreSQL as jsonb, whose
// numbers are exact numerics: ->> gives back the decimal text as written ("10.00"), so no binary
// floating point is involved, and no new table is needed. The result is the row's fixed bytes
// (declarations hash them; nothing rewrites them), and a period's finalisation recalculates
// payments only: points do not depend on national prevalence, so the stored points are the final
// ones.
#pragma once

#include "ledger/client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ledger {

struct recorded_points {
    std::string code;             // "DEP004"
    std::int64_t hundredths = 0;  // 1000 = 10.00 points
};

struct protection_record {
    bool found = false;  // the practice has a current calculated QOF submission of the period
    std::string submission_id;
    std::vector<recorded_points> points;  // in the result's order
};

// One row per indicator of the practice's current calculated QOF submission of `period` (columns
// submission_id, code, points), or one row with code and points NULL when its result has no
// indicators; no row when there is no such submission. Prepared: the worker sends it for every
// QOF submission of a protected period.
statement protection_lookup(std::string_view practice, std::string_view period);

// The record in protection_lookup's result; nullopt when a row is not of that shape (a code
// without points, points that are not a decimal with at most two places, two submission ids).
std::optional<protection_record> protection_record_of(const result& r);

// "10.00" -> 1000, "4.5" -> 450, "7" -> 700, "0.05" -> 5; nullopt for anything else: a sign,
// more than two decimals, an exponent, no digits, a value beyond 10^15 hundredths.
std::optional<std::int64_t> hundredths_of(std::string_view decimal);

}  // namespace sluice::ledger
