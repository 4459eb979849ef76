// The indicator catalogue: what a submission may contain for each financial year, and the
// figures the worker pays it with. One TOML file per period in the directory `catalogue.dir`
// (default "data/catalogue"), named after the period: 2023-24.toml, 2024-25.toml. The shipped
// files say at their top what each key means and where its value comes from.
//
// Each period holds: the payment constants (pounds per point, national average list size, the
// rounding places: 0 to 2, because API.md prints points and money with two decimals; the
// aspiration rate, optional); the QOF
// groups (prevalence adjustment, the zero-register rule, national prevalence estimate); the QOF
// indicators (group, kind, maximum points, thresholds and whether the reference confirms them);
// and the enhanced services (scheme code, items of service with their fees, optional cap by a
// QOF register).
//
// Invariants: a loaded catalogue passed every check below, so its users never re-check. It is
// immutable: only const access, and the gateway shares one through a shared_ptr<const catalogue>
// swapped whole on SIGHUP; any number of threads may read it at once. Look-ups are binary
// searches over sorted vectors (O(log n), no allocation, no hashing of the request's strings) and
// return pointers that live as long as the catalogue. A percentage indicator without both
// thresholds always has thresholds_confirmed == false: the catalogue never presents a guessed
// threshold as a verified one. A period with an income_protected indicator names its
// income_protection_period (an earlier period), and only such a period names one; when that
// period is loaded too, every protected indicator is one of its indicators.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::catalogue {

// The scheme code of the Quality and Outcomes Framework; every other scheme is an enhanced service.
inline constexpr std::string_view qof_scheme = "QOF";

// A financial year as API.md writes it, "YYYY-YY", the second year following the first modulo
// 100: "2024-25", "2099-00". Period files are named after one, and submissions name one.
bool is_period_name(std::string_view text) noexcept;
// The financial year before `period`: "2024-25" -> "2023-24", "2000-01" -> "1999-00". Empty when
// `period` is not a period name or is the first one ("0000-01").
std::string previous_period_name(std::string_view period);

// aspiration_rate is held in ten-thousandths: 0.80 -> 8000.
inline constexpr std::int64_t aspiration_rate_scale = 10000;

enum class indicator_kind {
    disease_register,  // all or nothing: full points when the practice keeps the register (size > 0)
    percentage,        // numerator / denominator, paid linearly between the lower and upper thresholds
    yes_no,            // quality improvement, entered by hand: yes = full points
};

// A national prevalence as the exact fraction it is: Σ registers / Σ list sizes (qof-reference.md
// §1.3). Never read from a catalogue file: only a period's finalisation sets it (admin/finalise.hpp).
struct prevalence_fraction {
    std::int64_t registers = 0;
    std::int64_t list_sizes = 0;
    bool operator==(const prevalence_fraction&) const = default;
};

struct qof_group {
    std::string code;    // "AF"
    std::string name;    // "Atrial fibrillation"
    std::string domain;  // "CL" clinical, "PH" public health, "QI" quality improvement
    bool prevalence_adjusted = false;             // payment multiplied by the APDF
    bool prevalence_adjusted_confirmed = true;    // false: the reference leaves it open
    bool zero_register_flag = false;              // a register of 0 makes the group's points unearnable
    std::optional<double> national_prevalence;    // fraction of the whole list (0.021 = 2.1%)
    bool national_prevalence_estimate = true;     // true until the year's national figure is final
    // Set by finalisation only (calculation.hpp R6): the final national prevalence, exactly. When
    // set, the calculation uses it instead of national_prevalence.
    std::optional<prevalence_fraction> final_national_prevalence;
    std::string source;                           // where the figures come from, for people
};

struct indicator {
    std::string code;   // "AF006"
    std::string group;  // a qof_group's code
    indicator_kind kind = indicator_kind::percentage;
    int max_points = 0;
    std::optional<double> lower_threshold;  // percent; percentage indicators only
    std::optional<double> upper_threshold;  // percent; percentage indicators only
    bool thresholds_confirmed = true;       // false: a threshold is missing or marked [U] in the reference
    bool income_protected = false;          // points fixed at the practice's income_protection_period points
    std::string source;
};

struct service_item {
    std::string code;  // "CHECK"
    std::string name;
    std::int64_t fee_pence = 0;               // fee per item of service
    std::optional<std::string> cap_register;  // a QOF group whose register size caps the items paid
};

struct enhanced_service {
    std::string code;  // scheme code: "LDHC"
    std::string name;
    std::string source;
    std::vector<sluice::catalogue::service_item> items;  // sorted by code

    const sluice::catalogue::service_item* item(std::string_view code) const noexcept;
};

