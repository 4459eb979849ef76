// sluice-admin dlq: command line and output (see dlq.hpp).
#include "admin/dlq.hpp"

#include "catalogue/catalogue.hpp"
#include "config/command_line.hpp"

#include <charconv>

namespace sluice::admin {

namespace {

using config::usage_error;

constexpr std::size_t reason_width = 100;

std::uint64_t whole(std::string_view flag, std::string_view text, std::uint64_t low, std::uint64_t high) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
        throw config::bad_value(flag, text,
                                "expected a whole number from " + std::to_string(low) + " to " + std::to_string(high));
    return value;
}

// One line: control characters (a reason quoting a body) shown as spaces, clipped.
std::string one_line(std::string_view text, std::size_t width) {
    std::string out;
    for (char c : text) {
        if (out.size() >= width) {
            out += "...";
            break;
        }
        out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
    return out;
}

std::string who(const queue::dead_letter& d) {
    return queue::reference_of(d) + " (submission " + (d.submission_id.empty() ? "?" : d.submission_id) + ")";
}

}  // namespace

admin_command_line parse_admin_command_line(int argc, const char* const* argv) {
    admin_command_line out;
    std::vector<std::string_view> words;
    for (int i = 1; i < argc; ++i) words.emplace_back(argv[i]);

    // Options take their value as the next word or after '='; each at most once.
    std::vector<std::string_view> seen;
    auto once = [&](std::string_view name) {
        for (auto s : seen)
            if (s == name) throw usage_error(std::string(name) + " is given twice");
        seen.push_back(name);
    };
    std::vector<std::string_view> bare;
    std::optional<std::string_view> shard_text, limit_text, period_text, batch_text;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const auto word = words[i];
        if (word == "--help" || word == "-h") {
            out.help = true;
            continue;
        }
        if (!word.starts_with("--")) {
            bare.push_back(word);
            continue;
        }
        const auto equals = word.find('=');
        const auto name = word.substr(0, equals);
        const bool valued =
            name == "--config" || name == "--shard" || name == "--limit" || name == "--period" || name == "--batch";
        if (!valued && name != "--all" && name != "--dry-run") throw usage_error("unknown option " + std::string(name));
        once(name);
        if (!valued) {
            if (equals != std::string_view::npos) throw usage_error(std::string(name) + " takes no value");
            if (name == "--all") out.dlq.all = true;
            if (name == "--dry-run") out.dlq.dry_run = true;
            continue;
        }
        std::string_view value;
        if (equals != std::string_view::npos) {
            value = word.substr(equals + 1);
        } else if (i + 1 < words.size()) {
            value = words[++i];
        }
        if (value.empty()) throw usage_error(std::string(name) + " needs a value");
        if (name == "--config") out.config_file = std::string(value);
        if (name == "--shard") shard_text = value;
        if (name == "--limit") limit_text = value;
        if (name == "--period") period_text = value;
        if (name == "--batch") batch_text = value;
    }
    if (out.help) return out;

