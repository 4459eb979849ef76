// The query string of the sign-off endpoints' GETs (internal to gateway/), pure: name=value pairs
// percent-decoded, `limit`, and the opaque cursors of the lists.
//
// A cursor is the sort key of the last row of a page and its id (keyset pagination: a page never
// skips or repeats a row however many are added meanwhile), hex-encoded so that clients treat it
// as opaque and it needs no escaping in a URL. read_cursor() accepts only what make_cursor() can
// produce (a microsecond timestamp and an id of printable characters), so a forged cursor is a 400,
// never a database error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::gateway::detail {

struct query_params {
    std::vector<std::pair<std::string, std::string>> params;  // in order, decoded
    std::string fault;                                        // non-empty: why the query is malformed

    // The value of `name`; nullopt when absent. A name given twice is a fault (see parse_query).
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    bool has(std::string_view name) const noexcept { return get(name).has_value(); }
};

// The query of a request target ("" when there is none). Faults: bad percent-encoding, a name
// given twice, a name not in `allowed`.
query_params parse_query(std::string_view target, const std::vector<std::string_view>& allowed);

inline constexpr std::uint32_t default_page_size = 20;
inline constexpr std::uint32_t max_page_size = 100;

// `limit`: absent -> default_page_size; 1 to max_page_size; else nullopt.
std::optional<std::uint32_t> read_limit(std::optional<std::string_view> text) noexcept;

// A sort key ("2026-03-31T23:58:12.345678", as ledger::key_time prints it) and an id.
std::string make_cursor(std::string_view sort_key, std::string_view id);
std::optional<std::pair<std::string, std::string>> read_cursor(std::string_view cursor);

// `limit` and `cursor` of a list query into `limit` and `after`; the detail of the 400
// invalid-query to answer when either is wrong, else nullopt.
std::optional<std::string> read_page(const query_params& q, std::uint32_t& limit,
                                     std::optional<std::pair<std::string, std::string>>& after);

}  // namespace sluice::gateway::detail
