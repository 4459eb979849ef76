// Submission validation (submission.hpp).
//
// One pass over the bytes, one over the value. Boost.JSON's basic_parser drives
// `document_handler`, which builds the JSON value exactly as boost::json::parse does (through
// Boost's value_stack) and, on the side, notes every key an object repeats, with its JSON
// Pointer; a syntax error stops it with the byte offset reached. Then `validator` walks the value
// once against API.md's rules and the catalogue, collecting every fault instead of stopping at the
// first, and builds the typed submission only when there is none.
//
// Costs: the value lives in a monotonic arena that starts in a buffer on the stack and is freed
// whole when the call returns; a typical body allocates only what the typed submission keeps.
// Everything is linear in the body's size, including duplicate detection (sorting), so a
// hostile body costs no more than a large valid one.

#include "queue/submission.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

namespace sluice::queue {
namespace {

namespace json = boost::json;

std::string_view view(json::string_view text) noexcept {
    return {text.data(), text.size()};
}

// ---------------------------------------------------------------------------------------------
// Faults, bounded: past max_reported_faults only a count is kept.

class fault_list {
public:
    void add(std::string pointer, std::string detail) {
        if (errors_.size() < max_reported_faults) {
            errors_.push_back({std::move(pointer), std::move(detail)});
        } else {
            ++omitted_;
        }
    }
    bool empty() const noexcept { return errors_.empty(); }
    std::size_t total() const noexcept { return errors_.size() + omitted_; }
    std::vector<field_error> take() { return std::move(errors_); }

private:
    std::vector<field_error> errors_;
    std::size_t omitted_ = 0;
};

// Text of the body quoted in a detail: at most 64 bytes, cut on a UTF-8 character boundary (the
// parser has validated the UTF-8), marked when cut.
std::string quoted(std::string_view text) {
    constexpr std::size_t max_shown = 64;
    if (text.size() <= max_shown) return "\"" + std::string(text) + "\"";
    std::size_t cut = max_shown;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return "\"" + std::string(text.substr(0, cut)) + "...\"";
}

std::string number_text(double number) {
    if (!std::isfinite(number)) return number < 0 ? "a number below -1.8e308" : "a number above 1.8e308";
    char text[32];
    const auto written = std::to_chars(text, text + sizeof text, number);
    std::string shown(text, written.ptr);
    // A JSON number with a fraction or exponent, even a whole one: show it as one (1.0, not 1).
    if (shown.find_first_of(".e") == std::string::npos) shown += ".0";
    return shown;
}

// "got ..." for details: what the body has instead.
std::string describe(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return v.get_bool() ? "true" : "false";
        case json::kind::int64: return std::to_string(v.get_int64());
        case json::kind::uint64: return std::to_string(v.get_uint64());
        case json::kind::double_: return number_text(v.get_double());
        case json::kind::string: return "the string " + quoted(view(v.get_string()));
        case json::kind::array: return "an array";
        case json::kind::object: return "an object";
    }
    return "a value";
}

// ---------------------------------------------------------------------------------------------
// Parsing: Boost's value_stack builds the value (as boost::json::parse does); we track where we
// are (the open objects' keys and the open arrays' indices) to name duplicate keys exactly.

class document_handler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    document_handler(json::storage_ptr storage, unsigned char* scratch, std::size_t scratch_size, fault_list& faults)
        : stack_({}, scratch, scratch_size), faults_(faults) {
        stack_.reset(std::move(storage));
    }

