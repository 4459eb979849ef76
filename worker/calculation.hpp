// The QOF and enhanced-service calculation: a validated submission and its period's catalogue in,
// points and payments out, with notes that say every assumption the figures rest on.
//
// Pure: no I/O, no clock, no globals, no exceptions except std::bad_alloc. Deterministic: the same
// submission and catalogue give the same result, and result_json the same bytes, on every run and
// machine (integer arithmetic only; indicators and services in body order; notes in the order met).
// Where and how figures are rounded is stated once, in worker/rounding.hpp.
//
// The rules, numbered (reference: shared data/README.md, qof-reference.md §1.2-1.3, and the control
// table INDICATOR_REFERENCE_CONTROL.csv [V], whose flags the catalogue carries per group):
//   R1. achievement = numerator / denominator (PCAs already excluded) (data/README.md "Rules").
//   R2. points = 0 at or below the lower threshold, the maximum at or above the upper, linear in
//       between; register indicators all or nothing (register > 0); yes/no (QI) all or nothing
//       (§1.2; data/README.md "Rules").
//   R3. zero register: a group the catalogue flags zero_register_flag (the control table's
//       ZERO_REGISTER_FLAG = 1: the 20 groups with a register indicator, PC excepted) whose
//       register is 0 earns no points on any of its indicators (§1.2: REVISED_MAX_POINTS = 635 −
//       Σ points of groups with zero register [V: ZERO_REGISTER_FLAG]; 2024/25 guidance "QOF
//       points will not be earnable" [S]). No other group is touched (decision 3).
//   R4. payment = points x pounds per point x CPI [x APDF], CPI = list size / national average
//       list size, APDF = (register / list size) / national prevalence, for the groups the
//       catalogue marks prevalence_adjusted only: not QI and not the control table's
//       NO_PREVALENCE_FLAG = 1 groups (BP, CHOL, CS, SMOK, VI) (§1.3; the whole list, §1.1);
//       CHOL by decision 14.
//   R6. final national prevalence (a finalised period): national_prev_g = Σ Register_g / Σ list
//       size over the period's practices (§1.3 "APDF — current definition" [S]; the two-pass
//       batch it describes), carried exactly as that fraction (catalogue qof_group
//       final_national_prevalence, set only by sluice-admin finalise) and used in R4's APDF
//       without rounding: payment = points x ppp x list/NAL x (register/list) / (ΣR/ΣL). With it the
//       decision 5 notes (no national prevalence, estimate: provisional) do not arise.
//   R5. enhanced services: items paid x fee per item; an item with a cap_register in the
//       catalogue is paid up to that register's size: LDHC £140 a completed check, "capped at the
//       register size" (data/README.md "Enhanced services 2024-25"), the LD register (decision 9).
//   R7. income protection (qof-reference.md §1.2 last bullet [S]; the 2024-25 list, §2 [D]): an
//       indicator the period's catalogue marks income_protected earns the practice's points for it
//       in the catalogue's income_protection_period (2024-25: 2023-24), "practices cannot drop
//       below that level but equally they cannot rise above it" [S]: points = the protected points,
//       whatever this submission's achievement would earn (that figure is still shown in a note);
//       R3's zero-register rule does not remove them. Pounds are recomputed by R4 with THIS
//       period's pounds per point, CPI and APDF ("income protection may vary with prevalence and
//       list size" [S]). The protected points are an input (calculation_inputs), read by the
//       worker from the practice's current calculated QOF submission of that period in the ledger
//       (ledger/protection.hpp); decisions 8 and 20-23 say what happens when they are missing.
//   R8. aspiration and achievement payments (§1.4 [S]), a practice's year rather than one
//       submission, so not in calculate(): ledger/payments.hpp, shown on the statement. Annual
//       aspiration(y) = rate(y) x achievement value(y-1) x pounds per point(y) / pounds per point(y-1)
//       ("a percentage of the previous year's achievement, uprated to the current point value";
//       the point value has tracked the national average list size since 2016/17, §0 [D]), rate =
//       the catalogue's aspiration_rate: 70% until 2023-24, 80% for 2024-25 (§0, §1.4 [S]); paid
//       monthly, a twelfth each (§1.4 [S]). Payment due(y) = TotalAchievementValue(y) - the aspiration
//       paid for y, negative = recovery (§1.4 [S], PCSE). Decisions 25-29.
//
// Decisions where the rules are silent (each has a test):
//   1. Yes/no (QI) indicators: the submission carries them as qof items; yes is numerator > 0
//      (a practice system sends 1/1 for yes, 0/1 for no), which earns the maximum; no earns 0.
//   2. Register indicators: the register size is the submission's `registers` entry for the
//      indicator's group (the only place a body carries one); the item's numerator and denominator
//      do not decide the points. Size > 0: the maximum. Size 0 or no entry: 0 points, with a note.
//   3. The zero-register rule reaches only the groups flagged zero_register_flag (the 20 groups
//      with a register indicator, PC excepted as the control table has it). A register of 0 sent
//      for any other group changes nothing by itself: VI, BP, CS, SMOK, CHOL and QI indicators
//      earn on their achievement (VI001 at 110/120 earns 6.86 points whatever the VI register
//      says), and PC001 earns 0 by decision 2 alone.
//   4. A prevalence-adjusted group without a register entry: points are calculated (they measure
//      care given) but paid nothing, with a note on the indicator and once in the result. The APDF
//      needs the practice's prevalence; a factor of 1 instead would pay a practice that leaves a
//      low register out more than one that reports it. The practice resubmits with its registers.
//   5. A prevalence-adjusted group without a national prevalence in the catalogue (most groups
//      until the year closes): APDF = 1, i.e. paid as a practice at national prevalence (points x
//      pounds x CPI), and the result says once per group that its payments are provisional. Zero
//      instead would pay nothing for most of QOF; the year-end (two-pass) calculation replaces it.
//      The register is still required (decision 4). A national prevalence flagged as an estimate is
//      used, and the result says so once per group; so is a group whose prevalence adjustment the
//      catalogue marks unconfirmed (CHOL: decision 14).
//   6. Thresholds flagged unconfirmed are used as the catalogue gives them, with a note naming the
//      indicator and the thresholds. A percentage indicator missing a threshold earns 0 points
//      with a note: thresholds are never invented.
//   7. Denominator 0: achievement null, and a percentage indicator earns 0 points, with a note.
//   8. Income-protected indicators when the calculation is given no protection input at all (the
//      two-argument calculate(): a worker without ledger.url, tools): R7 cannot apply, so points
//      come from this submission's achievement, with a note on each protected indicator saying the
//      protected points were not supplied; payment uses this year's CPI and APDF either way (§1.2).
//      The worker with a ledger always supplies the input (R7, decisions 20-23).
//   9. Enhanced-service caps (LDHC: £140 a completed check, "capped at the register size",
//      data/README.md): an enhanced-service submission may carry the registers that cap its items
//      and no others (the validator's rule: for LDHC, the LD register). Paid = min(count,
//      register), with a note when the cap binds. Without the cap register the item is not paid,
//      with a note asking for it: paying every counted item instead would pay a practice that
//      leaves its register out more than one that sends it (as decision 4). Contract: API.md says
//      `registers` is "QOF only"; accepting the cap register on an enhanced service extends it
//      (README.md says so), and a body written to API.md alone carries no LD register, so its
//      checks are not paid. API.md has not been changed to allow it (issue 16 item 5, open).
//  10. A register larger than the list size is used as given, with a note.
//  11. Inputs the validator would have refused (an unknown code, list size 0, another period) earn
//      nothing for what cannot be computed, with a note; no undefined behaviour on any input.
//  12. One payment above max_payment_pence is not paid, with a note (an absurd count, not money).
//      With at most 400 items every total then stays below 2^53 pence: exact as a JSON number.
//  13. Rounding places: the catalogue allows 0 to 2 for points and for money (API.md prints both
//      with exactly two decimals; money is never finer than the penny). Coarser places are still
//      printed with two decimals: 0.10 points, £31.00.
//  14. CHOL's prevalence adjustment follows the control table: CHOL001 and CHOL002 carry
//      NO_PREVALENCE_FLAG = 1 in INDICATOR_REFERENCE_CONTROL.csv [V], so the shipped catalogues mark
//      CHOL prevalence_adjusted = false (2024-25's CHOL003/004 are their successors, same group).
//      qof-reference.md §1.3 calls it "not confirmed" and leans the other way (Gavin Jamie quotes
//      an estimated prevalence for them [U]) and asks for it to be configurable per group: a [U]
//      does not overrule a [V], so the flag stands, the catalogue marks CHOL
//      prevalence_adjusted_confirmed = false, and every result that pays CHOL says so once. An
//      operator who learns otherwise sets prevalence_adjusted = true (with a national_prevalence)
//      in the catalogue, no rebuild; R4 and decisions 4-5 then apply to CHOL as to any adjusted
//      group (tested both ways).
//  15. Who makes the national prevalence (R6, admin/finalise.hpp): each practice's CURRENT
//      submission of the period for QOF (latest received, as current_submissions), if it was
//      calculated; a failed current submission counts for nothing. A practice counts in group g's
//      sums (register and list size) only when its submission carries a register for g: a missing
//      register is unknown, not 0 (as decision 4), and counting its list would lower everyone's
//      national prevalence. Enhanced-service submissions' cap registers (LDHC's LD) are not summed.
//  16. A final national register total of 0 (no practice summed has a patient on it): APDF
//      undefined; the group's indicators are not paid, with a note. (R3 already zeroes the points
//      of a flagged group whose register is 0, so this only reaches inconsistent inputs.)
//  17. The final calculation is this calculate() with the period's catalogue carrying R6's
//      fractions, run on the submission's own stored body (migration 0002 keeps it): every other
//      rule and decision applies unchanged, the result lands in final_results, and the
//      submission's own result (what declarations hash) is never rewritten. Enhanced-service
//      submissions are recalculated too (their figures do not change) so the whole statement
//      says "final".
//  18. A submission received after its period was finalised is calculated provisionally as any
//      other; its practice's statement says "provisional" for that scheme until finalise runs
//      again, which recomputes R6 from the then-current submissions and, if the sums changed,
//      recalculates every practice (a new generation); the other practices' final figures stand
//      until then. finalise refuses a period whose current submissions were calculated before
//      their inputs were kept (no body to recalculate), naming them: nothing is guessed.
//  20. Income protection (R7) for a practice with no record in the protection period (no current
//      QOF submission of 2023-24 in the ledger, or its current one failed: a new or merged
//      practice, or one whose 2023-24 return predates the ledger): its protected indicators earn
//      on THIS submission's achievement (as before R7), clearly labelled: a note on the result
//      and one on each protected indicator say that no 2023-24 record was found and the points are
//      not protected. Zero would take away a whole year's protected income (212 points) for a gap
//      in our records rather than in the practice's care; the maximum would pay points nobody
//      earned. This year's achievement is the one figure measured for this practice, and the
//      notes let the commissioner see and correct it.
//  21. A record that lacks a protected indicator (the practice's 2023-24 submission did not
//      report it): protected at 0.00 points, with a note. The current submission is the
//      practice's whole return for the year, so what it did not report earned nothing then, and
//      R7 fixes points at that level.
//  22. A protected indicator the record has with points above 0 but this submission does not
//      carry: added to the result after the body's indicators (in code order), with achievement
//      null and its protected points paid by R4, with a note. Protection pays "whatever this
//      year's achievement", so leaving an indicator out of the body cannot lose its income. Its
//      group's register is still needed for the APDF (decision 4).
//  23. Recorded points are used as recorded (hundredths of a point, as the 2023-24 result printed
//      them), rounded half up to this period's points_decimal_places if coarser (rounding.hpp
//      rule 1), and capped at this period's max_points for the indicator with a note (a figure
//      above it is not a 2023-24 achievement of this indicator).
//  25. The achievement value an aspiration is based on (§1.4 leaves the SFE's "Unadjusted
//      Achievement Payment" open, pre or post APDF [U]): the previous period's
//      TotalAchievementValue as §1.4 defines it, Σ points x pounds per point x CPI x APDF, i.e. the
//      previous period's QOF payment_gbp (R4), with its own CPI and APDF. CPI is in: BMA 2007 says
//      the base is the QOF cash totals "multiplied by the CPI" [S]. APDF is in: §1.4's achievement
//      value includes it and no source takes it out; "unadjusted" is read as before the year's
//      aspiration is deducted, i.e. the achievement value, not the payment due. This year's CPI is
//      not applied: the aspiration is paid from April, before this year's list size (1 January)
//      exists; the uprating is the pounds-per-point ratio alone. Tested: ledger payments_test
//      (£50,000.00 -> £41,347.51) and the statement test through PostgreSQL.
//  26. Its source: the practice's current QOF submission of the previous period in the ledger
//      (current_submissions, status calculated, payment_gbp), read by ONE statement,
//      ledger::previous_achievement(). Until that period is finalised (issue 16 item 1) its value,
//      and so the aspiration, is as provisional as its result says (decision 5); finalisation
//      switches that one statement to the final figures.
//  27. No aspiration without a base: no previous-period QOF submission, one that failed, a catalogue
//      without the previous period (its pounds per point) or without this period's
//      aspiration_rate: the aspiration is 0.00 and the statement's payment notes say which. The
//      alternative basis ("points agreed with a PCT", BMA 2007 [S]) is an agreement sluice does not
//      hold, and acceptance of the year's QOF offer in CQRS (§1.4 [S/V]) is not recorded: assumed.
//  28. Payment due = this period's achievement value (its current calculated QOF submission's
//      payment_gbp) - the annual aspiration as calculated here: sluice records no payments made,
//      so the twelve monthly aspiration payments are taken as paid in full. Negative is printed
//      negative (a recovery, with a note). No calculated submission this period: achievement
//      value and payment due are null, with a note.
//  29. Rounding (ledger/payments.hpp): the annual aspiration once, half up, to the penny, from the
//      exact product; months 1-11 a twelfth of it half up; month 12 the rest, so the twelve add up
//      exactly (a twelfth rounded down instead where the rest would be negative: under 55p).
#pragma once