// When a period takes declarations (API.md "POST /v1/declarations"): the period file's optional
// top-level keys declarations_open and declarations_close (RFC 3339 UTC strings, open < close;
// close names the last second inside the window) and declaration_grace_hours (default 72). A file
// without them has no window: declarations always open and submissions never refused for the
// period (the shipped files are so, for the tests and the demo; a deployment writes the dates).
struct declaration_window {
    std::optional<std::chrono::sys_seconds> open;   // before it: period-closed
    std::optional<std::chrono::sys_seconds> close;  // after it: view-only for practices
    int grace_hours = 72;                           // declaring what was received before `close`

    // Declaring at `now` a submission received at `received_at`: within [open, close], or after
    // close up to close + grace_hours when it was received by the close.
    bool declarable(std::chrono::system_clock::time_point now,
                    std::chrono::system_clock::time_point received_at) const noexcept;
    // Submitting at `now`: not after close (a period is view-only for practices once closed).
    bool accepts_submissions(std::chrono::system_clock::time_point now) const noexcept;
    // "from 2025-04-01T00:00:00Z to 2025-06-30T23:59:59Z (72 hours more to declare what was
    // received before the close)", for problem details.
    std::string describe() const;
};

class period_catalogue {
public:
    const std::string& name() const noexcept { return name_; }  // "2024-25"
    const declaration_window& declarations() const noexcept { return declarations_; }

    // Payment constants.
    std::int64_t pence_per_point() const noexcept { return pence_per_point_; }
    double pounds_per_point() const noexcept { return static_cast<double>(pence_per_point_) / 100.0; }
    std::int64_t national_average_list_size() const noexcept { return national_average_list_size_; }
    int max_points() const noexcept { return max_points_; }  // the sum of the indicators' max_points
    int points_decimal_places() const noexcept { return points_decimal_places_; }  // 0 to 2
    int pounds_decimal_places() const noexcept { return pounds_decimal_places_; }  // 0 to 2
    // The share of the previous period's achievement value advanced as this period's aspiration
    // payments (qof-reference.md §1.4), in ten-thousandths (aspiration_rate_scale): 8000 for 80%.
    // Nullopt when the file gives no aspiration_rate.
    std::optional<std::int64_t> aspiration_rate() const noexcept { return aspiration_rate_; }

    // Income protection: the earlier period whose achievement the income_protected indicators'
    // points are fixed at ("2023-24" for 2024-25); nullopt when no indicator is protected.
    const std::optional<std::string>& income_protection_period() const noexcept { return income_protection_period_; }

    // "QOF" or the code of one of this period's enhanced services.
    bool has_scheme(std::string_view scheme) const noexcept;

    // Null when this period has no such code.
    const indicator* qof_indicator(std::string_view code) const noexcept;
    const qof_group* group(std::string_view code) const noexcept;
    const enhanced_service* service(std::string_view scheme) const noexcept;
    const sluice::catalogue::service_item* service_item(std::string_view scheme, std::string_view code) const noexcept;

    // Everything, each sorted by code.
    std::span<const indicator> qof_indicators() const noexcept { return indicators_; }
    std::span<const qof_group> groups() const noexcept { return groups_; }
    std::span<const enhanced_service> services() const noexcept { return services_; }

    // A copy whose groups named in `finals` (group code -> fraction) carry that final national
    // prevalence: final_national_prevalence set, national_prevalence its value for people,
    // national_prevalence_estimate false. Other groups as they are; codes not of this period are
    // ignored. For finalising a period (admin/finalise.hpp); the loaded catalogue stays as it is.
    period_catalogue with_final_prevalence(std::span<const std::pair<std::string, prevalence_fraction>> finals) const;

private:
    friend class catalogue_builder;

    std::string name_;
    declaration_window declarations_;
    std::int64_t pence_per_point_ = 0;
    std::int64_t national_average_list_size_ = 0;
    int max_points_ = 0;
    int points_decimal_places_ = 2;
    int pounds_decimal_places_ = 2;
    std::optional<std::string> income_protection_period_;
    std::optional<std::int64_t> aspiration_rate_;
    std::vector<indicator> indicators_;
    std::vector<qof_group> groups_;
    std::vector<enhanced_service> services_;
};

class catalogue {
public:
    // Null for a period the catalogue does not know.
    const period_catalogue* period(std::string_view name) const noexcept;

    // Sorted by name ("2023-24" before "2024-25").
    std::span<const period_catalogue> periods() const noexcept { return periods_; }

    // The periods' names joined with ", ", for messages.
    std::string period_names() const;

private:
    friend class catalogue_builder;

    std::vector<period_catalogue> periods_;
};

// Reads every *.toml file in `dir` (other files are ignored). Throws config::config_error naming the
// file and line, the key (e.g. "qof.indicators.AF006.upper_threshold"), the value and what is
// allowed, for the first fault found: TOML syntax, an unknown or missing key, a wrong type or
// range, a file name that is not a period, a group or register that does not exist, points that
// do not add up to max_points. A missing directory or one without period files is an error
// naming catalogue.dir.
catalogue load_catalogue(const std::filesystem::path& dir);

}  // namespace sluice::catalogue
