// The practices this gateway has seen admitted (a 202, or a replay of one), for fairness while
// shedding: a practice with nothing in goes before one submitting again (admission_control.hpp).
//
// One bit per possible ODS practice code (a letter A-Z and five digits: 2.6 million codes, 325 KB),
// shared by every gateway thread: inserting is an atomic OR, looking up an atomic load, relaxed
// (a thread seeing an insert a little late only delays a practice's move to the "repeat" class).
// Codes that are not of that form are never members. Knowledge is local to this process and
// lasts until it stops: the deadline night has one open period, and what matters is "has this
// practice got anything in", not which period.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace sluice::gateway {

class practice_set {
public:
    static constexpr std::size_t capacity = 26 * 100'000;

    practice_set() : words_(std::make_unique<std::atomic<std::uint64_t>[]>(capacity / 64 + 1)) {}

    // A81001 -> 0 * 100000 + 81001; nullopt for anything else.
    static std::optional<std::uint32_t> index_of(std::string_view code) noexcept {
        if (code.size() != 6 || code[0] < 'A' || code[0] > 'Z') return std::nullopt;
        std::uint32_t n = 0;
        for (std::size_t i = 1; i < 6; ++i) {
            if (code[i] < '0' || code[i] > '9') return std::nullopt;
            n = n * 10 + static_cast<std::uint32_t>(code[i] - '0');
        }
        return static_cast<std::uint32_t>(code[0] - 'A') * 100'000 + n;
    }

    void insert(std::string_view code) noexcept {
        if (const auto i = index_of(code)) words_[*i / 64].fetch_or(bit(*i), std::memory_order_relaxed);
    }

    bool contains(std::string_view code) const noexcept {
        const auto i = index_of(code);
        return i && (words_[*i / 64].load(std::memory_order_relaxed) & bit(*i)) != 0;
    }

private:
    static std::uint64_t bit(std::uint32_t i) noexcept { return std::uint64_t{1} << (i % 64); }

    std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

}  // namespace sluice::gateway
