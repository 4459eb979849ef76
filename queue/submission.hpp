// Validation of a POST /v1/submissions body (API.md): JSON text in, either a typed `submission`
// or the fault to answer with (400 malformed JSON, 422 invalid content with every fault found).
//
// Pure: no I/O, no clock, no exceptions on any input (only std::bad_alloc can escape). The
// catalogue decides which periods, schemes, indicator codes, service items and register
// conditions exist. The practice-versus-token check (403) is the caller's, after parsing.
//
// Invariants of a returned submission: practice is an ODS code (one upper-case letter, five
// digits); period is "YYYY-YY" and known to the catalogue; scheme is "QOF" or an enhanced
// service of that period; for QOF, 1 to 200 qof_items with unique known codes and
// numerator <= denominator, and registers (possibly none) with unique known conditions; for an
// enhanced service, 1 to 200 service_items with unique known codes, and registers (possibly none)
// only of the QOF groups that cap its items (the catalogue's cap_register: for LDHC, the LD
// register), unique; every integer is in [0, 2^53] (list_size in [1, 2^53]), so it is exact as a
// JSON number anywhere.
//
// JSON text is read by Boost.JSON's parser with error codes; duplicate keys in an object (which
// Boost.JSON would silently resolve, keeping the last) are reported as faults, so that nothing
// downstream can read a different value from the same bytes than the one validated here.
#pragma once

#include "catalogue/catalogue.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sluice::queue {

// Protocol facts of API.md's POST /v1/submissions.
inline constexpr std::size_t max_submission_items = 200;
inline constexpr std::uint64_t max_json_integer = 9007199254740992;  // 2^53: exact in every JSON reader

// Our limits, not the protocol's: a submission nests 3 deep; a fault list stays bounded whatever
// the body (a 1 MiB body of unknown fields must not become a 50 MB answer).
inline constexpr std::size_t max_json_depth = 16;
inline constexpr std::size_t max_reported_faults = 1000;

struct qof_item {
    std::string code;  // an indicator of the period: "AF006"
    std::uint64_t numerator = 0;
    std::uint64_t denominator = 0;    // PCAs already excluded
    std::optional<std::uint64_t> pca;  // personalised care adjustments, when given

    bool operator==(const qof_item&) const = default;
};

struct service_count {
    std::string code;  // an item of the scheme: "CHECK"
    std::uint64_t count = 0;

    bool operator==(const service_count&) const = default;
};

struct register_size {
    std::string condition;  // a QOF group of the period: "AF"
    std::uint64_t size = 0;

    bool operator==(const register_size&) const = default;
};

struct submission {
    std::string practice;  // "A81001"
    std::string period;    // "2024-25"
    std::string scheme;    // "QOF" or an enhanced-service code ("LDHC")
    std::uint64_t list_size = 0;
    std::vector<qof_item> qof_items;          // scheme QOF: the items in body order; else empty
    std::vector<service_count> service_items;  // an enhanced service: the items in body order; else empty
    std::vector<register_size> registers;      // in body order: QOF's, or an enhanced service's cap registers

    bool is_qof() const noexcept { return scheme == catalogue::qof_scheme; }
    bool operator==(const submission&) const = default;
};

// One fault of the content: where (RFC 6901 JSON Pointer into the body, "" for the whole body)
// and what is wrong, in words a practice system's developer can act on.
struct field_error {
    std::string pointer;  // "/items/3/numerator"
    std::string detail;

    bool operator==(const field_error&) const = default;
};

enum class fault_kind {
    malformed_json,      // 400: not JSON (or nested deeper than max_json_depth)
    invalid_submission,  // 422: JSON, but not a valid submission
};

struct submission_fault {
    fault_kind kind = fault_kind::invalid_submission;
    std::string detail;               // malformed_json: what failed and at which byte offset
    std::vector<field_error> errors;  // invalid_submission: every fault found (at most max_reported_faults)

    unsigned status() const noexcept { return kind == fault_kind::malformed_json ? 400 : 422; }
};

class submission_result {
public:
    submission_result(submission value) : outcome_(std::move(value)) {}
    submission_result(submission_fault fault) : outcome_(std::move(fault)) {}

    bool ok() const noexcept { return outcome_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    // Preconditions: ok() for value(), !ok() for fault().
    const submission& value() const& { return std::get<submission>(outcome_); }
    submission&& value() && { return std::get<submission>(std::move(outcome_)); }
    const submission_fault& fault() const { return std::get<submission_fault>(outcome_); }

private:
    std::variant<submission, submission_fault> outcome_;
};

// Parses and validates one request body against the catalogue.
submission_result parse_submission(std::string_view body, const catalogue::catalogue& catalogue);


// Appends one reference token to a JSON Pointer, escaped as RFC 6901 says ("~" -> "~0",
// "/" -> "~1"): append_pointer_token("/items", "a/b") == "/items/a~1b".
std::string append_pointer_token(std::string_view pointer, std::string_view token);

}  // namespace sluice::queue
