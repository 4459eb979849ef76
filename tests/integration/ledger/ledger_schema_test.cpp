// ledger/migrations.hpp and the schema it makes, ledger/results.hpp and ledger/retention.hpp,
// against a real PostgreSQL: a fresh database is migrated, a second run is a no-op, two runs at
// once apply each migration once, an edited migration is refused; the database itself enforces
// one standing declaration per practice, period and scheme; results are recorded once however
// often and in whatever order they are written, batched, with a refused record failing alone;
// retention removes only what is older than ledger.retention_days; income protection reads a
// practice's points from its current calculated QOF result of the period, exactly.
#include "ledger/client.hpp"
#include "ledger/migrations.hpp"
#include "ledger/protection.hpp"
#include "ledger/results.hpp"
#include "ledger/retention.hpp"
#include "tests/support/postgres_environment.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;

[[maybe_unused]] auto* const environment = add_postgres_environment();

std::string count(const std::string& url, const std::string& from_where) {
    return postgres().scalar("SELECT count(*) FROM " + from_where, url);
}

TEST(ledger_migrations, the_list_is_the_directory) {
    std::set<std::string> files;
    for (const auto& f : std::filesystem::directory_iterator(SLUICE_LEDGER_MIGRATIONS_DIR)) {
        files.insert(f.path().filename().string());
    }
    std::set<std::string> listed;
    int expected_version = 1;
    for (const auto& m : ledger::migrations()) {
        listed.insert(std::string(m.name));
        EXPECT_EQ(m.version, expected_version++) << "versions are 1, 2, 3... in order";
        EXPECT_EQ(std::stoi(std::string(m.name.substr(0, 4))), m.version) << m.name;
        EXPECT_NE(m.sql.find("CREATE"), std::string_view::npos);
    }
    EXPECT_EQ(listed, files);
}

TEST(ledger_migrations, apply_to_a_fresh_database_then_do_nothing) {
    const auto url = postgres().create_database();
    const auto first = ledger::apply_migrations(url);
    std::vector<int> all;
    for (const auto& m : ledger::migrations()) all.push_back(m.version);
    EXPECT_EQ(first.applied, all);
    EXPECT_EQ(first.version, all.back());
    EXPECT_EQ(count(url, "schema_migrations"), std::to_string(all.size()));
    for (const auto* table : {"submissions", "declarations", "idempotency_records", "current_submissions"}) {
        EXPECT_NO_THROW(postgres().query(std::string("SELECT * FROM ") + table, url)) << table;
    }
    const auto again = ledger::apply_migrations(url);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.version, all.back());
    EXPECT_EQ(count(url, "schema_migrations"), std::to_string(all.size()));
}

