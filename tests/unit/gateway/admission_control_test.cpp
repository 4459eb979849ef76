// Unit tests of gateway/admission/admission_control.hpp: a simulated surge against a simulated server that
// serves one call at a time, with clients that honour Retry-After exactly. Time is injected, so
// the whole surge runs in milliseconds and the figures are exact, not timing-dependent.
//
// What must hold: every submission is admitted (none starves), in about the time the server needs
// for all of them (the retries arrive no faster than capacity), almost every client is refused at
// most once, and first submissions go before repeat ones.
#include "gateway/admission/admission_control.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

namespace sluice::gateway {
namespace {

using namespace std::chrono_literals;
using clock = admission_control::clock;
using ratelimit::submission_class;

struct client {
    submission_class cls = submission_class::first;
    bool comes_back = true;  // false: refused, it never returns (a probe, a client sent elsewhere)
    clock::time_point next_try{};
    int attempts = 0;
    bool admitted = false;
    clock::time_point admitted_at{};
};

struct surge_result {
    std::size_t admitted = 0;
    clock::duration last_admission{};
    int max_attempts = 0;
    std::size_t refused_more_than_once = 0;
    std::map<int, std::size_t> retry_after_given;  // Retry-After -> how many times
};

// `clients` arrive evenly over `arrival_span`; the server takes `service` per call, one at a time.
surge_result run_surge(std::vector<client>& clients, clock::duration arrival_span, clock::duration service,
                       clock::duration step = 100us, admission_control_options options = {}) {
    const auto t0 = clock::time_point() + 10'000s;
    options.limit.target_delay = 20ms;
    admission_control control(options, t0);

    struct call {
        std::size_t client;
        admission_ticket ticket;
        clock::time_point sent;
    };
    std::deque<call> server;
    clock::time_point service_free = t0;
    for (std::size_t i = 0; i < clients.size(); ++i)
        clients[i].next_try = t0 + arrival_span * static_cast<long>(i) / static_cast<long>(clients.size());

    surge_result result;
    std::size_t done = 0;
    // Clients in order of their next try (a simple scan of a sorted queue is enough at this scale).
    std::multimap<clock::time_point, std::size_t> waiting;
    for (std::size_t i = 0; i < clients.size(); ++i) waiting.emplace(clients[i].next_try, i);

    for (auto now = t0; done < clients.size() && now < t0 + 600s; now += step) {
        while (!waiting.empty() && waiting.begin()->first <= now) {
            const auto i = waiting.begin()->second;
            waiting.erase(waiting.begin());
            auto& c = clients[i];
            ++c.attempts;
            const auto ticket = control.decide(1'000'003ull * (i + 1), c.cls, now);
            if (ticket.admitted) {
                server.push_back({i, ticket, now});
            } else if (c.comes_back) {
                ++result.retry_after_given[ticket.retry_after];
                waiting.emplace(now + std::chrono::seconds(ticket.retry_after), i);
            } else {
                ++done;
            }
        }
        while (!server.empty() && service_free + service <= now) {
            const auto finished = server.front();
            server.pop_front();
            service_free = now;
            control.on_answered(finished.ticket, now - finished.sent, now);
            auto& c = clients[finished.client];
            c.admitted = true;
            c.admitted_at = now;
            ++done;
            result.last_admission = now - t0;
        }
        if (server.empty()) service_free = now;
    }
    for (const auto& c : clients) {
        if (c.admitted || !c.comes_back) ++result.admitted;
        result.max_attempts = std::max(result.max_attempts, c.attempts);
        if (c.attempts > 2) ++result.refused_more_than_once;
    }
    return result;
}

TEST(admission_control, admits_all_below_capacity_at_the_first_attempt) {
    std::vector<client> clients(5'000);  // 500/s for 10 s against 1,000/s
    const auto r = run_surge(clients, 10s, 1ms);
    EXPECT_EQ(r.admitted, clients.size());
    EXPECT_EQ(r.max_attempts, 1);
}

TEST(admission_control, a_surge_at_twice_capacity_is_cleared_at_capacity_and_nobody_starves) {
    std::vector<client> clients(20'000);  // 2,000/s for 10 s against 1,000/s
    const auto r = run_surge(clients, 10s, 1ms);
    EXPECT_EQ(r.admitted, clients.size());
    // The server needs 20 s for them all; retries coming back no faster than it serves keep it
    // busy, so the surge clears in little more than that (goodput >= 0.85 of capacity).
    EXPECT_LT(r.last_admission, 23500ms) << std::chrono::duration<double>(r.last_admission).count() << " s";
    // A client that honours Retry-After is refused once, then served at its time: a few are
    // refused twice (the capacity estimate is a measurement), none many times.
    EXPECT_LE(r.max_attempts, 6);  // the polite clients of sluice-loadtest give up after 8
    EXPECT_LT(r.refused_more_than_once, clients.size() / 20);
    // Retry-After grows with the backlog: from 1 s up to about the 10 s the surge leaves behind.
    EXPECT_EQ(r.retry_after_given.begin()->first, 1);
    EXPECT_GE(r.retry_after_given.rbegin()->first, 8);
    EXPECT_LE(r.retry_after_given.rbegin()->first, 14);
}

TEST(admission_control, a_surge_at_three_times_capacity_is_cleared_too) {
    std::vector<client> clients(15'000);  // 3,000/s for 5 s against 1,000/s
    const auto r = run_surge(clients, 5s, 1ms);
    EXPECT_EQ(r.admitted, clients.size());
    EXPECT_LT(r.last_admission, 18000ms) << std::chrono::duration<double>(r.last_admission).count() << " s";
    EXPECT_LT(r.refused_more_than_once, clients.size() / 10);
}

TEST(admission_control, first_submissions_go_before_repeat_ones) {
    // Half the clients are practices submitting again, arriving mixed with the others at twice the
    // capacity. A first submission waits for its admission much less than a repeat one; and the
    // repeats are not starved either.
    std::vector<client> clients(12'000);
    for (std::size_t i = 0; i < clients.size(); i += 2) clients[i].cls = submission_class::repeat;
    std::vector<clock::time_point> arrival(clients.size());
    const auto r = run_surge(clients, 6s, 1ms);
    EXPECT_EQ(r.admitted, clients.size());
    double first_wait = 0, repeat_wait = 0;
    const auto t0 = clock::time_point() + 10'000s;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        const auto arrived = t0 + 6s * static_cast<long>(i) / static_cast<long>(clients.size());
        const double wait = std::chrono::duration<double>(clients[i].admitted_at - arrived).count();
        (clients[i].cls == submission_class::first ? first_wait : repeat_wait) += wait;
    }
    first_wait /= static_cast<double>(clients.size() / 2);
    repeat_wait /= static_cast<double>(clients.size() / 2);
    EXPECT_LT(first_wait * 2, repeat_wait) << "mean wait: first " << first_wait << " s, repeat " << repeat_wait << " s";
}

TEST(admission_control, clients_that_never_come_back_do_not_leave_the_server_idle) {
    // A gateway started into a surge at twice its capacity where half the clients refused never
    // come back (behind a load balancer their retries land on another gateway; a probe ignores
    // Retry-After). The bookings they leave must not push the others out while the server idles:
    // the server can serve every client who comes back within the surge and a second after it.
    std::vector<client> clients(20'000);
    for (std::size_t i = 0; i < clients.size(); i += 2) clients[i].comes_back = false;
    admission_control_options options;
    options.schedule.capacity_floor = 1000;
    const auto r = run_surge(clients, 10s, 1ms, 100us, options);
    EXPECT_EQ(r.admitted, clients.size());
    // Measured: 11.0 s (the retries that do come back go first, at capacity); 19.9 s before the
    // schedule measured its show rate (their phantoms held the room in the seconds after the surge).
    EXPECT_LT(r.last_admission, 13000ms) << std::chrono::duration<double>(r.last_admission).count() << " s";
}

}  // namespace
}  // namespace sluice::gateway
