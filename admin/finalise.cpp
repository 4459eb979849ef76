// sluice-admin finalise (see finalise.hpp): pass 1 in one aggregate, pass 2 page by page.
#include "admin/finalise.hpp"

#include "config/digest.hpp"
#include "queue/submission.hpp"
#include "ledger/protection.hpp"
#include "worker/calculation.hpp"
#include "worker/worker.hpp"
#include "worker/rounding.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <memory>

namespace sluice::admin {

namespace net = boost::asio;
using worker::exact_integer;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The advisory lock's first key (the second is hashtext(period)): "finalise" in ASCII, folded.
constexpr std::int64_t finalise_lock_key = 0x66696e616c697365 % 2147483647;

// How many submissions without inputs an error names at most.
constexpr std::size_t named_at_most = 20;

std::int64_t whole_total(const std::string& group, std::string_view what, const std::string& text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0)
        throw finalise_error("national " + group + " " + std::string(what) + " total " + text +
                             " is not a whole number from 0 to 2^63 - 1: check the submissions' figures");
    return value;
}

std::string numeric_array(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ',';
        out += values[i];
    }
    return out + "}";
}

// One call's answer, or finalise_error with what it was for and PostgreSQL's words.
std::vector<ledger::result> checked(const boost::system::error_code& ec, std::vector<ledger::result> results,
                                    std::string_view what) {
    if (!ec) return results;
    std::string detail = ec.message();
    for (const auto& r : results) {
        if (!r.sqlstate.empty()) {
            detail += ": " + r.sqlstate + " " + r.message;
            break;
        }
    }
    throw finalise_ledger_error(std::string(what) + ": " + detail);
}

std::string text_of(const ledger::result& r, std::size_t row, std::string_view column) {
    return r.value(row, column).value_or("");
}

std::int64_t integer_at(const ledger::result& r, std::size_t row, std::string_view column) {
    const auto text = text_of(r, row, column);
    std::int64_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
}

std::int64_t count_of(const ledger::result& r, std::string_view column) { return integer_at(r, 0, column); }

// ---- the SQL ---------------------------------------------------------------------------------

// Current calculated submissions of the period without the inputs pass 2 needs.
ledger::statement missing_inputs(const std::string& period) {
    return {
        "SELECT c.submission_id, c.practice, c.scheme FROM current_submissions c "
        "WHERE c.period = $1 AND c.status = 'calculated' "
        "AND NOT EXISTS (SELECT 1 FROM submission_inputs i WHERE i.submission_id = c.submission_id) "
        "ORDER BY c.practice, c.scheme LIMIT " +
            std::to_string(named_at_most + 1),
        {period},
        {}};
}

// Pass 1 (decision 15): per group, over the current calculated QOF submissions with its register.
ledger::statement group_sums(const std::string& period) {
    return {
        "SELECT r.group_code, sum(r.size)::text AS register_total, sum(i.list_size)::text AS list_size_total, "
        "count(*) AS practices FROM current_submissions c "
        "JOIN submission_inputs i ON i.submission_id = c.submission_id "
        "JOIN submission_registers r ON r.submission_id = c.submission_id "
        "WHERE c.period = $1 AND c.scheme = 'QOF' AND c.status = 'calculated' "
        "GROUP BY r.group_code ORDER BY r.group_code",
        {period},
        {}};
}

ledger::statement current_count(const std::string& period) {
    return {"SELECT count(*) AS n FROM current_submissions WHERE period = $1 AND status = 'calculated'", {period}, {}};
}

ledger::statement recorded_final(const std::string& period) {
    return {"SELECT state, generation::text AS generation FROM period_finals WHERE period = $1", {period}, {}};
}

ledger::statement recorded_prevalence(const std::string& period) {
    return {
        "SELECT group_code, register_total::text AS register_total, list_size_total::text AS list_size_total, "
        "practices::text AS practices FROM national_prevalence WHERE period = $1 ORDER BY group_code",
        {period},
        {}};
}

