// sluice-loadtest --journey, the real binary, against the real stack (issue 13 item 6): a real
// redis-server and PostgreSQL (tests/support), sluice-gateway with the ledger and an organisations
// file, sluice-worker writing results to PostgreSQL.
//
//   - 50 practices submit, wait for calculated, declare the statement they read, and their
//     commissioners approve 60 % and reject 20 %: --verify finds every declaration told 201 in
//     PostgreSQL with the figures read, every decision recorded, and exits 0;
//   - faults planted in the database after that run (a declaration deleted; a second standing
//     declaration added; a decision undone) make `sluice-loadtest verify-journey` on the run's
//     report exit 1 naming each, and a clean database again passes;
//   - a declaration already standing before the run (the tool is told 409 already-declared for
//     that practice) is a declaration the tool does not know: --verify fails at the end of the run
//     (that run's declarations and decisions open loop, rate=200: the stage lasts its schedule).
#include "config/digest.hpp"
#include "ledger/migrations.hpp"
#include "tests/integration/loadtest/tool_run.hpp"
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/postgres_environment.hpp"
#include "tests/support/redis_environment.hpp"
#include "tests/support/scratch_directory.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();
[[maybe_unused]] auto* const postgres_env = add_postgres_environment();

namespace json = boost::json;

// sluice-loadtest with `args`, stdout and stderr into files in `dir`; SIGKILL after `limit`.
tool_run run_tool(const std::filesystem::path& dir, std::vector<std::string> args, std::chrono::seconds limit = 150s) {
    return run_program(SLUICE_LOADTEST_BINARY, dir, args, limit);
}

// The stack of one test: its own database, generated practices and commissioners, a gateway and a
// worker on the test binary's redis-server and PostgreSQL.
class journey_stack : public ::testing::Test {
protected:
    static constexpr int practices = 50;
    static constexpr std::uint32_t shards = 4;

    void SetUp() override {
        redis().command({"FLUSHALL"});
        url_ = postgres().create_database();
        ledger::apply_migrations(url_);
        const auto generated =
            run_tool(dir_.path(),
                     {"generate", "--practices", std::to_string(practices), "--credentials", credentials_.string(),
                      "--tokens", tokens_.string(), "--commissioners", "3", "--organisations", organisations_.string(),
                      "--commissioner-tokens", commissioner_tokens_.string(), "--letter", "J"});
        ASSERT_EQ(generated.exit_code, std::optional<int>(0)) << generated.output();
        gateway_options o;
        o.credentials = scratch_directory::read(credentials_);
        o.extra_toml = "[redis]\nshards = " + std::to_string(shards) + "\n[ledger]\nurl = \"" + url_ +
                       "\"\ntimeout_ms = 2000\n[organisations]\nfile = \"" + organisations_.string() +
                       "\"\n[ratelimit.per_practice]\nrate = 1000\nburst = 1000\n";
        gateway_ = std::make_unique<gateway_process>(o);
        worker_config wc;
        wc.shards = shards;
        wc.concurrency = 16;
        wc.ledger_url = url_;
        worker_ = std::make_unique<worker_process>(wc);
    }

    void TearDown() override {
        if (worker_) {
            worker_->send_signal(SIGTERM);
            EXPECT_EQ(worker_->wait_exit(10s), std::optional<int>(0)) << worker_->log();
        }
    }

    // A journey run of every practice with --verify; the report in `report`.
    tool_run journey(const std::filesystem::path& report,
                     const std::string& spec = "approve=60,reject=20,concurrency=8,wait=60s") {
        return run_tool(dir_.path(), {"--target",
                                      "http://127.0.0.1:" + std::to_string(gateway_->port()),
                                      "--tokens",
                                      tokens_.string(),
                                      "--schedule",
                                      "constant:rate=100,duration=500ms",
                                      "--connections",
                                      "16",
                                      "--catalogue",
                                      SLUICE_CATALOGUE_DIR,
                                      "--journey",
                                      spec,
                                      "--organisations",
                                      organisations_.string(),
                                      "--commissioner-tokens",
                                      commissioner_tokens_.string(),
                                      "--database",
                                      url_,
                                      "--verify",
                                      "--json",
                                      report.string()});
    }

    tool_run verify_again(const std::filesystem::path& report) {
        return run_tool(dir_.path(), {"verify-journey", "--report", report.string(), "--database", url_});
    }

    std::string logs() const { return "\ngateway log:\n" + gateway_->log() + "\nworker log:\n" + worker_->log(); }

    std::string sql(const std::string& statement) const { return postgres().scalar(statement, url_); }

    scratch_directory dir_;
    std::filesystem::path credentials_ = dir_.path() / "credentials.csv";
    std::filesystem::path tokens_ = dir_.path() / "tokens.csv";
    std::filesystem::path organisations_ = dir_.path() / "organisations.csv";
    std::filesystem::path commissioner_tokens_ = dir_.path() / "commissioner-tokens.csv";
    std::string url_;
    std::unique_ptr<gateway_process> gateway_;
    std::unique_ptr<worker_process> worker_;
};

