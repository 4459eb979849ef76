// Realistic submission bodies (bodies.hpp). The JSON is written by hand into the caller's string:
// every key and code is plain ASCII from the catalogue or from us (no escaping needed), and a
// body is built once per submission, so a few hundred appends and integer conversions are the
// whole cost.
#include "loadtest/bodies.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <cmath>
#include <stdexcept>

namespace sluice::loadtest {
namespace {

// Rough English prevalences (register size / list size) for the QOF groups, from QOF's published
// national prevalence figures of recent years, rounded; for the groups without a disease register
// the share of the list their indicators' denominators are drawn from. They only have to look
// like a practice's figures: the gateway checks shapes, not epidemiology.
struct prevalence_entry {
    std::string_view group;
    double share;
};
constexpr prevalence_entry typical_prevalence[] = {
    {"AF", 0.021},   {"AST", 0.065}, {"BP", 0.45},   {"CAN", 0.035},  {"CHD", 0.030}, {"CHOL", 0.06}, {"CKD", 0.040},
    {"COPD", 0.019}, {"CS", 0.28},   {"DEM", 0.007}, {"DEP", 0.13},   {"DM", 0.075},  {"EP", 0.008},  {"HF", 0.010},
    {"HYP", 0.14},   {"LD", 0.006},  {"MH", 0.0095}, {"NDH", 0.07},   {"OB", 0.10},   {"OST", 0.003}, {"PAD", 0.006},
    {"PC", 0.005},   {"RA", 0.008},  {"SMOK", 0.20}, {"STIA", 0.018}, {"VI", 0.011},
};
constexpr double unknown_group_prevalence = 0.02;

constexpr std::uint64_t min_list_size = 2000;
constexpr std::uint64_t max_list_size = 25000;
constexpr double indicator_kept = 0.9;  // share of the period's indicators a body reports
constexpr double pca_share = 0.33;      // share of percentage items with a pca
constexpr double yes_share = 0.9;       // share of yes/no items answered yes

// splitmix64 (Steele, Lea, Flood 2014): a full-period generator whose every output is a good hash
// of its state, so a stream seeded from (seed, practice, n) is independent of its neighbours.
class random_stream {
public:
    explicit random_stream(std::uint64_t state) noexcept : state_(state) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    std::uint64_t state_;
};

std::uint64_t mix(std::uint64_t value) noexcept { return random_stream(value).next(); }

std::uint64_t practice_hash(std::string_view practice) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
    for (const char c : practice) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return hash;
}

// Streams: one per practice (list size, prevalences), one per submission (the figures), one for
// the QOF/enhanced-service choice; the constants keep them apart.
std::uint64_t practice_seed(std::uint64_t seed, std::string_view practice) noexcept {
    return mix(seed ^ mix(practice_hash(practice) ^ 0x5851f42d4c957f2dULL));
}
std::uint64_t submission_seed(std::uint64_t seed, std::string_view practice, std::uint64_t n) noexcept {
    return mix(practice_seed(seed, practice) ^ mix(n + 0x14057b7ef767814fULL));
}
std::uint64_t scheme_seed(std::uint64_t seed, std::string_view practice, std::uint64_t n) noexcept {
    return mix(submission_seed(seed, practice, n) ^ 0x2545f4914f6cdd1dULL);
}

// Uniform in [low, high] (integers), by multiply-high: no division, no modulo bias worth the name.
std::uint64_t uniform(random_stream& stream, std::uint64_t low, std::uint64_t high) noexcept {
    const unsigned __int128 product = static_cast<unsigned __int128>(stream.next()) * (high - low + 1);
    return low + static_cast<std::uint64_t>(product >> 64);
}

// value * per_mille / 1000, rounded to nearest.
std::uint64_t per_mille(std::uint64_t value, std::uint64_t per_mille) noexcept {
    return (value * per_mille + 500) / 1000;
}

// Writes into a per-thread buffer sized beforehand for the longest body the generator can make
// (see the bounds below), then appends the result to the caller's string in one copy: no
// capacity check, zero fill or reallocation per field.
class json_writer {
public:
    json_writer(std::string& out, std::size_t bound) : out_(out) {
        thread_local std::vector<char> buffer;
        if (buffer.size() < bound) buffer.resize(bound);
        begin_ = at_ = buffer.data();
    }
    ~json_writer() { out_.append(begin_, static_cast<std::size_t>(at_ - begin_)); }
    json_writer(const json_writer&) = delete;
    json_writer& operator=(const json_writer&) = delete;

