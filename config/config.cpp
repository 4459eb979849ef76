// Loading, checking and printing sluice's configuration (config.hpp).
//
// One list, for_each_key(), names every key with its field and its rule (what it allows). All
// the rest walks that list: reading the TOML document, rejecting names it does not know, applying
// SLUICE_* environment overrides, printing to_toml(). Adding a key is one line there, plus its
// member and default in config.hpp.
//
// Invariants: a value is checked against its rule when it is assigned, whether it comes from the
// file or the environment, so a settings that leaves parse() is valid. The first fault found is
// thrown as one config_error: key, value as TOML would write it, what is allowed, and where the
// value came from. Ranges are chosen so that downstream arithmetic cannot overflow (for example
// burst / rate, in nanoseconds, fits an int64).

#include "config/config.hpp"
#include "config/toml_text.hpp"

#include <arpa/inet.h>
#include <unistd.h>  // environ

#include <toml++/toml.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

namespace sluice::config {
namespace {


// ---------------------------------------------------------------------------------------------
// Rules: what a key allows. One rule type per field type: integer fields take an integer_rule,
// double fields a real_rule, string fields a text_rule.

struct integer_rule {
    std::int64_t min, max;
};

struct real_rule {
    double min, max;  // both inclusive; NaN and infinities are outside every range
};

struct text_rule {
    bool (*accepts)(std::string_view);
    std::string_view allowed;  // completes "expected ..."
};

struct boolean_rule {};  // true or false (TOML booleans; "true"/"false" in the environment)

std::string describe(const integer_rule& rule)
{
    return "an integer from " + std::to_string(rule.min) + " to " + std::to_string(rule.max);
}


std::string describe(const real_rule& rule)
{
    auto plain = [](double bound) {  // "1000000", not the TOML float "1000000.0"
        auto text = real_text(bound);
        return text.ends_with(".0") ? text.substr(0, text.size() - 2) : text;
    };
    return "a number from " + plain(rule.min) + " to " + plain(rule.max);
}

std::string describe(const text_rule& rule)
{
    return std::string(rule.allowed);
}

std::string describe(const boolean_rule&)
{
    return "true or false";
}

bool is_ip_literal(std::string_view text)
{
    const std::string terminated(text);
    unsigned char address[16];
    return inet_pton(AF_INET, terminated.c_str(), address) == 1
        || inet_pton(AF_INET6, terminated.c_str(), address) == 1;
}

bool is_utf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length;
        char32_t code_point;
        if (lead < 0x80) {
            ++i;
            continue;
        } else if ((lead & 0xE0) == 0xC0) {
            length = 2, code_point = lead & 0x1F;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3, code_point = lead & 0x0F;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4, code_point = lead & 0x07;
        } else {
            return false;
        }
        if (i + length > text.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto continuation = static_cast<unsigned char>(text[i + k]);
            if ((continuation & 0xC0) != 0x80) return false;
            code_point = (code_point << 6) | (continuation & 0x3F);
        }
        constexpr char32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code_point < shortest[length] || code_point > 0x10FFFF
            || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

// Paths are kept as given (relative to the working directory); the loaders that open them
// report missing files. TOML strings must be UTF-8, so a path that is not could not be printed.
bool is_path(std::string_view text)
{
    const bool has_control = std::any_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    return !text.empty() && !has_control && is_utf8(text);
}

std::optional<std::uint16_t> parse_port(std::string_view text)
{
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value < 1
        || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

bool is_host_name(std::string_view text)
{
    // Letters, digits, '-', '.', and '_' (container names such as redis_1 resolve).
    const bool known_characters = std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    return !text.empty() && text.size() <= 253 && known_characters && text.front() != '-'
        && text.front() != '.';
}

std::optional<redis_endpoint> split_endpoint(std::string_view text)
{
    std::string_view host, port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        const std::string terminated(host);
        unsigned char address[16];
        if (inet_pton(AF_INET6, terminated.c_str(), address) != 1) return std::nullopt;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (!is_host_name(host)) return std::nullopt;
    }
    const auto port_number = parse_port(port);
    if (!port_number) return std::nullopt;
    return redis_endpoint{std::string(host), *port_number};
}

std::optional<redis_target> split_redis_url(std::string_view url)
{
    constexpr std::string_view single = "redis://", cluster = "redis+cluster://", unix_socket = "unix://";
    redis_target target;
    if (url.starts_with(unix_socket)) {
        target.socket_path = url.substr(unix_socket.size());
        if (!is_path(target.socket_path)) return std::nullopt;
        return target;
    }
    std::string_view nodes;
    if (url.starts_with(single)) {
        nodes = url.substr(single.size());
        if (nodes.find(',') != std::string_view::npos) return std::nullopt;
    } else if (url.starts_with(cluster)) {
        target.cluster = true;
        nodes = url.substr(cluster.size());
    } else {
        return std::nullopt;
    }
    for (std::size_t start = 0;;) {
        const auto comma = nodes.find(',', start);
        const auto endpoint = split_endpoint(nodes.substr(start, comma - start));
        if (!endpoint) return std::nullopt;
        target.endpoints.push_back(*endpoint);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return target;
}

bool is_redis_url(std::string_view text)
{
    return split_redis_url(text).has_value();
}

constexpr text_rule ip_literal{is_ip_literal, "an IPv4 or IPv6 address literal, e.g. 127.0.0.1, 0.0.0.0 or ::1"};
constexpr text_rule redis_url{
    is_redis_url,
    "redis://HOST:PORT, redis+cluster://HOST:PORT[,HOST:PORT...] or unix://PATH (PORT 1 to 65535)"};
// A libpq connection string, checked for its shape only (libpq itself parses it when the ledger
// starts, and that error names ledger.url too): "" (no ledger), a postgresql:// or postgres://
// URI, or key=value pairs. No control characters, so it prints as one line.
bool is_ledger_url(std::string_view text)
{
    if (text.empty()) return true;
    if (!is_utf8(text)) return false;
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }))
        return false;
    if (text.starts_with("postgresql://") || text.starts_with("postgres://")) return true;
    const auto equals = text.find('=');
    return equals != std::string_view::npos && equals > 0 && text.find_first_not_of(' ') < equals;
}

