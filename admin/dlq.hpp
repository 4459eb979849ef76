// sluice-admin's `dlq` command, the pure half: its command line and what it prints. The calls to
// Redis are queue/dead_letter.hpp's; main.cpp runs them.
//
//   sluice-admin [--config FILE] dlq list   [--shard N] [--limit N]
//   sluice-admin [--config FILE] dlq show   REF...
//   sluice-admin [--config FILE] dlq replay (REF... | --all [--shard N]) [--dry-run]
//   sluice-admin [--config FILE] dlq purge  (REF... | --all [--shard N]) [--dry-run]
//   sluice-admin [--config FILE] finalise --period P [--batch N]      (admin/finalise.hpp)
//
// REF is a submission id ("7-0123...") or SHARD/ID ("7/1711929492345-0"), queue/dead_letter.hpp's
// references. Exit codes (exit_code): 0 everything asked was done (or, with --dry-run, would be);
// 1 something named was not found, or a dead letter was not replayed (each line says why);
// 2 usage or configuration error; 3 Redis could not be reached or answered an error.
// finalise: 0 the period is final; 1 refused or not finished (it says why); 2 usage; 4 PostgreSQL.
#pragma once

#include "queue/dead_letter.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::admin {

inline constexpr int exit_done = 0;
inline constexpr int exit_not_done = 1;
inline constexpr int exit_usage = 2;  // config::exit_bad_configuration
inline constexpr int exit_redis = 3;
inline constexpr int exit_ledger = 4;

enum class admin_command { dlq, finalise };

enum class dlq_action { list, show, replay, purge };

struct dlq_request {
    dlq_action action = dlq_action::list;
    std::vector<std::string> references;  // show, replay, purge: as given
    bool all = false;                     // replay, purge: every dead letter (of --shard, or of all shards)
    std::optional<std::uint32_t> shard;   // list, and replay/purge --all: only this shard
    bool dry_run = false;                 // replay, purge
    std::size_t limit = 100;              // list: at most this many lines
};

struct finalise_request {
    std::string period;       // "2024-25"
    std::size_t batch = 500;  // submissions per page and per committed batch
};

struct admin_command_line {
    std::optional<std::string> config_file;
    bool help = false;
    admin_command command = admin_command::dlq;
    dlq_request dlq;
    finalise_request finalise;
};

// Parses argv (see the top of this file). Throws config::usage_error with the one line to show.
admin_command_line parse_admin_command_line(int argc, const char* const* argv);

std::string admin_usage(std::string_view program);

// --- what is printed ------------------------------------------------------------------------------

// One line per dead letter, under list_header(): reference, submission, practice, attempts,
// failed_at, and the reason clipped to one line of at most 100 characters.
std::string list_header();
std::string list_line(const queue::dead_letter& d);

// Every field of a dead letter, one "name: value" line each, the body last and whole.
std::string show_text(const queue::dead_letter& d);

// "7/1711929492345-0 (submission 7-...): requeued as 1711929999999-0" and the like; dry runs say
// "would be requeued" / "would be purged".
std::string replay_line(const queue::dead_letter& d, const queue::replay_result& r, bool dry_run);
std::string purge_line(const queue::dead_letter& d, bool removed, bool dry_run);

}  // namespace sluice::admin
