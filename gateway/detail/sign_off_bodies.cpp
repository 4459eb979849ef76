// Declaration and decision bodies (see sign_off_bodies.hpp).
#include "gateway/detail/sign_off_bodies.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace sluice::gateway::detail {

namespace {

namespace json = boost::json;

// Text a person wrote (a name, a reason): no control characters, not only blanks.
bool readable(std::string_view s) noexcept {
    const bool controls = std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
    const bool blank = std::all_of(s.begin(), s.end(), [](char c) { return c == ' '; });
    return !controls && !blank;
}

class checker {
public:
    explicit checker(body_fault& fault) : fault_(fault) {}

    void error(std::string_view member, std::string detail) {
        fault_.errors.push_back({"/" + std::string(member), std::move(detail)});
    }

    // Every member must be one of `known`.
    void only(const json::object& o, std::initializer_list<std::string_view> known) {
        for (const auto& m : o) {
            const std::string_view name(m.key().data(), m.key().size());
            if (std::find(known.begin(), known.end(), name) == known.end())
                fault_.errors.push_back({"/" + escape(name), "unknown member"});
        }
    }

    // A required string of 1 to `max` bytes; "" when missing or wrong (an error is recorded).
    std::string text(const json::object& o, std::string_view name, std::size_t max, bool required = true) {
        const auto* v = o.if_contains(name);
        if (v == nullptr || v->is_null()) {
            if (required) error(name, "missing: expected a string");
            return {};
        }
        if (!v->is_string()) {
            error(name, "expected a string");
            return {};
        }
        const auto& s = v->get_string();
        if (s.empty() || s.size() > max) {
            error(name, "expected 1 to " + std::to_string(max) + " characters");
            return {};
        }
        return std::string(s.data(), s.size());
    }

private:
    // JSON Pointer escaping (RFC 6901), and only a bounded, printable part of a member name.
    static std::string escape(std::string_view name) {
        std::string out;
        for (const char c : name.substr(0, 64)) {
            if (c == '~') {
                out += "~0";
            } else if (c == '/') {
                out += "~1";
            } else if (static_cast<unsigned char>(c) < 0x20) {
                out += '?';
            } else {
                out += c;
            }
        }
        return out;
    }

    body_fault& fault_;
};

// The body as a JSON object, or a malformed fault.
const json::object* object_of(const json::value& v, body_fault& fault) {
    if (!v.is_object()) {
        fault.malformed = true;
        fault.detail = "the body must be a JSON object";
        return nullptr;
    }
    return &v.get_object();
}

std::optional<json::value> parse_json(std::string_view bytes, body_fault& fault) {
    boost::system::error_code ec;
    auto v = json::parse(bytes, ec);
    if (ec) {
        fault.malformed = true;
        fault.detail = "the body is not valid JSON: " + ec.message();
        return std::nullopt;
    }
    return v;
}

}  // namespace

parsed_body<declaration_body> parse_declaration_body(std::string_view bytes) {
    parsed_body<declaration_body> out;
    const auto v = parse_json(bytes, out.fault);
    if (!v) return out;
    const auto* o = object_of(*v, out.fault);
    if (o == nullptr) return out;
    checker c(out.fault);
    c.only(*o, {"submission_id", "declared_by", "statement_sha256"});
    declaration_body body;
    body.submission_id = c.text(*o, "submission_id", max_submission_id_length);
    if (!body.submission_id.empty() && !std::all_of(body.submission_id.begin(), body.submission_id.end(),
                                                    [](char ch) { return ch > 0x20 && ch < 0x7f; }))
        c.error("submission_id", "expected a submission id as a receipt gives it");
    body.declared_by = c.text(*o, "declared_by", max_name_length);
    if (!body.declared_by.empty() && !readable(body.declared_by))
        c.error("declared_by", "expected the name of the person declaring, without control characters");
    body.statement_sha256 = c.text(*o, "statement_sha256", 64);
    if (!body.statement_sha256.empty()) {
        const bool hex = body.statement_sha256.size() == 64 &&
                         std::all_of(body.statement_sha256.begin(), body.statement_sha256.end(),
                                     [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; });
        if (!hex) c.error("statement_sha256", "expected 64 hex digits: the SHA-256 of the result reviewed");
        std::transform(body.statement_sha256.begin(), body.statement_sha256.end(), body.statement_sha256.begin(),
                       [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
    }
    if (out.fault.errors.empty()) {
        out.body = std::move(body);
    } else {
        out.fault.detail = std::to_string(out.fault.errors.size()) + " fault(s) in the declaration";
    }
    return out;
}

parsed_body<decision_body> parse_decision_body(std::string_view bytes) {
    parsed_body<decision_body> out;
    const auto v = parse_json(bytes, out.fault);
    if (!v) return out;
    const auto* o = object_of(*v, out.fault);
    if (o == nullptr) return out;
    checker c(out.fault);
    c.only(*o, {"decision", "decided_by", "reason"});
    decision_body body;
    body.decision = c.text(*o, "decision", 16);
    if (!body.decision.empty() && body.decision != "approved" && body.decision != "rejected")
        c.error("decision", "expected \"approved\" or \"rejected\"");
    body.decided_by = c.text(*o, "decided_by", max_name_length);
    if (!body.decided_by.empty() && !readable(body.decided_by))
        c.error("decided_by", "expected the name of the person deciding, without control characters");
    const bool rejected = body.decision == "rejected";
    auto reason = c.text(*o, "reason", max_reason_length, rejected);
    if (!reason.empty()) {
        if (!readable(reason) && reason.find_first_not_of(' ') == std::string::npos)
            c.error("reason", "expected a reason, not only blanks");
        body.reason = std::move(reason);
    }
    if (out.fault.errors.empty()) {
        out.body = std::move(body);
    } else {
        out.fault.detail = std::to_string(out.fault.errors.size()) + " fault(s) in the decision";
        if (rejected && !body.reason) out.fault.detail += " (a rejection needs its reason)";
    }
    return out;
}

}  // namespace sluice::gateway::detail