#include "catalogue/catalogue.hpp"
#include "queue/submission.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::worker {

// Decision 12: £100,000,000,000 in pence.
inline constexpr std::int64_t max_payment_pence = 10'000'000'000'000;

struct indicator_result {
    std::string code;                   // "AF006"
    std::optional<double> achievement;  // numerator / denominator, for people; nullopt when the denominator is 0
    std::int64_t points_hundredths = 0;  // rounded to the period's points_decimal_places, in 0.01 points
    std::int64_t payment_pence = 0;      // rounded to the money unit (rounding.hpp)
    std::vector<std::string> notes;
    std::uint64_t numerator = 0;  // as submitted: result_json prints the achievement exactly from these
    std::uint64_t denominator = 0;
};

struct service_result {
    std::string code;  // an item of the scheme: "CHECK"
    std::uint64_t count = 0;       // as submitted
    std::uint64_t paid_count = 0;  // after the cap, if one was applied
    std::int64_t payment_pence = 0;
    std::vector<std::string> notes;
};

struct calculation_result {
    std::int64_t points_hundredths = 0;  // sum of the indicators' rounded points
    std::int64_t payment_pence = 0;      // sum of the indicators' and services' rounded payments
    std::vector<indicator_result> indicators;  // QOF: in body order
    std::vector<service_result> services;      // enhanced service: in body order
    std::vector<std::string> notes;            // about the whole submission or a whole group
};