json::value read_json(const std::filesystem::path& file) {
    boost::system::error_code ec;
    auto doc = json::parse(scratch_directory::read(file), ec);
    return ec ? json::value(nullptr) : doc;
}

std::int64_t verdict_number(const json::value& doc, std::string_view name) {
    const auto& verdict = doc.at("journey").at("verdict");
    return verdict.at(name).to_number<std::int64_t>();
}

TEST_F(journey_stack, FiftyPracticesDeclareAndDecideAndVerifyPasses) {
    const auto report = dir_.path() / "journey.json";
    const auto run = journey(report);
    ASSERT_EQ(run.exit_code, std::optional<int>(0)) << run.output() << logs();
    EXPECT_NE(run.out.find("journey verify: OK: 50 of 50 declarations told 201 found exactly as declared, 40 of 40 "
                           "decisions told 200 recorded"),
              std::string::npos)
        << run.output();
    const auto doc = read_json(report);
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(verdict_number(doc, "declared_201"), practices);
    EXPECT_EQ(verdict_number(doc, "decisions_200"), 40);
    EXPECT_EQ(verdict_number(doc, "unknown_declarations"), 0);
    const auto& stages = doc.at("journey").at("stages").as_array();
    ASSERT_EQ(stages.size(), 3u);
    EXPECT_EQ(stages[1].at("name").as_string(), "declare");
    EXPECT_EQ(stages[1].at("statuses").at("201").to_number<std::int64_t>(), practices);
    EXPECT_EQ(stages[2].at("statuses").at("200").to_number<std::int64_t>(), 40);
    // The database agrees on its own: 50 declarations, 30 approved, 10 rejected, 10 awaiting.
    EXPECT_EQ(sql("SELECT count(*) FROM declarations"), "50");
    EXPECT_EQ(sql("SELECT count(*) FROM declarations WHERE status = 'approved'"), "30");
    EXPECT_EQ(sql("SELECT count(*) FROM declarations WHERE status = 'rejected'"), "10");
    // Declared figures are the submission's as calculated.
    EXPECT_EQ(sql("SELECT count(*) FROM declarations d JOIN submissions s USING (submission_id) "
                  "WHERE d.points = s.points AND d.payment_gbp = s.payment_gbp"),
              "50");
    std::cout << run.out;

    // The same report against the same database: still OK.
    const auto again = verify_again(report);
    EXPECT_EQ(again.exit_code, std::optional<int>(0)) << again.output();
}

TEST_F(journey_stack, PlantedFaultsInTheDatabaseFailVerify) {
    const auto report = dir_.path() / "journey.json";
    const auto run = journey(report);
    ASSERT_EQ(run.exit_code, std::optional<int>(0)) << run.output() << logs();

    // A declaration the practice was told 201 for, gone.
    const auto deleted = sql("SELECT practice FROM declarations WHERE status = 'awaiting-approval' LIMIT 1");
    ASSERT_FALSE(deleted.empty());
    postgres().query("DELETE FROM declarations WHERE practice = '" + deleted + "'", url_);
    auto verified = verify_again(report);
    EXPECT_EQ(verified.exit_code, std::optional<int>(1)) << verified.output();
    EXPECT_NE(verified.out.find("missing: practice " + deleted), std::string::npos) << verified.output();

    // A second standing declaration for a practice whose first was rejected: one the tool never made.
    const auto rejected = sql("SELECT practice FROM declarations WHERE status = 'rejected' LIMIT 1");
    ASSERT_FALSE(rejected.empty());
    postgres().query(
        "INSERT INTO declarations (declaration_id, submission_id, practice, commissioner, period, scheme, "
        "declared_by, declared_at, statement_sha256, points, payment_gbp) SELECT 'planted-1', "
        "submission_id, practice, commissioner, period, scheme, 'someone else', now(), "
        "statement_sha256, points, payment_gbp FROM declarations WHERE practice = '" +
            rejected + "'",
        url_);
    verified = verify_again(report);
    EXPECT_EQ(verified.exit_code, std::optional<int>(1)) << verified.output();
    EXPECT_NE(verified.out.find("extra: practice " + rejected), std::string::npos) << verified.output();

    // An approval told 200 that the database no longer shows; and a changed payment.
    const auto approved = sql("SELECT practice FROM declarations WHERE status = 'approved' LIMIT 1");
    const auto changed =
        sql("SELECT practice FROM declarations WHERE status = 'approved' AND practice <> '" + approved + "' LIMIT 1");
    postgres().query(
        "UPDATE declarations SET status = 'awaiting-approval', decided_by = NULL, decided_at = NULL "
        "WHERE practice = '" +
            approved + "'",
        url_);
    postgres().query("UPDATE declarations SET payment_gbp = payment_gbp + 0.01 WHERE practice = '" + changed + "'",
                     url_);
    verified = verify_again(report);
    EXPECT_EQ(verified.exit_code, std::optional<int>(1)) << verified.output();
    EXPECT_NE(verified.out.find("decision-not-recorded: practice " + approved), std::string::npos) << verified.output();
    EXPECT_NE(verified.out.find("wrong-figures: practice " + changed), std::string::npos) << verified.output();
    EXPECT_NE(verified.out.find("4 violations"), std::string::npos) << verified.output();
}

