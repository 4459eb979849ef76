// The calculation (calculation.hpp): one pass over the submission's items in body order, then the
// income-protected indicators the body left out (decision 22), in code order. Points
// are rounded to units of 10^-points_decimal_places and held as hundredths of a point, money as
// whole pence; every fraction in between is an exact_integer fraction, rounded once where
// rounding.hpp says.
//
// Formulas as computed (all integers; S = 10^threshold_decimal_places, P = 10^points_decimal_places,
// Q = 10^prevalence_decimal_places, L and U thresholds in percent x S, nat = national prevalence x Q):
//   points units  = 0 if 100·S·n <= L·d; max·P if 100·S·n >= U·d;
//                   else half_up(max·P·(100·S·n − L·d) / ((U − L)·d))
//   hundredths h  = units·100/P
//   payment pence = half_up(h·ppp·list / (100·NAL))                        not prevalence-adjusted
//                 = half_up(h·ppp·list·register·Q / (100·NAL·list·nat))    APDF = (register/list)/(nat/Q)
//                 = half_up(h·ppp·list·register·ΣL / (100·NAL·list·ΣR))    final: nat = ΣR/ΣL exactly (R6)
//   service pence = half_up(paid·fee)                                       paid = min(count, cap register)
// (ppp: whole pence per point; NAL: national average list size; half_up to the money unit.)

#include "worker/calculation.hpp"

#include "worker/rounding.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <string_view>
#include <utility>

namespace sluice::worker {
namespace {

// A catalogue decimal for people: fixed_decimal without trailing zeros ("2.1", "57.5", "40").
std::string trimmed_decimal(std::int64_t units, int places)
{
    std::string text = fixed_decimal(units, places);
    if (text.find('.') == std::string::npos) return text;
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
    return text;
}

std::string percent(double catalogue_percent)
{
    return trimmed_decimal(to_units(catalogue_percent, threshold_decimal_places), threshold_decimal_places) + "%";
}

std::string pounds(std::int64_t pence)
{
    return "£" + fixed_decimal(pence, 2);
}

class calculator {
public:
    calculator(const queue::submission& s, const catalogue::period_catalogue& period, const calculation_inputs& inputs)
        : s_(s)
        , period_(period)
        , protection_(inputs.protection ? &*inputs.protection : nullptr)
        , points_scale_(power_of_ten(period.points_decimal_places()))
        , hundredths_per_unit_(power_of_ten(printed_decimal_places - period.points_decimal_places()))
        , money_unit_(power_of_ten(2 - period.pounds_decimal_places()))
    {
    }

    calculation_result run()
    {
        calculation_result result;
        notes_ = &result.notes;

        if (s_.period != period_.name()) {
            note_once("submission for " + s_.period + " calculated with the catalogue of " + period_.name());
        }
        if (s_.list_size == 0 && !s_.qof_items.empty()) note_once("list size 0: no QOF payment can be computed");
        for (const auto& entry : s_.registers) {
            if (entry.size > s_.list_size) {  // decision 10
                note_once(entry.condition + ": register " + std::to_string(entry.size) + " is larger than the list size "
                          + std::to_string(s_.list_size));
            }
        }

        if (protecting() && !protection_->found) {  // decision 20
            note_once("income protection: no " + protected_at() + " record for this practice (no current calculated "
                      "QOF submission of " + protected_at() + " in the ledger): its income-protected indicators earn on "
                      "this submission's achievement, not protected");
        }
        result.indicators.reserve(s_.qof_items.size());
        for (const auto& item : s_.qof_items) {
            result.indicators.push_back(indicator(item));
            result.points_hundredths += result.indicators.back().points_hundredths;
            result.payment_pence += result.indicators.back().payment_pence;
        }
        if (protecting() && protection_->found) {  // decision 22
            for (const auto& protected_indicator : period_.qof_indicators()) {
                if (!protected_indicator.income_protected || in_body(protected_indicator.code)) continue;
                const auto* recorded = recorded_points(protected_indicator.code);
                if (!recorded || recorded->points_hundredths <= 0) continue;
                result.indicators.push_back(unsubmitted_protected(protected_indicator));
                result.points_hundredths += result.indicators.back().points_hundredths;
                result.payment_pence += result.indicators.back().payment_pence;
            }
        }

        const catalogue::enhanced_service* scheme = period_.service(s_.scheme);
        if (!scheme && !s_.service_items.empty()) {
            note_once(s_.scheme + " is not an enhanced service of " + period_.name() + ": nothing paid");
        }
        result.services.reserve(s_.service_items.size());
        for (const auto& item : s_.service_items) {
            result.services.push_back(service(scheme, item));
            result.payment_pence += result.services.back().payment_pence;
        }
        return result;
    }

private:
    // A result-wide note, once however many indicators it concerns.
    void note_once(std::string text)
    {
        if (std::find(notes_->begin(), notes_->end(), text) == notes_->end()) notes_->push_back(std::move(text));
    }

