// API.md "v1 additions: from calculated to approved" against a real sluice-gateway, a real
// redis-server and a real PostgreSQL (tests/support): every row and status code of the section,
// the role rules (practice, commissioner, operator; 403 against 404), declarations of calculated,
// failed, superseded and queued submissions, the statement digest, the declaration window, a
// rejection then a new declaration, 50 concurrent declarations of one practice and period (one
// 201), and PostgreSQL down (503 at once, uploads unaffected).
//
// Submissions reach the system of record as the worker writes them (ledger/results.hpp's upsert
// shape, inserted here directly), so each test controls status, time and result bytes exactly.
#include "config/digest.hpp"
#include "config/rfc3339.hpp"
#include "ledger/migrations.hpp"
#include "queue/keys.hpp"
#include "tests/integration/gateway/gateway_process.hpp"
#include "tests/integration/worker/worker_test_support.hpp"
#include "tests/support/postgres_environment.hpp"
#include "tests/support/redis_environment.hpp"
#include "tests/support/scratch_directory.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

[[maybe_unused]] auto* const redis_env = add_redis_environment();
[[maybe_unused]] auto* const postgres_env = add_postgres_environment();

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string result_json =
    R"({"points":412.37,"payment_gbp":96233.18,"indicators":[{"code":"AF006","achievement":0.8571,"points":12.00,"payment_gbp":2711.43}]})";

test_credential role_credential(const std::string& code, const std::string& role) {
    auto c = make_credential(code);
    c.line.pop_back();  // the newline
    c.line += "," + role + "\n";
    return c;
}

std::string sha256_hex(std::string_view bytes) { return config::to_hex(config::sha256(bytes)); }

json::object object_of(const http_answer& a) {
    boost::system::error_code ec;
    auto v = json::parse(a.body, ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << a.body;
        return {};
    }
    return v.get_object();
}

std::string str(const json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The exact bytes of the `result` member of a submission document (it is the last member of a
// calculated submission's document).
std::string result_bytes(const std::string& body) {
    const auto at = body.find("\"result\":");
    if (at == std::string::npos) return {};
    return body.substr(at + 9, body.size() - at - 9 - 1);
}

class sign_off : public ::testing::Test {
protected:
    void SetUp() override {
        redis().command({"FLUSHALL"});
        url_ = postgres().create_database();
        ledger::apply_migrations(url_);
        orgs_ = scratch_.write("organisations.csv", "# practice,commissioner\nA81001,QWE\nB82002,QWE\nC83003,XYZ\n");
    }

    std::string credentials_text() const { return a_.line + b_.line + c_.line + qwe_.line + xyz_.line + ops_.line; }

    std::string extra_toml(const std::string& ledger_url) const {
        return "[ledger]\nurl = \"" + ledger_url + "\"\ntimeout_ms = 1000\n[organisations]\nfile = \"" +
               orgs_.string() + "\"\n";
    }

    std::unique_ptr<gateway_process> start(const std::string& catalogue_dir = "", std::string ledger_url = "",
                                           const std::string& more_toml = "") {
        gateway_options o;
        o.extra_toml = extra_toml(ledger_url.empty() ? url_ : ledger_url) + more_toml;
        o.credentials = credentials_text();
        auto gw = std::make_unique<gateway_process>(o, catalogue_dir);
        if (ledger_url.empty()) {
            // Ready for the sign-off endpoints once PostgreSQL is connected.
            for (int i = 0; i < 200; ++i) {
                const auto a = get(*gw, qwe_, "/v1/declarations/none");
                if (a && a->status == 404) break;
                std::this_thread::sleep_for(25ms);
            }
        }
        return gw;
    }

    // A row of the submissions table as the worker writes it.
    std::string insert_submission(const std::string& practice, const std::string& received_at,
                                  const std::string& status = "calculated", const std::string& scheme = "QOF",
                                  const std::string& idempotency_key = "", const std::string& period = "2024-25") {
        // An id as the gateway mints it: the practice's queue shard, then 32 hex digits.
        std::string hex = std::to_string(++ids_);
        hex.insert(0, queue::submission_id_hex_digits - hex.size(), 'a');
        const std::string id = std::to_string(queue::shard_of(practice, 16)) + "-" + hex;
        const bool ok = status == "calculated";
        postgres().query(
            "INSERT INTO submissions (submission_id, practice, period, scheme, idempotency_key, received_at, "
            "content_sha256, status, attempts, result, points, payment_gbp, error, calculated_at) VALUES ('" +
                id + "', '" + practice + "', '" + period + "', '" + scheme + "', " +
                (idempotency_key.empty() ? "NULL" : "'" + idempotency_key + "'") + ", '" + received_at + "', '" +
                std::string(64, 'c') + "', '" + status + "', 1, " + (ok ? "'" + result_json + "'" : "NULL") + ", " +
                (ok ? "412.37" : "NULL") + ", " + (ok ? "96233.18" : "NULL") + ", " +
                (ok ? "NULL" : "'catalogue has no such code'") + ", now())",
            url_);
        return id;
    }

    static std::string auth(const test_credential& who) { return "Authorization: Bearer " + who.token + "\r\n"; }

    static std::optional<http_answer> get(const gateway_process& gw, const test_credential& who,
                                          const std::string& path) {
        return ask(gw.port(), get_request(path, auth(who)));
    }

    static std::optional<http_answer> post(const gateway_process& gw, const test_credential& who,
                                           const std::string& path, const std::string& key, const std::string& body,
                                           const std::string& content_type = "application/json") {
        std::string headers = auth(who);
        if (!key.empty()) headers += "Idempotency-Key: " + key + "\r\n";
        if (!content_type.empty()) headers += "Content-Type: " + content_type + "\r\n";
        return ask(gw.port(), post_request(path, body, headers));
    }

    static std::string declaration_body(const std::string& submission_id, const std::string& sha,
                                        const std::string& by = "Dr A Example, GP partner") {
        return R"({"submission_id":")" + submission_id + R"(","declared_by":")" + by + R"(","statement_sha256":")" +
               sha + "\"}";
    }

    // Reads the submission as the practice does and declares exactly what it was shown.
    std::optional<http_answer> declare_reviewed(const gateway_process& gw, const std::string& id,
                                                const std::string& key, const test_credential* who = nullptr) {
        const auto& practice = who != nullptr ? *who : a_;
        const auto shown = get(gw, practice, "/v1/submissions/" + id);
        if (!shown || shown->status != 200) {
            ADD_FAILURE() << "GET /v1/submissions/" << id << ": " << (shown ? shown->body : "no answer");
            return shown;
        }
        return post(gw, practice, "/v1/declarations", key, declaration_body(id, sha256_hex(result_bytes(shown->body))));
    }

    // Each request on its own connection, all sent at once (connected first, released together).
    static std::vector<std::optional<http_answer>> at_once(const gateway_process& gw,
                                                           const std::vector<std::string>& requests) {
        std::vector<std::unique_ptr<raw_client>> clients;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            clients.push_back(std::make_unique<raw_client>(gw.port()));
            EXPECT_TRUE(clients.back()->connected());
        }
        std::vector<std::optional<http_answer>> answers(requests.size());
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            threads.emplace_back([&, i] {
                while (!go.load()) std::this_thread::yield();
                auto& c = *clients[i];
                answers[i] = c.send(requests[i]) ? c.read_answer(30s) : std::nullopt;
            });
        }
        go = true;
        for (auto& t : threads) t.join();
        return answers;
    }

    std::string standing(const std::string& practice) const {
        return postgres().scalar("SELECT count(*) FROM declarations WHERE practice = '" + practice +
                                     "' AND status IN ('awaiting-approval', 'approved')",
                                 url_);
    }

    // A copy of the shipped catalogue whose 2024-25 file has this declaration window.
    std::string catalogue_with_window(const std::string& name, const std::string& keys) {
        std::ifstream in(std::string(SLUICE_CATALOGUE_DIR) + "/2024-25.toml");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::string anchor = "period = \"2024-25\"";
        text.replace(text.find(anchor), anchor.size(), anchor + "\n" + keys);
        const auto dir = scratch_.path() / name;
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "2024-25.toml") << text;
        return dir.string();
    }

    scratch_directory scratch_;
    std::filesystem::path orgs_;
    std::string url_;
    int ids_ = 0;
    test_credential a_ = make_credential("A81001"), b_ = make_credential("B82002"), c_ = make_credential("C83003");
    test_credential qwe_ = role_credential("QWE", "commissioner"), xyz_ = role_credential("XYZ", "commissioner");
    test_credential ops_ = role_credential("OPS-1", "operator");
};

