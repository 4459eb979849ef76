// Admission control (see admission_control.hpp).
#include "gateway/admission/admission_control.hpp"

namespace sluice::gateway {

using ratelimit::arrival_kind;
using ratelimit::submission_class;

admission_control::admission_control(admission_control_options options, clock::time_point now)
    : options_(options), limit_(options.limit, now), schedule_(options.schedule, now) {}

admission_ticket admission_control::decide(std::uint64_t request_hash, submission_class cls, clock::time_point now) {
    admission_ticket t;
    t.request_hash = request_hash;
    t.kind = schedule_.classify(request_hash, now);
    const bool due = t.kind == arrival_kind::due;
    const double share =
        due ? options_.due_share
            : (cls == submission_class::first ? 1.0 : options_.repeat_share) * schedule_.fresh_share(now);
    t.admitted = limit_.has_room(share);
    if (t.admitted) limit_.on_send();
    if (!t.admitted) {
        limit_.on_refused(now);
        t.retry_after = schedule_.on_shed(request_hash, t.kind, cls, now);
    }
    return t;
}

void admission_control::on_answered(const admission_ticket& t, std::chrono::nanoseconds round_trip,
                                    clock::time_point now) noexcept {
    limit_.on_reply(round_trip, now);
    schedule_.on_admitted(t.request_hash, t.kind, now);
}

}  // namespace sluice::gateway