    const queue::register_size* find_register(std::string_view group) const
    {
        const auto at = std::find_if(s_.registers.begin(), s_.registers.end(),
                                     [&](const queue::register_size& entry) { return entry.condition == group; });
        return at == s_.registers.end() ? nullptr : &*at;
    }

    indicator_result indicator(const queue::qof_item& item)
    {
        indicator_result out;
        out.code = item.code;
        out.numerator = item.numerator;
        out.denominator = item.denominator;
        if (item.denominator > 0) out.achievement = static_cast<double>(item.numerator) / static_cast<double>(item.denominator);
        std::int64_t units = 0;  // of 10^-points_decimal_places

        const catalogue::indicator* indicator = period_.qof_indicator(item.code);
        const catalogue::qof_group* group = indicator ? period_.group(indicator->group) : nullptr;
        if (!indicator || !group) {  // decision 11
            out.notes.push_back(item.code + " is not an indicator of " + period_.name() + ": no points");
            return out;
        }
        const std::int64_t max_units = indicator->max_points * points_scale_;
        const queue::register_size* group_register = find_register(indicator->group);

        if (group->zero_register_flag && group_register && group_register->size == 0) {  // R3; decision 3
            out.notes.push_back("the " + indicator->group + " register is 0: no points are earnable for the group");
        } else {
            switch (indicator->kind) {
            case catalogue::indicator_kind::disease_register:  // decision 2
                if (!group_register) {
                    out.notes.push_back("no " + indicator->group + " register in the submission: register indicator "
                                        + item.code + " earns no points");
                } else if (group_register->size == 0) {
                    out.notes.push_back("the " + indicator->group + " register is 0: register indicator " + item.code
                                        + " earns no points");
                } else {
                    units = max_units;
                }
                break;
            case catalogue::indicator_kind::yes_no:  // decision 1
                if (item.numerator > 0) {
                    units = max_units;
                } else {
                    out.notes.push_back("answered no (numerator 0): no points");
                }
                break;
            case catalogue::indicator_kind::percentage:
                units = percentage_points(item, *indicator, max_units, out.notes);
                break;
            }
        }
        if (indicator->income_protected) units = protect(*indicator, units, out.notes);  // R7
        out.points_hundredths = units * hundredths_per_unit_;
        out.payment_pence = indicator_payment(*group, out.points_hundredths, group_register, out.notes);
        return out;
    }

    // --- income protection (R7; decisions 8, 20-23) ---------------------------------------------

    // R7 applies: a QOF submission of a period with an income_protection_period, given the record.
    bool protecting() const
    {
        return protection_ && s_.scheme == catalogue::qof_scheme && period_.income_protection_period().has_value();
    }

    const std::string& protected_at() const { return *period_.income_protection_period(); }

    bool in_body(std::string_view code) const
    {
        return std::any_of(s_.qof_items.begin(), s_.qof_items.end(),
                           [&](const queue::qof_item& item) { return item.code == code; });
    }

    const protected_points* recorded_points(std::string_view code) const
    {
        const auto at = std::find_if(protection_->points.begin(), protection_->points.end(),
                                     [&](const protected_points& entry) { return entry.code == code; });
        return at == protection_->points.end() ? nullptr : &*at;
    }

