// Loading the indicator catalogue (catalogue.hpp): one TOML file per period.
//
// A period_reader reads one file's document into a period_catalogue. It knows every key a file
// may hold and rejects the rest, so a misspelt `upper_treshold` is an error rather than a
// threshold silently left unconfirmed; it checks each value as it takes it. Cross-checks that
// need more than one value (groups named by indicators and caps, lower below upper, points adding
// up to max_points) point at the value at fault. The first fault is thrown as one config_error:
// dotted key, the value as TOML writes it, what is allowed, and "at FILE:LINE".
//
// The catalogue's look-ups are binary searches over vectors sorted by code once, at load.

#include "catalogue/catalogue.hpp"

#include "config/rfc3339.hpp"

#include "config/config.hpp"
#include "config/toml_text.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <system_error>
#include <utility>

namespace sluice::catalogue {
namespace {

using config::config_error;
using config::real_text;
using config::shown;
using config::toml_string;
using config::type_name;

std::string location(const toml::source_region& where) { return config::location(where, "catalogue"); }

// Sorted by code: the look-ups below depend on it.
template <typename Entry>
const Entry* find_by_code(const std::vector<Entry>& sorted, std::string_view code) noexcept
{
    const auto at = std::lower_bound(sorted.begin(), sorted.end(), code,
                                     [](const Entry& entry, std::string_view wanted) {
                                         return std::string_view(entry.code) < wanted;
                                     });
    return at != sorted.end() && at->code == code ? &*at : nullptr;
}

template <typename Entry>
void sort_by_code(std::vector<Entry>& entries)
{
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.code < b.code; });
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Group, indicator, scheme and item codes: "AF", "AF006", "LDHC", "CHECK".
constexpr std::size_t max_code_length = 16;
constexpr std::string_view code_rule = "a code: an upper-case letter, then upper-case letters, digits or _ (at most 16)";

bool is_code(std::string_view text)
{
    if (text.empty() || text.size() > max_code_length || text.front() < 'A' || text.front() > 'Z') return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_'; });
}

// ---------------------------------------------------------------------------------------------
// Messages.





template <typename Range>
std::string joined(const Range& names)
{
    std::string text;
    for (const auto& name : names) {
        if (!text.empty()) text += ", ";
        text += name;
    }
    return text;
}

std::string describe_integer(std::int64_t min, std::int64_t max)
{
    return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

// ---------------------------------------------------------------------------------------------
// A table of the document with its dotted key, and the typed reads every section uses.

class section {
public:
    section(const toml::table& table, std::string path) : table_(table), path_(std::move(path)) {}

    const toml::table& table() const { return table_; }
    const std::string& path() const { return path_; }
    std::string key(std::string_view name) const
    {
        return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
    }

    // Every key of the table must be one of `allowed`.
    void only(std::initializer_list<std::string_view> allowed) const
    {
        for (const auto& [name, node] : table_) {
            if (std::find(allowed.begin(), allowed.end(), name.str()) == allowed.end()) {
                const std::string of = path_.empty() ? "the file" : "[" + path_ + "]";
                throw config_error(key(name.str()), "", "unknown key; the keys of " + of + " are " + joined(allowed),
                                   location(name.source()));
            }
        }
    }

    const toml::node* find(std::string_view name) const { return table_.get(name); }

    const toml::node& required(std::string_view name, std::string_view expected) const
    {
        const toml::node* node = find(name);
        if (!node) throw config_error(key(name), "", "missing: expected " + std::string(expected), location(table_.source()));
        return *node;
    }

    [[noreturn]] void fail(std::string_view name, const toml::node& node, std::string_view allowed) const
    {
        throw config_error(key(name), shown(node), std::string(allowed), location(node.source()));
    }

    [[noreturn]] void wrong_type(std::string_view name, const toml::node& node, std::string_view expected) const
    {
        fail(name, node, "expected " + std::string(expected) + ", got " + std::string(type_name(node)));
    }

    section table_at(std::string_view name, bool required_table) const
    {
        static const toml::table empty;
        const toml::node* node = required_table ? &required(name, "a table") : find(name);
        if (!node) return section(empty, key(name));
        if (!node->is_table()) wrong_type(name, *node, "a table");
        return section(*node->as_table(), key(name));
    }

    std::optional<std::string> text(std::string_view name, bool required_value = false) const
    {
        const toml::node* node = required_value ? &required(name, "a string") : find(name);
        if (!node) return std::nullopt;
        if (!node->is_string()) wrong_type(name, *node, "a string");
        return node->as_string()->get();
    }

    std::optional<bool> boolean(std::string_view name, bool required_value = false) const
    {
        const toml::node* node = required_value ? &required(name, "true or false") : find(name);
        if (!node) return std::nullopt;
        if (!node->is_boolean()) wrong_type(name, *node, "true or false");
        return node->as_boolean()->get();
    }

    // A float is a type error even when whole (points = 12.0): the file is wrong, say so.
    std::optional<std::int64_t> integer(std::string_view name, std::int64_t min, std::int64_t max,
                                        bool required_value = false) const
    {
        const auto rule = describe_integer(min, max);
        const toml::node* node = required_value ? &required(name, rule) : find(name);
        if (!node) return std::nullopt;
        if (!node->is_integer()) wrong_type(name, *node, rule);
        const std::int64_t value = node->as_integer()->get();
        if (value < min || value > max) fail(name, *node, "expected " + rule);
        return value;
    }

    // An integer or a float, finite, within [min, max] (or (min, max] when min_exclusive).
    std::optional<double> number(std::string_view name, double min, double max, bool min_exclusive,
                                 std::string_view rule, bool required_value = false) const
    {
        const toml::node* node = required_value ? &required(name, rule) : find(name);
        if (!node) return std::nullopt;
        double value;
        if (node->is_floating_point()) {
            value = node->as_floating_point()->get();
        } else if (node->is_integer()) {
            value = static_cast<double>(node->as_integer()->get());
        } else {
            wrong_type(name, *node, rule);
        }
        const bool above_min = min_exclusive ? value > min : value >= min;
        if (!(above_min && value <= max)) fail(name, *node, "expected " + std::string(rule));  // NaN fails too
        return value;
    }

    // Pounds with at most two decimal places, as pence: 220.62 -> 22062.
    std::int64_t pence(std::string_view name, double max_pounds) const
    {
        const std::string rule = "pounds above 0 and at most " + std::to_string(static_cast<long>(max_pounds))
                                 + ", with at most two decimal places";
        const double pounds = *number(name, 0.0, max_pounds, true, rule, true);
        const double hundredths = pounds * 100.0;
        const double whole = std::round(hundredths);
        if (std::fabs(hundredths - whole) > 1e-6) fail(name, *find(name), "expected " + rule);
        return static_cast<std::int64_t>(whole);
    }

private:
    const toml::table& table_;
    std::string path_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Declaration windows. `close` names the last whole second inside the window (as not_after does).

bool declaration_window::declarable(std::chrono::system_clock::time_point now,
                                    std::chrono::system_clock::time_point received_at) const noexcept
{
    using std::chrono::seconds;
    if (open && now < *open) return false;
    if (!close || now < *close + seconds(1)) return true;
    return received_at < *close + seconds(1) && now < *close + seconds(1) + std::chrono::hours(grace_hours);
}

bool declaration_window::accepts_submissions(std::chrono::system_clock::time_point now) const noexcept
{
    return !close || now < *close + std::chrono::seconds(1);
}

std::string declaration_window::describe() const
{
    std::string out = open ? "from " + config::format_rfc3339(*open) : "from the start";
    out += close ? " to " + config::format_rfc3339(*close) : " with no close";
    if (close)
        out += " (" + std::to_string(grace_hours) + " hours more to declare what was received before the close)";
    return out;
}

// ---------------------------------------------------------------------------------------------
// One period's file. A friend of period_catalogue and catalogue (their only writer).

class catalogue_builder {
public:
    static period_catalogue read_period(const toml::table& document, std::string_view period_name)
    {
        period_catalogue period;
        const section root(document, "");
        root.only({"period", "constants", "qof", "services", "declarations_open", "declarations_close",
                   "declaration_grace_hours"});

        const auto name = *root.text("period", true);
        if (name != period_name) {
            root.fail("period", *root.find("period"), "expected " + toml_string(period_name) + ", the name of the file");
        }
        period.name_ = name;
        read_window(period, root);

        read_constants(period, root.table_at("constants", true));
        const auto qof = root.table_at("qof", true);
        qof.only({"income_protection_period", "groups", "indicators"});
        read_groups(period, qof.table_at("groups", true));
        read_indicators(period, qof.table_at("indicators", true));
        read_income_protection(period, qof);
        read_services(period, root.table_at("services", false));

        int total = 0;
        for (const auto& item : period.indicators_) total += item.max_points;
        if (total != period.max_points_) {
            const section constants = root.table_at("constants", true);
            constants.fail("max_points", *constants.find("max_points"),
                           "expected " + std::to_string(total) + ", the sum of the points of [qof.indicators]");
        }
        return period;
    }

    static catalogue make(std::vector<period_catalogue> periods)
    {
        catalogue result;
        std::sort(periods.begin(), periods.end(),
                  [](const period_catalogue& a, const period_catalogue& b) { return a.name_ < b.name_; });
        result.periods_ = std::move(periods);
        check_income_protection(result);
        return result;
    }

private:
    // A protected indicator's points are read from the protection period's results by code: when
    // that period is loaded, the code must be one of its indicators (else it could never be found).
    static void check_income_protection(const catalogue& loaded)
    {
        for (const auto& period : loaded.periods_) {
            if (!period.income_protection_period_) continue;
            const auto* earlier = loaded.period(*period.income_protection_period_);
            if (!earlier) continue;  // not loaded: its results may still be in the ledger
            for (const auto& item : period.indicators_) {
                if (item.income_protected && !earlier->qof_indicator(item.code)) {
                    throw config_error("qof.indicators." + item.code + ".income_protected", "true",
                                       "expected false: " + item.code + " is not an indicator of " + earlier->name_
                                           + ", the income_protection_period of " + period.name_,
                                       "at " + period.name_ + ".toml");
                }
            }
        }
    }

    static void read_window(period_catalogue& period, const section& root)
    {
        auto time = [&](std::string_view key) -> std::optional<std::chrono::sys_seconds> {
            const auto text = root.text(key);
            if (!text) return std::nullopt;
            const auto when = config::parse_rfc3339(*text);
            if (!when) root.fail(key, *root.find(key), "expected an RFC 3339 UTC time such as \"2025-06-30T23:59:59Z\"");
            return when;
        };
        auto& w = period.declarations_;
        w.open = time("declarations_open");
        w.close = time("declarations_close");
        w.grace_hours = static_cast<int>(root.integer("declaration_grace_hours", 0, 24 * 366).value_or(72));
        if (w.open && w.close && *w.open >= *w.close)
            root.fail("declarations_close", *root.find("declarations_close"), "expected a time after declarations_open");
    }

    static void read_constants(period_catalogue& period, const section& constants)
    {
        constants.only({"pounds_per_point", "national_average_list_size", "max_points", "points_decimal_places",
                        "pounds_decimal_places", "aspiration_rate"});
        period.pence_per_point_ = constants.pence("pounds_per_point", 100000);
        period.national_average_list_size_ = *constants.integer("national_average_list_size", 1, 1000000, true);
        period.max_points_ = static_cast<int>(*constants.integer("max_points", 1, 100000, true));
        // At most 2: API.md prints points and money with exactly two decimals, so a finer rounding
        // could not be shown (and money is never finer than the penny).
        period.points_decimal_places_ = static_cast<int>(constants.integer("points_decimal_places", 0, 2).value_or(2));
        period.pounds_decimal_places_ = static_cast<int>(constants.integer("pounds_decimal_places", 0, 2).value_or(2));
        // A fraction, kept exactly as ten-thousandths (0.80 -> 8000): the aspiration is worked out
        // in integers from it (ledger/payments.hpp).
        constexpr std::string_view rate_rule = "a fraction above 0 and at most 1, with at most four decimal places";
        if (const auto rate = constants.number("aspiration_rate", 0.0, 1.0, true, rate_rule)) {
            const double scaled = *rate * static_cast<double>(aspiration_rate_scale);
            const double whole = std::round(scaled);
            if (std::fabs(scaled - whole) > 1e-6)
                constants.fail("aspiration_rate", *constants.find("aspiration_rate"),
                               "expected " + std::string(rate_rule));
            period.aspiration_rate_ = static_cast<std::int64_t>(whole);
        }
    }

    // Each entry of `table` must be a table named by a code; `read` takes its section.
    template <typename Read>
    static void for_each_coded(const section& table, std::string_view what, Read&& read)
    {
        for (const auto& [name, node] : table.table()) {
            const std::string code(name.str());
            if (!is_code(code)) {
                throw config_error(table.key(code), "", "expected " + std::string(what) + " named by " + std::string(code_rule),
                                   location(name.source()));
            }
            if (!node.is_table()) table.wrong_type(code, node, "a table { ... }");
            read(code, section(*node.as_table(), table.key(code)));
        }
    }

    static void read_groups(period_catalogue& period, const section& groups)
    {
        for_each_coded(groups, "a group", [&](const std::string& code, const section& entry) {
            entry.only({"name", "domain", "prevalence_adjusted", "prevalence_adjusted_confirmed", "zero_register_flag",
                        "national_prevalence", "national_prevalence_estimate", "source"});
            qof_group group;
            group.code = code;
            group.name = *entry.text("name", true);
            group.domain = *entry.text("domain", true);
            if (group.domain != "CL" && group.domain != "PH" && group.domain != "QI") {
                entry.fail("domain", *entry.find("domain"), R"(expected "CL", "PH" or "QI")");
            }
            group.prevalence_adjusted = *entry.boolean("prevalence_adjusted", true);
            group.prevalence_adjusted_confirmed = entry.boolean("prevalence_adjusted_confirmed").value_or(true);
            group.zero_register_flag = entry.boolean("zero_register_flag").value_or(false);
            group.national_prevalence =
                entry.number("national_prevalence", 0.0, 1.0, true, "a fraction of the list above 0 and at most 1");
            if (group.national_prevalence && !group.prevalence_adjusted) {
                entry.fail("national_prevalence", *entry.find("national_prevalence"),
                           "expected no national_prevalence: the group is not prevalence_adjusted");
            }
            if (const auto estimate = entry.boolean("national_prevalence_estimate")) {
                if (!group.national_prevalence) {
                    entry.fail("national_prevalence_estimate", *entry.find("national_prevalence_estimate"),
                               "expected only beside a national_prevalence");
                }
                group.national_prevalence_estimate = *estimate;
            }
            group.source = entry.text("source").value_or("");
            period.groups_.push_back(std::move(group));
        });
        if (period.groups_.empty()) throw config_error(groups.path(), "{}", "expected at least one group", location(groups.table().source()));
        sort_by_code(period.groups_);
    }

    static void read_indicators(period_catalogue& period, const section& indicators)
    {
        for_each_coded(indicators, "an indicator", [&](const std::string& code, const section& entry) {
            entry.only({"group", "kind", "points", "lower_threshold", "upper_threshold", "thresholds_confirmed",
                        "income_protected", "source"});
            indicator item;
            item.code = code;
            item.group = *entry.text("group", true);
            if (!find_by_code(period.groups_, item.group)) {
                entry.fail("group", *entry.find("group"), "expected a group of [qof.groups]: " + group_codes(period));
            }
            const auto kind = *entry.text("kind", true);
            if (kind == "register") {
                item.kind = indicator_kind::disease_register;
            } else if (kind == "percentage") {
                item.kind = indicator_kind::percentage;
            } else if (kind == "yes_no") {
                item.kind = indicator_kind::yes_no;
            } else {
                entry.fail("kind", *entry.find("kind"), R"(expected "register", "percentage" or "yes_no")");
            }
            item.max_points = static_cast<int>(*entry.integer("points", 0, 1000, true));
            read_thresholds(item, entry);
            item.income_protected = entry.boolean("income_protected").value_or(false);
            item.source = entry.text("source").value_or("");
            period.indicators_.push_back(std::move(item));
        });
        if (period.indicators_.empty()) {
            throw config_error(indicators.path(), "{}", "expected at least one indicator", location(indicators.table().source()));
        }
        sort_by_code(period.indicators_);
    }

    // [qof] income_protection_period: required exactly when an indicator is income_protected, and
    // a period before this one (the protected points are a past year's achievement).
    static void read_income_protection(period_catalogue& period, const section& qof)
    {
        const auto protected_at = qof.text("income_protection_period");
        const bool any_protected = std::any_of(period.indicators_.begin(), period.indicators_.end(),
                                               [](const indicator& item) { return item.income_protected; });
        if (!protected_at) {
            if (any_protected) {
                throw config_error(qof.key("income_protection_period"), "",
                                   "missing: expected the period whose achievement the income_protected indicators' "
                                   "points are fixed at, like \"2023-24\"",
                                   location(qof.table().source()));
            }
            return;
        }
        const auto& node = *qof.find("income_protection_period");
        if (!is_period_name(*protected_at)) {
            qof.fail("income_protection_period", node, "expected a period YYYY-YY, like \"2023-24\"");
        }
        if (!(*protected_at < period.name_)) {
            qof.fail("income_protection_period", node, "expected a period before " + period.name_);
        }
        if (!any_protected) {
            qof.fail("income_protection_period", node,
                     "expected none: no indicator of [qof.indicators] is income_protected");
        }
        period.income_protection_period_ = *protected_at;
    }

    static void read_thresholds(indicator& item, const section& entry)
    {
        if (item.kind != indicator_kind::percentage) {
            for (const auto name : {"lower_threshold", "upper_threshold", "thresholds_confirmed"}) {
                if (const auto* node = entry.find(name)) {
                    entry.fail(name, *node, "expected none: only percentage indicators have thresholds");
                }
            }
            item.thresholds_confirmed = true;  // nothing to confirm
            return;
        }
        constexpr std::string_view rule = "a percentage from 0 to 100";
        item.lower_threshold = entry.number("lower_threshold", 0.0, 100.0, false, rule);
        item.upper_threshold = entry.number("upper_threshold", 0.0, 100.0, false, rule);
        if (item.lower_threshold && item.upper_threshold && !(*item.lower_threshold < *item.upper_threshold)) {
            entry.fail("upper_threshold", *entry.find("upper_threshold"),
                       "expected more than lower_threshold (" + shown(*entry.find("lower_threshold")) + ")");
        }
        item.thresholds_confirmed = *entry.boolean("thresholds_confirmed", true);
        if (item.thresholds_confirmed && !(item.lower_threshold && item.upper_threshold)) {
            entry.fail("thresholds_confirmed", *entry.find("thresholds_confirmed"),
                       "expected false: confirmed thresholds need both lower_threshold and upper_threshold");
        }
    }

    static void read_services(period_catalogue& period, const section& services)
    {
        for_each_coded(services, "a scheme", [&](const std::string& code, const section& entry) {
            if (code == qof_scheme) {
                throw config_error(entry.path(), "", "expected an enhanced-service scheme: QOF is [qof]",
                                   location(entry.table().source()));
            }
            entry.only({"name", "source", "items"});
            enhanced_service service;
            service.code = code;
            service.name = *entry.text("name", true);
            service.source = entry.text("source").value_or("");
            const auto items = entry.table_at("items", true);
            for_each_coded(items, "an item", [&](const std::string& item_code, const section& item_entry) {
                item_entry.only({"name", "fee_gbp", "cap_register"});
                sluice::catalogue::service_item item;
                item.code = item_code;
                item.name = *item_entry.text("name", true);
                item.fee_pence = item_entry.pence("fee_gbp", 100000);
                item.cap_register = item_entry.text("cap_register");
                if (item.cap_register && !find_by_code(period.groups_, *item.cap_register)) {
                    item_entry.fail("cap_register", *item_entry.find("cap_register"),
                                    "expected a group of [qof.groups]: " + group_codes(period));
                }
                service.items.push_back(std::move(item));
            });
            if (service.items.empty()) {
                throw config_error(items.path(), "{}", "expected at least one item", location(items.table().source()));
            }
            sort_by_code(service.items);
            period.services_.push_back(std::move(service));
        });
        sort_by_code(period.services_);
    }

    static std::string group_codes(const period_catalogue& period)
    {
        std::vector<std::string> codes;
        for (const auto& group : period.groups_) codes.push_back(group.code);
        return joined(codes);
    }
};

// ---------------------------------------------------------------------------------------------
// Look-ups.

bool is_period_name(std::string_view text) noexcept
{
    constexpr std::string_view shape = "9999-99";  // 9: a digit
    if (text.size() != shape.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == '9' ? !is_digit(text[i]) : text[i] != shape[i]) return false;
    }
    const int first = (text[2] - '0') * 10 + (text[3] - '0');
    const int second = (text[5] - '0') * 10 + (text[6] - '0');
    return second == (first + 1) % 100;
}

std::string previous_period_name(std::string_view period)
{
    if (!is_period_name(period)) return {};
    int first = 0;
    for (const char c : period.substr(0, 4)) first = first * 10 + (c - '0');
    if (first == 0) return {};
    const int previous = first - 1, second = first % 100;  // "2024-25" -> 2023 and 24
    std::string name = std::to_string(previous);
    name.insert(0, 4 - name.size(), '0');
    return name + (second < 10 ? "-0" : "-") + std::to_string(second);
}

const sluice::catalogue::service_item* enhanced_service::item(std::string_view code) const noexcept
{
    return find_by_code(items, code);
}

bool period_catalogue::has_scheme(std::string_view scheme) const noexcept
{
    return scheme == qof_scheme || service(scheme) != nullptr;
}

period_catalogue period_catalogue::with_final_prevalence(
    std::span<const std::pair<std::string, prevalence_fraction>> finals) const
{
    period_catalogue copy = *this;
    for (const auto& [code, fraction] : finals) {
        const auto at = std::lower_bound(copy.groups_.begin(), copy.groups_.end(), code,
                                         [](const qof_group& g, const std::string& c) { return g.code < c; });
        if (at == copy.groups_.end() || at->code != code) continue;
        at->final_national_prevalence = fraction;
        at->national_prevalence = fraction.list_sizes > 0 ? static_cast<double>(fraction.registers) /
                                                                static_cast<double>(fraction.list_sizes)
                                                          : 0.0;
        at->national_prevalence_estimate = false;
    }
    return copy;
}

const indicator* period_catalogue::qof_indicator(std::string_view code) const noexcept
{
    return find_by_code(indicators_, code);
}

const qof_group* period_catalogue::group(std::string_view code) const noexcept
{
    return find_by_code(groups_, code);
}

const enhanced_service* period_catalogue::service(std::string_view scheme) const noexcept
{
    return find_by_code(services_, scheme);
}

const sluice::catalogue::service_item* period_catalogue::service_item(std::string_view scheme, std::string_view code) const noexcept
{
    const auto* found = service(scheme);
    return found ? found->item(code) : nullptr;
}

const period_catalogue* catalogue::period(std::string_view name) const noexcept
{
    const auto at = std::lower_bound(periods_.begin(), periods_.end(), name,
                                     [](const period_catalogue& entry, std::string_view wanted) {
                                         return std::string_view(entry.name()) < wanted;
                                     });
    return at != periods_.end() && at->name() == name ? &*at : nullptr;
}

std::string catalogue::period_names() const
{
    std::vector<std::string> names;
    for (const auto& p : periods_) names.push_back(p.name());
    return joined(names);
}

// ---------------------------------------------------------------------------------------------
// The directory.

catalogue load_catalogue(const std::filesystem::path& dir)
{
    constexpr std::string_view expected_files = "expected a directory of period files (2024-25.toml, ...)";
    std::error_code error;
    if (!std::filesystem::is_directory(dir, error)) {
        throw config_error("catalogue.dir", toml_string(dir.string()), std::string(expected_files) + ": no such directory");
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (entry.path().extension() == ".toml" && entry.is_regular_file()) files.push_back(entry.path());
    }
    if (error) throw config_error("catalogue.dir", toml_string(dir.string()), std::string(expected_files) + ": " + error.message());
    if (files.empty()) throw config_error("catalogue.dir", toml_string(dir.string()), std::string(expected_files) + ": none found");
    std::sort(files.begin(), files.end());

    std::vector<period_catalogue> periods;
    for (const auto& file : files) {
        const std::string file_name = file.string();
        const std::string period_name = file.stem().string();
        if (!is_period_name(period_name)) {
            throw config_error("catalogue.dir", toml_string(file_name),
                               "expected files named after a period YYYY-YY, like 2024-25.toml", "at " + file_name);
        }
        std::ifstream in(file, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in && !in.eof()) throw config_error(file_name + ": cannot be read");
        toml::table document;
        try {
            document = toml::parse(text, file_name);
        } catch (const toml::parse_error& fault) {
            const auto& where = fault.source().begin;
            throw config_error(file_name + ":" + std::to_string(where.line) + ":" + std::to_string(where.column)
                               + ": TOML syntax error: " + std::string(fault.description()));
        }
        periods.push_back(catalogue_builder::read_period(document, period_name));
    }
    return catalogue_builder::make(std::move(periods));
}

}  // namespace sluice::catalogue
