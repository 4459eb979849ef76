// See dispatch.hpp.
#include "loadtest/detail/dispatch.hpp"

#include <algorithm>
#include <utility>

namespace sluice::loadtest::detail {

namespace {

struct later_first {  // std::push_heap's "less": the heap's front is the earliest
    bool operator()(const pending& a, const pending& b) const noexcept {
        return a.intended != b.intended ? a.intended > b.intended : a.order > b.order;
    }
};

}  // namespace

void dispatcher::begin_phase(std::uint64_t first, std::uint64_t end, steady_time origin) {
    origin_ = origin;
    next_arrival_ = first + (index_ + threads_ - first % threads_) % threads_;
    phase_end_ = end;
    if (next_arrival_ < phase_end_) next_arrival_time_ = origin_ + plan_.send_time(next_arrival_);
    if (stopping_) next_arrival_ = phase_end_;
}

std::optional<dispatcher::due> dispatcher::take_due(steady_time now) {
    const bool arrival_due = next_arrival_ < phase_end_ && next_arrival_time_ <= now;
    const bool queued_due = !queue_.empty() && queue_.front().intended <= now;
    if (queued_due && (!arrival_due || queue_.front().intended <= next_arrival_time_)) {
        std::pop_heap(queue_.begin(), queue_.end(), later_first{});
        const pending request = queue_.back();
        queue_.pop_back();
        return due{request, false};
    }
    if (!arrival_due) return std::nullopt;
    const due arrival{{next_arrival_time_, order_++, next_arrival_, 0, 1, false}, true};
    next_arrival_ += threads_;
    if (next_arrival_ < phase_end_) next_arrival_time_ = origin_ + plan_.send_time(next_arrival_);
    return arrival;
}

void dispatcher::push(steady_time intended, std::uint64_t submission, std::uint8_t copy, std::uint16_t attempt,
                      bool retry) {
    queue_.push_back({intended, order_++, submission, copy, attempt, retry});
    std::push_heap(queue_.begin(), queue_.end(), later_first{});
}

std::vector<pending> dispatcher::stop() {
    stopping_ = true;
    next_arrival_ = phase_end_;
    return std::exchange(queue_, {});
}

steady_time dispatcher::next_due() const noexcept {
    auto next = steady_time::max();
    if (next_arrival_ < phase_end_) next = next_arrival_time_;
    if (!queue_.empty()) next = std::min(next, queue_.front().intended);
    return next;
}

std::optional<steady_time> dispatcher::arm(steady_time now) {
    const auto next = next_due();
    if (next == steady_time::max() || next <= now) return std::nullopt;
    const auto wake = std::max(next, last_wake_ + dispatch_granularity);
    if (armed_ && armed_at_ <= wake) return std::nullopt;  // an earlier wake-up is on its way
    armed_ = true;
    armed_at_ = wake;
    return wake;
}

}  // namespace sluice::loadtest::detail