    json_writer& text(std::string_view text) noexcept {
        std::memcpy(at_, text.data(), text.size());
        at_ += text.size();
        return *this;
    }
    json_writer& number(std::uint64_t value) noexcept {
        at_ = std::to_chars(at_, at_ + 20, value).ptr;
        return *this;
    }

private:
    std::string& out_;
    char* begin_;
    char* at_;
};

// Characters beyond the codes: the head with its numbers, and per item or register the keys and
// up to 20 digits per number.
constexpr std::size_t head_bound = 128;
constexpr std::size_t item_bound = 128;

// A practice's list size and each group's register (or denominator base), from its own stream.
struct practice_figures {
    std::uint64_t list_size = 0;
    std::vector<std::uint64_t> base;  // per group
};

}  // namespace

body_generator::body_generator(const catalogue::catalogue& catalogue, body_options options)
    : options_(std::move(options)) {
    const auto* period = catalogue.period(options_.period);
    if (!period)
        throw std::invalid_argument("period \"" + options_.period + "\" is not in the catalogue; it has " +
                                    catalogue.period_names());
    if (!(options_.es_share >= 0.0 && options_.es_share <= 1.0))
        throw std::invalid_argument("the enhanced-service share must be from 0 to 1");

    const auto groups = period->groups();
    const auto group_index = [&](std::string_view code) -> int {
        const auto at = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.code == code; });
        return at == groups.end() ? -1 : static_cast<int>(at - groups.begin());
    };
    for (const auto& group : groups) {
        group_entry entry;
        entry.code = group.code;
        entry.prevalence = unknown_group_prevalence;
        for (const auto& known : typical_prevalence)
            if (known.group == group.code) entry.prevalence = known.share;
        entry.register_in_body = group.prevalence_adjusted;
        groups_.push_back(std::move(entry));
    }
    for (const auto& indicator : period->qof_indicators()) {
        const int group = group_index(indicator.group);
        if (group < 0) continue;  // a loaded catalogue has none such
        if (indicator.kind == catalogue::indicator_kind::disease_register)
            groups_[static_cast<std::size_t>(group)].register_in_body = true;
        indicators_.push_back({indicator.code, ",{\"code\":\"" + indicator.code + "\",\"numerator\":",
                               static_cast<std::size_t>(group), indicator.kind});
    }
    if (indicators_.empty()) throw std::invalid_argument("period " + options_.period + " has no QOF indicator");
    for (const auto& indicator : indicators_) bound_ += item_bound + indicator.opening.size();
    for (const auto& group : groups_) bound_ += item_bound + group.code.size();
    for (const auto& service : period->services()) {
        if (service.items.empty()) continue;
        service_entry entry;
        entry.code = service.code;
        for (const auto& item : service.items) {
            entry.items.push_back(item.code);
            entry.cap_group.push_back(item.cap_register ? group_index(*item.cap_register) : -1);
        }
        for (const auto& item : entry.items) entry.bound += item_bound + item.size();
        services_.push_back(std::move(entry));
    }
}

bool body_generator::is_enhanced_service(std::string_view practice, std::uint64_t n) const noexcept {
    if (services_.empty() || options_.es_share <= 0.0) return false;
    random_stream choice(scheme_seed(options_.seed, practice, n));
    return choice.unit() < options_.es_share;
}

std::string body_generator::body(std::string_view practice, std::uint64_t n) const {
    std::string out;
    append_body(out, practice, n);
    return out;
}

void body_generator::append_body(std::string& out, std::string_view practice, std::uint64_t n) const {
    if (is_enhanced_service(practice, n)) {
        append_service(out, practice, n);
    } else {
        append_qof(out, practice, n);
    }
}

namespace {

template <class Groups>
void figures_of(std::uint64_t seed, std::string_view practice, const Groups& groups, practice_figures& figures) {
    random_stream stream(practice_seed(seed, practice));
    // Log-uniform: most practices are small to middling, a few are large (median about 7,000).
    const double low = std::log(static_cast<double>(min_list_size)),
                 high = std::log(static_cast<double>(max_list_size));
    const auto list = static_cast<std::uint64_t>(std::exp(low + (high - low) * stream.unit()) + 0.5);
    figures.list_size = std::clamp(list, min_list_size, max_list_size);
    figures.base.resize(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) {
        // The group's prevalence, scaled by 0.6 to 1.4 for this practice.
        const double typical = static_cast<double>(figures.list_size) * groups[g].prevalence;
        const auto scale = uniform(stream, 600, 1400);
        figures.base[g] =
            std::max<std::uint64_t>(1, static_cast<std::uint64_t>(typical * static_cast<double>(scale) / 1000 + 0.5));
    }
}

void write_head(json_writer& out, std::string_view practice, std::string_view period, std::string_view scheme,
                std::uint64_t list_size) {
    out.text("{\"practice\":\"").text(practice).text("\",\"period\":\"").text(period).text("\",\"scheme\":\"");
    out.text(scheme).text("\",\"list_size\":").number(list_size);
}

thread_local practice_figures scratch_figures;  // reused: no allocation per body

}  // namespace

