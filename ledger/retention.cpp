// Purging what is older than ledger.retention_days (see retention.hpp).
#include "ledger/retention.hpp"

#include <string>

namespace sluice::ledger {

std::vector<statement> purge_statements(std::uint32_t retention_days, std::uint32_t batch) {
    const std::string days = std::to_string(retention_days);
    const std::string limit = std::to_string(batch);
    return {
        {"DELETE FROM idempotency_records WHERE ctid IN "
         "(SELECT ctid FROM idempotency_records WHERE expires_at < now() LIMIT $1::integer)",
         {limit},
         {}},
        {"DELETE FROM declarations WHERE ctid IN (SELECT ctid FROM declarations "
         "WHERE declared_at < now() - make_interval(days => $1::integer) LIMIT $2::integer)",
         {days, limit},
         {}},
        {"DELETE FROM submissions WHERE ctid IN (SELECT s.ctid FROM submissions s "
         "WHERE s.received_at < now() - make_interval(days => $1::integer) "
         "AND NOT EXISTS (SELECT 1 FROM declarations d WHERE d.submission_id = s.submission_id) "
         "LIMIT $2::integer)",
         {days, limit},
         {}},
    };
}

purge_counts purged(const std::vector<result>& results) noexcept {
    purge_counts counts;
    if (results.size() == 3) {
        counts.idempotency_records = results[0].affected;
        counts.declarations = results[1].affected;
        counts.submissions = results[2].affected;
    }
    return counts;
}

}  // namespace sluice::ledger