// A new generation: the period finalising, its national prevalence replaced.
std::vector<ledger::statement> record_generation(const std::string& period, int generation, std::int64_t submissions,
                                                 const std::vector<national_figure>& figures) {
    std::vector<std::string> groups, registers, lists, practices;
    for (const auto& f : figures) {
        groups.push_back(f.group);
        registers.push_back(std::to_string(f.fraction.registers));
        lists.push_back(std::to_string(f.fraction.list_sizes));
        practices.push_back(std::to_string(f.practices));
    }
    const std::string g = std::to_string(generation);
    return {
        {"INSERT INTO period_finals (period, state, generation, submissions, recalculated) "
         "VALUES ($1, 'finalising', $2::integer, $3::integer, 0) "
         "ON CONFLICT (period) DO UPDATE SET state = 'finalising', generation = EXCLUDED.generation, "
         "submissions = EXCLUDED.submissions, recalculated = 0, started_at = now(), finished_at = NULL",
         {period, g, std::to_string(submissions)},
         {}},
        {"DELETE FROM national_prevalence WHERE period = $1", {period}, {}},
        {"INSERT INTO national_prevalence (period, group_code, generation, register_total, list_size_total, practices, "
         "prevalence) SELECT $1, x.g, $2::integer, x.r, x.l, x.p, "
         "CASE WHEN x.l = 0 THEN 0 ELSE round(x.r / x.l, 12) END "
         "FROM unnest($3::text[], $4::numeric[], $5::numeric[], $6::integer[]) AS x (g, r, l, p)",
         {period, g, quoted_text_array(groups), numeric_array(registers), numeric_array(lists),
          numeric_array(practices)},
         {}},
    };
}

// Pass 2's page: the next `limit` (practice, scheme) pairs after the cursor, each with its current
// submission, and its body only when it needs a final result of this generation.
ledger::statement page_after(const std::string& period, const std::string& practice, const std::string& scheme,
                             std::size_t limit, int generation) {
    return {
        "WITH page AS (SELECT DISTINCT ON (practice, scheme) submission_id, practice, scheme, status, "
        "content_sha256 FROM submissions WHERE period = $1 AND (practice, scheme) > ($2, $3) "
        "ORDER BY practice, scheme, received_at DESC, submission_id DESC LIMIT $4::integer) "
        "SELECT p.submission_id, p.practice, p.scheme, p.status, p.content_sha256, "
        "(p.status = 'calculated' AND (f.submission_id IS DISTINCT FROM p.submission_id "
        "OR f.generation IS DISTINCT FROM $5::integer)) AS needed, "
        "CASE WHEN p.status = 'calculated' AND (f.submission_id IS DISTINCT FROM p.submission_id "
        "OR f.generation IS DISTINCT FROM $5::integer) THEN i.body END AS body "
        "FROM page p LEFT JOIN submission_inputs i ON i.submission_id = p.submission_id "
        "LEFT JOIN final_results f ON f.period = $1 AND f.practice = p.practice AND f.scheme = p.scheme "
        "ORDER BY p.practice, p.scheme",
        {period, practice, scheme, std::to_string(limit), std::to_string(generation)},
        "sluice_finalise_page"};
}

struct final_row {
    std::string practice, scheme, submission_id;
    final_result result;
};

std::vector<ledger::statement> write_batch(const std::string& period, int generation,
                                           const std::vector<final_row>& rows) {
    const std::string g = std::to_string(generation);
    std::vector<ledger::statement> out;
    out.reserve(rows.size() + 1);
    for (const auto& r : rows) {
        out.push_back(
            {"INSERT INTO final_results (period, practice, scheme, submission_id, generation, result, points, "
             "payment_gbp) VALUES ($1, $2, $3, $4, $5::integer, $6, $7::numeric, $8::numeric) "
             "ON CONFLICT (period, practice, scheme) DO UPDATE SET submission_id = EXCLUDED.submission_id, "
             "generation = EXCLUDED.generation, result = EXCLUDED.result, points = EXCLUDED.points, "
             "payment_gbp = EXCLUDED.payment_gbp, calculated_at = now()",
             {period, r.practice, r.scheme, r.submission_id, g, r.result.result_json, r.result.points,
              r.result.payment_gbp},
             "sluice_finalise_write"});
    }
    out.push_back(
        {"UPDATE period_finals SET recalculated = recalculated + $3::integer WHERE period = $1 AND "
         "generation = $2::integer",
         {period, g, std::to_string(rows.size())},
         "sluice_finalise_progress"});
    return out;
}

std::vector<ledger::statement> one(ledger::statement s) {
    std::vector<ledger::statement> out;
    out.push_back(std::move(s));
    return out;
}

// A call sent now and awaited later, so that PostgreSQL works on it while this thread calculates.
// Its completion may come after the awaiting coroutine is gone (an exception): the state is shared.
class call_in_flight {
public:
    call_in_flight(ledger::client& ledger, std::vector<ledger::statement> statements)
        : state_(std::make_shared<state>(ledger.get_executor())) {
        ledger.async_execute(std::move(statements),
                             [s = state_](boost::system::error_code ec, std::vector<ledger::result> results) {
                                 s->answer.emplace(ec, std::move(results));
                                 s->signal.cancel();
                             });
    }