TEST_F(journey_stack, ADeclarationStandingBeforeTheRunIsOneTheToolDoesNotKnow) {
    // J00007's earlier submission, declared before the run: its journey's declaration gets 409
    // (already-declared), and the row it finds is not the tool's.
    const std::string hex(32, 'b');
    postgres().query(
        "INSERT INTO submissions (submission_id, practice, period, scheme, received_at, content_sha256, "
        "status, attempts, result, points, payment_gbp, calculated_at) VALUES ('0-" +
            hex + "', 'J00007', '2024-25', 'QOF', now() - interval '1 day', '" + std::string(64, 'c') +
            "', 'calculated', 1, '{}', 1.00, 1.00, now())",
        url_);
    postgres().query(
        "INSERT INTO declarations (declaration_id, submission_id, practice, commissioner, period, scheme, "
        "declared_by, declared_at, statement_sha256, points, payment_gbp) VALUES ('before-1', '0-" +
            hex + "', 'J00007', 'ICB01', '2024-25', 'QOF', 'earlier', now(), '" + std::string(64, 'd') +
            "', 1.00, 1.00)",
        url_);
    // Open loop this time: 49 declarations due at 200/s cannot all be answered in under 240 ms.
    const auto report = dir_.path() / "journey.json";
    const auto run = journey(report, "approve=60,reject=20,concurrency=8,wait=60s,rate=200");
    EXPECT_EQ(run.exit_code, std::optional<int>(1)) << run.output() << logs();
    const auto doc = read_json(report);
    ASSERT_TRUE(doc.is_object()) << run.output();
    const auto& declare = doc.at("journey").at("stages").at(1);
    EXPECT_EQ(declare.at("name").as_string(), "declare");
    EXPECT_GE(declare.at("elapsed_ms").to_number<double>(), 240.0) << run.out;
    EXPECT_NE(run.err.find("extra: practice J00007: told 409, yet the database holds before-1"), std::string::npos)
        << run.output();
    EXPECT_NE(run.out.find("49 of 49 declarations told 201 found exactly as declared"), std::string::npos)
        << run.output();
}

// The journey's flags: each mistake is one line naming the flag, exit 2, before anything is sent.
TEST(JourneyToolUsage, MistakesAreOneLineAndExit2) {
    scratch_directory dir;
    const auto tokens = dir.write("tokens.csv", "J00000,abcdefgh\n");
    const auto orgs = dir.write("orgs.csv", "J00000,ICB00\n");
    const std::vector<std::string> base{"--target",      "http://127.0.0.1:9", "--tokens",
                                        tokens.string(), "--schedule",         "constant:rate=1,duration=1s",
                                        "--catalogue",   SLUICE_CATALOGUE_DIR};
    const auto with = [&](std::vector<std::string> extra) {
        auto args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--database", "postgresql://x"}, "--database goes with --journey"},
        {{"--journey", "approve=101"}, "approve=101: expected a whole percentage from 0 to 100"},
        {{"--journey", "approve=50"}, "approve= and reject= need --organisations FILE and --commissioner-tokens FILE"},
        {{"--journey", "", "--verify"}, "--verify with --journey needs --database URL"},
        {{"--journey", "", "--submissions-per-practice", "2"}, "--journey needs --submissions-per-practice 1"},
        {{"--journey", "approve=50", "--organisations", orgs.string(), "--commissioner-tokens", orgs.string()},
         "--commissioner-tokens: "},
    };
    for (const auto& [extra, message] : cases) {
        const auto run = run_tool(dir.path(), with(extra), 30s);
        EXPECT_EQ(run.exit_code, std::optional<int>(2)) << run.output();
        EXPECT_NE(run.err.find(message), std::string::npos) << run.err;
        EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
        EXPECT_TRUE(run.out.empty()) << run.out;
    }
    const auto verify = run_tool(
        dir.path(), {"verify-journey", "--report", (dir.path() / "none.json").string(), "--database", "postgresql://x"},
        30s);
    EXPECT_EQ(verify.exit_code, std::optional<int>(2)) << verify.output();
    EXPECT_NE(verify.err.find("--report"), std::string::npos) << verify.err;
}

}  // namespace
}  // namespace sluice::test
