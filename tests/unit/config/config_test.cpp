// Unit tests of config/config.hpp: defaults, file and environment overrides and their
// precedence, every error path with the exact one-line message an operator sees, parse_redis_url,
// and the to_toml round trip.

#include "config/config.hpp"

#include "tests/support/scratch_directory.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sluice::config {
namespace {

using test::scratch_directory;

// The config_error that `action` throws (a test failure if it throws none).
template <typename Action>
config_error error_from(Action&& action)
{
    try {
        action();
    } catch (const config_error& error) {
        return error;
    }
    ADD_FAILURE() << "no config_error was thrown";
    return config_error("(none)");
}

config_error parse_error(std::string_view toml_text, const environment& env = {})
{
    return error_from([&] { (void)parse(toml_text, env, "test.toml"); });
}

config_error env_error(const environment& env)
{
    return parse_error("", env);
}

// A value different from the default for every key.
settings non_defaults()
{
    settings s;
    s.listen = {.address = "::", .port = 9443, .threads = 8, .plain_http = false};
    s.tls = {.cert_file = "/etc/sluice/tls/cert.pem", .key_file = "/etc/sluice/tls/key.pem", .port = 9444};
    s.redis = {.url = "redis+cluster://10.0.0.1:7000,10.0.0.2:7001", .timeout_ms = 100, .shards = 64};
    s.credentials = {.file = "/etc/sluice/credentials.csv", .warn_days = 14};
    s.ratelimit = {.rate = 0.5, .burst = 3};
    s.idempotency = {.ttl_seconds = 86400};
    s.limits = {.max_connections = 500,
                .max_body_bytes = 2048,
                .max_header_bytes = 8192,
                .header_timeout_ms = 2000,
                .body_timeout_ms = 5000,
                .idle_timeout_ms = 15000,
                .max_inflight_per_thread = 128};
    s.shutdown = {.drain_seconds = 5};
    s.durability = {.replicas = 1, .wait_timeout_ms = 40};
    s.catalogue = {.dir = "/srv/catalogue"};
    s.worker = {.concurrency = 16,
                .claim_idle_ms = 60000,
                .max_attempts = 3,
                .metrics_address = "0.0.0.0",
                .metrics_port = 9191};
    s.ledger = {.url = "postgresql://sluice@db.example:5433/sluice?sslmode=require",
                .retention_days = 3650,
                .pool_size = 8,
                .timeout_ms = 500};
    s.log = {.format = "json", .requests = true};
    s.status = {.message_file = "/etc/sluice/status-message.txt"};
    s.organisations = {.file = "/etc/sluice/organisations.csv"};
    return s;
}

// non_defaults() as an operator would write it (not through to_toml()).
constexpr std::string_view non_defaults_toml = R"(
[listen]
address = "::"
port = 9443
threads = 8
plain_http = false

[tls]
cert_file = "/etc/sluice/tls/cert.pem"
key_file = "/etc/sluice/tls/key.pem"
port = 9444

[redis]
url = "redis+cluster://10.0.0.1:7000,10.0.0.2:7001"
timeout_ms = 100
shards = 64

[credentials]
file = "/etc/sluice/credentials.csv"
warn_days = 14

[organisations]
file = "/etc/sluice/organisations.csv"

[ratelimit.per_practice]
rate = 0.5
burst = 3

[idempotency]
ttl_seconds = 86400

[limits]
max_connections = 500
max_body_bytes = 2048
max_header_bytes = 8192
header_timeout_ms = 2000
body_timeout_ms = 5000
idle_timeout_ms = 15000
max_inflight_per_thread = 128

[shutdown]
drain_seconds = 5

[durability]
replicas = 1
wait_timeout_ms = 40

[catalogue]
dir = "/srv/catalogue"

[worker]
concurrency = 16
claim_idle_ms = 60000
max_attempts = 3
metrics_address = "0.0.0.0"
metrics_port = 9191

[ledger]
url = "postgresql://sluice@db.example:5433/sluice?sslmode=require"
retention_days = 3650
pool_size = 8
timeout_ms = 500

[log]
format = "json"
requests = true

[status]
message_file = "/etc/sluice/status-message.txt"
)";

// ---- defaults --------------------------------------------------------------------------------

TEST(config_defaults, empty_file_gives_the_defaults)
{
    EXPECT_EQ(parse("", {}), settings{});
    EXPECT_EQ(parse("# only a comment\n", {}), settings{});
    EXPECT_EQ(parse("[listen]\n[ratelimit.per_practice]\n", {}), settings{});
}

TEST(config_defaults, no_file_gives_the_defaults)
{
    EXPECT_EQ(load(std::nullopt, {}), settings{});
}

TEST(config_defaults, are_those_of_api_md)
{
    const settings s = parse("", {});
    EXPECT_EQ(s.listen.address, "127.0.0.1");
    EXPECT_EQ(s.listen.port, 8080);
    EXPECT_EQ(s.listen.threads, 0u);
    EXPECT_TRUE(s.listen.plain_http);
    EXPECT_EQ(s.tls.cert_file, "");  // TLS off
    EXPECT_EQ(s.tls.key_file, "");
    EXPECT_FALSE(s.tls.enabled());
    EXPECT_EQ(s.tls.port, 8443);
    EXPECT_EQ(s.redis.url, "redis://127.0.0.1:6379");
    EXPECT_EQ(s.redis.timeout_ms, 250u);
    EXPECT_EQ(s.redis.shards, 16u);
    EXPECT_EQ(s.credentials.file, "credentials.csv");
    EXPECT_EQ(s.credentials.warn_days, 30u);
    EXPECT_EQ(s.ratelimit.rate, 2.0);
    EXPECT_EQ(s.ratelimit.burst, 10u);
    EXPECT_EQ(s.idempotency.ttl_seconds, 604800u);
    EXPECT_EQ(s.limits.max_connections, 20000u);
    EXPECT_EQ(s.limits.max_body_bytes, 1048576u);
    EXPECT_EQ(s.limits.max_header_bytes, 16384u);
    EXPECT_EQ(s.limits.header_timeout_ms, 10000u);
    EXPECT_EQ(s.limits.body_timeout_ms, 30000u);
    EXPECT_EQ(s.limits.idle_timeout_ms, 60000u);
    EXPECT_EQ(s.limits.max_inflight_per_thread, 4096u);
    EXPECT_EQ(s.shutdown.drain_seconds, 20u);
    EXPECT_EQ(s.durability.replicas, 0u);
    EXPECT_EQ(s.catalogue.dir, "data/catalogue");
    EXPECT_EQ(s.worker.concurrency, 64u);
    EXPECT_EQ(s.worker.claim_idle_ms, 30000u);
    EXPECT_EQ(s.worker.max_attempts, 5u);
    EXPECT_EQ(s.worker.metrics_address, "127.0.0.1");  // not in API.md's list: config.hpp's defaults
    EXPECT_EQ(s.worker.metrics_port, 9090);
}

// ---- the file --------------------------------------------------------------------------------