    json::value release() { return stack_.release(); }

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }

    bool on_object_begin(json::error_code&) {
        frames_.push_back({true, keys_.size(), 0});
        return true;
    }
    bool on_object_end(std::size_t n, json::error_code&) {
        note_duplicate_keys();
        stack_.push_object(n);
        keys_.resize(frames_.back().first_key);
        frames_.pop_back();
        value_done();
        return true;
    }
    bool on_array_begin(json::error_code&) {
        frames_.push_back({false, keys_.size(), 0});
        return true;
    }
    bool on_array_end(std::size_t n, json::error_code&) {
        stack_.push_array(n);
        frames_.pop_back();
        value_done();
        return true;
    }
    bool on_key_part(json::string_view part, std::size_t, json::error_code&) {
        stack_.push_chars(part);
        key_.append(part.data(), part.size());
        return true;
    }
    bool on_key(json::string_view last, std::size_t, json::error_code&) {
        stack_.push_key(last);
        key_.append(last.data(), last.size());
        keys_.push_back(std::move(key_));
        key_.clear();
        return true;
    }
    bool on_string_part(json::string_view part, std::size_t, json::error_code&) {
        stack_.push_chars(part);
        return true;
    }
    bool on_string(json::string_view last, std::size_t, json::error_code&) {
        stack_.push_string(last);
        value_done();
        return true;
    }
    bool on_number_part(json::string_view, json::error_code&) { return true; }
    bool on_int64(std::int64_t number, json::string_view, json::error_code&) {
        stack_.push_int64(number);
        value_done();
        return true;
    }
    bool on_uint64(std::uint64_t number, json::string_view, json::error_code&) {
        stack_.push_uint64(number);
        value_done();
        return true;
    }
    bool on_double(double number, json::string_view, json::error_code&) {
        stack_.push_double(number);
        value_done();
        return true;
    }
    bool on_bool(bool b, json::error_code&) {
        stack_.push_bool(b);
        value_done();
        return true;
    }
    bool on_null(json::error_code&) {
        stack_.push_null();
        value_done();
        return true;
    }
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

private:
    struct frame {
        bool object;
        std::size_t first_key;  // objects: this object's keys are keys_[first_key...]
        std::size_t elements;   // arrays: elements completed so far (the open one's index)
    };

    void value_done() {
        if (!frames_.empty() && !frames_.back().object) ++frames_.back().elements;
    }

    // The pointer of the innermost open container.
    std::string innermost_pointer() const {
        std::string pointer;
        for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
            if (frames_[i].object) {
                pointer = append_pointer_token(pointer, keys_[frames_[i + 1].first_key - 1]);
            } else {
                pointer += '/';
                pointer += std::to_string(frames_[i].elements);
            }
        }
        return pointer;
    }

    void note_duplicate_keys() {
        const auto first = keys_.begin() + static_cast<std::ptrdiff_t>(frames_.back().first_key);
        if (keys_.end() - first < 2) return;
        sorted_.assign(first, keys_.end());
        std::sort(sorted_.begin(), sorted_.end());
        for (auto at = sorted_.begin(); at != sorted_.end();) {
            const auto run_end = std::find_if(at, sorted_.end(), [&](std::string_view k) { return k != *at; });
            if (run_end - at > 1) {
                faults_.add(append_pointer_token(innermost_pointer(), *at),
                            "duplicate key " + quoted(*at) + ": the object has it " + std::to_string(run_end - at)
                                + " times; send it once");
            }
            at = run_end;
        }
    }

    json::value_stack stack_;
    fault_list& faults_;
    std::vector<frame> frames_;
    std::vector<std::string> keys_;  // keys of the open objects, outermost first
    std::string key_;                // a key arriving in parts
    std::vector<std::string_view> sorted_;
};

// ---------------------------------------------------------------------------------------------
// Validation.