    net::awaitable<std::pair<boost::system::error_code, std::vector<ledger::result>>> get() {
        while (!state_->answer) co_await state_->signal.async_wait(use_tuple);
        co_return std::move(*state_->answer);
    }

private:
    struct state {
        explicit state(const ledger::client::executor_type& executor)
            : signal(executor, net::steady_timer::time_point::max()) {}
        net::steady_timer signal;
        std::optional<std::pair<boost::system::error_code, std::vector<ledger::result>>> answer;
    };
    std::shared_ptr<state> state_;
};

// A batch's write committed (or finalise_ledger_error): counted and reported.
net::awaitable<void> settle(call_in_flight& write, std::size_t rows, finalise_report& report,
                            const std::function<void(std::int64_t)>& progress) {
    auto [ec, results] = co_await write.get();
    checked(ec, std::move(results), "writing final results");
    report.recalculated += static_cast<std::int64_t>(rows);
    if (progress) progress(report.recalculated);
}

}  // namespace

// ---- the pure halves ---------------------------------------------------------------------------

std::vector<national_figure> national_prevalences(const catalogue::period_catalogue& period,
                                                  const std::vector<group_totals>& totals) {
    std::map<std::string, const group_totals*, std::less<>> by_group;
    for (const auto& t : totals) by_group[t.group] = &t;
    std::vector<national_figure> out;
    for (const auto& group : period.groups()) {  // sorted by code
        if (!group.prevalence_adjusted) continue;
        national_figure f;
        f.group = group.code;
        if (const auto it = by_group.find(group.code); it != by_group.end()) {
            f.fraction.registers = whole_total(group.code, "register", it->second->register_total);
            f.fraction.list_sizes = whole_total(group.code, "list size", it->second->list_size_total);
            f.practices = it->second->practices;
        }
        out.push_back(std::move(f));
    }
    return out;
}

std::string prevalence_text(const catalogue::prevalence_fraction& f, int places) {
    if (f.list_sizes <= 0) return "0";
    const exact_integer units =
        worker::divide_half_up(exact_integer(f.registers) * worker::power_of_ten(places), exact_integer(f.list_sizes));
    std::string digits = units.str();
    if (places <= 0) return digits;
    const auto width = static_cast<std::size_t>(places);
    if (digits.size() <= width) digits.insert(0, width + 1 - digits.size(), '0');
    digits.insert(digits.size() - width, 1, '.');
    return digits;
}

final_result recalculate(const stored_submission& s, const catalogue::catalogue& catalogue,
                         const catalogue::period_catalogue& final_period, const worker::calculation_inputs& inputs) {
    final_result out;
    if (config::to_hex(config::sha256(s.body)) != s.content_sha256) {
        out.failure = "the stored body does not match the receipt's content_sha256 " + s.content_sha256;
        return out;
    }
    const auto parsed = queue::parse_submission(s.body, catalogue);
    if (!parsed) {
        out.failure = "the stored body no longer parses with this catalogue (" +
                      (parsed.fault().errors.empty() ? parsed.fault().detail : parsed.fault().errors.front().detail) +
                      ")";
        return out;
    }
    const auto& submission = parsed.value();
    if (submission.practice != s.practice || submission.scheme != s.scheme ||
        submission.period != final_period.name()) {
        out.failure = "the stored body is of " + submission.practice + " " + submission.period + " " +
                      submission.scheme + ", not of its row";
        return out;
    }
    const auto r = worker::calculate(submission, final_period, inputs);
    out.result_json = worker::result_json(r);
    out.points = worker::fixed_decimal(r.points_hundredths, worker::printed_decimal_places);
    out.payment_gbp = worker::fixed_decimal(r.payment_pence, worker::printed_decimal_places);
    return out;
}