TEST_F(sign_off, declare_replay_read_and_approve) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-31T23:58:12.345Z");

    // Read from PostgreSQL: Redis never had this record.
    const auto shown = get(*gw, a_, "/v1/submissions/" + id);
    ASSERT_TRUE(shown);
    ASSERT_EQ(shown->status, 200) << shown->body;
    EXPECT_EQ(result_bytes(shown->body), result_json);
    EXPECT_EQ(str(object_of(*shown), "received_at"), "2025-03-31T23:58:12.345Z");
    EXPECT_EQ(str(object_of(*shown), "status"), "calculated");

    const auto body = declaration_body(id, sha256_hex(result_json));
    const auto first = post(*gw, a_, "/v1/declarations", "k-1", body);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 201) << first->body;
    const auto doc = object_of(*first);
    const auto declaration_id = str(doc, "declaration_id");
    EXPECT_EQ(first->header("location"), "/v1/declarations/" + declaration_id);
    EXPECT_EQ(str(doc, "status"), "awaiting-approval");
    EXPECT_EQ(str(doc, "commissioner"), "QWE");
    EXPECT_EQ(str(doc, "practice"), "A81001");
    EXPECT_EQ(str(doc, "period"), "2024-25");
    EXPECT_EQ(str(doc, "scheme"), "QOF");
    EXPECT_EQ(str(doc, "statement_sha256"), sha256_hex(result_json));
    EXPECT_NE(first->body.find("\"points\":412.37,\"payment_gbp\":96233.18"), std::string::npos) << first->body;
    // Every answer to an authenticated request carries the rate-limit fields; sign-off is not charged.
    EXPECT_FALSE(first->header("ratelimit-policy").empty());
    EXPECT_NE(first->header("ratelimit").find(";r=10;"), std::string::npos) << first->header("ratelimit");
    EXPECT_EQ(
        postgres().scalar("SELECT count(*) FROM declarations WHERE declaration_id = '" + declaration_id + "'", url_),
        "1");  // committed before the 201

    // The status page counts it among today's declarations (sampled from PostgreSQL each second).
    std::string figure;
    for (int i = 0; i < 50 && figure != "1"; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto status = ask(gw->port(), get_request("/status.json", ""));
        if (!status || status->status != 200) continue;
        const auto doc = object_of(*status);  // held: if_contains points into it
        if (const auto* v = doc.if_contains("declarations_today"); v && v->is_int64())
            figure = std::to_string(v->as_int64());
    }
    EXPECT_EQ(figure, "1");
    const auto metrics = ask(gw->port(), get_request("/metrics", ""));
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("\nsluice_declarations_today 1\n"), std::string::npos);

    // Same key, same body: the same answer again. Same key, another body: 422.
    const auto again = post(*gw, a_, "/v1/declarations", "k-1", body);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 201);
    EXPECT_EQ(again->body, first->body);
    EXPECT_EQ(again->header("idempotent-replayed"), "true");
    const auto reused =
        post(*gw, a_, "/v1/declarations", "k-1", declaration_body(id, sha256_hex(result_json), "Other"));
    ASSERT_TRUE(reused);
    EXPECT_EQ(reused->status, 422);
    EXPECT_TRUE(is_problem(*reused, "idempotency-key-reused")) << reused->body;
    EXPECT_EQ(standing("A81001"), "1");

    // Another declaration of the same practice, period and scheme: 409 already-declared.
    const auto second = post(*gw, a_, "/v1/declarations", "k-2", body);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 409);
    EXPECT_TRUE(is_problem(*second, "already-declared")) << second->body;

    // Reading: the practice and its commissioner; others 404, an operator 403.
    const std::string path = "/v1/declarations/" + declaration_id;
    EXPECT_EQ(get(*gw, a_, path)->status, 200);
    EXPECT_EQ(get(*gw, qwe_, path)->status, 200);
    EXPECT_EQ(get(*gw, xyz_, path)->status, 404);
    EXPECT_EQ(get(*gw, b_, path)->status, 404);
    EXPECT_TRUE(is_problem(*get(*gw, ops_, path), "not-permitted"));
    EXPECT_EQ(get(*gw, a_, "/v1/declarations/unknown")->status, 404);

    // Deciding: a practice 403, another commissioner 404, its commissioner 200, once.
    const std::string approve = R"({"decision":"approved","decided_by":"J Smith, ICB primary care"})";
    const auto by_practice = post(*gw, a_, path + "/decision", "d-1", approve);
    EXPECT_EQ(by_practice->status, 403);
    EXPECT_TRUE(is_problem(*by_practice, "not-permitted")) << by_practice->body;
    EXPECT_EQ(post(*gw, xyz_, path + "/decision", "d-1", approve)->status, 404);
    EXPECT_EQ(post(*gw, ops_, path + "/decision", "d-1", approve)->status, 403);
    const auto approved = post(*gw, qwe_, path + "/decision", "d-1", approve);
    ASSERT_TRUE(approved);
    ASSERT_EQ(approved->status, 200) << approved->body;
    const auto decided = object_of(*approved);
    EXPECT_EQ(str(decided, "status"), "approved");
    EXPECT_EQ(str(decided, "decided_by"), "J Smith, ICB primary care");
    EXPECT_FALSE(str(decided, "decided_at").empty());
    const auto replayed = post(*gw, qwe_, path + "/decision", "d-1", approve);
    EXPECT_EQ(replayed->status, 200);
    EXPECT_EQ(replayed->body, approved->body);
    EXPECT_EQ(replayed->header("idempotent-replayed"), "true");
    const auto twice = post(*gw, qwe_, path + "/decision", "d-2", approve);
    EXPECT_EQ(twice->status, 409);
    EXPECT_TRUE(is_problem(*twice, "already-decided")) << twice->body;
    EXPECT_EQ(str(object_of(*get(*gw, a_, path)), "status"), "approved");
    EXPECT_EQ(
        postgres().scalar("SELECT status FROM declarations WHERE declaration_id = '" + declaration_id + "'", url_),
        "approved");
}