void body_generator::append_qof(std::string& out, std::string_view practice, std::uint64_t n) const {
    auto& figures = scratch_figures;
    figures_of(options_.seed, practice, groups_, figures);
    random_stream stream(submission_seed(options_.seed, practice, n));
    // One 64-bit draw per indicator, cut into fields (fractions in 1/1024ths, see the switch below).
    const auto kept_below = static_cast<std::uint64_t>(indicator_kept * 1024);
    const auto pca_below = static_cast<std::uint64_t>(pca_share * 1024);
    const auto yes_below = static_cast<std::uint64_t>(yes_share * 1024);

    // Groups whose register goes into the body: those of the kept indicators.
    constexpr std::size_t stack_groups = 128;
    std::array<bool, stack_groups> used_on_stack{};
    std::vector<bool> used_on_heap;
    if (groups_.size() > stack_groups) used_on_heap.resize(groups_.size());
    const auto mark_used = [&](std::size_t g) {
        if (g < stack_groups) {
            used_on_stack[g] = true;
        } else {
            used_on_heap[g] = true;
        }
    };
    const auto used = [&](std::size_t g) { return g < stack_groups ? used_on_stack[g] : bool(used_on_heap[g]); };

    {
        json_writer json(out, head_bound + practice.size() + options_.period.size() + bound_);
        write_head(json, practice, options_.period, catalogue::qof_scheme, figures.list_size);
        json.text(",\"items\":[");
        bool first = true;
        for (std::size_t i = 0; i < indicators_.size(); ++i) {
            // Each indicator is kept with probability indicator_kept; if none was (0.1^76), the last is.
            const std::uint64_t r = stream.next();
            const bool last_chance = first && i + 1 == indicators_.size();
            if ((r & 1023) >= kept_below && !last_chance) continue;
            const auto& indicator = indicators_[i];
            mark_used(indicator.group);
            const std::uint64_t base = figures.base[indicator.group];
            std::uint64_t numerator = 0, denominator = 0, pca = 0;
            bool with_pca = false;
            switch (indicator.kind) {
            case catalogue::indicator_kind::disease_register: numerator = denominator = base; break;
            case catalogue::indicator_kind::yes_no:
                numerator = ((r >> 10) & 1023) < yes_below ? 1 : 0;
                denominator = 1;
                break;
            case catalogue::indicator_kind::percentage: {
                const std::uint64_t share = 512 + ((r >> 10) & 511);                       // 50-100 % of the register
                const std::uint64_t achievement = 563 + ((((r >> 19) & 511) * 441) >> 9);  // 55-98 %
                denominator = (base * share + 512) >> 10;
                numerator = (denominator * achievement + 512) >> 10;
                with_pca = ((r >> 28) & 1023) < pca_below;
                if (with_pca) pca = (denominator * ((r >> 38) & 63) + 512) >> 10;  // 0-6 %
                break;
            }
            }
            json.text(std::string_view(indicator.opening).substr(first ? 1 : 0)).number(numerator);
            first = false;
            json.text(",\"denominator\":").number(denominator);
            if (with_pca) json.text(",\"pca\":").number(pca);
            json.text("}");
        }
        json.text("],\"registers\":[");
        first = true;
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            if (!used(g) || !groups_[g].register_in_body) continue;
            json.text(first ? "{\"condition\":\"" : ",{\"condition\":\"").text(groups_[g].code);
            first = false;
            json.text("\",\"size\":").number(figures.base[g]).text("}");
        }
        json.text("]}");
    }
}

void body_generator::append_service(std::string& out, std::string_view practice, std::uint64_t n) const {
    auto& figures = scratch_figures;
    figures_of(options_.seed, practice, groups_, figures);
    random_stream stream(submission_seed(options_.seed, practice, n));
    const auto& service = services_[uniform(stream, 0, services_.size() - 1)];

    json_writer json(out, head_bound + practice.size() + options_.period.size() + service.code.size() + service.bound);
    write_head(json, practice, options_.period, service.code, figures.list_size);
    json.text(",\"items\":[");
    for (std::size_t i = 0; i < service.items.size(); ++i) {
        std::uint64_t count = 0;
        if (service.cap_group[i] >= 0) {  // e.g. LDHC checks: at most the LD register
            count = per_mille(figures.base[static_cast<std::size_t>(service.cap_group[i])], uniform(stream, 400, 1000));
        } else {  // vaccinations: 0.5 to 3 % of the list
            count = per_mille(figures.list_size, uniform(stream, 5, 30));
        }
        json.text(i == 0 ? "{\"code\":\"" : ",{\"code\":\"").text(service.items[i]);
        json.text("\",\"count\":").number(count).text("}");
    }
    json.text("]}");
}

}  // namespace sluice::loadtest
