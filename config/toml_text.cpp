// TOML values and places for messages (see toml_text.hpp).
#include "config/toml_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace sluice::config {

std::string toml_string(std::string_view text)
{
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\f': out += "\\f"; break;
        case '\r': out += "\\r"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                char escape[8];
                std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(c));
                out += escape;
            } else {
                out += c;
            }
        }
    }
    return out + '"';
}

std::string real_text(double value)
{
    char buffer[400];
    const auto magnitude = std::fabs(value);
    const auto format = (magnitude >= 1e-6 && magnitude < 1e15) || value == 0 ? std::chars_format::fixed
                                                                              : std::chars_format::scientific;
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format);
    std::string text(buffer, result.ptr);
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // "n": inf, nan
    return text;
}

std::string shown(const toml::node& node)
{
    switch (node.type()) {
    case toml::node_type::string: return toml_string(node.as_string()->get());
    case toml::node_type::integer: return std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point: return real_text(node.as_floating_point()->get());
    case toml::node_type::boolean: return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::table: return "{...}";
    case toml::node_type::array: return "[...]";
    default: {
        std::ostringstream text;
        node.visit([&](const auto& value) { text << value; });
        return text.str();
    }
    }
}

std::string_view type_name(const toml::node& node)
{
    switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
    }
}

std::string location(const toml::source_region& where, std::string_view unnamed)
{
    const std::string file = where.path ? *where.path : std::string(unnamed);
    return where.begin.line == 0 ? "at " + file : "at " + file + ":" + std::to_string(where.begin.line);
}

}  // namespace sluice::config