TEST(ledger_migrations, two_processes_at_once_apply_each_migration_once) {
    const auto url = postgres().create_database();
    std::vector<ledger::migration_report> reports(4);
    std::vector<std::string> errors(4);
    std::vector<std::thread> starters;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        starters.emplace_back([&, i] {
            try {
                reports[i] = ledger::apply_migrations(url);
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& t : starters) t.join();
    std::size_t applied = 0;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EXPECT_EQ(errors[i], "");
        EXPECT_EQ(reports[i].version, ledger::migrations().back().version);
        applied += reports[i].applied.size();
    }
    EXPECT_EQ(applied, ledger::migrations().size());
    EXPECT_EQ(count(url, "schema_migrations"), std::to_string(ledger::migrations().size()));
}

TEST(ledger_migrations, refuse_a_database_whose_applied_migration_was_edited) {
    const auto url = postgres().create_database();
    ledger::apply_migrations(url);
    postgres().query("UPDATE schema_migrations SET sha256 = 'something else' WHERE version = 1", url);
    try {
        ledger::apply_migrations(url);
        FAIL() << "accepted";
    } catch (const ledger::migration_error& e) {
        EXPECT_NE(std::string(e.what()).find("0001_system_of_record.sql"), std::string::npos) << e.what();
    }
}

TEST(ledger_migrations, report_an_unreachable_server) {
    EXPECT_THROW(ledger::apply_migrations("postgresql://postgres@127.0.0.1:1/postgres", 1s), ledger::migration_error);
}

// ---- the schema's own rules ----------------------------------------------------------------

constexpr const char* calculated_row =
    "INSERT INTO submissions (submission_id, practice, period, scheme, received_at, content_sha256, status, "
    "attempts, result, points, payment_gbp, calculated_at) VALUES ";

TEST(ledger_schema, one_standing_declaration_per_practice_period_and_scheme) {
    const auto url = postgres().create_database();
    ledger::apply_migrations(url);
    postgres().query(std::string(calculated_row) +
                         "('10-a', 'A81001', '2024-25', 'QOF', now(), 'aa', 'calculated', 1, '{}', 1.5, 10.25, now())",
                     url);
    const std::string declare =
        "INSERT INTO declarations (declaration_id, submission_id, practice, commissioner, period, scheme, "
        "declared_by, declared_at, statement_sha256, points, payment_gbp) VALUES ";
    postgres().query(declare + "('d1', '10-a', 'A81001', 'QWE', '2024-25', 'QOF', 'Dr A', now(), 'ss', 1.5, 10.25)",
                     url);
    try {
        postgres().query(declare + "('d2', '10-a', 'A81001', 'QWE', '2024-25', 'QOF', 'Dr B', now(), 'ss', 1.5, 10.25)",
                         url);
        FAIL() << "a second standing declaration was accepted";
    } catch (const postgres_error& e) {
        EXPECT_NE(std::string(e.what()).find("declarations_one_standing"), std::string::npos) << e.what();
    }
    // A rejection needs its reason; after it the practice may declare again.
    EXPECT_THROW(postgres().query("UPDATE declarations SET status = 'rejected', decided_by = 'ICB', decided_at = now() "
                                  "WHERE declaration_id = 'd1'",
                                  url),
                 postgres_error);
    postgres().query(
        "UPDATE declarations SET status = 'rejected', decided_by = 'ICB', decided_at = now(), "
        "reason = 'wrong register' WHERE declaration_id = 'd1'",
        url);
    postgres().query(declare + "('d3', '10-a', 'A81001', 'QWE', '2024-25', 'QOF', 'Dr A', now(), 'ss', 1.5, 10.25)",
                     url);
    EXPECT_EQ(postgres().scalar("SELECT payment_gbp FROM declarations WHERE declaration_id = 'd3'", url), "10.25");
}

// ---- results ---------------------------------------------------------------------------------

class ledger_results_test : public ::testing::Test {
protected:
    void SetUp() override {
        ledger::apply_migrations(url_);
        ledger::client_options o;
        o.conninfo = url_;
        o.pool_size = 2;
        client_.emplace(ioc_, o);
        recorder_.emplace(*client_);
        client_->start();
        ASSERT_TRUE(run_until([&] { return client_->ready_connections() == 2; })) << client_->last_error();
    }

    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            ioc_.restart();
            ioc_.run_for(10ms);
        }
        return true;
    }

    static ledger::submission_record calculated(std::string id, std::string received_at = "2025-03-31T23:58:12.345Z") {
        ledger::submission_record r;
        r.submission_id = std::move(id);
        r.practice = "A81001";
        r.period = "2024-25";
        r.scheme = "QOF";
        r.idempotency_key = "key-" + r.submission_id;
        r.received_at = std::move(received_at);
        r.content_sha256 = std::string(64, 'a');
        r.attempts = 1;
        r.calculated_at = "2025-03-31T23:58:13.001Z";
        r.result_json = R"({"points":24.97,"payment_gbp":4842.85})";
        r.points = "24.97";
        r.payment_gbp = "4842.85";
        return r;
    }

    std::pair<error_code, ledger::record_answer> record(ledger::submission_record r) {
        std::optional<std::pair<error_code, ledger::record_answer>> got;
        recorder_->async_record(std::move(r), [&](error_code ec, ledger::record_answer a) { got.emplace(ec, a); });
        EXPECT_TRUE(run_until([&] { return got.has_value(); }));
        return got.value_or(std::pair{error_code(ledger::error::timeout), ledger::record_answer{}});
    }

    std::string url_ = postgres().create_database();
    asio::io_context ioc_;
    std::optional<ledger::client> client_;
    std::optional<ledger::result_recorder> recorder_;
};