std::string quoted_text_array(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ',';
        out += '"';
        for (const char c : values[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

// ---- the run -----------------------------------------------------------------------------------

net::awaitable<finalise_report> finalise(ledger::client& ledger, const catalogue::catalogue& catalogue,
                                         finalise_options options, std::function<void(std::int64_t)> progress) {
    const std::string& period_name = options.period;
    const auto* period = catalogue.period(period_name);
    if (period == nullptr)
        throw finalise_error("no period " + period_name + " in the catalogue (" + catalogue.period_names() + ")");
    options.batch = std::clamp<std::size_t>(options.batch, 1, 10'000);

    {
        std::vector<ledger::statement> lock;
        lock.push_back(
            {"SELECT pg_try_advisory_lock(" + std::to_string(finalise_lock_key) + ", hashtext($1)) AS locked",
             {period_name},
             {}});
        auto [ec, results] = co_await ledger.async_execute(std::move(lock), use_tuple);
        results = checked(ec, std::move(results), "taking the finalise lock");
        if (text_of(results.front(), 0, "locked") != "t")
            throw finalise_error("another sluice-admin finalise of " + period_name +
                                 " is running (it holds the period's lock): wait for it");
    }

    // Pass 1, and what was recorded before.
    std::vector<ledger::statement> reads;
    reads.push_back(missing_inputs(period_name));
    reads.push_back(group_sums(period_name));
    reads.push_back(current_count(period_name));
    reads.push_back(recorded_final(period_name));
    reads.push_back(recorded_prevalence(period_name));
    auto [read_ec, read] = co_await ledger.async_execute(std::move(reads), use_tuple);
    read = checked(read_ec, std::move(read), "pass 1 (national prevalence)");

    if (!read[0].rows.empty()) {  // decision 18: nothing is guessed
        std::string names;
        for (std::size_t i = 0; i < read[0].rows.size() && i < named_at_most; ++i)
            names += (i > 0 ? ", " : "") + text_of(read[0], i, "submission_id") + " (" +
                     text_of(read[0], i, "practice") + " " + text_of(read[0], i, "scheme") + ")";
        throw finalise_error("cannot finalise " + period_name + ": current submission(s) " + names +
                             (read[0].rows.size() > named_at_most ? " and more" : "") +
                             " were calculated before their inputs were kept (ledger migration 0002), so they "
                             "cannot be recalculated; each practice must submit again");
    }

    finalise_report report;
    std::vector<group_totals> totals;
    for (std::size_t i = 0; i < read[1].rows.size(); ++i)
        totals.push_back({text_of(read[1], i, "group_code"), text_of(read[1], i, "register_total"),
                          text_of(read[1], i, "list_size_total"), integer_at(read[1], i, "practices")});
    report.prevalences = national_prevalences(*period, totals);
    report.submissions = count_of(read[2], "n");

    std::vector<national_figure> recorded;
    for (std::size_t i = 0; i < read[4].rows.size(); ++i) {
        national_figure f;
        f.group = text_of(read[4], i, "group_code");
        f.fraction.registers = whole_total(f.group, "register", text_of(read[4], i, "register_total"));
        f.fraction.list_sizes = whole_total(f.group, "list size", text_of(read[4], i, "list_size_total"));
        f.practices = whole_total(f.group, "practices", text_of(read[4], i, "practices"));
        recorded.push_back(std::move(f));
    }
    const bool known = !read[3].rows.empty();
    const int recorded_generation = known ? std::stoi(text_of(read[3], 0, "generation")) : 0;
    const bool was_final = known && text_of(read[3], 0, "state") == "final";

    report.new_generation = !known || recorded != report.prevalences;
    report.generation = report.new_generation ? recorded_generation + 1 : recorded_generation;
    if (report.new_generation) {
        auto [ec, results] = co_await ledger.async_execute(
            record_generation(period_name, report.generation, report.submissions, report.prevalences), use_tuple);
        checked(ec, std::move(results), "recording the national prevalence");
    }

    // Pass 2.
    std::vector<std::pair<std::string, catalogue::prevalence_fraction>> fractions;
    for (const auto& f : report.prevalences) fractions.emplace_back(f.group, f.fraction);
    const auto final_period = period->with_final_prevalence(fractions);

    // One page is fetched while the one before is calculated and the one before that is written:
    // at most one page and one write in flight, in order on the one connection.
    std::string after_practice, after_scheme;
    std::optional<call_in_flight> next;
    next.emplace(ledger, one(page_after(period_name, after_practice, after_scheme, options.batch, report.generation)));
    std::optional<call_in_flight> writing;
    std::size_t writing_rows = 0;
    while (next) {
        auto [page_ec, pages] = co_await next->get();
        next.reset();
        pages = checked(page_ec, std::move(pages), "reading submissions");
        const ledger::result& page = pages.front();
        if (page.rows.empty()) break;
        after_practice = text_of(page, page.rows.size() - 1, "practice");
        after_scheme = text_of(page, page.rows.size() - 1, "scheme");
        if (page.rows.size() >= options.batch)
            next.emplace(ledger,
                         one(page_after(period_name, after_practice, after_scheme, options.batch, report.generation)));
        std::vector<std::size_t> needed;
        for (std::size_t i = 0; i < page.rows.size(); ++i) {
            if (text_of(page, i, "status") != "calculated") continue;
            if (text_of(page, i, "needed") != "t") {
                ++report.unchanged;
                continue;
            }
            needed.push_back(i);
        }
        // R7: the protected points of the page's QOF submissions, one lookup each, in one round trip.
        std::map<std::string, worker::calculation_inputs> protection;
        if (const auto& protected_at = final_period.income_protection_period()) {
            std::vector<std::string> practices;
            std::vector<ledger::statement> lookups;
            for (const auto i : needed) {
                if (text_of(page, i, "scheme") != "QOF") continue;
                practices.push_back(text_of(page, i, "practice"));
                lookups.push_back(ledger::protection_lookup(practices.back(), *protected_at));
            }
            if (!lookups.empty()) {
                auto [ec, found] = co_await ledger.async_execute(std::move(lookups), use_tuple);
                found = checked(ec, std::move(found), "reading the practices' " + *protected_at + " points");
                for (std::size_t k = 0; k < practices.size() && k < found.size(); ++k) {
                    const auto record = ledger::protection_record_of(found[k]);
                    if (!record)
                        throw finalise_error("the ledger's " + *protected_at + " record of " + practices[k] +
                                             " could not be read (a result row of an unexpected shape)");
                    protection[practices[k]] = worker::protection_inputs(*record);
                }
            }
        }
        std::vector<final_row> rows;
        for (const auto i : needed) {
            stored_submission s{text_of(page, i, "submission_id"), text_of(page, i, "practice"),
                                text_of(page, i, "scheme"), text_of(page, i, "content_sha256"),
                                text_of(page, i, "body")};
            const auto inputs = protection.find(s.practice);
            auto result = recalculate(
                s, catalogue, final_period,
                s.scheme == "QOF" && inputs != protection.end() ? inputs->second : worker::calculation_inputs{});
            if (!result.failure.empty()) {
                report.failed.push_back(s.submission_id + ": " + result.failure);
                continue;
            }
            rows.push_back({std::move(s.practice), std::move(s.scheme), std::move(s.submission_id), std::move(result)});
        }
        if (writing) co_await settle(*writing, writing_rows, report, progress);
        writing.reset();
        if (!rows.empty()) {
            writing.emplace(ledger, write_batch(period_name, report.generation, rows));
            writing_rows = rows.size();
        }
    }
    if (writing) co_await settle(*writing, writing_rows, report, progress);

    if (report.failed.empty() && (report.new_generation || !was_final)) {
        std::vector<ledger::statement> done;
        done.push_back(
            {"UPDATE period_finals SET state = 'final', finished_at = now(), submissions = $3::integer "
             "WHERE period = $1 AND generation = $2::integer",
             {period_name, std::to_string(report.generation), std::to_string(report.submissions)},
             {}});
        auto [ec, results] = co_await ledger.async_execute(std::move(done), use_tuple);
        checked(ec, std::move(results), "recording the period as final");
    }
    std::vector<ledger::statement> unlock;
    unlock.push_back(
        {"SELECT pg_advisory_unlock(" + std::to_string(finalise_lock_key) + ", hashtext($1))", {period_name}, {}});
    co_await ledger.async_execute(std::move(unlock), use_tuple);
    co_return report;
}

std::string report_text(const std::string& period, const finalise_report& r) {
    std::string out = period + ": national prevalence, generation " + std::to_string(r.generation) +
                      (r.new_generation ? " (recorded by this run)" : " (as recorded before)") + "\n";
    for (const auto& f : r.prevalences) {
        out += "  " + f.group + " " + std::to_string(f.fraction.registers) + " / " +
               std::to_string(f.fraction.list_sizes) + " = " + prevalence_text(f.fraction, 6) + " (" +
               std::to_string(f.practices) + " practices)\n";
    }
    out += std::to_string(r.submissions) + " current calculated submission(s): " + std::to_string(r.recalculated) +
           " recalculated, " + std::to_string(r.unchanged) + " already final\n";
    for (const auto& f : r.failed) out += "not recalculated: " + f + "\n";
    out += r.failed.empty() ? period + " is final\n"
                            : period + " stays finalising: " + std::to_string(r.failed.size()) +
                                  " submission(s) could not be recalculated\n";
    return out;
}

}  // namespace sluice::admin
