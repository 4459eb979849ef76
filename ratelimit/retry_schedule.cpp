// The retry schedule (see retry_schedule.hpp).
#include "ratelimit/retry_schedule.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice::ratelimit {

namespace {

// Ways of the shed-request memory: a request lives in one of 4 neighbouring entries.
constexpr std::uint32_t memory_ways = 4;

// The caller's hash may be weak in some bits: mix it (the finaliser of MurmurHash3's 64-bit variant).
std::uint64_t mixed(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

std::uint32_t tag_of(std::uint64_t hash) noexcept {
    return static_cast<std::uint32_t>(hash >> 32) | 1u;  // never 0, which means empty
}

}  // namespace

retry_schedule::retry_schedule(retry_schedule_options options, clock::time_point now)
    : options_(options), start_(now) {
    options_.horizon_seconds = std::max<std::uint32_t>(2, options_.horizon_seconds);
    options_.capacity_floor = std::max(1.0, options_.capacity_floor);
    slots_.resize((options_.horizon_seconds + 2) * ticks_per_second);
    const auto size = std::bit_ceil(std::max<std::uint32_t>(memory_ways, options_.remembered));
    memory_.resize(size);
    memory_mask_ = size - 1;
    now_tick_ = tick_of(now);
}

std::uint32_t retry_schedule::tick_of(clock::time_point t) const noexcept {
    if (t < start_) return 1;
    return 1 + static_cast<std::uint32_t>((t - start_) / tick);
}

void retry_schedule::advance(clock::time_point now) noexcept {
    const auto t = tick_of(now);
    into_tick_ = now < start_ ? clock::duration{} : (now - start_) % tick;
    if (t <= now_tick_) return;
    const auto second = (t - 1) / ticks_per_second;  // ticks count from 1
    for (auto sec = per_second_at_ + 1; sec <= second && sec <= per_second_at_ + remembered_seconds; ++sec)
        per_second_[sec % remembered_seconds] = 0;
    for (auto sec = per_second_at_ + 1; sec <= second && sec <= per_second_at_ + show_seconds; ++sec)
        came_due_[sec % show_seconds] = shows_[sec % show_seconds] = 0;
    per_second_at_ = std::max(per_second_at_, second);
    // The ticks reached now: their bookings are due, and count for the show rate in their second
    // (if it is still remembered).
    const std::uint32_t remembered_ticks = show_seconds * ticks_per_second;
    for (auto b = std::max(now_tick_ + 1, t > remembered_ticks ? t - remembered_ticks : 1u);
         b <= t; ++b) {
        const auto& s = slots_[b % slots_.size()];
        if (s.tick == b) came_due_[((b - 1) / ticks_per_second) % show_seconds] += s.given;
    }
    // Buckets passed over had no admissions.
    for (std::uint32_t b = now_tick_ + 1; b <= t && b <= now_tick_ + bucket_count; ++b) admitted_[b % bucket_count] = 0;
    now_tick_ = t;
}

retry_schedule::slot& retry_schedule::slot_for(std::uint32_t t) noexcept {
    auto& s = slots_[t % slots_.size()];
    if (s.tick != t) s = {t, 0};  // a stale slot from an earlier lap
    return s;
}

double retry_schedule::capacity(clock::time_point now) noexcept {
    advance(now);
    auto sum = [&](std::uint32_t ticks) {
        double total = 0;
        for (std::uint32_t back = 1; back <= ticks && back < now_tick_; ++back)
            total += admitted_[(now_tick_ - back) % bucket_count];
        return total;
    };
    const double short_rate = sum(ticks_per_second / 5) * 5.0;  // 200 ms
    const double long_rate = sum(ticks_per_second);              // 1 s
    const double recent_rate = (sum(4) + admitted_[now_tick_ % bucket_count]) /
                               std::chrono::duration<double>(4 * tick + into_tick_).count();
    std::uint32_t best_second = 0;
    for (std::size_t i = 0; i < remembered_seconds; ++i)
        if (i != per_second_at_ % remembered_seconds) best_second = std::max(best_second, per_second_[i]);
    return std::max({options_.capacity_floor, short_rate, long_rate, recent_rate, static_cast<double>(best_second)});
}

std::uint32_t retry_schedule::due_this_tick(clock::time_point now) noexcept {
    advance(now);
    return slot_for(now_tick_).given;
}

std::uint32_t retry_schedule::backlog_seconds(clock::time_point now) noexcept {
    advance(now);
    return last_given_ > now_tick_ ? (last_given_ - now_tick_ + ticks_per_second - 1) / ticks_per_second : 0;
}

const retry_schedule::memory* retry_schedule::find(std::uint64_t request_hash) const noexcept {
    request_hash = mixed(request_hash);
    const auto tag = tag_of(request_hash);
    const auto base = static_cast<std::uint32_t>(request_hash) & memory_mask_ & ~(memory_ways - 1);
    for (std::uint32_t i = 0; i < memory_ways; ++i) {
        const auto& m = memory_[base + i];
        if (m.tag == tag) return &m;
    }
    return nullptr;
}

void retry_schedule::remember(std::uint64_t request_hash, std::uint32_t t) noexcept {
    request_hash = mixed(request_hash);
    const auto tag = tag_of(request_hash);
    const auto base = static_cast<std::uint32_t>(request_hash) & memory_mask_ & ~(memory_ways - 1);
    memory* victim = &memory_[base];
    for (std::uint32_t i = 0; i < memory_ways; ++i) {
        auto& m = memory_[base + i];
        if (m.tag == tag || m.tag == 0) {
            victim = &m;
            break;
        }
        if (m.tick < victim->tick) victim = &m;  // the oldest time goes first
    }
    *victim = {tag, t};
}

void retry_schedule::forget(std::uint64_t request_hash) noexcept {
    if (const auto* m = find(request_hash)) *const_cast<memory*>(m) = {};
}

arrival_kind retry_schedule::classify(std::uint64_t request_hash, clock::time_point now) noexcept {
    const auto* m = find(request_hash);
    if (m == nullptr) return arrival_kind::fresh;
    advance(now);
    if (now_tick_ < m->tick) return arrival_kind::early;
    if (now_tick_ > m->tick + options_.remember_seconds * ticks_per_second) return arrival_kind::fresh;
    // Counted in the second it was booked for, which is still remembered when it is this one or
    // one of the show_seconds - 1 before.
    const auto booked = (m->tick - 1) / ticks_per_second;
    if (booked + show_seconds > per_second_at_) ++shows_[booked % show_seconds];
    return arrival_kind::due;
}

// The bookings for the seconds from six to two ago against those of them that came back: the
// current and the last second are left out, as their clients may still come (late, with the
// jitter they add to Retry-After).
double retry_schedule::show_rate() const noexcept {
    double came = 0;
    double shows = 0;
    for (std::uint32_t back = 2; back < show_seconds - 1 && back <= per_second_at_; ++back) {
        shows += shows_[(per_second_at_ - back) % show_seconds];
        came += came_due_[(per_second_at_ - back) % show_seconds];
    }
    constexpr double enough = 50;  // bookings passed before the rate is believed
    if (came < enough) return 1.0;
    return std::clamp(shows / came, 0.25, 1.0);
}

double retry_schedule::fresh_share(clock::time_point now) noexcept {
    const auto room = room_per_tick(capacity(now));  // advances to now
    const auto due = slot_for(now_tick_).given;
    if (due == 0) return 1.0;
    return std::clamp(1.0 - due * show_rate() / room, 0.0, 1.0);
}

void retry_schedule::on_admitted(std::uint64_t request_hash, arrival_kind kind, clock::time_point now) noexcept {
    advance(now);
    ++admitted_[now_tick_ % bucket_count];
    ++per_second_[per_second_at_ % remembered_seconds];
    if (kind != arrival_kind::fresh) forget(request_hash);
}

// A client shed in tick T comes back in T + 100 k: among those ticks, the first with room. The scan
// resumes at a cursor per offset within the second: every tick of that offset from the next second
// up to the cursor is known to be full at this room (a larger room opens them again; a smaller
// one keeps them full).
std::uint32_t retry_schedule::first_second_with_room(std::uint32_t from_second, std::uint32_t room) noexcept {
    const auto offset = now_tick_ % ticks_per_second;
    auto& cursor = cursor_tick_[offset];
    auto& cursor_budget = cursor_budget_[offset];
    const auto next = now_tick_ + ticks_per_second;
    if (room > cursor_budget || cursor < next) cursor = next;
    cursor_budget = room;
    const auto from = now_tick_ + from_second * ticks_per_second;
    const bool resumable = from <= cursor;
    const auto last = now_tick_ + options_.horizon_seconds * ticks_per_second;
    auto t = resumable ? cursor : from;
    while (t < last && slot_for(t).given >= room) t += ticks_per_second;
    if (resumable) cursor = t;
    return (t - now_tick_) / ticks_per_second;
}

// The capacity spread over the second's ticks so that they add up to it: tick i of the second gets
// floor((i + 1) c / n) - floor(i c / n), but at least 1.
std::uint32_t retry_schedule::room_per_tick(double c) const noexcept {
    const auto i = static_cast<double>(now_tick_ % ticks_per_second);
    const auto n = static_cast<double>(ticks_per_second);
    const auto room = std::floor((i + 1) * c / n) - std::floor(i * c / n);
    return static_cast<std::uint32_t>(std::max(1.0, room));
}

int retry_schedule::on_shed(std::uint64_t request_hash, arrival_kind kind, submission_class cls,
                            clock::time_point now) noexcept {
    const auto room = static_cast<std::uint32_t>(std::ceil(room_per_tick(capacity(now)) / show_rate()));
    if (kind == arrival_kind::early) {
        if (const auto* m = find(request_hash); m != nullptr && m->tick > now_tick_) {
            const auto seconds = (m->tick - now_tick_ + ticks_per_second - 1) / ticks_per_second;
            return static_cast<int>(std::clamp<std::uint32_t>(seconds, 1, options_.horizon_seconds));
        }
    }
    std::uint32_t from = 1;
    if (cls == submission_class::repeat && kind != arrival_kind::due && first_horizon_ > now_tick_)
        from = (first_horizon_ - now_tick_) / ticks_per_second + 1;
    const auto k = std::min(first_second_with_room(from, room), options_.horizon_seconds);
    const auto t = now_tick_ + k * ticks_per_second;
    ++slot_for(t).given;
    if (cls == submission_class::first || kind == arrival_kind::due) first_horizon_ = std::max(first_horizon_, t);
    last_given_ = std::max(last_given_, t);
    remember(request_hash, t);
    return static_cast<int>(k);
}

}  // namespace sluice::ratelimit