TEST_F(sign_off, rejected_then_declared_again) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto first = declare_reviewed(*gw, id, "k-1");
    ASSERT_EQ(first->status, 201) << first->body;
    const auto path = "/v1/declarations/" + str(object_of(*first), "declaration_id");

    const auto no_reason =
        post(*gw, qwe_, path + "/decision", "d-1", R"({"decision":"rejected","decided_by":"J Smith"})");
    EXPECT_EQ(no_reason->status, 422);
    EXPECT_TRUE(is_problem(*no_reason, "invalid-decision")) << no_reason->body;
    EXPECT_NE(no_reason->body.find("\"/reason\""), std::string::npos) << no_reason->body;
    const auto bad = post(*gw, qwe_, path + "/decision", "d-1", R"({"decision":"maybe","decided_by":"J Smith"})");
    EXPECT_EQ(bad->status, 422);
    EXPECT_EQ(post(*gw, qwe_, path + "/decision", "d-1", "not json")->status, 400);

    const auto rejected =
        post(*gw, qwe_, path + "/decision", "d-1",
             R"({"decision":"rejected","decided_by":"J Smith","reason":"HYP008 register looks wrong"})");
    ASSERT_EQ(rejected->status, 200) << rejected->body;
    EXPECT_EQ(str(object_of(*rejected), "reason"), "HYP008 register looks wrong");
    EXPECT_EQ(standing("A81001"), "0");

    const auto again = declare_reviewed(*gw, id, "k-2");
    ASSERT_EQ(again->status, 201) << again->body;
    EXPECT_EQ(standing("A81001"), "1");

    const auto list = get(*gw, a_, "/v1/declarations?period=2024-25");
    ASSERT_EQ(list->status, 200) << list->body;
    const auto items = object_of(*list).at("declarations").as_array();
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(str(items[0].as_object(), "status"), "awaiting-approval");  // newest first
    EXPECT_EQ(str(items[1].as_object(), "status"), "rejected");
    const auto only_rejected = get(*gw, qwe_, "/v1/declarations?period=2024-25&status=rejected");
    ASSERT_EQ(only_rejected->status, 200) << only_rejected->body;
    EXPECT_EQ(object_of(*only_rejected).at("declarations").as_array().size(), 1u);
    EXPECT_EQ(object_of(*get(*gw, xyz_, "/v1/declarations?period=2024-25")).at("declarations").as_array().size(), 0u);
    EXPECT_TRUE(is_problem(*get(*gw, a_, "/v1/declarations"), "invalid-query"));
    EXPECT_TRUE(is_problem(*get(*gw, a_, "/v1/declarations?period=2024-25&status=done"), "invalid-query"));
    EXPECT_EQ(get(*gw, ops_, "/v1/declarations?period=2024-25")->status, 403);
}

TEST_F(sign_off, declaration_list_pages_with_cursors) {
    auto gw = start();
    // Three schemes, one declaration each, so three declarations of A81001 stand at once.
    std::set<std::string> declared;
    for (const std::string scheme : {"QOF", "LDHC", "SHINGLES"}) {
        const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z", "calculated", scheme);
        const auto d = declare_reviewed(*gw, id, "k-" + scheme);
        ASSERT_EQ(d->status, 201) << d->body;
        declared.insert(str(object_of(*d), "declaration_id"));
    }
    std::set<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        const auto page =
            get(*gw, qwe_,
                "/v1/declarations?period=2024-25&limit=2" + (cursor.empty() ? std::string() : "&cursor=" + cursor));
        ASSERT_EQ(page->status, 200) << page->body;
        const auto doc = object_of(*page);
        for (const auto& d : doc.at("declarations").as_array())
            EXPECT_TRUE(seen.insert(str(d.as_object(), "declaration_id")).second);
        cursor = doc.at("next_cursor").is_string() ? std::string(doc.at("next_cursor").as_string()) : "";
        ++pages;
    } while (!cursor.empty() && pages < 5);
    EXPECT_EQ(pages, 2);
    EXPECT_EQ(seen, declared);
    EXPECT_TRUE(is_problem(*get(*gw, a_, "/v1/declarations?period=2024-25&cursor=zz"), "invalid-query"));
    EXPECT_TRUE(is_problem(*get(*gw, a_, "/v1/declarations?period=2024-25&limit=0"), "invalid-query"));
    EXPECT_TRUE(is_problem(*get(*gw, a_, "/v1/declarations?period=2024-25&limit=101"), "invalid-query"));
}

