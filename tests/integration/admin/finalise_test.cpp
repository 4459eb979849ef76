// `sluice-admin finalise` (admin/finalise.hpp), the real binary against a real PostgreSQL
// (tests/support): submissions are written as the worker writes them (ledger::record_statement,
// with their inputs), then the period is finalised end to end; a second run changes nothing; a
// run killed with SIGKILL in the middle of a batch leaves the period visibly 'finalising' and the
// next run completes it with the figures an uninterrupted run gives; a submission after
// finalisation is provisional until finalise runs again; a submission calculated before the
// inputs were kept is refused by name; the statement query shows the final figures.
#include "ledger/client.hpp"
#include "ledger/migrations.hpp"
#include "ledger/results.hpp"
#include "ledger/statements.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/postgres_environment.hpp"
#include "tests/support/scratch_directory.hpp"

#include "catalogue/catalogue.hpp"
#include "config/digest.hpp"
#include "queue/submission.hpp"
#include "worker/calculation.hpp"
#include "worker/rounding.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <csignal>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

[[maybe_unused]] auto* const environment = add_postgres_environment();

const catalogue::catalogue& shipped() {
    static const catalogue::catalogue loaded = catalogue::load_catalogue(SLUICE_CATALOGUE_DIR);
    return loaded;
}

// A 2023-24 QOF body: qof-reference.md §1.5's AF items with this list size and AF register.
std::string af_body(const std::string& practice, std::uint64_t list, std::uint64_t af_register) {
    return R"({"practice": ")" + practice + R"(", "period": "2023-24", "scheme": "QOF", "list_size": )" +
           std::to_string(list) +
           R"(, "items": [{"code": "AF001", "numerator": 1, "denominator": 1}, {"code": "AF006", "numerator": 180, "denominator": 200}, {"code": "AF008", "numerator": 150, "denominator": 170}], "registers": [{"condition": "AF", "size": )" +
           std::to_string(af_register) + "}]}";
}

class finalise_test : public ::testing::Test {
protected:
    void SetUp() override { ledger::apply_migrations(url_); }

    // Writes one submission as the worker does: calculated with the loaded catalogue (provisional),
    // its inputs beside it; or failed.
    void record(const std::string& id, const std::string& practice, const std::string& received_at,
                const std::string& body, bool failed = false, const std::string& url = {}) {
        ledger::submission_record r;
        r.submission_id = id;
        r.practice = practice;
        r.received_at = received_at;
        r.content_sha256 = config::to_hex(config::sha256(body));
        r.attempts = 1;
        r.calculated_at = received_at;
        const auto parsed = queue::parse_submission(body, shipped());
        ASSERT_TRUE(parsed.ok()) << body;
        const auto& s = parsed.value();
        r.period = s.period;
        r.scheme = s.scheme;
        if (failed) {
            r.error = "failed on purpose";
        } else {
            const auto calculated = worker::calculate(s, *shipped().period(s.period));
            r.result_json = worker::result_json(calculated);
            r.points = worker::fixed_decimal(calculated.points_hundredths, 2);
            r.payment_gbp = worker::fixed_decimal(calculated.payment_pence, 2);
            r.body = body;
            r.list_size = s.list_size;
            for (const auto& reg : s.registers) r.registers.emplace_back(reg.condition, reg.size);
        }
        execute({ledger::record_statement(r)}, url);
    }

    std::vector<ledger::result> execute(std::vector<ledger::statement> statements, const std::string& url = {}) {
        asio::io_context ioc;
        ledger::client_options options;
        options.conninfo = url.empty() ? url_ : url;
        options.pool_size = 1;
        options.timeout = 10s;
        ledger::client client(ioc, options);
        client.start();
        std::optional<std::pair<boost::system::error_code, std::vector<ledger::result>>> got;
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        bool sent = false;
        while (!got && std::chrono::steady_clock::now() < deadline) {
            if (!sent && client.connected()) {
                sent = true;
                client.async_execute(std::move(statements),
                                     [&](boost::system::error_code ec, std::vector<ledger::result> r) {
                                         got.emplace(ec, std::move(r));
                                     });
            }
            ioc.restart();
            ioc.run_for(10ms);
        }
        client.stop();
        EXPECT_TRUE(got.has_value());
        if (!got) return {};
        EXPECT_FALSE(got->first) << got->first.message() << " "
                                 << (got->second.empty() ? "" : got->second.front().message);
        return std::move(got->second);
    }

    struct run_result {
        std::optional<int> code;
        std::string out, err;
    };

