// ledger.retention_days: how long the system of record keeps what it holds (API.md: answers stay
// available for the retention period, default 2,555 days, long after Redis let them go).
//
// purge_statements() removes, in one transaction: idempotency records past their expires_at;
// declarations declared more than retention_days ago; submissions received more than
// retention_days ago that no kept declaration refers to. At most `batch` rows of each per call, so
// a first purge of years of data runs as many short transactions, not one long one; call it
// again while purged() says rows were removed. The worker runs it periodically.
#pragma once

#include "ledger/client.hpp"

#include <cstdint>
#include <vector>

namespace sluice::ledger {

std::vector<statement> purge_statements(std::uint32_t retention_days, std::uint32_t batch = 10000);

struct purge_counts {
    std::uint64_t idempotency_records = 0;
    std::uint64_t declarations = 0;
    std::uint64_t submissions = 0;

    std::uint64_t total() const noexcept { return idempotency_records + declarations + submissions; }
};

// The counts from purge_statements()'s results.
purge_counts purged(const std::vector<result>& results) noexcept;

}  // namespace sluice::ledger