TEST_F(sign_off, what_cannot_be_declared) {
    auto gw = start();
    // Failed: not calculated.
    const auto failed = insert_submission("A81001", "2025-03-30T10:00:00.000Z", "failed", "LDHC");
    const auto f = post(*gw, a_, "/v1/declarations", "k-f", declaration_body(failed, std::string(64, 'a')));
    EXPECT_EQ(f->status, 409);
    EXPECT_TRUE(is_problem(*f, "not-calculated")) << f->body;
    // Superseded by a later submission of the same period and scheme.
    const auto older = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto newer = insert_submission("A81001", "2025-03-30T11:00:00.000Z");
    const auto s = post(*gw, a_, "/v1/declarations", "k-s", declaration_body(older, sha256_hex(result_json)));
    EXPECT_EQ(s->status, 409);
    EXPECT_TRUE(is_problem(*s, "submission-superseded")) << s->body;
    // The digest of something else than the result served.
    const auto c = post(*gw, a_, "/v1/declarations", "k-c", declaration_body(newer, sha256_hex(result_json + " ")));
    EXPECT_EQ(c->status, 409);
    EXPECT_TRUE(is_problem(*c, "statement-changed")) << c->body;
    // Unknown, and another practice's: 404 alike.
    EXPECT_EQ(
        post(*gw, a_, "/v1/declarations", "k-u", declaration_body("3-" + std::string(32, 'f'), sha256_hex(result_json)))
            ->status,
        404);
    const auto bs = insert_submission("B82002", "2025-03-30T10:00:00.000Z");
    EXPECT_EQ(post(*gw, a_, "/v1/declarations", "k-b", declaration_body(bs, sha256_hex(result_json)))->status, 404);
    // Admitted to Redis, not calculated yet (no worker runs here).
    const auto submitted = ask(gw->port(), submit_request(a_, "sub-1", qof_body("A81001")));
    ASSERT_EQ(submitted->status, 202) << submitted->body;
    const auto queued = post(*gw, a_, "/v1/declarations", "k-q",
                             declaration_body(json_string(submitted->body, "submission_id"), sha256_hex(result_json)));
    EXPECT_EQ(queued->status, 409);
    EXPECT_TRUE(is_problem(*queued, "not-calculated")) << queued->body;
    // A practice without a commissioner in the organisations file.
    const auto d = make_credential("D84004");
    EXPECT_EQ(standing("A81001"), "0");
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM idempotency_records", url_), "0");  // nothing recorded
    (void)d;
}

TEST_F(sign_off, request_faults_and_roles) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto body = declaration_body(id, sha256_hex(result_json));
    const auto no_key = post(*gw, a_, "/v1/declarations", "", body);
    EXPECT_EQ(no_key->status, 400);
    EXPECT_TRUE(is_problem(*no_key, "bad-idempotency-key"));
    EXPECT_EQ(post(*gw, a_, "/v1/declarations", "k", body, "text/plain")->status, 415);
    const auto malformed = post(*gw, a_, "/v1/declarations", "k", "{\"submission_id\":");
    EXPECT_EQ(malformed->status, 400);
    EXPECT_TRUE(is_problem(*malformed, "malformed-json"));
    const auto invalid = post(*gw, a_, "/v1/declarations", "k",
                              R"({"submission_id":7,"declared_by":"","statement_sha256":"xyz","extra":1})");
    EXPECT_EQ(invalid->status, 422);
    EXPECT_TRUE(is_problem(*invalid, "invalid-declaration")) << invalid->body;
    for (const auto* pointer : {"/submission_id", "/declared_by", "/statement_sha256", "/extra"})
        EXPECT_NE(invalid->body.find(std::string("\"") + pointer + "\""), std::string::npos) << pointer;
    EXPECT_EQ(ask(gw->port(), post_request("/v1/declarations", body, "Idempotency-Key: k\r\n"))->status, 401);

    const auto commissioner = post(*gw, qwe_, "/v1/declarations", "k", body);
    EXPECT_EQ(commissioner->status, 403);
    EXPECT_TRUE(is_problem(*commissioner, "not-permitted"));
    EXPECT_EQ(post(*gw, ops_, "/v1/declarations", "k", body)->status, 403);
    // A commissioner or an operator may not submit either.
    auto upload = submit_request(qwe_, "s-1", qof_body("A81001"));
    const auto commissioner_upload = ask(gw->port(), upload);
    EXPECT_EQ(commissioner_upload->status, 403);
    EXPECT_TRUE(is_problem(*commissioner_upload, "not-permitted")) << commissioner_upload->body;
    EXPECT_EQ(standing("A81001"), "0");
}

TEST_F(sign_off, no_commissioner_in_the_organisations_file) {
    const auto d = make_credential("D84004");
    a_.line += d.line;  // D84004 has a token but no commissioner
    auto gw = start();
    const auto id = insert_submission("D84004", "2025-03-30T10:00:00.000Z");
    const auto answer = declare_reviewed(*gw, id, "k", &d);
    EXPECT_EQ(answer->status, 409);
    EXPECT_TRUE(is_problem(*answer, "no-commissioner")) << answer->body;
}

TEST_F(sign_off, the_declaration_window) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto at = [](auto t) { return config::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t)); };
    // Closed ten hours ago, with 72 hours of grace: what was received before the close may be declared.
    const auto grace_dir = catalogue_with_window(
        "grace", "declarations_open = \"" + at(now - 240h) + "\"\ndeclarations_close = \"" + at(now - 10h) + "\"\n");
    {
        auto gw = start(grace_dir);
        const auto in_time = insert_submission("A81001", at(now - 11h));
        const auto ok = declare_reviewed(*gw, in_time, "k-1");
        EXPECT_EQ(ok->status, 201) << ok->body;
        const auto late = insert_submission("B82002", at(now - 9h));
        const auto refused = declare_reviewed(*gw, late, "k-2", &b_);
        EXPECT_EQ(refused->status, 409);
        EXPECT_TRUE(is_problem(*refused, "period-closed")) << refused->body;
        EXPECT_NE(refused->body.find("hours more to declare"), std::string::npos) << refused->body;
        // After the close the period is view-only: uploads get the same 409, nothing queued.
        const auto upload = ask(gw->port(), submit_request(c_, "s-1", qof_body("C83003")));
        EXPECT_EQ(upload->status, 409);
        EXPECT_TRUE(is_problem(*upload, "period-closed")) << upload->body;
    }
    // Closed for good (grace over), and not open yet.
    for (const auto& keys :
         {"declarations_open = \"" + at(now - 400h) + "\"\ndeclarations_close = \"" + at(now - 100h) + "\"\n",
          "declarations_open = \"" + at(now + 24h) + "\"\ndeclarations_close = \"" + at(now + 240h) + "\"\n"}) {
        auto gw = start(catalogue_with_window("w" + std::to_string(++ids_), keys));
        const auto id = insert_submission("C83003", at(now - 200h));
        const auto refused = declare_reviewed(*gw, id, "k-" + std::to_string(ids_), &c_);
        EXPECT_EQ(refused->status, 409);
        EXPECT_TRUE(is_problem(*refused, "period-closed")) << refused->body;
    }
}

