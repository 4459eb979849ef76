// The ledger's schema as numbered SQL migrations (ledger/migrations/NNNN_name.sql, embedded at
// build time) and the one way they are applied: at start-up, under a PostgreSQL advisory lock.
//
// apply_migrations():
//   1. connects (blocking libpq: this runs before the process serves anything);
//   2. takes the session advisory lock migration_lock_key: a second process starting at the same
//      moment waits here, then finds everything applied and does nothing;
//   3. creates schema_migrations (version, name, sha256, applied_at) if missing;
//   4. checks that every applied migration this binary knows has the same SHA-256 as the
//      embedded text (an edited migration is an error: a released file is never changed);
//   5. applies each missing migration in order, each in its own transaction together with its
//      schema_migrations row, so a migration is applied entirely or not at all;
//   6. releases the lock (ending the session does too, so a crash never leaves it held).
// A database migrated by a newer binary (versions this one does not know) is accepted: the
// report says so, and migrations only ever add.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ledger {

struct migration {
    int version = 0;        // NNNN of the file name
    std::string_view name;  // the file name, "0001_system_of_record.sql"
    std::string_view sql;   // its text
};

// Every migration of this build, in version order.
const std::vector<migration>& migrations();

// pg_advisory_lock's key for migrations ("sluice" in ASCII).
inline constexpr std::int64_t migration_lock_key = 0x736c75696365;

struct migration_report {
    std::vector<int> applied;  // versions applied by this call, in order
    int version = 0;           // the highest version in the database afterwards
    std::vector<int> unknown;  // versions in the database this binary does not know (newer)
};

// Anything that stops the migration: no connection within connect_timeout, an edited migration,
// a failing migration (the message names the file and quotes PostgreSQL's error).
class migration_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Applies what is missing (see the top of this file). conninfo: a libpq URI or key=value string.
migration_report apply_migrations(const std::string& conninfo,
                                  std::chrono::seconds connect_timeout = std::chrono::seconds(10));

}  // namespace sluice::ledger
