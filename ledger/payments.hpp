// The payment lines of a practice's QOF statement (qof-reference.md §1.4): the aspiration payments
// advanced through the year, the year's achievement value, and the payment due at year end. Rule
// R8 and decisions 25-29 (worker/calculation.hpp's numbered list) are implemented here.
//
//   annual aspiration(y) = rate(y) x achievement value(y-1) x pounds per point(y) / pounds per point(y-1)
//   monthly              = a twelfth of it (the twelfth month takes the rest, so twelve add up exactly)
//   payment due(y)       = achievement value(y) - annual aspiration(y)    (negative: a recovery)
//
// Pure maths on whole pence (no I/O, no doubles): the catalogue's figures come in as integers (the
// rate in ten-thousandths, catalogue::aspiration_rate_scale; pounds per point as pence), so this
// file needs no catalogue types and ledger/ stays below catalogue/ in DESIGN.md's table. The one
// statement here, previous_achievement(), is where the base comes from.
//
// Rounding, stated once: the annual aspiration is rounded ONCE, half up, to the penny, from the
// exact product (integer arithmetic, no intermediate rounding). Months 1 to 11 are the annual
// amount / 12 rounded half up to the penny; month 12 is the rest (annual - 11 x monthly), so the
// twelve payments add up to the annual amount exactly. For the few annual amounts below 55p where
// that rest would be negative, the twelfth is rounded down instead (month 12 then carries up to
// 11p more than the others).
#pragma once

#include "ledger/client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ledger {

// Rates are whole ten-thousandths (8000 = 80%), as catalogue::aspiration_rate_scale holds them.
inline constexpr std::int64_t rate_scale = 10000;

// THE source of an aspiration's base (decision 26): the practice's current QOF submission of
// `previous_period` (the view current_submissions: latest received), with its status and, when
// calculated, its achievement value as whole pence (`payment_pence`). At most one row.
// Once the previous period is final (sluice-admin finalise), the value is that submission's final
// figure (final_results of the period's generation, as its statement shows it); until then its
// provisional payment_gbp.
statement previous_achievement(std::string_view practice, std::string_view previous_period);

struct previous_achievement_row {
    std::string submission_id;
    std::string status;                         // calculated | failed
    std::optional<std::int64_t> payment_pence;  // when calculated
};
// Nullopt when the practice has no submission of that period and scheme.
std::optional<previous_achievement_row> previous_achievement_of(const result& r);

// R8: rate x previous achievement x (pence per point now / pence per point then), rounded half up
// (half away from zero) to the penny. `rate` in ten-thousandths (8000 = 80%). Preconditions:
// previous_pence_per_point > 0, rate >= 0.
std::int64_t annual_aspiration_pence(std::int64_t previous_achievement_pence, std::int64_t rate,
                                     std::int64_t pence_per_point, std::int64_t previous_pence_per_point);

struct monthly_aspiration {
    std::int64_t monthly_pence = 0;      // months 1 to 11
    std::int64_t final_month_pence = 0;  // month 12: the rest
};
// The rounding rule above. Precondition: annual_pence >= 0.
monthly_aspiration monthly_aspiration_of(std::int64_t annual_pence);

struct payment_inputs {
    std::string period;                           // "2024-25"
    std::string previous_period;                  // "2023-24"
    std::optional<std::int64_t> aspiration_rate;  // this period's, ten-thousandths; nullopt: the catalogue gives none
    std::int64_t pence_per_point = 0;             // this period's
    std::optional<std::int64_t> previous_pence_per_point;  // nullopt: the catalogue has no previous period
    std::optional<previous_achievement_row> previous;      // previous_achievement_of()
    // This period's achievement value: the current QOF submission's payment, when it is calculated.
    std::optional<std::int64_t> achievement_pence;
};

struct payment_lines {
    std::string based_on_period;                     // the previous period
    std::optional<std::string> based_on_submission;  // its submission the aspiration was worked from
    std::optional<std::int64_t> based_on_pence;      // that submission's achievement value
    std::optional<std::int64_t> aspiration_rate;     // ten-thousandths
    std::int64_t aspiration_pence = 0;               // annual: the twelve monthly payments
    monthly_aspiration monthly;
    std::optional<std::int64_t> achievement_pence;  // nullopt: no calculated submission this period
    std::optional<std::int64_t> payment_due_pence;  // achievement - aspiration; nullopt as achievement
    std::vector<std::string> notes;                 // why a figure is 0 or missing, and recoveries
};

// The statement's lines from what the catalogue and the ledger say (decisions 25-29).
payment_lines payment_lines_of(const payment_inputs& in);

}  // namespace sluice::ledger