// One indicator's points in the practice's record of the protection period (R7).
struct protected_points {
    std::string code;                    // "DEP004"
    std::int64_t points_hundredths = 0;  // 1000 = 10.00 points
};

// The practice's record in the period's income_protection_period, as the ledger holds it.
struct protection_record {
    // False: the practice has no current calculated QOF submission of that period (decision 20).
    bool found = false;
    std::string submission_id;            // the record's, named in the notes
    std::vector<protected_points> points;  // every indicator of that submission's result, any order
};

// What a calculation needs beyond the submission and the catalogue.
struct calculation_inputs {
    // R7: nullopt when nobody looked (decision 8); set by the worker for every QOF submission of a
    // period whose catalogue has an income_protection_period. Ignored otherwise.
    std::optional<protection_record> protection;
};

// Calculates one submission with its period's catalogue. Preconditions: none beyond valid objects;
// a submission parse_submission accepted for this period gets the whole calculation.
calculation_result calculate(const queue::submission& s, const catalogue::period_catalogue& period,
                             const calculation_inputs& inputs);
// As above with no inputs: income protection not applied (decision 8).
calculation_result calculate(const queue::submission& s, const catalogue::period_catalogue& period);

// The "result" object of GET /v1/submissions/{id} (API.md), compact JSON:
// {"points":412.37,"payment_gbp":96233.18,
//  "indicators":[{"code":"AF006","achievement":0.8571,"points":10.97,"payment_gbp":2324.85,"notes":[]}],
//  "services":[{"code":"CHECK","count":12,"paid_count":12,"payment_gbp":1680.00,"notes":[]}],
//  "notes":[...]}
// As API.md's "Money and numbers" says: points and payment_gbp with exactly two decimals,
// achievement with four (null when the denominator is 0), never in exponent notation; every
// number is written from integers (rounding.hpp rule 5), never by printing a double.
std::string result_json(const calculation_result& r);

}  // namespace sluice::worker