constexpr text_rule ledger_url{
    is_ledger_url,
    "\"\" (no ledger), a postgresql:// URI or libpq key=value pairs (host=... port=... dbname=...)"};
constexpr text_rule path{is_path, "a non-empty path (UTF-8, no control characters)"};
constexpr text_rule optional_path{[](std::string_view text) { return text.empty() || is_path(text); },
                                  "\"\" (none) or a path (UTF-8, no control characters)"};
constexpr text_rule log_format{[](std::string_view text) { return text == "text" || text == "json"; },
                               "\"text\" or \"json\""};

// ---------------------------------------------------------------------------------------------
// The keys: every one, in API.md's order, with its field and its rule. `visit` is called as
// visit(section, name, field, rule); Settings is settings or const settings.

template <typename Settings, typename Visit>
void for_each_key(Settings& s, Visit&& visit)
{
    constexpr integer_rule port{0, 65535};  // 0: the kernel picks (tests)
    constexpr integer_rule http_timeout_ms{1, 3'600'000};  // up to an hour

    visit("listen", "address", s.listen.address, ip_literal);
    visit("listen", "port", s.listen.port, port);
    visit("listen", "threads", s.listen.threads, integer_rule{0, 1024});  // 0: one per core
    visit("listen", "plain_http", s.listen.plain_http, boolean_rule{});

    visit("tls", "cert_file", s.tls.cert_file, optional_path);
    visit("tls", "key_file", s.tls.key_file, optional_path);
    visit("tls", "port", s.tls.port, port);

    visit("redis", "url", s.redis.url, redis_url);
    visit("redis", "timeout_ms", s.redis.timeout_ms, integer_rule{1, 60'000});
    visit("redis", "liveness_ms", s.redis.liveness_ms, integer_rule{0, 600'000});  // 0: automatic
    visit("redis", "shards", s.redis.shards, integer_rule{1, 16384});  // Redis Cluster's slot count

    visit("credentials", "file", s.credentials.file, path);
    visit("credentials", "warn_days", s.credentials.warn_days, integer_rule{0, 365});

    visit("organisations", "file", s.organisations.file, optional_path);

    // A rate below 0.001/s with the largest burst would already be a tolerance of 10^9 s.
    visit("ratelimit.per_practice", "rate", s.ratelimit.rate, real_rule{0.001, 1'000'000});
    visit("ratelimit.per_practice", "burst", s.ratelimit.burst, integer_rule{1, 1'000'000});

    visit("idempotency", "ttl_seconds", s.idempotency.ttl_seconds, integer_rule{1, 366 * 86'400});

    visit("limits", "max_connections", s.limits.max_connections, integer_rule{1, 1'000'000});
    visit("limits", "max_body_bytes", s.limits.max_body_bytes, integer_rule{1, 1 << 30});
    visit("limits", "max_header_bytes", s.limits.max_header_bytes, integer_rule{1024, 1 << 20});
    visit("limits", "header_timeout_ms", s.limits.header_timeout_ms, http_timeout_ms);
    visit("limits", "body_timeout_ms", s.limits.body_timeout_ms, http_timeout_ms);
    visit("limits", "idle_timeout_ms", s.limits.idle_timeout_ms, http_timeout_ms);
    visit("limits", "max_inflight_per_thread", s.limits.max_inflight_per_thread, integer_rule{1, 1'000'000});

    visit("admission", "target_queue_delay_ms", s.admission.target_queue_delay_ms, integer_rule{1, 60'000});

    visit("shutdown", "drain_seconds", s.shutdown.drain_seconds, integer_rule{0, 3600});

    visit("durability", "replicas", s.durability.replicas, integer_rule{0, 64});
    visit("durability", "wait_timeout_ms", s.durability.wait_timeout_ms, integer_rule{1, 60'000});

    visit("catalogue", "dir", s.catalogue.dir, path);

    visit("worker", "concurrency", s.worker.concurrency, integer_rule{1, 10'000});
    visit("worker", "claim_idle_ms", s.worker.claim_idle_ms, integer_rule{1, 86'400'000});
    visit("worker", "max_attempts", s.worker.max_attempts, integer_rule{1, 100});
    visit("worker", "metrics_address", s.worker.metrics_address, ip_literal);
    visit("worker", "metrics_port", s.worker.metrics_port, port);

    visit("ledger", "url", s.ledger.url, ledger_url);
    visit("ledger", "retention_days", s.ledger.retention_days, integer_rule{1, 36'500});  // up to a century
    visit("ledger", "pool_size", s.ledger.pool_size, integer_rule{1, 256});
    visit("ledger", "timeout_ms", s.ledger.timeout_ms, integer_rule{1, 600'000});

    visit("log", "format", s.log.format, log_format);
    visit("log", "requests", s.log.requests, boolean_rule{});

    visit("status", "message_file", s.status.message_file, optional_path);
}

struct key_name {
    std::string_view section;  // dotted: "ratelimit.per_practice"
    std::string_view name;
};

std::string dotted(const key_name& key)
{
    return std::string(key.section) + "." + std::string(key.name);
}

// SLUICE_<SECTION>_<KEY>, upper case, dots as '_'.
std::string environment_name(std::string_view dotted_key)
{
    std::string name = "SLUICE_";
    for (char c : dotted_key) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

const std::vector<key_name>& all_keys()
{
    static const std::vector<key_name> keys = [] {
        std::vector<key_name> names;
        settings defaults;
        for_each_key(defaults, [&](std::string_view section, std::string_view name, auto&, const auto&) {
            names.push_back({section, name});
        });
        return names;
    }();
    return keys;
}

// The names allowed inside the table at `path` ("" is the document): its keys, and the tables
// below it that lead to a section. Empty if `path` is neither a section nor leads to one.
std::vector<std::string> names_inside(std::string_view path)
{
    std::vector<std::string> names;
    auto add = [&](std::string_view name) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
    };
    for (const auto& key : all_keys()) {
        if (key.section == path) {
            add(key.name);
        } else if (path.empty()) {
            add(key.section.substr(0, key.section.find('.')));
        } else if (key.section.starts_with(path) && key.section.substr(path.size()).starts_with('.')) {
            const auto rest = key.section.substr(path.size() + 1);
            add(rest.substr(0, rest.find('.')));
        }
    }
    return names;
}

bool is_section_or_above(std::string_view path)
{
    return std::any_of(all_keys().begin(), all_keys().end(), [&](const key_name& key) {
        return key.section == path
            || (key.section.starts_with(path) && key.section.substr(path.size()).starts_with('.'));
    });
}

std::string joined(const std::vector<std::string>& names)
{
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

// ---------------------------------------------------------------------------------------------
// Values as TOML writes them: in to_toml() and in messages.



std::string toml_text(const std::string& value)
{
    return toml_string(value);
}

std::string toml_text(double value)
{
    return real_text(value);
}

std::string toml_text(bool value)
{
    return value ? "true" : "false";
}

template <std::integral Integer>
    requires(!std::same_as<Integer, bool>)
std::string toml_text(Integer value)
{
    return std::to_string(value);
}




// ---------------------------------------------------------------------------------------------
// Assigning one value: from a TOML node or from an environment variable's text.

template <std::integral Field>
    requires(!std::same_as<Field, bool>)
void store(Field& field, const integer_rule& rule, std::int64_t value, const std::string& key,
           const std::string& shown_value, const std::string& origin)
{
    // The list's ranges must fit their fields.
    assert(std::cmp_greater_equal(rule.min, std::numeric_limits<Field>::min()));
    assert(std::cmp_less_equal(rule.max, std::numeric_limits<Field>::max()));
    if (value < rule.min || value > rule.max) {
        throw config_error(key, shown_value, "expected " + describe(rule), origin);
    }
    field = static_cast<Field>(value);
}

void store(double& field, const real_rule& rule, double value, const std::string& key,
           const std::string& shown_value, const std::string& origin)
{
    if (!(value >= rule.min && value <= rule.max)) {  // false for NaN too
        throw config_error(key, shown_value, "expected " + describe(rule), origin);
    }
    field = value;
}

void store(std::string& field, const text_rule& rule, const std::string& value, const std::string& key,
           const std::string& origin)
{
    if (!rule.accepts(value)) throw config_error(key, toml_string(value), "expected " + describe(rule), origin);
    field = value;
}

template <typename Rule>
[[noreturn]] void throw_wrong_type(const Rule& rule, const toml::node& node, const std::string& key)
{
    throw config_error(key, shown(node), "expected " + describe(rule) + ", got " + std::string(type_name(node)),
                       location(node.source(), "config"));
}

void assign(bool& field, const boolean_rule& rule, const toml::node& node, const std::string& key)
{
    if (!node.is_boolean()) throw_wrong_type(rule, node, key);
    field = node.as_boolean()->get();
}

template <std::integral Field>
    requires(!std::same_as<Field, bool>)
void assign(Field& field, const integer_rule& rule, const toml::node& node, const std::string& key)
{
    // A float is a type error even when whole (port = 8080.0): the file is wrong, say so.
    if (!node.is_integer()) throw_wrong_type(rule, node, key);
    store(field, rule, node.as_integer()->get(), key, shown(node), location(node.source(), "config"));
}

void assign(double& field, const real_rule& rule, const toml::node& node, const std::string& key)
{
    double value;
    if (node.is_floating_point()) {
        value = node.as_floating_point()->get();
    } else if (node.is_integer()) {  // rate = 5
        value = static_cast<double>(node.as_integer()->get());
    } else {
        throw_wrong_type(rule, node, key);
    }
    store(field, rule, value, key, shown(node), location(node.source(), "config"));
}

void assign(std::string& field, const text_rule& rule, const toml::node& node, const std::string& key)
{
    if (!node.is_string()) throw_wrong_type(rule, node, key);
    store(field, rule, node.as_string()->get(), key, location(node.source(), "config"));
}

// Environment values are text: whole-string decimal numbers, shown unquoted when they are
// numbers (a range fault) and quoted when they are not (a type fault).
template <typename Number>
std::optional<Number> number_from(std::string_view text)
{
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

void assign(bool& field, const boolean_rule& rule, const std::string& text, const std::string& key,
            const std::string& origin)
{
    if (text != "true" && text != "false") {
        throw config_error(key, toml_string(text), "expected " + describe(rule), origin);
    }
    field = text == "true";
}

template <std::integral Field>
    requires(!std::same_as<Field, bool>)
void assign(Field& field, const integer_rule& rule, const std::string& text, const std::string& key,
            const std::string& origin)
{
    const auto value = number_from<std::int64_t>(text);
    if (!value) throw config_error(key, toml_string(text), "expected " + describe(rule), origin);
    store(field, rule, *value, key, text, origin);
}

void assign(double& field, const real_rule& rule, const std::string& text, const std::string& key,
            const std::string& origin)
{
    const auto value = number_from<double>(text);
    if (!value) throw config_error(key, toml_string(text), "expected " + describe(rule), origin);
    store(field, rule, *value, key, text, origin);
}

void assign(std::string& field, const text_rule& rule, const std::string& text, const std::string& key,
            const std::string& origin)
{
    store(field, rule, text, key, origin);
}

// ---------------------------------------------------------------------------------------------
// The document and the environment.

toml::table read_document(std::string_view text, std::string_view source_name)
{
    try {
        return toml::parse(text, source_name);
    } catch (const toml::parse_error& error) {
        const auto& where = error.source().begin;
        throw config_error(std::string(source_name) + ":" + std::to_string(where.line) + ":"
                           + std::to_string(where.column) + ": TOML syntax error: "
                           + std::string(error.description()));
    }
}

// Rejects every name in the document that no key or section has, and sections that are not
// tables, before any value is read.
void reject_unknown_names(const toml::table& table, const std::string& path)
{
    for (const auto& [name, node] : table) {
        const std::string child = path.empty() ? std::string(name.str()) : path + "." + std::string(name.str());
        if (is_section_or_above(child)) {
            if (!node.is_table()) {
                throw config_error(child, shown(node),
                                   "expected a table [" + child + "], got " + std::string(type_name(node)),
                                   location(name.source(), "config"));
            }
            reject_unknown_names(*node.as_table(), child);
        } else if (path.empty()) {
            throw config_error(child, "", "unknown section; the sections are " + joined(names_inside("")),
                               location(name.source(), "config"));
        } else {
            const auto allowed = names_inside(path);
            if (std::find(allowed.begin(), allowed.end(), name.str()) == allowed.end()) {
                throw config_error(child, "", "unknown key; the keys of [" + path + "] are " + joined(allowed),
                                   location(name.source(), "config"));
            }
        }
    }
}

const toml::node* find_value(const toml::table& document, const key_name& key)
{
    const toml::table* table = &document;
    for (std::string_view rest = key.section;;) {
        const auto dot = rest.find('.');
        const toml::node* child = table->get(rest.substr(0, dot));
        if (!child || !child->is_table()) return nullptr;
        table = child->as_table();
        if (dot == std::string_view::npos) break;
        rest = rest.substr(dot + 1);
    }
    return table->get(key.name);
}

// A SLUICE_<SECTION>_ variable must name a key: a typo would otherwise be silently ignored.
// Variables of no section (SLUICE_STATE_DIR, used by scripts) are not ours.
void reject_unknown_variables(const environment& env)
{
    for (const auto& [variable, value] : env) {
        for (const auto& section : names_inside("")) {
            const auto prefix = environment_name(section) + "_";
            if (!variable.starts_with(prefix)) continue;
            std::vector<std::string> known;
            for (const auto& key : all_keys()) {
                if (key.section.substr(0, key.section.find('.')) == section) {
                    known.push_back(environment_name(dotted(key)));
                }
            }
            if (std::find(known.begin(), known.end(), variable) == known.end()) {
                throw config_error(variable, "",
                                   "unknown variable; the variables of [" + section + "] are " + joined(known),
                                   "from the environment");
            }
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

config_error::config_error(std::string key, std::string value, std::string allowed, std::string origin)
    : std::runtime_error("config: " + key + (value.empty() ? "" : " = " + value) + ": " + allowed
                         + (origin.empty() ? "" : " (" + origin + ")")),
      key_(std::move(key)),
      value_(std::move(value)),
      allowed_(std::move(allowed)),
      origin_(std::move(origin))
{
}

config_error::config_error(std::string whole_file_message)
    : std::runtime_error("config: " + whole_file_message)
{
}

environment process_environment()
{
    environment env;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string_view text = *entry;
        const auto equals = text.find('=');
        if (!text.starts_with("SLUICE_") || equals == std::string_view::npos) continue;
        env.emplace(text.substr(0, equals), text.substr(equals + 1));
    }
    return env;
}

settings parse(std::string_view toml_text, const environment& env, std::string_view source_name)
{
    const toml::table document = read_document(toml_text, source_name);
    reject_unknown_names(document, "");
    reject_unknown_variables(env);

    settings s;
    for_each_key(s, [&](std::string_view section, std::string_view name, auto& field, const auto& rule) {
        const key_name key{section, name};
        if (const toml::node* node = find_value(document, key)) assign(field, rule, *node, dotted(key));
    });
    for_each_key(s, [&](std::string_view section, std::string_view name, auto& field, const auto& rule) {
        const std::string key = dotted({section, name});
        const auto variable = env.find(environment_name(key));
        if (variable != env.end()) assign(field, rule, variable->second, key, "from " + variable->first);
    });
    // Keys that constrain each other (after both sources, so an override is checked too).
    if (s.redis.liveness_ms != 0 && s.redis.liveness_ms <= s.redis.timeout_ms) {
        throw config_error("redis.liveness_ms", std::to_string(s.redis.liveness_ms),
                           "above redis.timeout_ms (" + std::to_string(s.redis.timeout_ms) +
                               "): a slow reply is a timeout of one call, only silence is a dead server");
    }
    if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
        const bool cert_missing = s.tls.cert_file.empty();
        throw config_error(cert_missing ? "tls.cert_file" : "tls.key_file", "\"\"",
                           cert_missing ? "a path when tls.key_file is set (TLS needs both, or neither)"
                                        : "a path when tls.cert_file is set (TLS needs both, or neither)");
    }
    if (!s.listen.plain_http && !s.tls.enabled()) {
        throw config_error("listen.plain_http", "false",
                           "true unless [tls] is on (tls.cert_file and tls.key_file set): a gateway with no "
                           "listener serves nobody");
    }
    // Two SO_REUSEPORT listeners on one port would share its connections at random, plain and TLS.
    if (s.tls.enabled() && s.listen.plain_http && s.tls.port != 0 && s.tls.port == s.listen.port) {
        throw config_error("tls.port", std::to_string(s.tls.port),
                           "a port other than listen.port (" + std::to_string(s.listen.port) +
                               ") while the plain listener is on");
    }
    if (s.durability.replicas > 0 && s.durability.wait_timeout_ms >= s.redis.timeout_ms) {
        throw config_error("durability.wait_timeout_ms", std::to_string(s.durability.wait_timeout_ms),
                           "below redis.timeout_ms (" + std::to_string(s.redis.timeout_ms) +
                               ") when durability.replicas > 0: WAIT must answer before the call times out");
    }
    return s;
}

settings load(const std::optional<std::filesystem::path>& file, const environment& env)
{
    if (!file) return parse("", env, "defaults");
    std::error_code ignored;
    if (std::filesystem::is_directory(*file, ignored)) {
        throw config_error("cannot read " + file->string() + ": it is a directory");
    }
    std::ifstream in(*file, std::ios::binary);
    if (!in) throw config_error("cannot read " + file->string() + ": " + std::strerror(errno));
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw config_error("cannot read " + file->string() + ": " + std::strerror(errno));
    return parse(text, env, file->string());
}

std::string to_toml(const settings& s)
{
    std::string out;
    std::string_view current_section;
    for_each_key(s, [&](std::string_view section, std::string_view name, const auto& field, const auto&) {
        if (section != current_section) {
            out += out.empty() ? "[" : "\n[";
            out += section;
            out += "]\n";
            current_section = section;
        }
        out += name;
        out += " = ";
        out += toml_text(field);
        out += '\n';
    });
    return out;
}

// Sections compare with their defaulted ==; a new section must be added here.
bool operator==(const settings& a, const settings& b)
{
    return a.listen == b.listen && a.tls == b.tls && a.redis == b.redis && a.credentials == b.credentials
        && a.organisations == b.organisations
        && a.ratelimit == b.ratelimit && a.idempotency == b.idempotency && a.limits == b.limits
        && a.admission == b.admission && a.shutdown == b.shutdown && a.durability == b.durability
        && a.catalogue == b.catalogue && a.worker == b.worker && a.ledger == b.ledger && a.log == b.log
        && a.status == b.status;
}

redis_target parse_redis_url(std::string_view url)
{
    auto target = split_redis_url(url);
    if (!target) throw config_error("redis.url", toml_string(url), "expected " + describe(redis_url));
    return *std::move(target);
}

}  // namespace sluice::config