bool is_practice_code(std::string_view text) noexcept {
    return text.size() == 6 && text[0] >= 'A' && text[0] <= 'Z'
           && std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string names(const std::vector<std::string_view>& names) {
    std::string text;
    for (const auto name : names) {
        if (!text.empty()) text += ", ";
        text += name;
    }
    return text;
}

template <typename Range>
std::string joined(const Range& range) {
    std::string text;
    for (const auto& entry : range) {
        if (!text.empty()) text += ", ";
        text += entry.code;
    }
    return text;
}

constexpr std::string_view submission_fields[] = {"practice", "period", "scheme", "list_size", "items", "registers"};
constexpr std::string_view qof_item_fields[] = {"code", "numerator", "denominator", "pca"};
constexpr std::string_view service_item_fields[] = {"code", "count"};
constexpr std::string_view register_fields[] = {"condition", "size"};

template <std::size_t N>
std::string field_list(const std::string_view (&fields)[N]) {
    std::string text;
    for (std::size_t i = 0; i < N; ++i) {
        text += i == 0 ? "" : (i + 1 == N ? " and " : ", ");
        text += fields[i];
    }
    return text;
}

class validator {
public:
    validator(const catalogue::catalogue& catalogue, fault_list& faults) : catalogue_(catalogue), faults_(faults) {}

    std::optional<submission> check(const json::value& root) {
        if (!root.is_object()) {
            faults_.add("", "expected a JSON object (the submission), got " + describe(root));
            return std::nullopt;
        }
        const auto& body = root.get_object();
        reject_unknown_fields(body, "", submission_fields, "a submission has ");

        submission result;
        check_practice(body, result);
        check_period(body, result);
        check_scheme(body, result);
        if (const auto* list_size = required(body, "", "list_size")) {
            if (const auto n = count(*list_size, "", "list_size", true)) result.list_size = *n;
        }
        if (const auto* items = required(body, "", "items")) check_items(*items, result);
        if (const auto* registers = body.if_contains("registers")) check_registers(*registers, result);

        if (!faults_.empty()) return std::nullopt;
        return result;
    }

private:
    enum class item_shape { unknown, qof, service };

    void fault(std::string pointer, std::string detail) { faults_.add(std::move(pointer), std::move(detail)); }

    template <std::size_t N>
    void reject_unknown_fields(const json::object& object, std::string_view pointer,
                               const std::string_view (&allowed)[N], std::string_view what) {
        for (const auto& member : object) {
            const auto key = view(member.key());
            if (std::find(std::begin(allowed), std::end(allowed), key) == std::end(allowed)) {
                fault(append_pointer_token(pointer, key),
                      "unknown field " + quoted(key) + "; " + std::string(what) + field_list(allowed));
            }
        }
    }

    // The member, or a fault at the parent naming the missing field.
    const json::value* required(const json::object& object, std::string_view pointer, std::string_view name) {
        const auto* member = object.if_contains(name);
        if (!member) fault(std::string(pointer), "missing required field \"" + std::string(name) + "\"");
        return member;
    }

    // The value of `field` in the object at `parent`, if it is a string. Pointers are built only
    // for faults: a valid body costs no string building here.
    std::optional<std::string_view> text(const json::value& v, std::string_view parent, std::string_view field) {
        if (!v.is_string()) {
            fault(append_pointer_token(parent, field), "expected a string, got " + describe(v));
            return std::nullopt;
        }
        return view(v.get_string());
    }

    // A JSON integer in [0, 2^53] ([1, 2^53] when `positive`).
    std::optional<std::uint64_t> count(const json::value& v, std::string_view parent, std::string_view field,
                                       bool positive = false) {
        const auto refuse = [&](std::string_view rule, std::string_view got_what) {
            fault(append_pointer_token(parent, field), std::string(rule) + ", got " + std::string(got_what));
            return std::optional<std::uint64_t>();
        };
        const std::string_view expected = positive ? "expected a positive integer" : "expected a non-negative integer";
        constexpr std::string_view too_large = "expected an integer no greater than 2^53 (9007199254740992)";
        std::uint64_t n = 0;
        switch (v.kind()) {
            case json::kind::int64:
                if (v.get_int64() < 0) return refuse(expected, describe(v));
                n = static_cast<std::uint64_t>(v.get_int64());
                break;
            case json::kind::uint64: n = v.get_uint64(); break;
            case json::kind::double_: {
                const double d = v.get_double();
                if (std::fabs(d) > static_cast<double>(max_json_integer) && (std::isinf(d) || std::trunc(d) == d)) {
                    return refuse(d < 0 ? expected : too_large, describe(v));
                }
                return refuse(std::string(expected) + " written without a fraction or exponent", describe(v));
            }
            default: return refuse(expected, describe(v));
        }
        if (n > max_json_integer) return refuse(too_large, describe(v));
        if (positive && n == 0) return refuse(expected, "0");
        return n;
    }

    void check_practice(const json::object& body, submission& result) {
        const auto* v = required(body, "", "practice");
        if (!v) return;
        const auto code = text(*v, "", "practice");
        if (!code) return;
        if (!is_practice_code(*code)) {
            fault("/practice", "expected an ODS practice code, one upper-case letter and five digits (like A81001), got "
                                   + quoted(*code));
            return;
        }
        result.practice = *code;
    }

    void check_period(const json::object& body, submission& result) {
        const auto* v = required(body, "", "period");
        if (!v) return;
        const auto name = text(*v, "", "period");
        if (!name) return;
        if (!catalogue::is_period_name(*name)) {
            fault("/period", "expected a financial year YYYY-YY, the second year following the first (like 2024-25), got "
                                 + quoted(*name));
            return;
        }
        period_ = catalogue_.period(*name);
        if (!period_) {
            fault("/period", "unknown period " + quoted(*name) + "; the catalogue has " + catalogue_.period_names());
            return;
        }
        result.period = *name;
    }

    // Item fields are judged by the scheme: QOF's, or an enhanced service's when the scheme is
    // one (of this period, or of any period when this one is unknown). An unknown scheme leaves
    // them unjudged rather than buried in faults that follow from the one already reported.
    void check_scheme(const json::object& body, submission& result) {
        const auto* v = required(body, "", "scheme");
        if (!v) return;
        const auto name = text(*v, "", "scheme");
        if (!name) return;
        if (*name == catalogue::qof_scheme) {
            shape_ = item_shape::qof;
        } else if (period_ ? period_->service(*name) != nullptr
                           : std::any_of(catalogue_.periods().begin(), catalogue_.periods().end(),
                                         [&](const auto& p) { return p.service(*name) != nullptr; })) {
            shape_ = item_shape::service;
        }
        if (!period_) return;  // faulted already: the schemes depend on the period
        if (!period_->has_scheme(*name)) {
            std::string schemes(catalogue::qof_scheme);
            for (const auto& service : period_->services()) schemes += ", " + service.code;
            fault("/scheme", "unknown scheme " + quoted(*name) + " for " + period_->name() + "; expected one of " + schemes);
            return;
        }
        scheme_ = *name;
        result.scheme = *name;
    }

    // Reports every code that appears more than once, at each repeat, naming the first.
    void reject_duplicates(std::vector<std::pair<std::string_view, std::size_t>>& codes, std::string_view array_pointer,
                           std::string_view field, std::string_view what) {
        std::sort(codes.begin(), codes.end());  // by code, then by index
        for (std::size_t first = 0, i = 1; i < codes.size(); ++i) {
            if (codes[i].first != codes[first].first) {
                first = i;
                continue;
            }
            const auto first_pointer = std::string(array_pointer) + "/" + std::to_string(codes[first].second);
            fault(std::string(array_pointer) + "/" + std::to_string(codes[i].second) + "/" + std::string(field),
                  "duplicate " + std::string(what) + " " + quoted(codes[i].first) + ", already at " + first_pointer);
        }
    }

    void check_items(const json::value& v, submission& result) {
        if (!v.is_array()) {
            fault("/items", "expected an array of items, got " + describe(v));
            return;
        }
        const auto& items = v.get_array();
        if (items.empty() || items.size() > max_submission_items) {
            fault("/items", "expected 1 to " + std::to_string(max_submission_items) + " items, got "
                                + std::to_string(items.size()));
        }
        std::vector<std::pair<std::string_view, std::size_t>> codes;
        codes.reserve(items.size());
        if (items.size() <= max_submission_items && shape_ == item_shape::qof) result.qof_items.reserve(items.size());
        if (items.size() <= max_submission_items && shape_ == item_shape::service) result.service_items.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string pointer = "/items/" + std::to_string(i);
            if (!items[i].is_object()) {
                fault(pointer, "expected an object (an item), got " + describe(items[i]));
                continue;
            }
            const auto& item = items[i].get_object();
            std::optional<std::string_view> code;
            if (const auto* c = required(item, pointer, "code")) code = text(*c, pointer, "code");
            if (code) codes.emplace_back(*code, i);
            switch (shape_) {
                case item_shape::qof: check_qof_item(item, pointer, code, result); break;
                case item_shape::service: check_service_item(item, pointer, code, result); break;
                case item_shape::unknown: break;  // no scheme to judge the fields by (faulted already)
            }
        }
        reject_duplicates(codes, "/items", "code", "code");
    }

    void check_qof_item(const json::object& item, const std::string& pointer, std::optional<std::string_view> code,
                        submission& result) {
        reject_unknown_fields(item, pointer, qof_item_fields, "a QOF item has ");
        if (code && period_ && !period_->qof_indicator(*code)) {
            fault(pointer + "/code", "unknown QOF indicator " + quoted(*code) + " for " + period_->name());
        }
        std::optional<std::uint64_t> numerator, denominator, pca;
        if (const auto* n = required(item, pointer, "numerator")) numerator = count(*n, pointer, "numerator");
        if (const auto* d = required(item, pointer, "denominator")) denominator = count(*d, pointer, "denominator");
        const auto* p = item.if_contains("pca");
        if (p) pca = count(*p, pointer, "pca");
        if (numerator && denominator && *numerator > *denominator) {
            fault(pointer + "/numerator", "numerator " + std::to_string(*numerator) + " is above denominator "
                                              + std::to_string(*denominator));
        }
        if (code && numerator && denominator && (pca || !p)) {
            result.qof_items.push_back({std::string(*code), *numerator, *denominator, pca});
        }
    }

    void check_service_item(const json::object& item, const std::string& pointer,
                            std::optional<std::string_view> code, submission& result) {
        reject_unknown_fields(item, pointer, service_item_fields, "an enhanced-service item has ");
        if (code && period_ && !scheme_.empty() && !period_->service_item(scheme_, *code)) {
            fault(pointer + "/code", "unknown item " + quoted(*code) + " of " + scheme_ + " for " + period_->name()
                                         + "; its items are " + joined(period_->service(scheme_)->items));
        }
        std::optional<std::uint64_t> n;
        if (const auto* c = required(item, pointer, "count")) n = count(*c, pointer, "count");
        if (code && n) result.service_items.push_back({std::string(*code), *n});
    }

    // QOF: any QOF group of the period. An enhanced service: only the groups whose register caps one
    // of its items (the catalogue's cap_register: LDHC's checks are paid up to the LD register).
    void check_registers(const json::value& v, submission& result) {
        std::vector<std::string_view> caps;  // an enhanced service known to the period: its cap registers
        if (shape_ == item_shape::service && !scheme_.empty()) {
            for (const auto& item : period_->service(scheme_)->items) {
                if (item.cap_register && std::find(caps.begin(), caps.end(), *item.cap_register) == caps.end()) {
                    caps.push_back(*item.cap_register);
                }
            }
            if (caps.empty()) {
                const std::string rule =
                    "registers are only for QOF submissions and for the register that caps an enhanced service's items";
                fault("/registers", rule + "; the items of " + scheme_ + " have no cap: send no registers");
                return;
            }
        }
        if (!v.is_array()) {
            fault("/registers", "expected an array of registers, got " + describe(v));
            return;
        }
        const auto& registers = v.get_array();
        std::vector<std::pair<std::string_view, std::size_t>> conditions;
        conditions.reserve(registers.size());
        for (std::size_t i = 0; i < registers.size(); ++i) {
            const std::string pointer = "/registers/" + std::to_string(i);
            if (!registers[i].is_object()) {
                fault(pointer, "expected an object (a register), got " + describe(registers[i]));
                continue;
            }
            const auto& entry = registers[i].get_object();
            reject_unknown_fields(entry, pointer, register_fields, "a register has ");
            std::optional<std::string_view> condition;
            if (const auto* c = required(entry, pointer, "condition")) condition = text(*c, pointer, "condition");
            if (condition) {
                conditions.emplace_back(*condition, i);
                if (!caps.empty()) {
                    if (std::find(caps.begin(), caps.end(), *condition) == caps.end()) {
                        std::string rule =
                            "an enhanced-service submission carries only the registers that cap its "
                            "items, for ";
                        rule += scheme_ + ": " + names(caps);
                        fault(pointer + "/condition",
                              "condition " + quoted(*condition) + " is not accepted for " + scheme_ + ": " + rule);
                    }
                } else if (shape_ == item_shape::service) {
                    // The scheme is not one of this period's (faulted already): nothing to judge by.
                } else if (period_ && !period_->group(*condition)) {
                    fault(pointer + "/condition", "unknown condition " + quoted(*condition) + " for " + period_->name()
                                                      + "; the QOF groups are " + joined(period_->groups()));
                }
            }
            std::optional<std::uint64_t> size;
            if (const auto* s = required(entry, pointer, "size")) size = count(*s, pointer, "size");
            if (condition && size) result.registers.push_back({std::string(*condition), *size});
        }
        reject_duplicates(conditions, "/registers", "condition", "condition");
    }

    const catalogue::catalogue& catalogue_;
    fault_list& faults_;
    const catalogue::period_catalogue* period_ = nullptr;  // set once the period is valid and known
    item_shape shape_ = item_shape::unknown;            // how to judge items (see check_scheme)
    std::string scheme_;                                // set once the scheme is known to the period
};

