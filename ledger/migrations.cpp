// Applying the embedded migrations (see migrations.hpp). Blocking libpq on purpose: it runs once
// at start-up, before any io_context, and PQexec's simple-query protocol runs a whole migration
// file (many statements) as sent.
#include "ledger/migrations.hpp"

#include "config/digest.hpp"

#include "embedded/ledger_migration_0001.hpp"
#include "embedded/ledger_migration_0002.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <map>
#include <memory>

namespace sluice::ledger {

namespace {

struct connection_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using connection_ptr = std::unique_ptr<PGconn, connection_deleter>;
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

std::string sha256_hex(std::string_view text) { return config::to_hex(config::sha256(text)); }

std::string message_of(PGconn* c) {
    std::string m = PQerrorMessage(c);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
}

result_ptr exec(PGconn* c, const std::string& sql, const std::string& what) {
    result_ptr r(PQexec(c, sql.c_str()));
    const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw migration_error("ledger migrations: " + what + ": " + message_of(c));
    }
    return r;
}

result_ptr exec_params(PGconn* c, const std::string& sql, const std::vector<std::string>& params,
                       const std::string& what) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    result_ptr r(
        PQexecParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
    const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw migration_error("ledger migrations: " + what + ": " + message_of(c));
    }
    return r;
}

}  // namespace

const std::vector<migration>& migrations() {
    // One line per file of ledger/migrations/, in order (and one sluice_embed_lua in
    // CMakeLists.txt); a unit test checks that this list and the directory agree.
    static const std::vector<migration> all = {
        {1, "0001_system_of_record.sql", embedded::ledger_migration_0001},
        {2, "0002_final_calculation.sql", embedded::ledger_migration_0002},
    };
    return all;
}

migration_report apply_migrations(const std::string& conninfo, std::chrono::seconds connect_timeout) {
    const char* keywords[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const auto timeout = std::to_string(std::max<std::chrono::seconds::rep>(connect_timeout.count(), 1));
    const char* values[] = {conninfo.c_str(), timeout.c_str(), "sluice-migrations", nullptr};
    connection_ptr c(PQconnectdbParams(keywords, values, 1));  // expand_dbname: conninfo may be a URI
    if (!c || PQstatus(c.get()) != CONNECTION_OK) {
        throw migration_error("ledger migrations: cannot connect to PostgreSQL: " +
                              (c ? message_of(c.get()) : std::string("out of memory")));
    }
    exec(c.get(), "SET client_min_messages = warning", "session settings");
    exec(c.get(), "SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")", "taking the migration lock");

    exec(c.get(),
         "CREATE TABLE IF NOT EXISTS schema_migrations ("
         " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
         " applied_at timestamptz NOT NULL DEFAULT now())",
         "creating schema_migrations");
    std::map<int, std::string> applied;
    {
        const auto rows = exec(c.get(), "SELECT version, sha256 FROM schema_migrations", "reading schema_migrations");
        for (int i = 0; i < PQntuples(rows.get()); ++i) {
            applied[std::atoi(PQgetvalue(rows.get(), i, 0))] = PQgetvalue(rows.get(), i, 1);
        }
    }

    migration_report report;
    for (const auto& [version, checksum] : applied) {
        const auto known = std::find_if(migrations().begin(), migrations().end(),
                                        [v = version](const migration& m) { return m.version == v; });
        if (known == migrations().end()) {
            report.unknown.push_back(version);
        } else if (sha256_hex(known->sql) != checksum) {
            throw migration_error("ledger migrations: " + std::string(known->name) +
                                  " differs from the version applied to this database (SHA-256 " + checksum +
                                  "): a released migration must never be edited; add a new one instead");
        }
    }
    for (const auto& m : migrations()) {
        if (applied.contains(m.version)) continue;
        const std::string what = "applying " + std::string(m.name);
        exec(c.get(), "BEGIN", what);
        try {
            exec(c.get(), std::string(m.sql), what);
            exec_params(c.get(), "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                        {std::to_string(m.version), std::string(m.name), sha256_hex(m.sql)}, what);
            exec(c.get(), "COMMIT", what);
        } catch (...) {
            result_ptr ignored(PQexec(c.get(), "ROLLBACK"));
            throw;
        }
        report.applied.push_back(m.version);
        applied[m.version] = sha256_hex(m.sql);
    }
    report.version = applied.empty() ? 0 : applied.rbegin()->first;
    exec(c.get(), "SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")", "releasing the lock");
    return report;
}

}  // namespace sluice::ledger