TEST(config_file, sets_every_key)
{
    EXPECT_EQ(parse(non_defaults_toml, {}), non_defaults());
}

TEST(config_file, keeps_the_default_of_every_key_it_does_not_set)
{
    settings expected;
    expected.limits.max_body_bytes = 2048;
    EXPECT_EQ(parse("[limits]\nmax_body_bytes = 2048\n", {}), expected);
}

TEST(config_file, takes_any_toml_spelling_of_the_nested_table)
{
    EXPECT_EQ(parse("ratelimit.per_practice.rate = 5.5\n", {}).ratelimit.rate, 5.5);
    EXPECT_EQ(parse("ratelimit = { per_practice = { burst = 3 } }\n", {}).ratelimit.burst, 3u);
    EXPECT_EQ(parse("[ratelimit]\nper_practice.burst = 4\n", {}).ratelimit.burst, 4u);
    EXPECT_EQ(parse("limits.max_body_bytes = 1_024\n", {}).limits.max_body_bytes, 1024u);
}

TEST(config_file, takes_an_integer_for_rate)
{
    EXPECT_EQ(parse("[ratelimit.per_practice]\nrate = 5\n", {}).ratelimit.rate, 5.0);
}

TEST(config_file, takes_the_bounds_of_each_range)
{
    EXPECT_EQ(parse("listen.port = 0", {}).listen.port, 0);
    EXPECT_EQ(parse("listen.port = 65535", {}).listen.port, 65535);
    EXPECT_EQ(parse("limits.max_body_bytes = 1", {}).limits.max_body_bytes, 1u);
    EXPECT_EQ(parse("limits.max_body_bytes = 1073741824", {}).limits.max_body_bytes, 1073741824u);
    EXPECT_EQ(parse("limits.max_header_bytes = 1024", {}).limits.max_header_bytes, 1024u);
    EXPECT_EQ(parse("limits.max_header_bytes = 1048576", {}).limits.max_header_bytes, 1048576u);
    EXPECT_EQ(parse("redis.shards = 16384", {}).redis.shards, 16384u);
    EXPECT_EQ(parse("ratelimit.per_practice.rate = 0.001", {}).ratelimit.rate, 0.001);
    EXPECT_EQ(parse("ratelimit.per_practice.rate = 1e6", {}).ratelimit.rate, 1e6);
    EXPECT_EQ(parse("ratelimit.per_practice.burst = 1", {}).ratelimit.burst, 1u);
    EXPECT_EQ(parse("idempotency.ttl_seconds = 31622400", {}).idempotency.ttl_seconds, 31622400u);
}

TEST(config_file, load_reads_the_named_file)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", non_defaults_toml);
    EXPECT_EQ(load(file, {}), non_defaults());
}

// ---- the environment -------------------------------------------------------------------------

struct variable_case {
    std::string variable;
    std::string value;
    std::function<bool(const settings&)> took_effect;
};

TEST(config_environment, every_key_has_its_variable)
{
    const std::vector<variable_case> cases = {
        {"SLUICE_LISTEN_ADDRESS", "0.0.0.0", [](auto& s) { return s.listen.address == "0.0.0.0"; }},
        {"SLUICE_LISTEN_PORT", "0", [](auto& s) { return s.listen.port == 0; }},
        {"SLUICE_LISTEN_THREADS", "4", [](auto& s) { return s.listen.threads == 4; }},
        {"SLUICE_TLS_PORT", "0", [](auto& s) { return s.tls.port == 0; }},
        {"SLUICE_REDIS_URL", "unix:///run/redis.sock", [](auto& s) { return s.redis.url == "unix:///run/redis.sock"; }},
        {"SLUICE_REDIS_TIMEOUT_MS", "50", [](auto& s) { return s.redis.timeout_ms == 50; }},
        {"SLUICE_REDIS_SHARDS", "32", [](auto& s) { return s.redis.shards == 32; }},
        {"SLUICE_CREDENTIALS_FILE", "c.csv", [](auto& s) { return s.credentials.file == "c.csv"; }},
        {"SLUICE_CREDENTIALS_WARN_DAYS", "7", [](auto& s) { return s.credentials.warn_days == 7; }},
        {"SLUICE_RATELIMIT_PER_PRACTICE_RATE", "5", [](auto& s) { return s.ratelimit.rate == 5.0; }},
        {"SLUICE_RATELIMIT_PER_PRACTICE_BURST", "20", [](auto& s) { return s.ratelimit.burst == 20; }},
        {"SLUICE_IDEMPOTENCY_TTL_SECONDS", "60", [](auto& s) { return s.idempotency.ttl_seconds == 60; }},
        {"SLUICE_LIMITS_MAX_CONNECTIONS", "10", [](auto& s) { return s.limits.max_connections == 10; }},
        {"SLUICE_LIMITS_MAX_BODY_BYTES", "2048", [](auto& s) { return s.limits.max_body_bytes == 2048; }},
        {"SLUICE_LIMITS_MAX_HEADER_BYTES", "4096", [](auto& s) { return s.limits.max_header_bytes == 4096; }},
        {"SLUICE_LIMITS_HEADER_TIMEOUT_MS", "11", [](auto& s) { return s.limits.header_timeout_ms == 11; }},
        {"SLUICE_LIMITS_BODY_TIMEOUT_MS", "12", [](auto& s) { return s.limits.body_timeout_ms == 12; }},
        {"SLUICE_LIMITS_IDLE_TIMEOUT_MS", "13", [](auto& s) { return s.limits.idle_timeout_ms == 13; }},
        {"SLUICE_LIMITS_MAX_INFLIGHT_PER_THREAD", "14",
         [](auto& s) { return s.limits.max_inflight_per_thread == 14; }},
        {"SLUICE_SHUTDOWN_DRAIN_SECONDS", "0", [](auto& s) { return s.shutdown.drain_seconds == 0; }},
        {"SLUICE_DURABILITY_REPLICAS", "2", [](auto& s) { return s.durability.replicas == 2; }},
        {"SLUICE_CATALOGUE_DIR", "cat", [](auto& s) { return s.catalogue.dir == "cat"; }},
        {"SLUICE_WORKER_CONCURRENCY", "2", [](auto& s) { return s.worker.concurrency == 2; }},
        {"SLUICE_WORKER_CLAIM_IDLE_MS", "100", [](auto& s) { return s.worker.claim_idle_ms == 100; }},
        {"SLUICE_WORKER_MAX_ATTEMPTS", "9", [](auto& s) { return s.worker.max_attempts == 9; }},
        {"SLUICE_WORKER_METRICS_ADDRESS", "::1", [](auto& s) { return s.worker.metrics_address == "::1"; }},
        {"SLUICE_WORKER_METRICS_PORT", "0", [](auto& s) { return s.worker.metrics_port == 0; }},
        {"SLUICE_LEDGER_URL", "host=/tmp/pg port=5433 dbname=sluice",
         [](auto& s) { return s.ledger.url == "host=/tmp/pg port=5433 dbname=sluice"; }},
        {"SLUICE_LEDGER_RETENTION_DAYS", "30", [](auto& s) { return s.ledger.retention_days == 30; }},
        {"SLUICE_LEDGER_POOL_SIZE", "1", [](auto& s) { return s.ledger.pool_size == 1; }},
        {"SLUICE_LEDGER_TIMEOUT_MS", "50", [](auto& s) { return s.ledger.timeout_ms == 50; }},
        {"SLUICE_LOG_FORMAT", "json", [](auto& s) { return s.log.format == "json"; }},
        {"SLUICE_LOG_REQUESTS", "true", [](auto& s) { return s.log.requests; }},
        {"SLUICE_STATUS_MESSAGE_FILE", "/run/sluice/message",
         [](auto& s) { return s.status.message_file == "/run/sluice/message"; }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.variable + "=" + c.value);
        const settings s = parse("", {{c.variable, c.value}});
        EXPECT_TRUE(c.took_effect(s));
        EXPECT_NE(s, settings{});
    }
}

