// The keyset pagination of the lists (internal to ledger/): newest first by (time key, id), the
// rows after a cursor's (key, id), and one row more than a page so the caller knows whether
// another follows. Pure: it appends to a statement's SQL and parameters.
#pragma once

#include "ledger/client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::ledger::detail {

// Appends " AND (key, id) < (after) ORDER BY key DESC, id DESC LIMIT limit + 1" (the condition only
// with `after`; its key is a UTC timestamp as key_time prints it). `key` and `id` are column names.
inline void append_keyset_page(statement& s, std::string_view key, std::string_view id,
                               const std::optional<std::pair<std::string, std::string>>& after, std::uint32_t limit) {
    if (after) {
        s.params.push_back(after->first);
        s.params.push_back(after->second);
        const auto n = s.params.size();
        s.sql += " AND (" + std::string(key) + ", " + std::string(id) + ") < (($" + std::to_string(n - 1) +
                 "::timestamp AT TIME ZONE 'UTC'), $" + std::to_string(n) + ")";
    }
    s.params.push_back(std::to_string(limit + 1));
    s.sql += " ORDER BY " + std::string(key) + " DESC, " + std::string(id) + " DESC LIMIT $" +
             std::to_string(s.params.size()) + "::integer";
}

}  // namespace sluice::ledger::detail
