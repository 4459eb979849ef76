// The journey's pure parts (journey.hpp): its spec, the decisions, reading the statement bytes and
// figures as served, the retry rule, and the summary.
#include "loadtest/journey.hpp"

#include "loadtest/detail/spec_fields.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include <boost/json/parse.hpp>

namespace sluice::loadtest {

namespace {

constexpr std::string_view spec_context = "journey";

// splitmix64, as behaviour.cpp's: a fixed sequence for a seed on every platform.
std::uint64_t splitmix(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_blanks(std::string_view text, std::size_t at) noexcept {
    while (at < text.size() && blank(text[at])) ++at;
    return at;
}

// The end (one past the closing quote) of the string starting at `at` (a '"'); npos if unterminated.
std::size_t string_end(std::string_view text, std::size_t at) noexcept {
    for (std::size_t i = at + 1; i < text.size(); ++i) {
        if (text[i] == '\\') {
            ++i;
        } else if (text[i] == '"') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

// The end of the JSON value starting at `at`; npos if it does not end in the text.
std::size_t value_end(std::string_view text, std::size_t at) noexcept {
    if (at >= text.size()) return std::string_view::npos;
    if (text[at] == '"') return string_end(text, at);
    if (text[at] == '{' || text[at] == '[') {
        int depth = 0;
        for (std::size_t i = at; i < text.size(); ++i) {
            const char c = text[i];
            if (c == '"') {
                i = string_end(text, i);
                if (i == std::string_view::npos) return i;
                --i;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
            }
        }
        return std::string_view::npos;
    }
    std::size_t i = at;  // a number, true, false or null
    while (i < text.size() && !blank(text[i]) && text[i] != ',' && text[i] != '}' && text[i] != ']') ++i;
    return i == at ? std::string_view::npos : i;
}

}  // namespace

journey_spec parse_journey_spec(std::string_view text) {
    journey_spec spec;
    if (text.empty()) return spec;
    for (const auto& field :
         detail::split_fields(text, spec_context, {"approve", "reject", "concurrency", "wait", "rate"})) {
        if (field.key == "approve" || field.key == "reject") {
            const auto value = detail::parse_whole(field.value, spec_context, field.key);
            if (value > 100)
                throw std::invalid_argument("journey: " + std::string(field.key) + "=" + std::string(field.value) +
                                            ": expected a whole percentage from 0 to 100");
            (field.key == "approve" ? spec.approve_percent : spec.reject_percent) = static_cast<unsigned>(value);
        } else if (field.key == "concurrency") {
            const auto value = detail::parse_whole(field.value, spec_context, field.key);
            if (value < 1 || value > 10000)
                throw std::invalid_argument("journey: concurrency=" + std::string(field.value) +
                                            ": expected from 1 to 10000 connections");
            spec.concurrency = static_cast<std::uint32_t>(value);
        } else if (field.key == "rate") {
            const auto value = detail::parse_number(field.value, spec_context, field.key);
            if (value > 1'000'000)
                throw std::invalid_argument("journey: rate=" + std::string(field.value) +
                                            ": expected at most 1000000 requests/s (0: closed loop)");
            spec.rate = value;
        } else {
            spec.wait = detail::parse_duration(field.value, spec_context, field.key);
        }
    }
    if (spec.approve_percent + spec.reject_percent > 100)
        throw std::invalid_argument("journey: approve=" + std::to_string(spec.approve_percent) +
                                    " and reject=" + std::to_string(spec.reject_percent) + " add up to more than 100");
    return spec;
}

std::string format_journey_spec(const journey_spec& spec) {
    return "approve=" + std::to_string(spec.approve_percent) + ",reject=" + std::to_string(spec.reject_percent) +
           ",concurrency=" + std::to_string(spec.concurrency) + ",wait=" + detail::format_duration(spec.wait) +
           (spec.rate > 0 ? ",rate=" + detail::format_number(spec.rate) : std::string());
}

std::string_view decision_name(decision_kind kind) noexcept {
    switch (kind) {
    case decision_kind::approve: return "approved";
    case decision_kind::reject: return "rejected";
    case decision_kind::none: break;
    }
    return "none";
}

std::vector<decision_kind> assign_decisions(const journey_spec& spec, std::uint64_t seed, std::size_t count) {
    const auto share = [count](unsigned percent) {
        return static_cast<std::size_t>(std::llround(static_cast<double>(count) * percent / 100.0));
    };
    const auto approvals = std::min(count, share(spec.approve_percent));
    const auto rejections = std::min(count - approvals, share(spec.reject_percent));
    std::vector<decision_kind> kinds(count, decision_kind::none);
    std::fill_n(kinds.begin(), approvals, decision_kind::approve);
    std::fill_n(kinds.begin() + static_cast<std::ptrdiff_t>(approvals), rejections, decision_kind::reject);
    std::uint64_t state = seed ^ 0x6a09e667f3bcc909ULL;  // not the behaviours' sequence
    for (std::size_t i = count; i > 1; --i) {
        const auto j = static_cast<std::size_t>((static_cast<unsigned __int128>(splitmix(state)) * i) >> 64);
        std::swap(kinds[i - 1], kinds[j]);
    }
    return kinds;
}

std::optional<std::string_view> member_bytes(std::string_view document, std::string_view name) {
    std::size_t at = skip_blanks(document, 0);
    if (at >= document.size() || document[at] != '{') return std::nullopt;
    at = skip_blanks(document, at + 1);
    if (at < document.size() && document[at] == '}') return std::nullopt;
    while (at < document.size()) {
        if (document[at] != '"') return std::nullopt;
        const auto key_end = string_end(document, at);
        if (key_end == std::string_view::npos) return std::nullopt;
        const auto key = document.substr(at + 1, key_end - at - 2);
        at = skip_blanks(document, key_end);
        if (at >= document.size() || document[at] != ':') return std::nullopt;
        at = skip_blanks(document, at + 1);
        const auto end = value_end(document, at);
        if (end == std::string_view::npos) return std::nullopt;
        if (key == name) return document.substr(at, end - at);
        at = skip_blanks(document, end);
        if (at >= document.size() || document[at] != ',') return std::nullopt;
        at = skip_blanks(document, at + 1);
    }
    return std::nullopt;
}

std::optional<std::int64_t> hundredths(std::string_view decimal) {
    bool negative = false;
    if (!decimal.empty() && decimal.front() == '-') {
        negative = true;
        decimal.remove_prefix(1);
    }
    const auto dot = decimal.find('.');
    const auto whole = decimal.substr(0, dot);
    const auto fraction = dot == std::string_view::npos ? std::string_view{} : decimal.substr(dot + 1);
    if (whole.empty() || whole.size() > 15 || fraction.size() > 2 ||
        (dot != std::string_view::npos && fraction.empty()))
        return std::nullopt;
    std::int64_t value = 0;
    for (const char c : whole) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    for (std::size_t i = 0; i < 2; ++i) {
        const char c = i < fraction.size() ? fraction[i] : '0';
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
}

std::optional<statement_figures> figures_of_result(std::string_view result_bytes) {
    const auto points = member_bytes(result_bytes, "points");
    const auto payment = member_bytes(result_bytes, "payment_gbp");
    if (!points || !payment) return std::nullopt;
    const auto p = hundredths(*points);
    const auto g = hundredths(*payment);
    if (!p || !g) return std::nullopt;
    return statement_figures{*p, *g};
}

std::string problem_slug(std::string_view body) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(body, ec);
    if (ec || !doc.is_object()) return {};
    const auto* type = doc.get_object().if_contains("type");
    if (type == nullptr || !type->is_string()) return {};
    const std::string_view uri = type->get_string();
    const auto slash = uri.rfind('/');
    return std::string(slash == std::string_view::npos ? uri : uri.substr(slash + 1));
}

std::optional<std::chrono::nanoseconds> journey_retry(int status, std::optional<std::chrono::seconds> retry_after,
                                                      std::string_view slug, int attempt, int max_attempts) noexcept {
    using namespace std::chrono_literals;
    if (attempt >= max_attempts) return std::nullopt;
    const bool transient = status == 0 || status == 408 || status == 429 || status == 500 || status == 502 ||
                           status == 503 || status == 504 ||
                           (status == 409 && (slug == "idempotency-key-in-use" || slug == "not-calculated"));
    if (!transient) return std::nullopt;
    if (retry_after && *retry_after > 0s)
        return std::chrono::nanoseconds{std::min<std::chrono::seconds>(*retry_after, 30s)};
    const int doublings = std::clamp(attempt - 1, 0, 4);
    return std::chrono::nanoseconds{std::chrono::milliseconds{250} * (1 << doublings)};
}

double stage_stats::rate() const noexcept {
    if (elapsed <= std::chrono::nanoseconds{0}) return 0;
    return static_cast<double>(calls) / std::chrono::duration<double>(elapsed).count();
}

std::string format_journey(const journey_result& result) {
    const auto ms = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; };
    std::string out =
        "journey (" + format_journey_spec(result.spec) + "): " + std::to_string(result.records.size()) + " practices\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-8s %8s %9s %10s %9s %9s %9s %9s  %s\n", "stage", "calls", "requests",
                  "rate/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "final statuses");
    out += line;
    for (const auto& stage : result.stages) {
        std::string statuses;
        for (const auto& [code, count] : stage.statuses) {
            if (!statuses.empty()) statuses += ", ";
            statuses += (code == 0 ? std::string("no answer") : std::to_string(code)) + ": " + std::to_string(count);
        }
        const auto& h = stage.latency;
        const bool any = h.count() > 0;
        std::snprintf(line, sizeof line, "  %-8s %8llu %9llu %10.1f %9.2f %9.2f %9.2f %9.2f  %s\n", stage.name.c_str(),
                      static_cast<unsigned long long>(stage.calls), static_cast<unsigned long long>(stage.requests),
                      stage.rate(), any ? ms(h.percentile(50)) : 0.0, any ? ms(h.percentile(90)) : 0.0,
                      any ? ms(h.percentile(99)) : 0.0, any ? ms(h.max()) : 0.0, statuses.c_str());
        out += line;
    }
    if (result.waited_out) out += "  status: gave up waiting (wait=) with submissions not yet calculated\n";
    return out;
}

}  // namespace sluice::loadtest
