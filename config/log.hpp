// Log lines on stderr, for every sluice program, in one of two formats (log.format):
//     text  2026-03-31T23:58:12.345Z sluice-gateway warning: message
//     json  {"time":"2026-03-31T23:58:12.345Z","level":"warning","program":"sluice-gateway","message":"message"}
// one line (one JSON object) each, for a person or for Loki/Elastic. main() names the program once
// (set_log_program) and sets the format from the configuration (set_log_format).
//
// Operator lines (log()) are for events, not for every request or entry: those are counted in
// metrics. The one exception is the gateway's request log (log.requests, off by default):
// log_request() writes one line per request answered, with its request id, practice, route,
// status and latency:
//     text  2026-03-31T23:58:12.345Z sluice-gateway info: request id=4f2a... practice=A81001 route=submit status=202
//     latency_ms=1.234 json
//     {"time":...,"level":"info","program":"sluice-gateway","message":"request","request_id":"4f2a...",
//            "practice":"A81001","route":"submit","status":202,"latency_ms":1.234}
// (practice "-" in text and null in JSON when the request was not authenticated).
//
// The format_* functions are pure (time given), for tests; log() and log_request() stamp the time
// and write each line with one write(), so lines from different threads never interleave.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sluice::config {

enum class log_level { info, warning, error };
enum class log_format { text, json };

// The name at the head of every line ("sluice"); call once, before other threads start.
void set_log_program(std::string_view name);

// "text" or "json" (log.format; anything else is text). May be called at any time (it is atomic).
void set_log_format(std::string_view name);
log_format current_log_format() noexcept;

// One write() per line, so lines from different threads never interleave.
void log(log_level level, std::string_view message);

// One request answered (log.requests).
struct request_record {
    std::string_view request_id;
    std::string_view practice;  // "" when not authenticated
    std::string_view route;     // the metrics' route name: submit, status, healthz, ...
    unsigned status = 0;
    std::chrono::nanoseconds latency{0};
};
void log_request(const request_record& r);

// The lines themselves, newline included (pure).
std::string format_log_line(log_format format, std::string_view time, std::string_view program, log_level level,
                            std::string_view message);
std::string format_request_line(log_format format, std::string_view time, std::string_view program,
                                const request_record& r);

// `text` as the contents of a JSON string (without the quotes): '"', '\\' and control characters
// escaped; other bytes as they are.
void append_json_string_contents(std::string& out, std::string_view text);

}  // namespace sluice::config
