// The status page's words and rendering (see status_page.hpp).
#include "gateway/status_page.hpp"

#include "config/rfc3339.hpp"

#include "config/log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>

namespace sluice::gateway {

namespace {

std::string_view state_name(status_state s) noexcept {
    switch (s) {
    case status_state::open: return "open";
    case status_state::busy: return "busy";
    case status_state::draining: return "draining";
    case status_state::unreachable: return "unreachable";
    }
    return "open";
}

std::string seconds_text(std::int64_t s) { return std::to_string(s) + (s == 1 ? " second" : " seconds"); }

std::string count_text(const std::optional<std::int64_t>& n) { return n ? std::to_string(*n) : "not yet measured"; }

std::string rate_text(const std::optional<double>& r) {
    if (!r) return "not yet measured";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", *r);
    return std::string(text) + " per second";
}

std::string estimate_text(const status_view& v) {
    if (v.estimated_seconds) return human_duration(*v.estimated_seconds);
    if (!v.in.queue_waiting || !v.in.drain_per_second) return "not yet measured";
    return "cannot be estimated: the queue is not draining now";
}

}  // namespace

std::string human_duration(std::int64_t seconds) {
    if (seconds < 60) return "under a minute";
    const std::int64_t minutes = (seconds + 30) / 60;
    if (minutes < 60) return "about " + std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
    const std::int64_t hours = minutes / 60;
    const std::int64_t rest = minutes % 60;
    std::string text = "about " + std::to_string(hours) + (hours == 1 ? " hour" : " hours");
    if (rest != 0) text += " " + std::to_string(rest) + (rest == 1 ? " minute" : " minutes");
    return text;
}

status_view describe_status(status_inputs in) {
    status_view v;
    if (in.draining) {
        v.state = status_state::draining;
        v.headline = "Not accepting submissions here";
        v.reason =
            "This gateway is shutting down; the others take submissions. Software that retries after "
            "Retry-After needs nothing done.";
    } else if (!in.ready) {
        v.state = status_state::unreachable;
        v.headline = "Not accepting submissions";
        v.reason =
            "The gateway cannot reach its queue store. Submissions are refused with a Retry-After and "
            "nothing is lost: send again when told.";
    } else if (in.retry_after_seconds > 0) {
        v.state = status_state::busy;
        v.headline = "Accepting submissions, busy";
        v.reason = "Some submissions are asked to come back within " + seconds_text(in.retry_after_seconds) +
                   "; each is given its own time. Send again when told.";
    } else {
        v.state = status_state::open;
        v.headline = "Accepting submissions";
        v.reason = "Submissions are admitted at once.";
    }
    if (in.queue_waiting && *in.queue_waiting <= 0) {
        v.estimated_seconds = 0;
    } else if (in.queue_waiting && in.drain_per_second && *in.drain_per_second > 0) {
        v.estimated_seconds =
            static_cast<std::int64_t>(std::ceil(static_cast<double>(*in.queue_waiting) / *in.drain_per_second));
    }
    v.in = std::move(in);
    return v;
}

std::string render_status_json(const status_view& v) {
    boost::json::object o;
    o["accepting"] = v.in.ready && !v.in.draining;
    o["state"] = state_name(v.state);
    o["headline"] = v.headline;
    o["reason"] = v.reason;
    o["retry_after_seconds"] = v.in.retry_after_seconds;
    o["queue_waiting"] = v.in.queue_waiting ? boost::json::value(*v.in.queue_waiting) : nullptr;
    o["drain_per_second"] = v.in.drain_per_second ? boost::json::value(*v.in.drain_per_second) : nullptr;
    o["estimated_seconds"] = v.estimated_seconds ? boost::json::value(*v.estimated_seconds) : nullptr;
    o["submissions_today"] = v.in.submissions_today ? boost::json::value(*v.in.submissions_today) : nullptr;
    o["declarations_today"] = v.in.declarations_today ? boost::json::value(*v.in.declarations_today) : nullptr;
    o["message"] = v.in.operator_message;
    o["generated_at"] = config::rfc3339_millis(v.in.now);
    // The same figures as words, so the page's script only copies text.
    boost::json::object text;
    text["retry_after"] = v.in.retry_after_seconds > 0 ? seconds_text(v.in.retry_after_seconds) : "none";
    text["queue_waiting"] = count_text(v.in.queue_waiting);
    text["drain_per_second"] = rate_text(v.in.drain_per_second);
    text["estimate"] = estimate_text(v);
    text["submissions_today"] = count_text(v.in.submissions_today);
    text["declarations_today"] = count_text(v.in.declarations_today);
    o["text"] = std::move(text);
    return boost::json::serialize(o);
}

std::string render_status_html(const status_view& v) {
    const auto row = [](std::string_view id, std::string_view label, const std::string& value, std::string_view data) {
        return "<tr><th scope=\"row\">" + std::string(label) + "</th><td id=\"" + std::string(id) + "\" data-value=\"" +
               html_escape(data) + "\">" + html_escape(value) + "</td></tr>\n";
    };
    const auto raw = [](const auto& opt) { return opt ? std::to_string(*opt) : std::string(); };
    std::string rate_raw;
    if (v.in.drain_per_second) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3f", *v.in.drain_per_second);
        rate_raw = text;
    }