    // The recorded points of `indicator` in this period's points units (decisions 21, 23).
    std::int64_t protected_units(const catalogue::indicator& indicator, std::vector<std::string>& notes) const
    {
        const auto* recorded = recorded_points(indicator.code);
        if (!recorded) {  // decision 21
            notes.push_back("the practice's " + protected_at() + " submission " + protection_->submission_id
                            + " did not report " + indicator.code + ": protected at 0.00 points");
            return 0;
        }
        const std::int64_t hundredths = std::max<std::int64_t>(recorded->points_hundredths, 0);
        std::int64_t units = divide_half_up(hundredths, hundredths_per_unit_).convert_to<std::int64_t>();  // decision 23
        const std::int64_t max_units = indicator.max_points * points_scale_;
        if (units > max_units) {
            notes.push_back("the recorded " + protected_at() + " points (" + fixed_decimal(hundredths, 2)
                            + ") are above the maximum of " + indicator.code + ": capped at "
                            + std::to_string(indicator.max_points) + ".00");
            units = max_units;
        }
        return units;
    }

    // The points units an income-protected indicator earns, given what its achievement earns.
    std::int64_t protect(const catalogue::indicator& indicator, std::int64_t achieved_units, std::vector<std::string>& notes)
    {
        const std::string achieved = fixed_decimal(achieved_units * hundredths_per_unit_, 2);
        if (!protecting()) {  // decision 8
            notes.push_back("income-protected: the practice's protected points were not supplied to this calculation; "
                            "these points are from this submission's achievement, not protected");
            return achieved_units;
        }
        if (!protection_->found) {  // decision 20
            notes.push_back("income-protected at the practice's " + protected_at() + " points, but there is no "
                            + protected_at() + " record for this practice: these points are from this submission's "
                            "achievement, not protected");
            return achieved_units;
        }
        const std::int64_t units = protected_units(indicator, notes);
        notes.push_back("income-protected: points fixed at the practice's " + protected_at() + " points ("
                        + fixed_decimal(units * hundredths_per_unit_, 2) + ", submission " + protection_->submission_id
                        + "); this submission's achievement would earn " + achieved);
        return units;
    }

    // Decision 22: a protected indicator with recorded points that the body does not carry.
    indicator_result unsubmitted_protected(const catalogue::indicator& indicator)
    {
        indicator_result out;
        out.code = indicator.code;
        const std::int64_t units = protected_units(indicator, out.notes);
        out.notes.push_back("income-protected: not in this submission; points fixed at the practice's " + protected_at()
                            + " points (" + fixed_decimal(units * hundredths_per_unit_, 2) + ", submission "
                            + protection_->submission_id + ")");
        out.points_hundredths = units * hundredths_per_unit_;
        const catalogue::qof_group* group = period_.group(indicator.group);
        if (group) out.payment_pence = indicator_payment(*group, out.points_hundredths, find_register(indicator.group), out.notes);
        return out;
    }

    std::int64_t percentage_points(const queue::qof_item& item, const catalogue::indicator& indicator,
                                   std::int64_t max_units, std::vector<std::string>& notes) const
    {
        if (item.denominator == 0) {  // decision 7
            notes.push_back("denominator 0: no achievement, no points");
            return 0;
        }
        if (!indicator.lower_threshold || !indicator.upper_threshold) {  // decision 6
            const std::string_view missing = !indicator.lower_threshold && !indicator.upper_threshold ? "lower or upper"
                                             : !indicator.lower_threshold                             ? "lower"
                                                                                                      : "upper";
            notes.push_back("no points: the catalogue has no " + std::string(missing) + " threshold for " + item.code
                            + " (unconfirmed); thresholds are not invented");
            return 0;
        }
        if (!indicator.thresholds_confirmed) {  // decision 6
            notes.push_back("thresholds of " + item.code + " (lower " + percent(*indicator.lower_threshold) + ", upper "
                            + percent(*indicator.upper_threshold) + ") are unconfirmed in the catalogue: points provisional");
        }
        // n/d against a threshold T percent: n/d <= T/100 <=> 100·S·n <= (T·S)·d, all integers.
        const exact_integer achieved = exact_integer(item.numerator) * 100 * power_of_ten(threshold_decimal_places);
        const exact_integer lower = exact_integer(to_units(*indicator.lower_threshold, threshold_decimal_places)) * item.denominator;
        const exact_integer upper = exact_integer(to_units(*indicator.upper_threshold, threshold_decimal_places)) * item.denominator;
        if (achieved <= lower) return 0;
        if (achieved >= upper) return max_units;
        return divide_half_up(max_units * (achieved - lower), upper - lower).convert_to<std::int64_t>();  // rounding rule 1
    }