// Migration 0002: a calculated result's inputs (body, list size, registers) are written in the
// same statement, once; a failure has none; a failure replaced by a calculation gets them.
TEST_F(ledger_results_test, a_calculated_result_keeps_its_inputs_once) {
    auto r = calculated("10-in");
    r.body = R"({"practice": "A81001", "quote": "it's \"odd\""})";
    r.list_size = 10000;
    r.registers = {{"AF", 220}, {"HYP", 0}};
    ASSERT_FALSE(record(r).first);
    ASSERT_FALSE(record(r).first);
    EXPECT_EQ(postgres().scalar("SELECT list_size || ' ' || body FROM submission_inputs", url_), "10000 " + r.body);
    EXPECT_EQ(postgres().scalar("SELECT string_agg(group_code || '=' || size, ',' ORDER BY group_code) "
                                "FROM submission_registers WHERE submission_id = '10-in'",
                                url_),
              "AF=220,HYP=0");

    auto failed = calculated("10-f");
    failed.error = "poison";
    failed.body = "ignored";
    ASSERT_FALSE(record(failed).first);
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM submission_inputs WHERE submission_id = '10-f'", url_), "0");
    auto later = calculated("10-f");
    later.body = "{}";
    later.list_size = 5;
    ASSERT_FALSE(record(later).first);
    EXPECT_EQ(
        postgres().scalar("SELECT list_size || ' ' || body FROM submission_inputs WHERE submission_id = '10-f'", url_),
        "5 {}");
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM submission_registers WHERE submission_id = '10-f'", url_), "0");
}

TEST_F(ledger_results_test, a_result_is_recorded_once_with_its_receipt_exactly) {
    auto [ec, a] = record(calculated("10-one"));
    ASSERT_FALSE(ec) << ec.message() << " " << a.message;
    EXPECT_EQ(a.outcome, ledger::record_outcome::recorded);
    auto [ec2, again] = record(calculated("10-one"));
    ASSERT_FALSE(ec2);
    EXPECT_EQ(again.outcome, ledger::record_outcome::already_recorded);
    const auto rows = postgres().query(
        "SELECT practice, period, scheme, idempotency_key, "
        "to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), content_sha256, status, "
        "result, points::text, payment_gbp::text, error FROM submissions",
        url_);
    ASSERT_EQ(rows.size(), 1u);
    const auto& row = rows[0];
    EXPECT_EQ(row[0], "A81001");
    EXPECT_EQ(row[1], "2024-25");
    EXPECT_EQ(row[2], "QOF");
    EXPECT_EQ(row[3], "key-10-one");
    EXPECT_EQ(row[4], "2025-03-31T23:58:12.345Z");
    EXPECT_EQ(row[5], std::string(64, 'a'));
    EXPECT_EQ(row[6], "calculated");
    EXPECT_EQ(row[7], R"({"points":24.97,"payment_gbp":4842.85})");
    EXPECT_EQ(row[8], "24.97");
    EXPECT_EQ(row[9], "4842.85");
    EXPECT_FALSE(row[10].has_value());
}

TEST_F(ledger_results_test, a_calculated_result_replaces_a_failure_and_never_the_reverse) {
    auto failed = calculated("10-two");
    failed.error = "unknown period";
    EXPECT_EQ(record(failed).second.outcome, ledger::record_outcome::recorded);
    EXPECT_EQ(record(calculated("10-two")).second.outcome, ledger::record_outcome::recorded);
    EXPECT_EQ(record(failed).second.outcome, ledger::record_outcome::already_recorded);
    EXPECT_EQ(postgres().scalar("SELECT status || ' ' || coalesce(error, '-') FROM submissions", url_), "calculated -");
}

TEST_F(ledger_results_test, many_at_once_are_batched_and_a_refused_one_fails_alone) {
    constexpr int n = 300;
    int done = 0, errors = 0;
    std::string refusal;
    for (int i = 0; i < n; ++i) {
        auto r = calculated("10-" + std::to_string(i));
        if (i == 150) r.received_at = "not a time";
        recorder_->async_record(std::move(r), [&](error_code ec, ledger::record_answer a) {
            ++done;
            if (ec) {
                ++errors;
                refusal = a.sqlstate;
            }
        });
    }
    EXPECT_GT(recorder_->queued(), 0u) << "the second batch waits for the first";
    ASSERT_TRUE(run_until([&] { return done == n; }));
    EXPECT_EQ(errors, 1);
    EXPECT_EQ(refusal, "22007");  // invalid_datetime_format
    EXPECT_EQ(count(url_, "submissions"), std::to_string(n - 1));
}

TEST_F(ledger_results_test, the_current_submission_is_the_latest_received) {
    record(calculated("10-early", "2025-03-30T10:00:00.000Z"));
    record(calculated("10-late", "2025-03-31T10:00:00.000Z"));
    EXPECT_EQ(postgres().scalar("SELECT submission_id FROM current_submissions WHERE practice = 'A81001' AND period = "
                                "'2024-25' AND scheme = 'QOF'",
                                url_),
              "10-late");
}