    std::string page;
    page.reserve(4096);
    page +=
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>QOF submissions: service status</title>\n<style>\n"
        "body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;color:#0b0c0c;line-height:1.4}\n"
        "#state{padding:1em;border-left:.6em solid #00703c;background:#f3f2f1}\n"
        "#state.busy{border-color:#f47738}#state.draining,#state.unreachable{border-color:#d4351c}\n"
        "#state h2{margin:0 0 .3em 0}table{border-collapse:collapse;width:100%;margin:1em 0}\n"
        "th,td{text-align:left;padding:.4em;border-bottom:1px solid #b1b4b6}\n"
        "#message{padding:1em;margin-bottom:1em;border:2px solid #1d70b8;white-space:pre-wrap}#message[hidden]{display:none}\n"
        "small{color:#505a5f}\n</style>\n</head>\n<body>\n<h1>QOF submissions: service status</h1>\n";
    page += "<div id=\"message\"";
    if (v.in.operator_message.empty()) page += " hidden";
    page += ">" + html_escape(v.in.operator_message) + "</div>\n";
    page += "<section id=\"state\" class=\"" + std::string(state_name(v.state)) + "\">\n<h2 id=\"headline\">" +
            html_escape(v.headline) + "</h2>\n<p id=\"reason\">" + html_escape(v.reason) + "</p>\n</section>\n";
    page += "<table>\n";
    page += row("retry_after", "Retry-After given now",
                v.in.retry_after_seconds > 0 ? seconds_text(v.in.retry_after_seconds) : "none",
                std::to_string(v.in.retry_after_seconds));
    page += row("queue_waiting", "Submissions waiting to be calculated", count_text(v.in.queue_waiting),
                raw(v.in.queue_waiting));
    page += row("drain_per_second", "Calculated per second (last minute)", rate_text(v.in.drain_per_second), rate_raw);
    page += row("estimate", "A submission made now is calculated in", estimate_text(v), raw(v.estimated_seconds));
    page += row("submissions_today", "Submissions received today (UTC)", count_text(v.in.submissions_today),
                raw(v.in.submissions_today));
    page += row("declarations_today", "Declarations made today (UTC)", count_text(v.in.declarations_today),
                raw(v.in.declarations_today));
    page += "</table>\n<p><small>As of <time id=\"generated_at\">" + config::rfc3339_millis(v.in.now) +
            "</time>. This page refreshes itself every " + std::to_string(v.in.refresh_seconds) +
            " seconds where scripts run; otherwise reload it. Machine-readable: <a href=\"/status.json\">"
            "/status.json</a>.</small></p>\n";
    // The refresh: copies /status.json's words into the page. Failing fetches leave the page as it was.
    page +=
        "<script>\n(function(){\n"
        "var ids=['retry_after','queue_waiting','drain_per_second','estimate','submissions_today',"
        "'declarations_today'];\n"
        "var raw={retry_after:'retry_after_seconds',queue_waiting:'queue_waiting',"
        "drain_per_second:'drain_per_second',estimate:'estimated_seconds',submissions_today:'submissions_today',"
        "declarations_today:'declarations_today'};\n"
        "function show(s){\n"
        " document.getElementById('headline').textContent=s.headline;\n"
        " document.getElementById('reason').textContent=s.reason;\n"
        " document.getElementById('state').className=s.state;\n"
        " var m=document.getElementById('message');m.textContent=s.message;m.hidden=!s.message;\n"
        " ids.forEach(function(id){var e=document.getElementById(id);e.textContent=s.text[id];\n"
        "  var r=s[raw[id]];e.setAttribute('data-value',r===null?'':String(r));});\n"
        " document.getElementById('generated_at').textContent=s.generated_at;\n"
        " document.body.setAttribute('data-refreshed','1');\n}\n"
        "function refresh(){fetch('/status.json',{cache:'no-store'}).then(function(r){return r.json();})"
        ".then(show).catch(function(){});}\n"
        "refresh();setInterval(refresh," +
        std::to_string(v.in.refresh_seconds * 1000) + ");\n})();\n</script>\n</body>\n</html>\n";
    return page;
}

void drain_rate::add(clock::time_point at, std::int64_t drained_total) {
    // A total that goes down means the counts were reset (the streams recreated): start again.
    if (!samples_.empty() && drained_total < samples_.back().total) samples_.clear();
    samples_.push_back({at, drained_total});
    while (samples_.size() > 2 && samples_.front().at < at - window_) samples_.pop_front();
}

std::optional<double> drain_rate::per_second() const {
    if (samples_.size() < 2) return std::nullopt;
    const auto span = samples_.back().at - samples_.front().at;
    if (span < min_span) return std::nullopt;
    const double seconds = std::chrono::duration<double>(span).count();
    return static_cast<double>(samples_.back().total - samples_.front().total) / seconds;
}

}  // namespace sluice::gateway