// ---------------------------------------------------------------------------------------------
// Faults as answers.

submission_fault malformed(std::string_view body, std::size_t offset, const json::error_code& ec) {
    const auto before = body.substr(0, std::min(offset, body.size()));
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    const auto line_start = before.rfind('\n');
    const auto column = 1 + (line_start == std::string_view::npos ? before.size() : before.size() - line_start - 1);
    const std::string where = " at byte offset " + std::to_string(offset) + " (line " + std::to_string(line)
                              + ", column " + std::to_string(column) + ")";
    std::string detail;
    if (ec == json::error::too_deep) {
        detail = "the JSON nests deeper than " + std::to_string(max_json_depth) + " levels" + where;
    } else if (ec == json::error::incomplete) {
        detail = "the body ends inside its JSON text" + where;
    } else if (ec == json::error::exponent_overflow) {
        detail = "a number's exponent is too large to read" + where;
    } else if (ec == json::error::extra_data) {
        detail = "unexpected data after the JSON text" + where;
    } else {
        detail = "not valid JSON (" + ec.message() + ")" + where;
    }
    return {fault_kind::malformed_json, std::move(detail), {}};
}

}  // namespace

std::string append_pointer_token(std::string_view pointer, std::string_view token) {
    std::string result;
    result.reserve(pointer.size() + token.size() + 1);
    result.append(pointer);
    result += '/';
    for (const char c : token) {
        if (c == '~') {
            result += "~0";
        } else if (c == '/') {
            result += "~1";
        } else {
            result += c;
        }
    }
    return result;
}

