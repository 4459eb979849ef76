// The log (see log.hpp).
#include "config/log.hpp"

#include "config/rfc3339.hpp"

#include <unistd.h>

#include <string>
#include <atomic>
#include <cstdio>

namespace sluice::config {

namespace {

std::string program = "sluice";
std::atomic<log_format> format{log_format::text};

std::string_view level_name(log_level level) {
    return level == log_level::info ? "info" : level == log_level::warning ? "warning" : "error";
}

void write_line(const std::string& line) {
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

// Milliseconds with three decimals ("1.234"), without locale or exponent.
void append_millis(std::string& out, std::chrono::nanoseconds d) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    const long long whole = micros / 1000, fraction = micros % 1000;
    char text[40];
    std::snprintf(text, sizeof text, "%lld.%03lld", whole, fraction < 0 ? -fraction : fraction);
    out += text;
}

// {"time":"...","level":"...","program":"...","message":"...  (no closing brace)
void open_json(std::string& out, std::string_view time, std::string_view prog, log_level level,
               std::string_view message) {
    out += R"({"time":")";
    append_json_string_contents(out, time);
    out += R"(","level":")";
    out += level_name(level);
    out += R"(","program":")";
    append_json_string_contents(out, prog);
    out += R"(","message":")";
    append_json_string_contents(out, message);
    out += '"';
}

}  // namespace

void set_log_program(std::string_view name) { program.assign(name); }

void set_log_format(std::string_view name) {
    format.store(name == "json" ? log_format::json : log_format::text, std::memory_order_relaxed);
}

log_format current_log_format() noexcept { return format.load(std::memory_order_relaxed); }

void append_json_string_contents(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (byte < 0x20 || byte == 0x7f) {
                out += "\\u00";
                out += hex[byte >> 4];
                out += hex[byte & 15];
            } else {
                out += c;
            }
        }
    }
}

std::string format_log_line(log_format f, std::string_view time, std::string_view prog, log_level level,
                            std::string_view message) {
    std::string line;
    line.reserve(time.size() + prog.size() + message.size() + 64);
    if (f == log_format::json) {
        open_json(line, time, prog, level, message);
        line += "}\n";
        return line;
    }
    line += time;
    line += ' ';
    line += prog;
    line += ' ';
    line += level_name(level);
    line += ": ";
    line += message;
    line += '\n';
    return line;
}

std::string format_request_line(log_format f, std::string_view time, std::string_view prog, const request_record& r) {
    std::string line;
    line.reserve(192 + r.request_id.size());
    if (f == log_format::json) {
        open_json(line, time, prog, log_level::info, "request");
        line += R"(,"request_id":")";
        append_json_string_contents(line, r.request_id);
        line += R"(","practice":)";
        if (r.practice.empty()) {
            line += "null";
        } else {
            line += '"';
            append_json_string_contents(line, r.practice);
            line += '"';
        }
        line += R"(,"route":")";
        append_json_string_contents(line, r.route);
        line += R"(","status":)";
        line += std::to_string(r.status);
        line += R"(,"latency_ms":)";
        append_millis(line, r.latency);
        line += "}\n";
        return line;
    }
    line += time;
    line += ' ';
    line += prog;
    line += " info: request id=";
    line += r.request_id;
    line += " practice=";
    line += r.practice.empty() ? std::string_view("-") : r.practice;
    line += " route=";
    line += r.route;
    line += " status=";
    line += std::to_string(r.status);
    line += " latency_ms=";
    append_millis(line, r.latency);
    line += '\n';
    return line;
}

void log(log_level level, std::string_view message) {
    write_line(format_log_line(current_log_format(), utc_timestamp(), program, level, message));
}

void log_request(const request_record& r) {
    write_line(format_request_line(current_log_format(), utc_timestamp(), program, r));
}

}  // namespace sluice::config
