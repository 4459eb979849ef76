// The payment lines of a QOF statement (see payments.hpp).
#include "ledger/payments.hpp"

#include <boost/multiprecision/cpp_int.hpp>

#include <charconv>
#include <limits>

namespace sluice::ledger {

namespace {

using exact_integer = boost::multiprecision::cpp_int;

// n / d rounded half away from zero. Precondition: d > 0.
exact_integer divide_half_away(const exact_integer& n, const exact_integer& d) {
    if (n < 0) return -((2 * -n + d) / (2 * d));
    return (2 * n + d) / (2 * d);
}

std::optional<std::int64_t> integer_of(const std::optional<std::string>& text) {
    if (!text || text->empty()) return std::nullopt;
    std::int64_t value = 0;
    const auto* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

}  // namespace

statement previous_achievement(std::string_view practice, std::string_view previous_period) {
    // payment_gbp is numeric(15, 2): times 100 it is a whole number of pence, exactly. Once the
    // previous period is final, its final figure for that same submission (final_results of the
    // period's generation, as the statement shows it); until then the provisional one.
    return {
        "SELECT c.submission_id, c.status, "
        "(COALESCE(f.payment_gbp, c.payment_gbp) * 100)::bigint::text AS payment_pence "
        "FROM current_submissions c LEFT JOIN (final_results f JOIN period_finals pf "
        "ON pf.period = f.period AND pf.state = 'final' AND pf.generation = f.generation) "
        "ON f.period = c.period AND f.practice = c.practice AND f.scheme = c.scheme "
        "AND f.submission_id = c.submission_id "
        "WHERE c.practice = $1 AND c.period = $2 AND c.scheme = 'QOF'",
        {std::string(practice), std::string(previous_period)},
        "sluice_previous_achievement_final"};
}

std::optional<previous_achievement_row> previous_achievement_of(const result& r) {
    if (r.rows.empty()) return std::nullopt;
    previous_achievement_row row;
    row.submission_id = r.value(0, "submission_id").value_or("");
    row.status = r.value(0, "status").value_or("");
    if (row.status == "calculated") row.payment_pence = integer_of(r.value(0, "payment_pence"));
    return row;
}

std::int64_t annual_aspiration_pence(std::int64_t previous_achievement_pence, std::int64_t rate,
                                     std::int64_t pence_per_point, std::int64_t previous_pence_per_point) {
    const exact_integer numerator =
        exact_integer(previous_achievement_pence) * exact_integer(rate) * exact_integer(pence_per_point);
    const exact_integer denominator = exact_integer(rate_scale) * exact_integer(previous_pence_per_point);
    const exact_integer pence = divide_half_away(numerator, denominator);
    // Unreachable with a catalogue's figures (a numeric(15, 2) base, a rate <= 1, pounds per point
    // <= 100,000): saturate rather than wrap.
    constexpr auto most = std::numeric_limits<std::int64_t>::max(), least = std::numeric_limits<std::int64_t>::min();
    if (pence > most) return most;
    if (pence < least) return least;
    return pence.convert_to<std::int64_t>();
}

monthly_aspiration monthly_aspiration_of(std::int64_t annual_pence) {
    std::int64_t monthly = annual_pence / 12 + (annual_pence % 12 >= 6 ? 1 : 0);  // a twelfth, half up
    if (monthly > annual_pence / 11) monthly = annual_pence / 12;  // i.e. 11 x monthly > annual: round down
    return {monthly, annual_pence - 11 * monthly};
}

payment_lines payment_lines_of(const payment_inputs& in) {
    payment_lines out;
    out.based_on_period = in.previous_period;
    out.aspiration_rate = in.aspiration_rate;
    const std::string zero = "the " + in.period + " aspiration is 0.00: ";
    if (!in.aspiration_rate) {
        out.notes.push_back(zero + "the catalogue gives " + in.period + " no aspiration_rate");
    } else if (!in.previous) {
        // Decision 27.
        out.notes.push_back(zero + "the practice has no " + in.previous_period +
                            " QOF submission in the ledger, and the aspiration is a share of the previous "
                            "period's achievement (qof-reference.md §1.4)");
    } else if (in.previous->status != "calculated" || !in.previous->payment_pence) {
        out.based_on_submission = in.previous->submission_id;
        out.notes.push_back(zero + "the practice's current " + in.previous_period + " QOF submission " +
                            in.previous->submission_id + " was not calculated (" + in.previous->status +
                            "), so there is no achievement value to base it on");
    } else if (!in.previous_pence_per_point) {
        out.based_on_submission = in.previous->submission_id;
        out.based_on_pence = in.previous->payment_pence;
        out.notes.push_back(zero + "the catalogue has no period " + in.previous_period +
                            ", whose pounds per point the uprating needs");
    } else {
        out.based_on_submission = in.previous->submission_id;
        out.based_on_pence = in.previous->payment_pence;
        out.aspiration_pence = annual_aspiration_pence(*in.previous->payment_pence, *in.aspiration_rate,
                                                       in.pence_per_point, *in.previous_pence_per_point);
    }
    out.monthly = monthly_aspiration_of(out.aspiration_pence);

    // Decision 28.
    out.achievement_pence = in.achievement_pence;
    if (in.achievement_pence) {
        out.payment_due_pence = *in.achievement_pence - out.aspiration_pence;
        if (*out.payment_due_pence < 0)
            out.notes.push_back("the payment due is negative: the aspiration paid exceeds the " + in.period +
                                " achievement value, and the difference is recovered");
    } else {
        out.notes.push_back("no calculated " + in.period +
                            " QOF submission yet: the achievement value and the payment due follow once it is "
                            "calculated");
    }
    return out;
}

}  // namespace sluice::ledger