    std::int64_t indicator_payment(const catalogue::qof_group& group, std::int64_t hundredths,
                                   const queue::register_size* group_register, std::vector<std::string>& notes)
    {
        if (hundredths == 0 || s_.list_size == 0) return 0;
        if (!group.prevalence_adjusted_confirmed) {  // decision 5
            note_once(group.code + ": the catalogue marks its prevalence adjustment unconfirmed; "
                      + (group.prevalence_adjusted ? "adjusted here" : "not adjusted here"));
        }
        // points x ppp x CPI, CPI = list / NAL.
        exact_integer numerator = exact_integer(hundredths) * period_.pence_per_point() * s_.list_size;
        exact_integer denominator = exact_integer(100) * period_.national_average_list_size();  // hundredths
        if (group.prevalence_adjusted) {
            if (!group_register) {  // decision 4
                notes.push_back("no " + group.code + " register in the submission: not paid (the prevalence adjustment "
                                "needs the register size)");
                note_once(group.code + ": no register in the submission: " + group.code
                          + " indicators are not paid (the prevalence adjustment needs the register size)");
                return 0;
            }
            if (const auto& final_prevalence = group.final_national_prevalence) {  // R6
                if (final_prevalence->registers <= 0 || final_prevalence->list_sizes <= 0) {  // decision 16
                    notes.push_back("the final national " + group.code + " register is 0: no prevalence adjustment "
                                    "can be computed, not paid");
                    return 0;
                }
                // x APDF = (register / list) / (Σ registers / Σ lists), exactly.
                numerator *= exact_integer(group_register->size) * final_prevalence->list_sizes;
                denominator *= exact_integer(s_.list_size) * final_prevalence->registers;
                return money(numerator, denominator, notes);
            }
            const std::int64_t national =
                group.national_prevalence ? to_units(*group.national_prevalence, prevalence_decimal_places) : 0;
            if (national <= 0) {  // decision 5: APDF = 1
                note_once(group.code + ": the catalogue has no national prevalence for " + period_.name()
                          + ": APDF taken as 1 (the practice at national prevalence); " + group.code
                          + " payments are provisional");
            } else {
                if (group.national_prevalence_estimate) {
                    note_once(group.code + ": national prevalence "
                              + trimmed_decimal(national, prevalence_decimal_places - 2) + "% is the catalogue's estimate, "
                              "not the final national figure: " + group.code + " payments are provisional");
                }
                // x APDF = (register / list) / (national / Q).
                numerator *= exact_integer(group_register->size) * power_of_ten(prevalence_decimal_places);
                denominator *= exact_integer(s_.list_size) * national;
            }
        }
        return money(numerator, denominator, notes);
    }

    service_result service(const catalogue::enhanced_service* scheme, const queue::service_count& item)
    {
        service_result out;
        out.code = item.code;
        out.count = item.count;
        const catalogue::service_item* fee = scheme ? scheme->item(item.code) : nullptr;
        if (!fee) {  // decision 11
            out.notes.push_back(item.code + " is not an item of " + s_.scheme + " in " + period_.name() + ": not paid");
            return out;
        }
        out.paid_count = item.count;
        if (fee->cap_register) {  // R5; decision 9
            const std::string& cap = *fee->cap_register;
            if (const auto* cap_register = find_register(cap)) {
                if (item.count > cap_register->size) {
                    out.paid_count = cap_register->size;
                    out.notes.push_back("capped at the " + cap + " register (" + std::to_string(cap_register->size) + "): "
                                        + std::to_string(out.paid_count) + " of " + std::to_string(item.count) + " paid");
                }
            } else {
                out.paid_count = 0;
                out.notes.push_back("not paid: " + item.code + " is paid up to the " + cap + " register size, and the "
                                    "submission has no " + cap + " register; resubmit with {\"condition\": \"" + cap
                                    + "\", \"size\": N} in registers");
            }
        }
        out.payment_pence = money(exact_integer(out.paid_count) * fee->fee_pence, 1, out.notes);
        return out;
    }