TEST_F(sign_off, fifty_concurrent_declarations_one_201) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto body = declaration_body(id, sha256_hex(result_json));
    constexpr int n = 50;
    std::vector<std::string> requests;
    for (int i = 0; i < n; ++i)
        requests.push_back(post_request(
            "/v1/declarations", body,
            auth(a_) + "Idempotency-Key: key-" + std::to_string(i) + "\r\nContent-Type: application/json\r\n"));
    int created = 0, conflicts = 0, other = 0;
    std::vector<std::string> others;
    for (const auto& a : at_once(*gw, requests)) {
        if (a && a->status == 201) {
            ++created;
        } else if (a && a->status == 409 && is_problem(*a, "already-declared")) {
            ++conflicts;
        } else {
            ++other;
            others.push_back(a ? std::to_string(a->status) + " " + a->body : "no answer");
        }
    }
    EXPECT_EQ(created, 1);
    EXPECT_EQ(conflicts, n - 1);
    EXPECT_EQ(other, 0) << (others.empty() ? std::string() : others.front()) << gw->log();
    EXPECT_EQ(standing("A81001"), "1");
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM idempotency_records", url_), "1");
}

// One declaration sent at once on 20 connections with the same key (a client that retried without
// waiting): whichever commits first is the answer, and every other copy replays it. The idempotency
// record is written in the declaration's own transaction, so there is no moment at which the key is
// seen but its answer is not: a copy that arrives while the first is in flight waits on the row
// lock (within ledger.timeout_ms) and is answered with what committed, never with a second row.
TEST_F(sign_off, one_key_on_twenty_connections_one_declaration) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto body = declaration_body(id, sha256_hex(result_json));
    constexpr int n = 20;
    const auto request = post_request("/v1/declarations", body,
                                      auth(a_) + "Idempotency-Key: same\r\nContent-Type: application/json\r\n");
    const auto answers = at_once(*gw, std::vector<std::string>(n, request));
    std::set<std::string> bodies;
    int fresh = 0;
    for (const auto& a : answers) {
        ASSERT_TRUE(a) << gw->log();
        ASSERT_EQ(a->status, 201) << a->body;
        bodies.insert(a->body);
        if (a->header("idempotent-replayed").empty()) ++fresh;
    }
    EXPECT_EQ(bodies.size(), 1u);  // one declaration id, one answer
    EXPECT_EQ(fresh, 1);
    EXPECT_EQ(standing("A81001"), "1");
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM idempotency_records", url_), "1");
}

TEST_F(sign_off, submission_list_current_cursor_and_key_lookup) {
    auto gw = start();
    std::vector<std::string> qof;
    for (int i = 0; i < 5; ++i)
        qof.push_back(insert_submission("A81001", "2025-03-2" + std::to_string(i) + "T10:00:00.000Z", "calculated",
                                        "QOF", "key-" + std::to_string(i)));
    const auto ldhc = insert_submission("A81001", "2025-03-25T10:00:00.000Z", "calculated", "LDHC");
    insert_submission("B82002", "2025-03-25T10:00:00.000Z");
    insert_submission("A81001", "2024-03-25T10:00:00.000Z", "calculated", "QOF", "", "2023-24");

    std::vector<std::string> order;
    std::map<std::string, bool> current;
    std::string cursor;
    for (int page = 0; page < 6; ++page) {
        const auto a = get(
            *gw, a_, "/v1/submissions?period=2024-25&limit=2" + (cursor.empty() ? std::string() : "&cursor=" + cursor));
        ASSERT_EQ(a->status, 200) << a->body;
        const auto doc = object_of(*a);
        for (const auto& s : doc.at("submissions").as_array()) {
            order.push_back(str(s.as_object(), "submission_id"));
            current[order.back()] = s.as_object().at("current").as_bool();
        }
        if (!doc.at("next_cursor").is_string()) break;
        cursor = std::string(doc.at("next_cursor").as_string());
    }
    const std::vector<std::string> expected = {ldhc, qof[4], qof[3], qof[2], qof[1], qof[0]};  // newest first
    EXPECT_EQ(order, expected);
    EXPECT_TRUE(current[ldhc]);
    EXPECT_TRUE(current[qof[4]]);
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(current[qof[static_cast<std::size_t>(i)]]) << i;
    const auto only_ldhc = get(*gw, a_, "/v1/submissions?period=2024-25&scheme=LDHC");
    EXPECT_EQ(object_of(*only_ldhc).at("submissions").as_array().size(), 1u);

    // A commissioner names one of its practices; another's is 404; without a practice, 400.
    EXPECT_EQ(get(*gw, qwe_, "/v1/submissions?period=2024-25&practice=A81001")->status, 200);
    EXPECT_EQ(get(*gw, xyz_, "/v1/submissions?period=2024-25&practice=A81001")->status, 404);
    EXPECT_TRUE(is_problem(*get(*gw, qwe_, "/v1/submissions?period=2024-25"), "invalid-query"));
    EXPECT_EQ(get(*gw, a_, "/v1/submissions?period=2024-25&practice=B82002")->status, 404);
    EXPECT_EQ(get(*gw, ops_, "/v1/submissions?period=2024-25")->status, 403);
    for (const auto* bad :
         {"/v1/submissions", "/v1/submissions?period=24-25", "/v1/submissions?period=2024-25&limit=x",
          "/v1/submissions?period=2024-25&cursor=00", "/v1/submissions?period=2024-25&bogus=1",
          "/v1/submissions?period=2024-25&period=2024-25", "/v1/submissions?idempotency_key=a&period=2024-25"})
        EXPECT_TRUE(is_problem(*get(*gw, a_, bad), "invalid-query")) << bad;

    // "Did my request with key K go through?": from PostgreSQL, from Redis (admitted a moment ago), or not.
    const auto by_key = get(*gw, a_, "/v1/submissions?idempotency_key=key-2");
    ASSERT_EQ(by_key->status, 200) << by_key->body;
    EXPECT_EQ(str(object_of(*by_key), "submission_id"), qof[2]);
    const auto submitted = ask(gw->port(), submit_request(a_, "fresh-key", qof_body("A81001")));
    ASSERT_EQ(submitted->status, 202);
    const auto fresh = get(*gw, a_, "/v1/submissions?idempotency_key=fresh-key");
    ASSERT_EQ(fresh->status, 200) << fresh->body;
    EXPECT_EQ(str(object_of(*fresh), "submission_id"), json_string(submitted->body, "submission_id"));
    EXPECT_EQ(str(object_of(*fresh), "status"), "queued");
    const auto never = get(*gw, a_, "/v1/submissions?idempotency_key=never-sent");
    EXPECT_EQ(never->status, 404);
    EXPECT_TRUE(is_problem(*never, "not-found"));
    EXPECT_EQ(get(*gw, b_, "/v1/submissions?idempotency_key=key-2")->status, 404);  // another practice's key

    // GET by id from PostgreSQL: the practice, its commissioner; not another commissioner.
    EXPECT_EQ(get(*gw, a_, "/v1/submissions/" + qof[0])->status, 200);
    EXPECT_EQ(get(*gw, qwe_, "/v1/submissions/" + qof[0])->status, 200);
    EXPECT_EQ(get(*gw, xyz_, "/v1/submissions/" + qof[0])->status, 404);
    EXPECT_EQ(get(*gw, b_, "/v1/submissions/" + qof[0])->status, 404);
    EXPECT_EQ(get(*gw, ops_, "/v1/submissions/" + qof[0])->status, 403);
}