TEST_F(ledger_results_test, protection_reads_the_current_calculated_qof_results_points_exactly) {
    auto lookup = [&](const std::string& practice, const std::string& period) {
        std::optional<std::pair<error_code, ledger::result>> got;
        client_->async_query(ledger::protection_lookup(practice, period),
                             [&](error_code ec, ledger::result r) { got.emplace(ec, std::move(r)); });
        EXPECT_TRUE(run_until([&] { return got.has_value(); }));
        EXPECT_FALSE(got->first) << got->first.message() << " " << got->second.message;
        return ledger::protection_record_of(got->second);
    };
    auto prior = [](std::string id, std::string received_at, std::string result) {
        auto r = calculated(std::move(id), std::move(received_at));
        r.period = "2023-24";
        r.result_json = std::move(result);
        return r;
    };
    // A81001: an early 2023-24 QOF result superseded by a later one; the later one counts.
    record(prior("10-early", "2024-05-01T10:00:00.000Z",
                 R"({"points":1.00,"payment_gbp":1.00,"indicators":[{"code":"DEP004","achievement":null,)"
                 R"("points":1.00,"payment_gbp":1.00,"notes":[]}],"services":[],"notes":[]})"));
    record(prior("10-late", "2024-06-01T10:00:00.000Z",
                 R"({"points":35.50,"payment_gbp":9.99,"indicators":[{"code":"SMOK005","achievement":0.9000,)"
                 R"("points":25.50,"payment_gbp":5.00,"notes":[]},{"code":"DEP004","achievement":1.0000,"points":10.00,)"
                 R"("payment_gbp":4.99,"notes":["x"]},{"code":"AF001","achievement":null,"points":0.00,)"
                 R"("payment_gbp":0.00,"notes":[]}],"services":[],"notes":[]})"));
    // Other periods and schemes of the same practice are not it.
    auto other_period = calculated("10-this-year");
    other_period.result_json = R"({"indicators":[{"code":"DEP004","points":3.00}]})";
    record(other_period);
    auto enhanced = prior("10-ldhc", "2024-07-01T10:00:00.000Z", R"({"indicators":[],"services":[]})");
    enhanced.scheme = "LDHC";
    record(enhanced);

    const auto a = lookup("A81001", "2023-24");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->found);
    EXPECT_EQ(a->submission_id, "10-late");
    ASSERT_EQ(a->points.size(), 3u);
    EXPECT_EQ(a->points[0].code, "SMOK005");
    EXPECT_EQ(a->points[0].hundredths, 2550);
    EXPECT_EQ(a->points[1].code, "DEP004");
    EXPECT_EQ(a->points[1].hundredths, 1000);
    EXPECT_EQ(a->points[2].code, "AF001");
    EXPECT_EQ(a->points[2].hundredths, 0);

    // No submission of the period: no record.
    const auto none = lookup("Z99999", "2023-24");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->found);

    // B82002: its current 2023-24 submission failed after a calculated one: no record (the
    // superseded calculated one does not count).
    auto old_b = prior("10-b-old", "2024-05-01T10:00:00.000Z",
                       R"({"indicators":[{"code":"DEP004","points":10.00}]})");
    old_b.practice = "B82002";
    record(old_b);
    auto failed_b = prior("10-b-new", "2024-06-01T10:00:00.000Z", "");
    failed_b.practice = "B82002";
    failed_b.error = "invalid submission";
    record(failed_b);
    const auto b = lookup("B82002", "2023-24");
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->found);

    // C83003: a calculated result without indicators: found, nothing protected above 0.
    auto empty_c = prior("10-c", "2024-05-01T10:00:00.000Z", R"({"points":0.00,"indicators":[],"notes":[]})");
    empty_c.practice = "C83003";
    record(empty_c);
    const auto c = lookup("C83003", "2023-24");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->found);
    EXPECT_EQ(c->submission_id, "10-c");
    EXPECT_TRUE(c->points.empty());
}

TEST_F(ledger_results_test, retention_removes_only_what_is_older) {
    record(calculated("10-old", "2015-03-31T10:00:00.000Z"));
    record(calculated("10-new"));
    std::optional<std::pair<error_code, std::vector<ledger::result>>> got;
    client_->async_execute(ledger::purge_statements(2555),
                           [&](error_code ec, std::vector<ledger::result> r) { got.emplace(ec, std::move(r)); });
    ASSERT_TRUE(run_until([&] { return got.has_value(); }));
    ASSERT_FALSE(got->first) << got->first.message();
    EXPECT_EQ(ledger::purged(got->second).submissions, 1u);
    EXPECT_EQ(postgres().scalar("SELECT string_agg(submission_id, ',') FROM submissions", url_), "10-new");
}

}  // namespace
}  // namespace sluice::test
