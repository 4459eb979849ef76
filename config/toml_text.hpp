// TOML values and places as messages show them, shared by every TOML file sluice reads: the
// settings file (config.cpp, also for to_toml) and the catalogue's period files
// (catalogue/catalogue.cpp), so that both name a value, its type and its file:line the same way.
// It includes toml++: a module that reads a TOML file of its own links toml++ itself.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>

namespace sluice::config {

// A string as TOML writes it in double quotes, escapes included: "LD".
std::string toml_string(std::string_view text);

// The shortest text that reads back as the same double, always with a '.' or an exponent so that
// TOML reads it as a float. Plain notation where it is readable.
std::string real_text(double value);

// A value as the file wrote it: strings quoted, floats shortest, tables and arrays abbreviated.
std::string shown(const toml::node& node);

// "a string", "an integer", ...
std::string_view type_name(const toml::node& node);

// "at FILE:LINE" (`unnamed` when the text had no file name; no line when unknown).
std::string location(const toml::source_region& where, std::string_view unnamed);

}  // namespace sluice::config