TEST_F(sign_off, statement_and_outstanding) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    insert_submission("A81001", "2025-03-30T10:00:00.000Z", "calculated", "LDHC");
    insert_submission("B82002", "2025-03-30T10:00:00.000Z", "failed");
    const auto declared = declare_reviewed(*gw, id, "k-1");
    ASSERT_EQ(declared->status, 201) << declared->body;
    const auto path = "/v1/declarations/" + str(object_of(*declared), "declaration_id");
    ASSERT_EQ(post(*gw, qwe_, path + "/decision", "d", R"({"decision":"approved","decided_by":"J Smith"})")->status,
              200);

    const auto statement = get(*gw, a_, "/v1/statements/A81001/2024-25");
    ASSERT_EQ(statement->status, 200) << statement->body;
    const auto doc = object_of(*statement);
    EXPECT_EQ(str(doc, "commissioner"), "QWE");
    std::map<std::string, std::string> states;
    for (const auto& s : doc.at("schemes").as_array())
        states[str(s.as_object(), "scheme")] = str(s.as_object(), "state");
    EXPECT_EQ(states["QOF"], "approved");
    EXPECT_EQ(states["LDHC"], "calculated");
    EXPECT_EQ(states["SHINGLES"], "not-submitted");
    EXPECT_NE(statement->body.find("\"payment_gbp\":192466.36,\"approved_payment_gbp\":96233.18"), std::string::npos)
        << statement->body;  // 2 x 96233.18 in pence
    EXPECT_EQ(get(*gw, qwe_, "/v1/statements/A81001/2024-25")->status, 200);
    EXPECT_EQ(get(*gw, xyz_, "/v1/statements/A81001/2024-25")->status, 404);
    EXPECT_EQ(get(*gw, b_, "/v1/statements/A81001/2024-25")->status, 404);
    EXPECT_EQ(get(*gw, a_, "/v1/statements/A81001/2031-32")->status, 404);
    EXPECT_EQ(get(*gw, ops_, "/v1/statements/A81001/2024-25")->status, 403);
    const auto b_statement = object_of(*get(*gw, b_, "/v1/statements/B82002/2024-25"));
    EXPECT_EQ(str(b_statement.at("schemes").as_array()[0].as_object(), "state"), "submitted");

    const auto outstanding = get(*gw, ops_, "/v1/admin/outstanding?period=2024-25");
    ASSERT_EQ(outstanding->status, 200) << outstanding->body;
    std::map<std::string, std::string> by_practice;
    const auto outstanding_doc = object_of(*outstanding);
    for (const auto& p : outstanding_doc.at("practices").as_array()) {
        by_practice[str(p.as_object(), "practice")] = str(p.as_object(), "state");
        EXPECT_TRUE(p.as_object().at("token_not_after").is_string());
    }
    EXPECT_EQ(by_practice, (std::map<std::string, std::string>{
                               {"A81001", "approved"}, {"B82002", "submitted"}, {"C83003", "not-submitted"}}));
    EXPECT_EQ(get(*gw, a_, "/v1/admin/outstanding?period=2024-25")->status, 403);
    EXPECT_EQ(get(*gw, qwe_, "/v1/admin/outstanding?period=2024-25")->status, 403);
    EXPECT_TRUE(is_problem(*get(*gw, ops_, "/v1/admin/outstanding"), "invalid-query"));
}