    child_options admin_options(const std::string& url, std::size_t batch, const std::string& period) {
        const auto config = scratch_.write("sluice.toml", "[ledger]\nurl = \"" + url + "\"\n[catalogue]\ndir = \"" +
                                                              std::string(SLUICE_CATALOGUE_DIR) + "\"\n");
        const auto out = scratch_.path() / "out.txt";
        child_options o;
        o.binary = "/bin/sh";
        o.args = {"-c",
                  "exec \"$0\" \"$@\" >" + out.string(),
                  SLUICE_ADMIN_BINARY,
                  "--config",
                  config.string(),
                  "finalise",
                  "--period",
                  period,
                  "--batch",
                  std::to_string(batch)};
        o.log_file = scratch_.path() / "err.txt";
        return o;
    }

    run_result finalise(const std::string& url = {}, std::size_t batch = 500, const std::string& period = "2023-24") {
        child_process admin(admin_options(url.empty() ? url_ : url, batch, period));
        run_result r;
        r.code = admin.wait_exit(120s);
        r.out = scratch_directory::read(scratch_.path() / "out.txt");
        r.err = admin.log();
        return r;
    }

    std::string scalar(const std::string& sql, const std::string& url = {}) {
        return postgres().scalar(sql, url.empty() ? url_ : url);
    }

    // Everything finalisation wrote that must not depend on how the run went.
    std::string final_figures(const std::string& url = {}) {
        return scalar(
                   "SELECT string_agg(practice || ' ' || scheme || ' ' || submission_id || ' ' || points || ' ' || "
                   "payment_gbp || ' ' || result, E'\\n' ORDER BY practice, scheme) FROM final_results",
                   url) +
               "\n" +
               scalar(
                   "SELECT string_agg(group_code || ' ' || register_total || '/' || list_size_total || ' ' || "
                   "practices, ', ' ORDER BY group_code) FROM national_prevalence",
                   url);
    }

    std::string url_ = postgres().create_database();
    scratch_directory scratch_;
};