TEST(config_environment, wins_over_the_file)
{
    const settings s = parse("[limits]\nmax_body_bytes = 4096\nmax_connections = 7\n",
                             {{"SLUICE_LIMITS_MAX_BODY_BYTES", "2048"}});
    EXPECT_EQ(s.limits.max_body_bytes, 2048u);  // the variable
    EXPECT_EQ(s.limits.max_connections, 7u);    // the file, where no variable is set
}

TEST(config_environment, load_applies_it_over_the_file)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", non_defaults_toml);
    settings expected = non_defaults();
    expected.listen.port = 0;
    EXPECT_EQ(load(file, {{"SLUICE_LISTEN_PORT", "0"}}), expected);
}

TEST(config_environment, reads_numbers_as_their_key_type)
{
    EXPECT_EQ(parse("", {{"SLUICE_RATELIMIT_PER_PRACTICE_RATE", "2.5"}}).ratelimit.rate, 2.5);
    EXPECT_EQ(parse("", {{"SLUICE_RATELIMIT_PER_PRACTICE_RATE", "1e3"}}).ratelimit.rate, 1000.0);
    EXPECT_EQ(parse("", {{"SLUICE_LIMITS_MAX_BODY_BYTES", "1073741824"}}).limits.max_body_bytes, 1073741824u);
}

TEST(config_environment, ignores_variables_of_no_section)
{
    const environment env = {{"SLUICE_STATE_DIR", "/tmp/state"},
                             {"SLUICE_LISTEN", "x"},  // no key part: not SLUICE_LISTEN_*
                             {"SLUICE_", "x"},
                             {"PATH", "/usr/bin"},
                             {"LISTEN_PORT", "1"}};
    EXPECT_EQ(parse("", env), settings{});
}

TEST(config_environment, process_environment_has_only_sluice_variables)
{
    ASSERT_EQ(::setenv("SLUICE_CONFIG_TEST_PROBE", "a=b", 1), 0);
    ASSERT_EQ(::setenv("CONFIG_TEST_NOT_OURS", "1", 1), 0);
    const environment env = process_environment();
    ::unsetenv("SLUICE_CONFIG_TEST_PROBE");
    ::unsetenv("CONFIG_TEST_NOT_OURS");

    ASSERT_EQ(env.count("SLUICE_CONFIG_TEST_PROBE"), 1u);
    EXPECT_EQ(env.at("SLUICE_CONFIG_TEST_PROBE"), "a=b");
    for (const auto& [name, value] : env) EXPECT_TRUE(name.starts_with("SLUICE_")) << name;
}

// ---- names the file must not have ------------------------------------------------------------

TEST(config_errors, unknown_section)
{
    const auto error = parse_error("[listen]\nport = 1\n[listn]\nport = 2\n");
    EXPECT_EQ(error.key(), "listn");
    EXPECT_STREQ(
        error.what(),
        "config: listn: unknown section; the sections are listen, tls, redis, credentials, organisations, ratelimit, "
        "idempotency, limits, admission, shutdown, durability, catalogue, worker, ledger, log, status (at test.toml:3)");
}

TEST(config_errors, key_outside_any_section)
{
    const auto error = parse_error("port = 8080\n");
    EXPECT_EQ(error.key(), "port");
    EXPECT_NE(std::string(error.what()).find("unknown section"), std::string::npos);
}

TEST(config_errors, unknown_key)
{
    const auto error = parse_error("[limits]\nmax_bodybytes = 2048\n");
    EXPECT_EQ(error.key(), "limits.max_bodybytes");
    EXPECT_EQ(error.value(), "");
    EXPECT_STREQ(error.what(),
                 "config: limits.max_bodybytes: unknown key; the keys of [limits] are max_connections, "
                 "max_body_bytes, max_header_bytes, header_timeout_ms, body_timeout_ms, idle_timeout_ms, "
                 "max_inflight_per_thread (at test.toml:2)");
}

TEST(config_errors, nested_unknown_key)
{
    const auto error = parse_error("[ratelimit.per_practice]\nrate = 1\nburts = 3\n");
    EXPECT_EQ(error.key(), "ratelimit.per_practice.burts");
    EXPECT_STREQ(error.what(),
                 "config: ratelimit.per_practice.burts: unknown key; the keys of [ratelimit.per_practice] are "
                 "rate, burst (at test.toml:3)");
}

TEST(config_errors, key_one_level_too_high)
{
    const auto error = parse_error("[ratelimit]\nrate = 5\n");
    EXPECT_EQ(error.key(), "ratelimit.rate");
    EXPECT_EQ(error.allowed(), "unknown key; the keys of [ratelimit] are per_practice");
}

TEST(config_errors, unknown_table_inside_a_section)
{
    EXPECT_EQ(parse_error("[listen.tls]\ncert = \"x\"\n").key(), "listen.tls");
    EXPECT_EQ(parse_error("[ratelimit.per_client]\nrate = 1\n").key(), "ratelimit.per_client");
}

TEST(config_errors, section_that_is_not_a_table)
{
    const auto error = parse_error("listen = 5\n");
    EXPECT_EQ(error.key(), "listen");
    EXPECT_STREQ(error.what(), "config: listen = 5: expected a table [listen], got an integer (at test.toml:1)");

    EXPECT_EQ(parse_error("[[listen]]\nport = 1\n").allowed(), "expected a table [listen], got an array");
    EXPECT_EQ(parse_error("[ratelimit]\nper_practice = 2.0\n").key(), "ratelimit.per_practice");
}

// ---- wrong types -----------------------------------------------------------------------------

TEST(config_errors, string_for_an_integer)
{
    const auto error = parse_error("[listen]\nport = \"8080\"\n");
    EXPECT_EQ(error.key(), "listen.port");
    EXPECT_EQ(error.value(), "\"8080\"");
    EXPECT_STREQ(error.what(),
                 "config: listen.port = \"8080\": expected an integer from 0 to 65535, got a string (at test.toml:2)");
}

TEST(config_errors, float_for_an_integer_even_when_whole)
{
    const auto error = parse_error("[listen]\nport = 8080.0\n");
    EXPECT_EQ(error.value(), "8080.0");
    EXPECT_EQ(error.allowed(), "expected an integer from 0 to 65535, got a float");
}