// A finalised period (sluice-admin finalise, admin/finalise.hpp): the statement shows the final
// figures with "calculation": "final" and the final result; before, or for a submission the final
// run has not reached (a later one), "provisional" with the submission's own figures. The totals
// follow. The submission's own result (what was declared) is unchanged.
TEST_F(sign_off, statement_says_final_once_the_period_is_finalised) {
    auto gw = start();
    const auto qof = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto ldhc = insert_submission("A81001", "2025-03-30T10:00:00.000Z", "calculated", "LDHC");
    const auto schemes = [&] {
        const auto statement = get(*gw, a_, "/v1/statements/A81001/2024-25");
        EXPECT_EQ(statement->status, 200) << statement->body;
        std::map<std::string, json::object> out;
        const auto doc = object_of(*statement);
        for (const auto& v : doc.at("schemes").as_array()) out[str(v.as_object(), "scheme")] = v.as_object();
        out["total"] = doc;
        return out;
    };
    auto before = schemes();
    EXPECT_EQ(str(before["QOF"], "calculation"), "provisional");
    EXPECT_EQ(before["QOF"].at("payment_gbp").as_double(), 96233.18);
    EXPECT_FALSE(before["QOF"].contains("final_result"));
    EXPECT_FALSE(before["SHINGLES"].contains("calculation"));  // not submitted

    const std::string final_json =
        R"({"points":412.37,"payment_gbp":97001.02,"indicators":[],"services":[],"notes":[]})";
    postgres().query(
        "INSERT INTO period_finals (period, state, generation) VALUES ('2024-25', 'finalising', 1); "
        "INSERT INTO final_results (period, practice, scheme, submission_id, generation, result, points, "
        "payment_gbp) VALUES ('2024-25', 'A81001', 'QOF', '" +
            qof + "', 1, '" + final_json + "', 412.37, 97001.02), ('2024-25', 'A81001', 'LDHC', '" + ldhc + "', 1, '" +
            result_json + "', 412.37, 96233.18)",
        url_);
    EXPECT_EQ(str(schemes()["QOF"], "calculation"), "provisional") << "finalising is not final yet";

    postgres().query("UPDATE period_finals SET state = 'final', finished_at = now()", url_);
    auto after = schemes();
    EXPECT_EQ(str(after["QOF"], "calculation"), "final");
    EXPECT_EQ(after["QOF"].at("payment_gbp").as_double(), 97001.02);
    EXPECT_EQ(str(after["LDHC"], "calculation"), "final");
    const auto body = get(*gw, a_, "/v1/statements/A81001/2024-25")->body;
    EXPECT_NE(body.find("\"calculation\":\"final\",\"points\":412.37,\"payment_gbp\":97001.02,\"final_result\":" +
                        final_json),
              std::string::npos)
        << body;
    // The submission shown is the one received, its result byte for byte as declared.
    EXPECT_NE(body.find(result_json), std::string::npos) << body;
    EXPECT_NE(body.find("\"payment_gbp\":193234.20,\"approved_payment_gbp\":0.00"), std::string::npos)
        << body;  // 97001.02 + 96233.18

    // A later QOF submission, calculated after finalisation: provisional until finalise runs again.
    insert_submission("A81001", "2025-04-10T10:00:00.000Z");
    auto later = schemes();
    EXPECT_EQ(str(later["QOF"], "calculation"), "provisional");
    EXPECT_EQ(later["QOF"].at("payment_gbp").as_double(), 96233.18);
    EXPECT_EQ(str(later["LDHC"], "calculation"), "final");
}

// A later submission still queued in Redis (no worker runs here) supersedes the calculated one the
// system of record holds, before the worker has recorded it: declaring the older one is 409
// submission-superseded naming the later, the list marks the older not current, and the
// statement says the scheme is submitted, showing the queued one. Other schemes are unaffected.
TEST_F(sign_off, a_later_submission_still_queued_supersedes_the_calculated_one) {
    auto gw = start();
    const auto older = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto ldhc = insert_submission("A81001", "2025-03-30T10:00:00.000Z", "calculated", "LDHC");
    const auto submitted = ask(gw->port(), submit_request(a_, "newer", qof_body("A81001")));
    ASSERT_TRUE(submitted);
    ASSERT_EQ(submitted->status, 202) << submitted->body;
    const auto newer = json_string(submitted->body, "submission_id");
    ASSERT_FALSE(newer.empty());

    const auto refused = declare_reviewed(*gw, older, "k-1");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 409);
    EXPECT_TRUE(is_problem(*refused, "submission-superseded")) << refused->body;
    EXPECT_NE(refused->body.find(newer), std::string::npos) << refused->body;
    EXPECT_EQ(standing("A81001"), "0");
    const auto ldhc_declared = declare_reviewed(*gw, ldhc, "k-2");
    ASSERT_TRUE(ldhc_declared);
    EXPECT_EQ(ldhc_declared->status, 201) << ldhc_declared->body;

    const auto list = get(*gw, a_, "/v1/submissions?period=2024-25");
    ASSERT_EQ(list->status, 200) << list->body;
    const auto list_doc = object_of(*list);
    std::map<std::string, bool> current;
    for (const auto& row : list_doc.at("submissions").as_array())
        current[str(row.as_object(), "submission_id")] = row.as_object().at("current").as_bool();
    EXPECT_EQ(current, (std::map<std::string, bool>{{older, false}, {ldhc, true}}));

    const auto statement = get(*gw, a_, "/v1/statements/A81001/2024-25");
    ASSERT_EQ(statement->status, 200) << statement->body;
    const auto doc = object_of(*statement);
    std::map<std::string, std::string> states, shown;
    for (const auto& v : doc.at("schemes").as_array()) {
        const auto& scheme = v.as_object();
        states[str(scheme, "scheme")] = str(scheme, "state");
        if (scheme.at("submission").is_object())
            shown[str(scheme, "scheme")] = str(scheme.at("submission").as_object(), "submission_id") + " " +
                                           str(scheme.at("submission").as_object(), "status");
    }
    EXPECT_EQ(states["QOF"], "submitted");
    EXPECT_EQ(shown["QOF"], newer + " queued");
    EXPECT_EQ(states["LDHC"], "declared");
    EXPECT_EQ(shown["LDHC"], ldhc + " calculated");
}

TEST_F(sign_off, organisations_file_is_reread_on_sighup) {
    auto gw = start();
    insert_submission("B82002", "2025-03-30T10:00:00.000Z");
    EXPECT_EQ(get(*gw, xyz_, "/v1/statements/B82002/2024-25")->status, 404);
    scratch_.write("organisations.csv.new", "A81001,QWE\nB82002,XYZ\nC83003,XYZ\n");
    std::filesystem::rename(scratch_.path() / "organisations.csv.new", orgs_);
    gw->send_signal(SIGHUP);
    ASSERT_TRUE(gw->wait_for_log("reloaded configuration", 10s)) << gw->log();
    EXPECT_EQ(get(*gw, xyz_, "/v1/statements/B82002/2024-25")->status, 200);
    EXPECT_EQ(get(*gw, qwe_, "/v1/statements/B82002/2024-25")->status, 404);
    // A bad file is refused and the running table kept.
    scratch_.write("organisations.csv.new", "B82002,xyz\n");
    std::filesystem::rename(scratch_.path() / "organisations.csv.new", orgs_);
    gw->send_signal(SIGHUP);
    ASSERT_TRUE(gw->wait_for_log("reload refused", 10s)) << gw->log();
    EXPECT_EQ(get(*gw, xyz_, "/v1/statements/B82002/2024-25")->status, 200);
}

