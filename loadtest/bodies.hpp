// Realistic POST /v1/submissions bodies for sluice-loadtest: what a GP practice system would send
// at year end, valid for the gateway (API.md; queue/submission.hpp's rules), generated from the
// indicator catalogue of one period.
//
// A QOF body holds a realistic subset of the period's indicators (each kept with probability
// 0.9, at least one), in catalogue order:
//   register indicators    numerator = denominator = the group's register size
//   percentage indicators  a denominator drawn from the group's register (or, for the groups that
//                          have none - BP, CS, SMOK, VI, CHOL - from the list), an achievement of
//                          55-98 % (numerator <= denominator), and a pca a third of the time
//   yes/no indicators      numerator 1 (yes, 90 %) or 0, denominator 1
// and the registers of the prevalence-adjusted groups it uses. list_size is 2,000 to 25,000;
// register sizes follow rough English prevalences (AF 2.1 %, HYP 14 %, ...) scaled per practice.
// A share of bodies (es_share) is an enhanced-service claim instead: one of the period's
// services, every one of its items with a count (capped items at most the register's size).
//
// Deterministic: the body is a pure function of (seed, practice, n); a practice's list size and
// prevalences depend on (seed, practice) only, so its n-th submissions look like one practice's
// revisions. Thread-safe: generation reads only immutable state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/catalogue.hpp"

namespace sluice::loadtest {

inline constexpr std::string_view default_period = "2024-25";

struct body_options {
    std::string period{default_period};
    double es_share = 0.0;  // share of enhanced-service bodies, [0, 1]
    std::uint64_t seed = 0;
};

class body_generator {
public:
    // Copies what it needs from the catalogue (it need not outlive the generator). Throws
    // std::invalid_argument for a period the catalogue does not know (naming those it knows) or an
    // es_share outside [0, 1]. A period without enhanced services gets QOF bodies only, whatever
    // es_share says (has_enhanced_services() tells).
    body_generator(const catalogue::catalogue& catalogue, body_options options);

    // The JSON body of practice's n-th submission (n from 0), appended to `out`.
    void append_body(std::string& out, std::string_view practice, std::uint64_t n) const;
    std::string body(std::string_view practice, std::uint64_t n) const;

    // Whether append_body(practice, n) writes an enhanced-service claim rather than QOF.
    bool is_enhanced_service(std::string_view practice, std::uint64_t n) const noexcept;

    bool has_enhanced_services() const noexcept { return !services_.empty(); }
    const body_options& options() const noexcept { return options_; }

private:
    struct indicator_entry {
        std::string code;
        std::string opening;    // ",{\"code\":\"AF006\",\"numerator\":", pre-rendered
        std::size_t group = 0;  // index in groups_
        catalogue::indicator_kind kind = catalogue::indicator_kind::percentage;
    };
    struct group_entry {
        std::string code;
        double prevalence = 0;          // typical register size / list size
        bool register_in_body = false;  // prevalence adjusted: the worker needs the register
        bool list_based = false;        // no disease register: denominators come from the list
    };
    struct service_entry {
        std::string code;
        std::vector<std::string> items;
        std::vector<int> cap_group;  // per item: index in groups_, -1 when uncapped
        std::size_t bound = 0;       // the most characters its items take
    };

    void append_qof(std::string& out, std::string_view practice, std::uint64_t n) const;
    void append_service(std::string& out, std::string_view practice, std::uint64_t n) const;

    body_options options_;
    std::vector<indicator_entry> indicators_;
    std::vector<group_entry> groups_;
    std::vector<service_entry> services_;
    std::size_t bound_ = 0;  // the most characters a QOF body's items and registers take
};

}  // namespace sluice::loadtest