TEST(config_errors, other_types_for_an_integer)
{
    EXPECT_EQ(parse_error("limits.max_body_bytes = true").allowed(),
              "expected an integer from 1 to 1073741824, got a boolean");
    EXPECT_EQ(parse_error("limits.max_body_bytes = [1, 2]").value(), "[...]");
    EXPECT_EQ(parse_error("[limits.max_body_bytes]\n").value(), "{...}");
    const auto date = parse_error("limits.max_body_bytes = 2025-03-31");
    EXPECT_EQ(date.value(), "2025-03-31");
    EXPECT_EQ(date.allowed(), "expected an integer from 1 to 1073741824, got a date");
}

TEST(config_errors, wrong_type_for_a_float)
{
    const auto error = parse_error("[ratelimit.per_practice]\nrate = \"fast\"\n");
    EXPECT_EQ(error.key(), "ratelimit.per_practice.rate");
    EXPECT_STREQ(error.what(), "config: ratelimit.per_practice.rate = \"fast\": expected a number from 0.001 to "
                               "1000000, got a string (at test.toml:2)");
    EXPECT_EQ(parse_error("ratelimit.per_practice.rate = true").allowed(),
              "expected a number from 0.001 to 1000000, got a boolean");
}

TEST(config_errors, wrong_type_for_a_string)
{
    const auto error = parse_error("[listen]\naddress = 127\n");
    EXPECT_EQ(error.key(), "listen.address");
    EXPECT_EQ(error.value(), "127");
    EXPECT_EQ(error.allowed(),
              "expected an IPv4 or IPv6 address literal, e.g. 127.0.0.1, 0.0.0.0 or ::1, got an integer");
    EXPECT_EQ(parse_error("catalogue.dir = { path = \"x\" }").key(), "catalogue.dir");
}

// ---- values out of range ---------------------------------------------------------------------

TEST(config_errors, the_documented_message)
{
    const auto error = parse_error("[limits]\nmax_body_bytes = -5\n");
    EXPECT_EQ(error.key(), "limits.max_body_bytes");
    EXPECT_EQ(error.value(), "-5");
    EXPECT_EQ(error.allowed(), "expected an integer from 1 to 1073741824");
    EXPECT_EQ(error.origin(), "at test.toml:2");
    EXPECT_STREQ(error.what(),
                 "config: limits.max_body_bytes = -5: expected an integer from 1 to 1073741824 (at test.toml:2)");
}

struct range_case {
    std::string toml;
    std::string key;
    std::string value;
    std::string allowed;
};

TEST(config_values, ledger_url_forms)
{
    for (const std::string url : {"", "postgresql://localhost/sluice", "postgres://u@h:5433/d?sslmode=disable",
                                  "host=127.0.0.1 port=5432 dbname=sluice", "dbname=sluice"}) {
        SCOPED_TRACE(url);
        EXPECT_EQ(parse("", {{"SLUICE_LEDGER_URL", url}}).ledger.url, url);
    }
    for (const char* url : {"=x", "redis://127.0.0.1:6379", "postgresql:/x", "dbname=a\nb"}) {
        SCOPED_TRACE(url);
        const auto error = env_error({{"SLUICE_LEDGER_URL", url}});
        EXPECT_EQ(error.key(), "ledger.url");
        EXPECT_EQ(error.allowed(), "expected \"\" (no ledger), a postgresql:// URI or libpq key=value pairs "
                                   "(host=... port=... dbname=...)");
    }
    EXPECT_EQ(parse_error("[ledger]\nurl = \"mysql://db\"\n").key(), "ledger.url");
}

TEST(config_errors, out_of_range_low_and_high)
{
    const std::vector<range_case> cases = {
        {"listen.port = -1", "listen.port", "-1", "from 0 to 65535"},
        {"listen.port = 65536", "listen.port", "65536", "from 0 to 65535"},
        {"listen.threads = 1025", "listen.threads", "1025", "from 0 to 1024"},
        {"redis.timeout_ms = 0", "redis.timeout_ms", "0", "from 1 to 60000"},
        {"redis.timeout_ms = 60001", "redis.timeout_ms", "60001", "from 1 to 60000"},
        {"redis.shards = 0", "redis.shards", "0", "from 1 to 16384"},
        {"redis.shards = 16385", "redis.shards", "16385", "from 1 to 16384"},
        {"credentials.warn_days = -1", "credentials.warn_days", "-1", "from 0 to 365"},
        {"credentials.warn_days = 366", "credentials.warn_days", "366", "from 0 to 365"},
        {"ratelimit.per_practice.rate = 0", "ratelimit.per_practice.rate", "0", "from 0.001 to 1000000"},
        {"ratelimit.per_practice.rate = -1.5", "ratelimit.per_practice.rate", "-1.5", "from 0.001 to 1000000"},
        {"ratelimit.per_practice.rate = 0.0009", "ratelimit.per_practice.rate", "0.0009", "from 0.001 to 1000000"},
        {"ratelimit.per_practice.rate = 1000000.5", "ratelimit.per_practice.rate", "1000000.5",
         "from 0.001 to 1000000"},
        {"ratelimit.per_practice.rate = inf", "ratelimit.per_practice.rate", "inf", "from 0.001 to 1000000"},
        {"ratelimit.per_practice.rate = -inf", "ratelimit.per_practice.rate", "-inf", "from 0.001 to 1000000"},
        {"ratelimit.per_practice.rate = nan", "ratelimit.per_practice.rate", "nan", "from 0.001 to 1000000"},
        {"ratelimit.per_practice.burst = 0", "ratelimit.per_practice.burst", "0", "from 1 to 1000000"},
        {"ratelimit.per_practice.burst = 1000001", "ratelimit.per_practice.burst", "1000001", "from 1 to 1000000"},
        {"idempotency.ttl_seconds = 0", "idempotency.ttl_seconds", "0", "from 1 to 31622400"},
        {"idempotency.ttl_seconds = 31622401", "idempotency.ttl_seconds", "31622401", "from 1 to 31622400"},
        {"limits.max_connections = 0", "limits.max_connections", "0", "from 1 to 1000000"},
        {"limits.max_body_bytes = 0", "limits.max_body_bytes", "0", "from 1 to 1073741824"},
        {"limits.max_body_bytes = 1073741825", "limits.max_body_bytes", "1073741825", "from 1 to 1073741824"},
        {"limits.max_header_bytes = 1023", "limits.max_header_bytes", "1023", "from 1024 to 1048576"},
        {"limits.max_header_bytes = 1048577", "limits.max_header_bytes", "1048577", "from 1024 to 1048576"},
        {"limits.header_timeout_ms = 0", "limits.header_timeout_ms", "0", "from 1 to 3600000"},
        {"limits.body_timeout_ms = 3600001", "limits.body_timeout_ms", "3600001", "from 1 to 3600000"},
        {"limits.idle_timeout_ms = -1", "limits.idle_timeout_ms", "-1", "from 1 to 3600000"},
        {"limits.max_inflight_per_thread = 0", "limits.max_inflight_per_thread", "0", "from 1 to 1000000"},
        {"shutdown.drain_seconds = 3601", "shutdown.drain_seconds", "3601", "from 0 to 3600"},
        {"durability.replicas = 65", "durability.replicas", "65", "from 0 to 64"},
        {"worker.concurrency = 0", "worker.concurrency", "0", "from 1 to 10000"},
        {"worker.claim_idle_ms = 0", "worker.claim_idle_ms", "0", "from 1 to 86400000"},
        {"worker.max_attempts = 0", "worker.max_attempts", "0", "from 1 to 100"},
        {"worker.max_attempts = 101", "worker.max_attempts", "101", "from 1 to 100"},
        {"worker.metrics_port = 65536", "worker.metrics_port", "65536", "from 0 to 65535"},
        {"ledger.retention_days = 0", "ledger.retention_days", "0", "from 1 to 36500"},
        {"ledger.pool_size = 0", "ledger.pool_size", "0", "from 1 to 256"},
        {"ledger.pool_size = 257", "ledger.pool_size", "257", "from 1 to 256"},
        {"ledger.timeout_ms = 0", "ledger.timeout_ms", "0", "from 1 to 600000"},
        {"listen.port = 9223372036854775807", "listen.port", "9223372036854775807", "from 0 to 65535"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.toml);
        const auto error = parse_error(c.toml);
        EXPECT_EQ(error.key(), c.key);
        EXPECT_EQ(error.value(), c.value);
        EXPECT_TRUE(error.allowed().ends_with(c.allowed)) << error.allowed();
        EXPECT_EQ(error.allowed().find(", got"), std::string::npos) << "a range fault is not a type fault";
    }
}