TEST_F(finalise_test, end_to_end_national_prevalence_from_current_submissions_and_final_results) {
    // AF: A 220/10,000, B 400/20,000, E 262/12,000 (current) -> 882/42,000 = 2.1% exactly. E's
    // earlier submission (9,999/50,000) is superseded, D's current one failed (its earlier
    // calculated one, 3,000/30,000, is not current): neither counts (decision 15).
    record("0-a", "A81001", "2024-04-01T10:00:00Z", af_body("A81001", 10000, 220));
    record("0-b", "B82002", "2024-04-01T10:00:00Z", af_body("B82002", 20000, 400));
    record("0-e1", "E85005", "2024-04-01T10:00:00Z", af_body("E85005", 50000, 9999));
    record("0-e2", "E85005", "2024-04-02T10:00:00Z", af_body("E85005", 12000, 262));
    record("0-d1", "D84004", "2024-04-01T10:00:00Z", af_body("D84004", 30000, 3000));
    record("0-d2", "D84004", "2024-04-02T10:00:00Z", af_body("D84004", 30000, 3000), true);
    const auto provisional = scalar("SELECT result FROM submissions WHERE submission_id = '0-a'");
    EXPECT_NE(provisional.find("AF payments are provisional"), std::string::npos) << provisional;

    const auto run = finalise();
    ASSERT_EQ(run.code, 0) << run.out << run.err;
    EXPECT_NE(run.out.find("AF 882 / 42000 = 0.021000 (3 practices)"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("3 current calculated submission(s): 3 recalculated, 0 already final"), std::string::npos)
        << run.out;
    EXPECT_EQ(
        scalar("SELECT state || ' ' || generation || ' ' || submissions || ' ' || recalculated FROM period_finals "
               "WHERE period = '2023-24'"),
        "final 1 3 3");
    EXPECT_EQ(scalar("SELECT register_total || '/' || list_size_total || ' ' || practices || ' ' || prevalence "
                     "FROM national_prevalence WHERE group_code = 'AF'"),
              "882/42000 3 0.021000000000");
    // Every prevalence-adjusted group of 2023-24 is recorded (those without registers as 0/0).
    std::size_t adjusted = 0;
    for (const auto& g : shipped().period("2023-24")->groups()) adjusted += g.prevalence_adjusted ? 1 : 0;
    EXPECT_EQ(scalar("SELECT count(*) FROM national_prevalence"), std::to_string(adjusted));

    // A: the reference's example (§1.5): 25.75 x 213.43 x 10000/9639 x 2.2/2.1 = 5973.16, no note.
    EXPECT_EQ(scalar("SELECT submission_id || ' ' || points || ' ' || payment_gbp || ' ' || generation FROM "
                     "final_results WHERE practice = 'A81001'"),
              "0-a 25.75 5973.16 1");
    EXPECT_EQ(scalar("SELECT result FROM final_results WHERE practice = 'A81001'"),
              R"({"points":25.75,"payment_gbp":5973.16,"indicators":[)"
              R"({"code":"AF001","achievement":1.0000,"points":5.00,"payment_gbp":1159.84,"notes":[]},)"
              R"({"code":"AF006","achievement":0.9000,"points":12.00,"payment_gbp":2783.61,"notes":[]},)"
              R"({"code":"AF008","achievement":0.8824,"points":8.75,"payment_gbp":2029.71,"notes":[]}],)"
              R"("services":[],"notes":[]})");
    EXPECT_EQ(scalar("SELECT string_agg(practice || ':' || submission_id, ' ' ORDER BY practice) FROM final_results"),
              "A81001:0-a B82002:0-b E85005:0-e2");
    // The submissions' own results (what declarations hash) are untouched.
    EXPECT_EQ(scalar("SELECT result FROM submissions WHERE submission_id = '0-a'"), provisional);

    // The statement: final figures for a finalised period.
    const auto rows = ledger::statement_rows(execute({ledger::practice_statement("A81001", "2023-24")}).at(0));
    ASSERT_EQ(rows.size(), 1u);
    ASSERT_TRUE(rows[0].final_result);
    EXPECT_EQ(rows[0].final_result->payment_gbp, "5973.16");
    EXPECT_EQ(rows[0].final_result->points, "25.75");
    EXPECT_EQ(*rows[0].submission.result, provisional);
}

TEST_F(finalise_test, a_second_run_changes_nothing) {
    for (int i = 0; i < 12; ++i) {
        const auto practice = "A8" + std::to_string(1000 + i);
        record("0-" + std::to_string(i), practice, "2024-04-01T10:00:00Z",
               af_body(practice, 5000 + 700 * i, 90 + 7 * i));
    }
    ASSERT_EQ(finalise({}, 5).code, 0);
    const auto first = final_figures();
    const auto stamps = scalar("SELECT string_agg(calculated_at::text, ',' ORDER BY practice) FROM final_results");
    const auto again = finalise({}, 5);
    ASSERT_EQ(again.code, 0) << again.out << again.err;
    EXPECT_NE(again.out.find("generation 1 (as recorded before)"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("12 current calculated submission(s): 0 recalculated, 12 already final"),
              std::string::npos)
        << again.out;
    EXPECT_EQ(final_figures(), first);
    EXPECT_EQ(scalar("SELECT string_agg(calculated_at::text, ',' ORDER BY practice) FROM final_results"), stamps)
        << "nothing rewritten";
    EXPECT_EQ(scalar("SELECT count(*) FROM final_results"), "12");
    EXPECT_EQ(scalar("SELECT state || ' ' || generation FROM period_finals"), "final 1");
}

TEST_F(finalise_test, a_run_killed_midway_is_visible_and_the_next_run_completes_it) {
    // 60 practices, batches of 10. Finalised once (generation 1); then a late submission changes
    // the AF sums, so the next run is generation 2 and recalculates all 60. Its third batch
    // (practices 21-30) is held by a row lock on practice 25's final result, so batches 1 and 2
    // have committed; the run is killed with SIGKILL there.
    const auto setup = [&](const std::string& url) {
        for (int i = 1; i <= 60; ++i) {
            char practice[8];
            std::snprintf(practice, sizeof practice, "P%05d", i);
            record("0-" + std::to_string(i), practice, "2024-04-01T10:00:00Z",
                   af_body(practice, 4000 + 113 * i, 50 + 3 * i), false, url);
        }
    };
    setup(url_);
    ASSERT_EQ(finalise({}, 10).code, 0);
    record("0-late", "P00060", "2024-04-05T10:00:00Z", af_body("P00060", 9000, 400));

    auto holder = std::async(std::launch::async, [&] {
        try {
            postgres().query(
                "BEGIN; SELECT 1 FROM final_results WHERE practice = 'P00025' FOR UPDATE; "
                "SELECT pg_sleep(60); COMMIT",
                url_);
        } catch (const std::exception&) {
            // terminated below, as intended
        }
    });
    const auto locked = [&] {  // the lock is taken before the sleep starts
        return scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = "
                   "current_database()") != "0";
    };
    for (int i = 0; i < 3000 && !locked(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(locked());

    child_process admin(admin_options(url_, 10, "2023-24"));
    const auto waiting = [&] {
        return scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                   "current_database()") != "0";
    };
    for (int i = 0; i < 6000 && !waiting(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(waiting()) << admin.log();
    admin.send_signal(SIGKILL);
    EXPECT_EQ(admin.wait_exit(10s), -SIGKILL);

    // Visible: finalising, generation 2, two batches written.
    EXPECT_EQ(scalar("SELECT state || ' ' || generation || ' ' || recalculated FROM period_finals"), "finalising 2 20");
    EXPECT_EQ(scalar("SELECT count(*) FROM final_results WHERE generation = 2"), "20");
    // The lock holder and the killed run's session go; the blocked batch rolls back or commits,
    // either is a state a crash can leave.
    scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()");
    holder.wait();

    const auto resumed = finalise({}, 10);
    ASSERT_EQ(resumed.code, 0) << resumed.out << resumed.err;
    EXPECT_NE(resumed.out.find("generation 2 (as recorded before)"), std::string::npos) << resumed.out;
    EXPECT_EQ(scalar("SELECT state || ' ' || generation || ' ' || recalculated FROM period_finals"), "final 2 60");
    EXPECT_EQ(scalar("SELECT count(*) || ' ' || count(DISTINCT practice) || ' ' || min(generation) FROM final_results"),
              "60 60 2");

    // The same figures as one uninterrupted run over the same submissions.
    const auto fresh = postgres().create_database();
    ledger::apply_migrations(fresh);
    setup(fresh);
    record("0-late", "P00060", "2024-04-05T10:00:00Z", af_body("P00060", 9000, 400), false, fresh);
    ASSERT_EQ(finalise(fresh, 500).code, 0);
    EXPECT_EQ(final_figures(), final_figures(fresh));
    EXPECT_NE(final_figures().find("0-late"), std::string::npos);
}

TEST_F(finalise_test, a_later_submission_is_provisional_until_finalise_runs_again) {
    record("0-a", "A81001", "2024-04-01T10:00:00Z", af_body("A81001", 10000, 220));
    record("0-b", "B82002", "2024-04-01T10:00:00Z", af_body("B82002", 32000, 662));
    ASSERT_EQ(finalise().code, 0);
    EXPECT_EQ(scalar("SELECT payment_gbp FROM final_results WHERE practice = 'A81001'"), "5973.16");

    // A resubmits after finalisation (decision 18): its statement is provisional; B's stays final.
    record("0-a2", "A81001", "2024-04-10T10:00:00Z", af_body("A81001", 10000, 430));
    auto rows = ledger::statement_rows(execute({ledger::practice_statement("A81001", "2023-24")}).at(0));
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].submission.submission_id, "0-a2");
    EXPECT_FALSE(rows[0].final_result);
    rows = ledger::statement_rows(execute({ledger::practice_statement("B82002", "2023-24")}).at(0));
    ASSERT_TRUE(rows.at(0).final_result);

    // Finalise again: AF = (430 + 662) / 42,000 = 2.6%; everyone recalculated as generation 2.
    // A: x 213.43 x 10000/9639 x (430/10000)/(1092/42000), i.e. x 213.43 x 430 x 42000 /
    // (9639 x 1092) per point: AF001 5.00 -> 1831.0011 -> 1831.00; AF006 12.00 -> 4394.4025 ->
    // 4394.40; AF008 8.75 -> 3204.2519 -> 3204.25; total 9429.65.
    const auto again = finalise();
    ASSERT_EQ(again.code, 0) << again.out << again.err;
    EXPECT_NE(again.out.find("AF 1092 / 42000 = 0.026000 (2 practices)"), std::string::npos) << again.out;
    EXPECT_EQ(scalar("SELECT submission_id || ' ' || payment_gbp || ' ' || generation FROM final_results WHERE "
                     "practice = 'A81001'"),
              "0-a2 9429.65 2");
    rows = ledger::statement_rows(execute({ledger::practice_statement("A81001", "2023-24")}).at(0));
    ASSERT_TRUE(rows.at(0).final_result);
    EXPECT_EQ(rows[0].final_result->payment_gbp, "9429.65");
    EXPECT_EQ(scalar("SELECT generation FROM final_results WHERE practice = 'B82002'"), "2");
}

TEST_F(finalise_test, submissions_calculated_before_their_inputs_were_kept_are_refused_by_name) {
    record("0-a", "A81001", "2024-04-01T10:00:00Z", af_body("A81001", 10000, 220));
    // As the worker wrote before migration 0002: the row only.
    postgres().query(
        "INSERT INTO submissions (submission_id, practice, period, scheme, received_at, content_sha256, "
        "status, attempts, result, points, payment_gbp, calculated_at) VALUES ('0-old', 'B82002', "
        "'2023-24', 'QOF', now(), 'aa', 'calculated', 1, '{}', 1.00, 2.00, now())",
        url_);
    const auto run = finalise();
    EXPECT_EQ(run.code, 1) << run.out << run.err;
    EXPECT_NE(run.err.find("0-old (B82002 QOF)"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("were calculated before their inputs were kept"), std::string::npos) << run.err;
    EXPECT_EQ(scalar("SELECT count(*) FROM period_finals"), "0");
    EXPECT_EQ(scalar("SELECT count(*) FROM final_results"), "0");
}

TEST_F(finalise_test, an_unknown_period_is_a_usage_error) {
    const auto run = finalise({}, 500, "2031-32");
    EXPECT_EQ(run.code, 2) << run.out << run.err;
    EXPECT_NE(run.err.find("no period 2031-32"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace sluice::test