TEST_F(sign_off, postgres_down_is_503_at_once_and_uploads_go_on) {
    auto gw = start();
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    postgres().stop();
    const auto down = post(*gw, a_, "/v1/declarations", "k-1", declaration_body(id, sha256_hex(result_json)));
    ASSERT_TRUE(down);
    EXPECT_EQ(down->status, 503);
    EXPECT_TRUE(is_problem(*down, "ledger-unavailable")) << down->body;
    EXPECT_FALSE(down->header("retry-after").empty());
    for (const auto* path :
         {"/v1/declarations?period=2024-25", "/v1/statements/A81001/2024-25", "/v1/submissions?period=2024-25"}) {
        const auto a = get(*gw, a_, path);
        EXPECT_EQ(a->status, 503) << path;
        EXPECT_FALSE(a->header("retry-after").empty()) << path;
    }
    // The admission path never waits on PostgreSQL. (Another practice's: A81001's would supersede
    // the submission declared below.)
    const auto upload = ask(gw->port(), submit_request(b_, "s-1", qof_body("B82002")));
    EXPECT_EQ(upload->status, 202) << upload->body;
    EXPECT_EQ(get(*gw, a_, "/readyz")->status, 200);
    postgres().start();
    std::optional<http_answer> back;
    for (int i = 0; i < 400; ++i) {
        back = post(*gw, a_, "/v1/declarations", "k-1", declaration_body(id, sha256_hex(result_json)));
        if (back && back->status != 503) break;
        std::this_thread::sleep_for(25ms);
    }
    ASSERT_TRUE(back);
    EXPECT_EQ(back->status, 201) << back->body;
    EXPECT_EQ(standing("A81001"), "1");
}

// The whole journey with the real worker: upload, calculated (read from Redis), declared with the
// digest of the result bytes the practice was shown, approved, and the statement says approved.
// The worker writes the same bytes to PostgreSQL as to Redis, so the digest checks against both.
TEST_F(sign_off, journey_with_the_real_worker) {
    auto gw = start("", "", "[redis]\nshards = 4\n");
    worker_config wc;
    wc.shards = 4;
    wc.ledger_url = url_;
    worker_process worker(wc);
    const auto submitted = ask(gw->port(), submit_request(a_, "journey-1", qof_body("A81001")));
    ASSERT_EQ(submitted->status, 202) << submitted->body;
    const auto id = json_string(submitted->body, "submission_id");
    std::optional<http_answer> shown;
    ASSERT_TRUE(eventually(
        [&] {
            shown = get(*gw, a_, "/v1/submissions/" + id);
            return shown && shown->status == 200 && str(object_of(*shown), "status") == "calculated" &&
                   postgres().scalar("SELECT count(*) FROM submissions WHERE submission_id = '" + id + "'", url_) ==
                       "1";
        },
        30s))
        << worker.log();
    const auto reviewed = result_bytes(shown->body);  // served from Redis
    ASSERT_FALSE(reviewed.empty());
    const auto declared =
        post(*gw, a_, "/v1/declarations", "k-1", declaration_body(id, sha256_hex(reviewed), "Dr A Example"));
    ASSERT_EQ(declared->status, 201) << declared->body;
    const auto path = "/v1/declarations/" + str(object_of(*declared), "declaration_id");
    ASSERT_EQ(post(*gw, qwe_, path + "/decision", "d-1", R"({"decision":"approved","decided_by":"J Smith"})")->status,
              200);
    const auto statement = get(*gw, qwe_, "/v1/statements/A81001/2024-25");
    ASSERT_EQ(statement->status, 200) << statement->body;
    EXPECT_EQ(str(object_of(*statement).at("schemes").as_array()[0].as_object(), "state"), "approved");
    EXPECT_NE(statement->body.find(reviewed), std::string::npos);  // the same bytes, from PostgreSQL
    const auto by_key = get(*gw, a_, "/v1/submissions?idempotency_key=journey-1");
    ASSERT_EQ(by_key->status, 200) << by_key->body;
    EXPECT_EQ(str(object_of(*by_key), "submission_id"), id);
}

// Redis unreachable: whether a later submission is still queued cannot be known, so a declaration
// is 503 and records nothing; the list answers from PostgreSQL alone.
TEST_F(sign_off, redis_unreachable_a_declaration_is_503_and_records_nothing) {
    gateway_options o;
    o.extra_toml = extra_toml(url_);
    o.credentials = credentials_text();
    o.redis_url = "redis://127.0.0.1:1";  // nothing listens there
    o.wait_ready = false;
    gateway_process gw(o);
    for (int i = 0; i < 200; ++i) {  // ready for the sign-off endpoints once PostgreSQL is connected
        const auto a = get(gw, qwe_, "/v1/declarations/none");
        if (a && a->status == 404) break;
        std::this_thread::sleep_for(25ms);
    }
    const auto id = insert_submission("A81001", "2025-03-30T10:00:00.000Z");
    const auto refused = post(gw, a_, "/v1/declarations", "k-1", declaration_body(id, sha256_hex(result_json)));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_TRUE(is_problem(*refused, "unavailable")) << refused->body;
    EXPECT_FALSE(refused->header("retry-after").empty());
    EXPECT_EQ(standing("A81001"), "0");
    EXPECT_EQ(postgres().scalar("SELECT count(*) FROM idempotency_records", url_), "0");
    const auto list = get(gw, a_, "/v1/submissions?period=2024-25");
    ASSERT_EQ(list->status, 200) << list->body;
    EXPECT_TRUE(object_of(*list).at("submissions").as_array().at(0).as_object().at("current").as_bool());
}

TEST_F(sign_off, no_ledger_configured_is_503) {
    gateway_options o;
    o.credentials = credentials_text();
    o.extra_toml = "[organisations]\nfile = \"" + orgs_.string() + "\"\n";
    gateway_process gw(o);
    const auto a = get(gw, a_, "/v1/declarations?period=2024-25");
    EXPECT_EQ(a->status, 503);
    EXPECT_TRUE(is_problem(*a, "ledger-unavailable")) << a->body;
}

}  // namespace
}  // namespace sluice::test