// redis.liveness_ms, when set, must be above redis.timeout_ms: one slow reply is a timeout of one
// call, only silence longer than that is a dead server. 0 (the default) is automatic.
TEST(config_errors, liveness_above_redis_timeout)
{
    const auto error = parse_error("[redis]\ntimeout_ms = 500\nliveness_ms = 500\n");
    EXPECT_EQ(error.key(), "redis.liveness_ms");
    EXPECT_NE(error.allowed().find("above redis.timeout_ms (500)"), std::string::npos) << error.allowed();
    EXPECT_NO_THROW(parse("[redis]\ntimeout_ms = 500\nliveness_ms = 501\n", {}, "test.toml"));
    EXPECT_NO_THROW(parse("[redis]\ntimeout_ms = 5000\n", {}, "test.toml"));
    EXPECT_THROW(parse("", {{"SLUICE_REDIS_LIVENESS_MS", "100"}}, "test.toml"), config_error);
}

TEST(config_errors, admission_target_queue_delay_range)
{
    EXPECT_EQ(parse_error("[admission]\ntarget_queue_delay_ms = 0\n").key(), "admission.target_queue_delay_ms");
    EXPECT_EQ(parse("[admission]\ntarget_queue_delay_ms = 5\n", {}, "test.toml").admission.target_queue_delay_ms, 5u);
    EXPECT_EQ(parse("", {{"SLUICE_ADMISSION_TARGET_QUEUE_DELAY_MS", "35"}}, "test.toml").admission.target_queue_delay_ms,
              35u);
}

TEST(config_errors, log_format_and_requests)
{
    auto e = parse_error("[log]\nformat = \"xml\"\n");
    EXPECT_EQ(e.key(), "log.format");
    EXPECT_STREQ(e.what(), R"(config: log.format = "xml": expected "text" or "json" (at test.toml:2))");
    e = parse_error("[log]\nrequests = 1\n");
    EXPECT_EQ(e.key(), "log.requests");
    EXPECT_STREQ(e.what(), "config: log.requests = 1: expected true or false, got an integer (at test.toml:2)");
    e = parse_error("", {{"SLUICE_LOG_REQUESTS", "yes"}});
    EXPECT_STREQ(e.what(), R"(config: log.requests = "yes": expected true or false (from SLUICE_LOG_REQUESTS))");
    EXPECT_FALSE(parse("[log]\nrequests = false\n", {}).log.requests);
    EXPECT_FALSE(parse("", {{"SLUICE_LOG_REQUESTS", "false"}}).log.requests);
    EXPECT_EQ(parse("[log]\nformat = \"json\"\n", {}).log.format, "json");
}

// durability.wait_timeout_ms must be below redis.timeout_ms once replicas are waited for, from the
// file or from an override; without replicas the key is unused and not constrained.
TEST(config_errors, wait_timeout_below_redis_timeout_when_replicas)
{
    const auto error = parse_error("[durability]\nreplicas = 1\nwait_timeout_ms = 250\n");
    EXPECT_EQ(error.key(), "durability.wait_timeout_ms");
    EXPECT_EQ(error.value(), "250");
    EXPECT_NE(error.allowed().find("below redis.timeout_ms (250)"), std::string::npos) << error.allowed();

    EXPECT_NO_THROW(parse("[durability]\nreplicas = 1\nwait_timeout_ms = 249\n", {}, "test.toml"));
    EXPECT_NO_THROW(parse("[durability]\nreplicas = 0\nwait_timeout_ms = 5000\n", {}, "test.toml"));
    EXPECT_THROW(parse("[durability]\nreplicas = 1\n", {{"SLUICE_REDIS_TIMEOUT_MS", "100"}}, "test.toml"),
                 config_error);
    EXPECT_EQ(parse("", {}, "test.toml").durability.wait_timeout_ms, 100u);
}

// ---- [tls] and the listeners ------------------------------------------------------------------

TEST(config_tls, on_with_both_files_off_with_neither)
{
    const auto s = parse("[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n", {}, "test.toml");
    EXPECT_TRUE(s.tls.enabled());
    EXPECT_EQ(s.tls.cert_file, "c.pem");
    EXPECT_EQ(s.tls.key_file, "k.pem");
    EXPECT_EQ(s.tls.port, 8443);
    EXPECT_TRUE(s.listen.plain_http);  // both listeners
    EXPECT_FALSE(parse("[tls]\nport = 9443\n", {}, "test.toml").tls.enabled());
}

TEST(config_tls, takes_its_environment_variables)
{
    const auto s = parse("", {{"SLUICE_TLS_CERT_FILE", "/run/c.pem"},
                              {"SLUICE_TLS_KEY_FILE", "/run/k.pem"},
                              {"SLUICE_TLS_PORT", "10443"},
                              {"SLUICE_LISTEN_PLAIN_HTTP", "false"}});
    EXPECT_EQ(s.tls.cert_file, "/run/c.pem");
    EXPECT_EQ(s.tls.key_file, "/run/k.pem");
    EXPECT_EQ(s.tls.port, 10443);
    EXPECT_FALSE(s.listen.plain_http);
    const auto e = env_error({{"SLUICE_TLS_CERT", "x"}});
    EXPECT_EQ(e.key(), "SLUICE_TLS_CERT");
    EXPECT_NE(e.allowed().find("SLUICE_TLS_CERT_FILE, SLUICE_TLS_KEY_FILE, SLUICE_TLS_PORT"), std::string::npos)
        << e.allowed();
}