    if (bare.empty()) throw usage_error("missing command: dlq or finalise (try --help)");
    if (bare[0] == "finalise") {
        out.command = admin_command::finalise;
        if (bare.size() > 1) throw usage_error("finalise takes no words, only --period and --batch");
        if (shard_text || limit_text || out.dlq.all || out.dlq.dry_run)
            throw usage_error("finalise takes only --period and --batch");
        if (!period_text) throw usage_error("finalise needs --period (a period of the catalogue: 2024-25)");
        if (!catalogue::is_period_name(*period_text))
            throw config::bad_value("--period", *period_text, "expected a period as YYYY-YY, e.g. 2024-25");
        out.finalise.period = std::string(*period_text);
        if (batch_text) out.finalise.batch = static_cast<std::size_t>(whole("--batch", *batch_text, 1, 10'000));
        return out;
    }
    if (period_text || batch_text) throw usage_error("--period and --batch go with finalise");
    if (bare[0] != "dlq") throw usage_error("unknown command \"" + std::string(bare[0]) + "\" (try --help)");
    if (bare.size() < 2) throw usage_error("dlq needs one of list, show, replay, purge");
    const auto action = bare[1];
    auto& r = out.dlq;
    if (action == "list")
        r.action = dlq_action::list;
    else if (action == "show")
        r.action = dlq_action::show;
    else if (action == "replay")
        r.action = dlq_action::replay;
    else if (action == "purge")
        r.action = dlq_action::purge;
    else
        throw usage_error("unknown dlq command \"" + std::string(action) + "\": expected list, show, replay or purge");
    for (std::size_t i = 2; i < bare.size(); ++i) r.references.emplace_back(bare[i]);

    // Shards are checked against redis.shards once the configuration is loaded.
    if (shard_text) r.shard = static_cast<std::uint32_t>(whole("--shard", *shard_text, 0, 16383));
    if (limit_text) r.limit = static_cast<std::size_t>(whole("--limit", *limit_text, 1, 1'000'000));

    const std::string verb(action);
    switch (r.action) {
    case dlq_action::list:
        if (!r.references.empty()) throw usage_error("dlq list takes no references (use dlq show)");
        if (r.all || r.dry_run) throw usage_error("dlq list takes only --shard and --limit");
        break;
    case dlq_action::show:
        if (r.references.empty()) throw usage_error("dlq show needs a reference: a submission id or SHARD/ID");
        if (r.all || r.dry_run || r.shard || limit_text) throw usage_error("dlq show takes only references");
        break;
    case dlq_action::replay:
    case dlq_action::purge:
        if (limit_text) throw usage_error("dlq " + verb + " takes no --limit");
        if (r.all == !r.references.empty())
            throw usage_error("dlq " + verb + " needs either references or --all (not both)");
        if (r.shard && !r.all) throw usage_error("--shard goes with --all (a reference names its shard)");
        break;
    }
    return out;
}

std::string admin_usage(std::string_view program) {
    const std::string p(program);
    return "usage: " + p + " [--config FILE] dlq list [--shard N] [--limit N]\n" +  //
           "       " + p + " [--config FILE] dlq show REF...\n" +                   //
           "       " + p + " [--config FILE] dlq replay (REF... | --all [--shard N]) [--dry-run]\n" + "       " + p +
           " [--config FILE] dlq purge (REF... | --all [--shard N]) [--dry-run]\n" + "       " + p +
           " [--config FILE] finalise --period P [--batch N]\n" +
           "\n"
           "Works the dead-letter streams sluice:{S}:dlq of the Redis that --config names (redis.url,\n"
           "redis.shards; SLUICE_* variables override the file as for the gateway).\n"
           "  list    the dead letters, oldest first, per shard (at most --limit lines, default 100)\n"
           "  show    every field of the named dead letters, the body whole\n"
           "  replay  queue them again, once: only a submission whose status is still failed is queued\n"
           "          (one calculated meanwhile is left alone); the dead letter is then removed\n"
           "  purge   remove them (the submission's status stays failed)\n"
           "REF: a submission id (7-0123...: its dead letters) or SHARD/ID (7/1711929492345-0: one).\n"
           "--dry-run decides as the real run would and writes nothing.\n"
           "Exit: 0 done; 1 something not found or not replayed; 2 usage or configuration; 3 Redis.\n"
           "\n"
           "finalise: the year-end calculation of period P in PostgreSQL (ledger.url; catalogue.dir):\n"
           "national prevalence per prevalence-adjusted group from every practice's current QOF\n"
           "submission, then every current submission recalculated with it into final_results, in\n"
           "batches of --batch (default 500). Safe to run again: it resumes an interrupted run,\n"
           "and after a later submission it recomputes. Exit: 0 the period is final; 1 refused or\n"
           "not finished (it says why); 2 usage or configuration; 4 PostgreSQL.\n";
}

std::string list_header() { return "REFERENCE\tSUBMISSION\tPRACTICE\tATTEMPTS\tFAILED_AT\tREASON\n"; }

std::string list_line(const queue::dead_letter& d) {
    auto field = [](const std::string& v) { return v.empty() ? std::string("-") : one_line(v, 80); };
    return queue::reference_of(d) + "\t" + field(d.submission_id) + "\t" + field(d.practice) + "\t" +
           field(d.attempts) + "\t" + field(d.failed_at) + "\t" + one_line(d.reason, reason_width) + "\n";
}

std::string show_text(const queue::dead_letter& d) {
    std::string out;
    auto line = [&](std::string_view name, const std::string& value) {
        out += name;
        out += ": ";
        out += value;
        out += '\n';
    };
    line("reference", queue::reference_of(d));
    line("submission_id", d.submission_id);
    line("practice", d.practice);
    line("received_at", d.received_at);
    line("content_sha256", d.sha256);
    line("idempotency_key", d.idempotency_key);
    line("queue_entry_id", d.queue_entry_id);
    line("attempts", d.attempts);
    line("failed_at", d.failed_at);
    line("reason", d.reason);
    line("body", d.body);
    return out;
}

std::string replay_line(const queue::dead_letter& d, const queue::replay_result& r, bool dry_run) {
    using queue::replay_outcome;
    std::string out = who(d) + ": ";
    switch (r.outcome) {
    case replay_outcome::requeued:
        out += dry_run ? "would be requeued" : "requeued as queue entry " + r.new_entry_id;
        break;
    case replay_outcome::not_found: out += "not found (purged or replayed meanwhile)"; break;
    case replay_outcome::missing_record:
        out += "not replayed: its status record has expired (idempotency.ttl_seconds); purge it";
        break;
    case replay_outcome::already_calculated:
        out += "not replayed: the submission was calculated meanwhile; purge the dead letter";
        break;
    case replay_outcome::not_failed:
        out += "not replayed: the submission is " + r.status + " already (replayed before)";
        break;
    case replay_outcome::no_submission_id:
        out += "not replayed: the dead letter has no valid submission id of its shard; purge it";
        break;
    }
    return out + "\n";
}

std::string purge_line(const queue::dead_letter& d, bool removed, bool dry_run) {
    if (!removed) return who(d) + ": not found (purged or replayed meanwhile)\n";
    return who(d) + (dry_run ? ": would be purged\n" : ": purged\n");
}

}  // namespace sluice::admin