submission_result parse_submission(std::string_view body, const catalogue::catalogue& catalogue) {
    // The JSON value's arena: a submission of a few hundred items fits the stack buffer.
    alignas(std::max_align_t) unsigned char arena[8192];
    json::monotonic_resource resource(arena, sizeof arena);
    unsigned char scratch[1024];  // value_stack's working space

    fault_list faults;
    json::parse_options options;
    options.max_depth = max_json_depth;
    json::basic_parser<document_handler> parser(options, json::storage_ptr(&resource), scratch, sizeof scratch, faults);
    json::error_code ec;
    const std::size_t consumed = parser.write_some(false, body.data(), body.size(), ec);
    if (!ec && consumed < body.size()) ec = json::error::extra_data;
    if (ec) return malformed(body, consumed, ec);

    const json::value root = parser.handler().release();
    validator check(catalogue, faults);
    auto result = check.check(root);
    if (result && faults.empty()) return std::move(*result);

    const auto total = faults.total();
    std::string detail = std::to_string(total) + (total == 1 ? " fault" : " faults") + " in the submission";
    detail += total > max_reported_faults ? "; the first " + std::to_string(max_reported_faults) + " are listed in errors"
                                          : "; see errors";
    return submission_fault{fault_kind::invalid_submission, std::move(detail), faults.take()};
}

}  // namespace sluice::queue