TEST(config_tls, needs_both_files)
{
    auto e = parse_error("[tls]\ncert_file = \"c.pem\"\n");
    EXPECT_EQ(e.key(), "tls.key_file");
    EXPECT_STREQ(e.what(),
                 "config: tls.key_file = \"\": a path when tls.cert_file is set (TLS needs both, or neither)");
    e = parse_error("", {{"SLUICE_TLS_KEY_FILE", "k.pem"}});
    EXPECT_EQ(e.key(), "tls.cert_file");
    EXPECT_NE(e.allowed().find("when tls.key_file is set"), std::string::npos) << e.allowed();
}

TEST(config_tls, file_values_and_port_range)
{
    auto e = parse_error("[tls]\ncert_file = 5\nkey_file = \"k\"\n");
    EXPECT_EQ(e.key(), "tls.cert_file");
    EXPECT_EQ(e.allowed(), "expected \"\" (none) or a path (UTF-8, no control characters), got an integer");
    e = parse_error("[tls]\ncert_file = \"c\"\nkey_file = \"a\\nb\"\n");
    EXPECT_EQ(e.key(), "tls.key_file");
    e = parse_error("[tls]\nport = 65536\n");
    EXPECT_EQ(e.key(), "tls.port");
    EXPECT_EQ(e.allowed(), "expected an integer from 0 to 65535");
    e = parse_error("[tls]\nprivate_key = \"k\"\n");
    EXPECT_EQ(e.key(), "tls.private_key");
    EXPECT_EQ(e.allowed(), "unknown key; the keys of [tls] are cert_file, key_file, port");
}

TEST(config_tls, plain_listener_off_needs_tls)
{
    auto e = parse_error("[listen]\nplain_http = false\n");
    EXPECT_EQ(e.key(), "listen.plain_http");
    EXPECT_EQ(e.value(), "false");
    EXPECT_NE(e.allowed().find("unless [tls] is on"), std::string::npos) << e.allowed();
    e = parse_error("[listen]\nplain_http = \"no\"\n");
    EXPECT_EQ(e.allowed(), "expected true or false, got a string");
    const auto s = parse("[listen]\nplain_http = false\n[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n", {});
    EXPECT_FALSE(s.listen.plain_http);
    EXPECT_TRUE(s.tls.enabled());
}

// Two SO_REUSEPORT listeners on one port would share its connections, plain and TLS at random.
TEST(config_tls, port_differs_from_the_plain_port)
{
    const std::string on = "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nport = 8080\n";
    const auto e = parse_error(on);
    EXPECT_EQ(e.key(), "tls.port");
    EXPECT_STREQ(e.what(),
                 "config: tls.port = 8080: a port other than listen.port (8080) while the plain listener is on");
    EXPECT_NO_THROW(parse(on + "[listen]\nplain_http = false\n", {}));  // the plain listener is off
    EXPECT_NO_THROW(parse(on + "[listen]\nport = 8081\n", {}));         // another port
    // Both ports picked by the kernel (tests); and with TLS off, tls.port is unused.
    EXPECT_NO_THROW(parse("[listen]\nport = 0\n[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nport = 0\n", {}));
    EXPECT_NO_THROW(parse("[tls]\nport = 8080\n", {}));
}

// ---- strings: addresses, urls, paths ---------------------------------------------------------

TEST(config_errors, bad_address)
{
    for (const std::string address :
         {"localhost", "256.0.0.1", "1.2.3", "127.0.0.1 ", "::g", "[::1]", "", "fe80::1%eth0"}) {
        SCOPED_TRACE(address);
        const auto error = parse_error("listen.address = \"" + address + "\"");
        EXPECT_EQ(error.key(), "listen.address");
        EXPECT_EQ(error.value(), "\"" + address + "\"");
        EXPECT_EQ(error.allowed(), "expected an IPv4 or IPv6 address literal, e.g. 127.0.0.1, 0.0.0.0 or ::1");
    }
    EXPECT_EQ(parse_error("worker.metrics_address = \"any\"").key(), "worker.metrics_address");
}

TEST(config_file, takes_ipv4_and_ipv6_literals)
{
    for (const std::string address : {"0.0.0.0", "10.1.2.3", "::", "::1", "2001:db8::7", "::ffff:192.0.2.1"}) {
        EXPECT_EQ(parse("listen.address = \"" + address + "\"", {}).listen.address, address);
    }
}

TEST(config_errors, bad_redis_url)
{
    const std::vector<std::string> urls = {
        "",
        "127.0.0.1:6379",           // no scheme
        "http://127.0.0.1:6379",    // wrong scheme
        "REDIS://127.0.0.1:6379",   // schemes are lower case
        "redis://127.0.0.1",        // no port
        "redis://127.0.0.1:",       // empty port
        "redis://:6379",            // no host
        "redis://h:0",              // port 0
        "redis://h:65536",          // port too large
        "redis://h:+6379",          // not a plain number
        "redis://h:6379/0",         // no database path
        "redis://user:pw@h:6379",   // no credentials in the url
        "redis://h1:1,h2:2",        // several nodes are a cluster
        "redis://[::1:6379",        // unclosed bracket
        "redis://[::1]6379",        // no colon after the bracket
        "redis://[nothost]:6379",   // not an IPv6 literal
        "redis://h st:6379",        // space in the host
        "redis+cluster://",         // no node
        "redis+cluster://a:1,,b:2", // empty node
        "redis+cluster://a:1,",     // trailing comma
        "unix://",                  // no socket path
    };
    for (const auto& url : urls) {
        SCOPED_TRACE(url);
        const auto error = parse_error("[redis]\nurl = \"" + url + "\"\n");
        EXPECT_EQ(error.key(), "redis.url");
        EXPECT_EQ(error.value(), "\"" + url + "\"");
        EXPECT_EQ(error.allowed(), "expected redis://HOST:PORT, redis+cluster://HOST:PORT[,HOST:PORT...] or "
                                   "unix://PATH (PORT 1 to 65535)");
        EXPECT_THROW((void)parse_redis_url(url), config_error);
    }
}

TEST(config_redis_url, takes_each_form_apart)
{
    EXPECT_EQ(parse_redis_url("redis://127.0.0.1:6379"),
              (redis_target{.cluster = false, .endpoints = {{"127.0.0.1", 6379}}, .socket_path = {}}));
    EXPECT_EQ(parse_redis_url("redis://redis_1.internal:6380"),
              (redis_target{.cluster = false, .endpoints = {{"redis_1.internal", 6380}}, .socket_path = {}}));
    EXPECT_EQ(parse_redis_url("redis://[::1]:6379"),
              (redis_target{.cluster = false, .endpoints = {{"::1", 6379}}, .socket_path = {}}));
    EXPECT_EQ(parse_redis_url("redis+cluster://h1:7000,[2001:db8::1]:7001,10.0.0.3:7002"),
              (redis_target{.cluster = true,
                            .endpoints = {{"h1", 7000}, {"2001:db8::1", 7001}, {"10.0.0.3", 7002}},
                            .socket_path = {}}));
    EXPECT_EQ(parse_redis_url("unix:///run/redis/redis.sock"),
              (redis_target{.cluster = false, .endpoints = {}, .socket_path = "/run/redis/redis.sock"}));
}