    // numerator / denominator pence, rounded half up to the money unit (rounding rule 2).
    std::int64_t money(const exact_integer& numerator, const exact_integer& denominator, std::vector<std::string>& notes) const
    {
        const exact_integer pence = divide_half_up(numerator, denominator * money_unit_) * money_unit_;
        if (pence > max_payment_pence) {  // decision 12
            notes.push_back("payment above " + pounds(max_payment_pence) + " not paid: check the figures submitted");
            return 0;
        }
        return pence.convert_to<std::int64_t>();
    }

    const queue::submission& s_;
    const catalogue::period_catalogue& period_;
    const protection_record* protection_;  // null: not supplied (decision 8)
    const std::int64_t points_scale_;         // points units per point: 10^points_decimal_places
    const std::int64_t hundredths_per_unit_;  // hundredths of a point per points unit: 1, 10 or 100
    const std::int64_t money_unit_;           // pence: 1, 10 or 100
    std::vector<std::string>* notes_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// result_json: written by hand, because JSON libraries print numbers from doubles.

void append_string(std::string& out, std::string_view text)
{
    out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

void append_notes(std::string& out, const std::vector<std::string>& notes)
{
    out += "\"notes\":[";
    for (std::size_t i = 0; i < notes.size(); ++i) {
        if (i > 0) out += ',';
        append_string(out, notes[i]);
    }
    out += ']';
}

// Rule 5 of rounding.hpp: two decimals for points and money, four for achievement.
std::string two_decimals(std::int64_t hundredths)
{
    return fixed_decimal(hundredths, printed_decimal_places);
}

std::string achievement(const indicator_result& indicator)
{
    if (indicator.denominator == 0) return "null";
    const exact_integer scaled = exact_integer(indicator.numerator) * power_of_ten(achievement_decimal_places);
    const exact_integer units = divide_half_up(scaled, indicator.denominator);  // rounding rule 3
    return fixed_decimal(units.convert_to<std::int64_t>(), achievement_decimal_places);
}

}  // namespace

calculation_result calculate(const queue::submission& s, const catalogue::period_catalogue& period,
                             const calculation_inputs& inputs)
{
    return calculator(s, period, inputs).run();
}

calculation_result calculate(const queue::submission& s, const catalogue::period_catalogue& period)
{
    return calculate(s, period, calculation_inputs{});
}

std::string result_json(const calculation_result& r)
{
    std::string out;
    out.reserve(128 + 192 * (r.indicators.size() + r.services.size()));
    out += "{\"points\":" + two_decimals(r.points_hundredths);
    out += ",\"payment_gbp\":" + two_decimals(r.payment_pence);
    out += ",\"indicators\":[";
    for (std::size_t i = 0; i < r.indicators.size(); ++i) {
        const auto& indicator = r.indicators[i];
        if (i > 0) out += ',';
        out += "{\"code\":";
        append_string(out, indicator.code);
        out += ",\"achievement\":" + achievement(indicator);
        out += ",\"points\":" + two_decimals(indicator.points_hundredths);
        out += ",\"payment_gbp\":" + two_decimals(indicator.payment_pence);
        out += ',';
        append_notes(out, indicator.notes);
        out += '}';
    }
    out += "],\"services\":[";
    for (std::size_t i = 0; i < r.services.size(); ++i) {
        const auto& service = r.services[i];
        if (i > 0) out += ',';
        out += "{\"code\":";
        append_string(out, service.code);
        out += ",\"count\":" + std::to_string(service.count);
        out += ",\"paid_count\":" + std::to_string(service.paid_count);
        out += ",\"payment_gbp\":" + two_decimals(service.payment_pence);
        out += ',';
        append_notes(out, service.notes);
        out += '}';
    }
    out += "],";
    append_notes(out, r.notes);
    out += '}';
    return out;
}

}  // namespace sluice::worker