TEST(config_redis_url, names_the_key_in_its_error)
{
    const auto error = error_from([] { (void)parse_redis_url("http://x:1"); });
    EXPECT_EQ(error.key(), "redis.url");
    EXPECT_EQ(error.value(), "\"http://x:1\"");
}

TEST(config_redis_url, the_default_and_every_loaded_url_parse)
{
    EXPECT_NO_THROW((void)parse_redis_url(settings{}.redis.url));
    EXPECT_NO_THROW((void)parse_redis_url(non_defaults().redis.url));
}

TEST(config_errors, bad_path)
{
    const auto empty = parse_error("[credentials]\nfile = \"\"\n");
    EXPECT_EQ(empty.key(), "credentials.file");
    EXPECT_EQ(empty.allowed(), "expected a non-empty path (UTF-8, no control characters)");

    const auto control = parse_error("catalogue.dir = \"data\\ncatalogue\"");
    EXPECT_EQ(control.key(), "catalogue.dir");
    EXPECT_EQ(control.value(), "\"data\\ncatalogue\"");  // escaped: the message stays one line

    const auto not_utf8 = env_error({{"SLUICE_CATALOGUE_DIR", "caf\xE9"}});
    EXPECT_EQ(not_utf8.key(), "catalogue.dir");
    EXPECT_EQ(env_error({{"SLUICE_CATALOGUE_DIR", "\xED\xA0\x80"}}).key(), "catalogue.dir");  // a surrogate
    EXPECT_EQ(env_error({{"SLUICE_CATALOGUE_DIR", "\xC0\xAF"}}).key(), "catalogue.dir");      // overlong '/'
    EXPECT_EQ(parse("", {{"SLUICE_CATALOGUE_DIR", "caf\xC3\xA9 \xF0\x9F\x93\x81"}}).catalogue.dir,
              "caf\xC3\xA9 \xF0\x9F\x93\x81");
}

// ---- bad environment values ------------------------------------------------------------------

TEST(config_errors, environment_value_that_is_not_a_number)
{
    const auto error = env_error({{"SLUICE_LISTEN_PORT", "eighty"}});
    EXPECT_EQ(error.key(), "listen.port");
    EXPECT_EQ(error.value(), "\"eighty\"");
    EXPECT_EQ(error.origin(), "from SLUICE_LISTEN_PORT");
    EXPECT_STREQ(error.what(),
                 "config: listen.port = \"eighty\": expected an integer from 0 to 65535 (from SLUICE_LISTEN_PORT)");

    for (const std::string text : {"", " 80", "80 ", "80x", "0x50", "8e1", "80.0", "+80", "99999999999999999999"}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(env_error({{"SLUICE_LISTEN_PORT", text}}).value(), "\"" + text + "\"");
    }
    for (const std::string text : {"", "fast", "1.5x", "0x10", " 2"}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(env_error({{"SLUICE_RATELIMIT_PER_PRACTICE_RATE", text}}).key(), "ratelimit.per_practice.rate");
    }
}

TEST(config_errors, environment_value_out_of_range)
{
    const auto error = env_error({{"SLUICE_LISTEN_PORT", "70000"}});
    EXPECT_STREQ(error.what(),
                 "config: listen.port = 70000: expected an integer from 0 to 65535 (from SLUICE_LISTEN_PORT)");
    EXPECT_EQ(env_error({{"SLUICE_LIMITS_MAX_BODY_BYTES", "-5"}}).value(), "-5");
    EXPECT_EQ(env_error({{"SLUICE_RATELIMIT_PER_PRACTICE_RATE", "0"}}).value(), "0");
    EXPECT_EQ(env_error({{"SLUICE_RATELIMIT_PER_PRACTICE_RATE", "inf"}}).value(), "inf");
    EXPECT_EQ(env_error({{"SLUICE_RATELIMIT_PER_PRACTICE_RATE", "nan"}}).value(), "nan");
    EXPECT_EQ(env_error({{"SLUICE_REDIS_URL", "redis://nowhere"}}).origin(), "from SLUICE_REDIS_URL");
    EXPECT_EQ(env_error({{"SLUICE_LISTEN_ADDRESS", "localhost"}}).value(), "\"localhost\"");
}

TEST(config_errors, environment_value_is_checked_even_when_the_file_is_fine)
{
    const auto error = parse_error("[limits]\nmax_body_bytes = 2048\n", {{"SLUICE_LIMITS_MAX_BODY_BYTES", "0"}});
    EXPECT_EQ(error.origin(), "from SLUICE_LIMITS_MAX_BODY_BYTES");
}

TEST(config_errors, unknown_sluice_variable_of_a_known_section)
{
    const auto error = env_error({{"SLUICE_LIMITS_MAX_BODYBYTES", "2048"}});
    EXPECT_EQ(error.key(), "SLUICE_LIMITS_MAX_BODYBYTES");
    EXPECT_STREQ(error.what(),
                 "config: SLUICE_LIMITS_MAX_BODYBYTES: unknown variable; the variables of [limits] are "
                 "SLUICE_LIMITS_MAX_CONNECTIONS, SLUICE_LIMITS_MAX_BODY_BYTES, SLUICE_LIMITS_MAX_HEADER_BYTES, "
                 "SLUICE_LIMITS_HEADER_TIMEOUT_MS, SLUICE_LIMITS_BODY_TIMEOUT_MS, SLUICE_LIMITS_IDLE_TIMEOUT_MS, "
                 "SLUICE_LIMITS_MAX_INFLIGHT_PER_THREAD (from the environment)");

    EXPECT_EQ(env_error({{"SLUICE_RATELIMIT_RATE", "5"}}).allowed(),
              "unknown variable; the variables of [ratelimit] are SLUICE_RATELIMIT_PER_PRACTICE_RATE, "
              "SLUICE_RATELIMIT_PER_PRACTICE_BURST");
    for (const std::string variable : {"SLUICE_LISTEN_PROT", "SLUICE_REDIS_", "SLUICE_CREDENTIALS_PATH",
                                       "SLUICE_IDEMPOTENCY_TTL", "SLUICE_SHUTDOWN_DRAIN", "SLUICE_DURABILITY_WAIT",
                                       "SLUICE_CATALOGUE_DIRECTORY", "SLUICE_WORKER_THREADS"}) {
        SCOPED_TRACE(variable);
        EXPECT_EQ(env_error({{variable, "1"}}).key(), variable);
    }
}

// ---- the file as a whole ---------------------------------------------------------------------

TEST(config_errors, toml_syntax_error_names_file_line_and_column)
{
    const auto error = parse_error("[listen]\nport = = 1\n");
    EXPECT_EQ(error.key(), "");
    const std::string message = error.what();
    EXPECT_TRUE(message.starts_with("config: test.toml:2:8: TOML syntax error: ")) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;

    EXPECT_TRUE(std::string(parse_error("[listen\n").what()).starts_with("config: test.toml:1:"));
    EXPECT_TRUE(std::string(parse_error("a = \"open\n").what()).find("TOML syntax error") != std::string::npos);
    // TOML itself forbids these: a key twice, an integer beyond 64 bits.
    EXPECT_TRUE(std::string(parse_error("[listen]\nport = 1\nport = 2\n").what()).starts_with("config: test.toml:3:"));
    EXPECT_TRUE(std::string(parse_error("listen.port = 99999999999999999999\n").what()).find("TOML syntax error")
                != std::string::npos);
}

TEST(config_errors, syntax_error_in_a_loaded_file_names_its_path)
{
    scratch_directory dir;
    const auto file = dir.write("broken.toml", "[limits]\nmax_body_bytes = \n");
    const auto error = error_from([&] { (void)load(file, {}); });
    EXPECT_TRUE(std::string(error.what()).starts_with("config: " + file.string() + ":2:")) << error.what();
}

TEST(config_errors, value_in_a_loaded_file_names_its_path_and_line)
{
    scratch_directory dir;
    const auto file = dir.write("sluice.toml", "# sluice\n\n[limits]\nmax_body_bytes = -5\n");
    const auto error = error_from([&] { (void)load(file, {}); });
    EXPECT_EQ(error.origin(), "at " + file.string() + ":4");
}

TEST(config_errors, missing_file)
{
    const std::filesystem::path missing = "/nonexistent/sluice/sluice.toml";
    const auto error = error_from([&] { (void)load(missing, {}); });
    EXPECT_EQ(error.key(), "");
    EXPECT_STREQ(error.what(), "config: cannot read /nonexistent/sluice/sluice.toml: No such file or directory");
}

TEST(config_errors, directory_instead_of_a_file)
{
    scratch_directory dir;
    const auto error = error_from([&] { (void)load(dir.path(), {}); });
    EXPECT_EQ(std::string(error.what()), "config: cannot read " + dir.path().string() + ": it is a directory");
}

TEST(config_errors, messages_are_formatted_from_their_parts)
{
    const config_error full("limits.max_body_bytes", "-5", "expected an integer from 1 to 1073741824");
    EXPECT_STREQ(full.what(), "config: limits.max_body_bytes = -5: expected an integer from 1 to 1073741824");
    EXPECT_EQ(full.origin(), "");
    const config_error whole("cannot read x.toml: it is a directory");
    EXPECT_STREQ(whole.what(), "config: cannot read x.toml: it is a directory");
    EXPECT_EQ(whole.key(), "");
}

// ---- to_toml ---------------------------------------------------------------------------------

TEST(config_to_toml, prints_every_key_in_api_md_order)
{
    EXPECT_EQ(to_toml(settings{}), R"([listen]
address = "127.0.0.1"
port = 8080
threads = 0
plain_http = true

[tls]
cert_file = ""
key_file = ""
port = 8443

[redis]
url = "redis://127.0.0.1:6379"
timeout_ms = 250
liveness_ms = 0
shards = 16

[credentials]
file = "credentials.csv"
warn_days = 30

[organisations]
file = ""

[ratelimit.per_practice]
rate = 2.0
burst = 10

[idempotency]
ttl_seconds = 604800

[limits]
max_connections = 20000
max_body_bytes = 1048576
max_header_bytes = 16384
header_timeout_ms = 10000
body_timeout_ms = 30000
idle_timeout_ms = 60000
max_inflight_per_thread = 4096

[admission]
target_queue_delay_ms = 20

[shutdown]
drain_seconds = 20

[durability]
replicas = 0
wait_timeout_ms = 100

[catalogue]
dir = "data/catalogue"

[worker]
concurrency = 64
claim_idle_ms = 30000
max_attempts = 5
metrics_address = "127.0.0.1"
metrics_port = 9090

[ledger]
url = ""
retention_days = 2555
pool_size = 4
timeout_ms = 2000

[log]
format = "text"
requests = false

[status]
message_file = ""
)");
}

TEST(config_to_toml, round_trips_the_defaults)
{
    EXPECT_EQ(parse(to_toml(settings{}), {}), settings{});
}

TEST(config_to_toml, round_trips_a_value_for_every_key)
{
    const settings s = non_defaults();
    EXPECT_EQ(parse(to_toml(s), {}), s);
    EXPECT_EQ(parse(to_toml(s), {}, "printed"), parse(non_defaults_toml, {}));
}

TEST(config_to_toml, round_trips_strings_that_need_escaping)
{
    settings s;
    s.credentials.file = R"(C:\practices\"credentials" #1.csv)";
    s.catalogue.dir = "data/caf\xC3\xA9 \xF0\x9F\x93\x81/'quoted'";
    const std::string printed = to_toml(s);
    EXPECT_NE(printed.find(R"(file = "C:\\practices\\\"credentials\" #1.csv")"), std::string::npos) << printed;
    EXPECT_EQ(parse(printed, {}), s);
}

TEST(config_to_toml, round_trips_every_rate_exactly)
{
    std::mt19937_64 random(20250331);
    std::uniform_real_distribution<double> exponent(-3.0, 6.0);
    std::vector<double> rates = {0.001, 0.1, 1.0 / 3.0, 2.0, 1e6, 999999.9999999999, 123456.789, 0.0010000000000000002};
    for (int i = 0; i < 2000; ++i) rates.push_back(std::min(1e6, std::max(0.001, std::pow(10.0, exponent(random)))));
    for (double rate : rates) {
        settings s;
        s.ratelimit.rate = rate;
        const std::string printed = to_toml(s);
        ASSERT_EQ(parse(printed, {}).ratelimit.rate, rate) << printed;
    }
}

TEST(config_to_toml, prints_floats_as_toml_floats)
{
    settings s;
    s.ratelimit.rate = 5.0;
    EXPECT_NE(to_toml(s).find("\nrate = 5.0\n"), std::string::npos);
    s.ratelimit.rate = 1e6;
    EXPECT_NE(to_toml(s).find("\nrate = 1000000.0\n"), std::string::npos);
    s.ratelimit.rate = 0.001;
    EXPECT_NE(to_toml(s).find("\nrate = 0.001\n"), std::string::npos);
}

// ---- equality --------------------------------------------------------------------------------

TEST(config_equality, compares_every_section)
{
    EXPECT_EQ(settings{}, settings{});
    EXPECT_NE(non_defaults(), settings{});
    settings a, b;
    b.worker.metrics_port = 1;
    EXPECT_NE(a, b);
    b = a;
    b.ratelimit.rate = 2.5;
    EXPECT_NE(a, b);
    b = a;
    b.catalogue.dir = "other";
    EXPECT_NE(a, b);
    b = a;
    b.admission.target_queue_delay_ms = 7;
    EXPECT_NE(a, b);
    b = a;
    b.log.requests = true;
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace sluice::config
