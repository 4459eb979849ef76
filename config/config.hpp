// sluice configuration: the TOML file of API.md's "Configuration" section.
//
// Invariants: every key has a default (a default-constructed `settings` is the effective
// configuration of an empty file); a loaded `settings` has passed validation, so code that
// receives one never re-checks ranges. Unknown keys, wrong types and out-of-range values are
// `config_error`s naming the key, the value and what is allowed. Environment variables
// `SLUICE_<SECTION>_<KEY>` (upper case, dots as `_`) override the file. Each key's allowed
// values are listed beside it in config.cpp (for_each_key), and in every error message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

struct listen_settings {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: the kernel picks a free port (tests)
    std::uint32_t threads = 0;  // 0: one per core (the TLS listener's threads too)
    // The plain HTTP listener on `port`. false: TLS only ([tls] must be on), for a gateway that
    // faces clients directly.
    bool plain_http = true;

    bool operator==(const listen_settings&) const = default;
};

// [tls]: HTTPS on its own port, beside (or instead of) the plain listener. Off while cert_file and
// key_file are "" (both or neither). The listener binds listen.address with listen.threads;
// TLS 1.2 and 1.3 only, ALPN http/1.1. The files are PEM (cert_file may hold the chain after the
// leaf) and are re-read on SIGHUP: new connections get the new pair, open ones keep theirs; a
// pair that does not load is refused and the running one kept.
struct tls_settings {
    std::string cert_file;
    std::string key_file;
    std::uint16_t port = 8443;  // 0: the kernel picks a free port (tests)

    bool enabled() const noexcept { return !cert_file.empty(); }
    bool operator==(const tls_settings&) const = default;
};

struct redis_settings {
    std::string url = "redis://127.0.0.1:6379";
    std::uint32_t timeout_ms = 250;
    // No reply at all for this long (commands outstanding, or an idle heartbeat PING): Redis has
    // stopped answering, and the connection is dropped and re-made. Above timeout_ms; 0 means
    // max(2000, 2 * timeout_ms).
    std::uint32_t liveness_ms = 0;
    std::uint32_t shards = 16;

    bool operator==(const redis_settings&) const = default;
};

struct credentials_settings {
    std::string file = "credentials.csv";
    std::uint32_t warn_days = 30;

    bool operator==(const credentials_settings&) const = default;
};

// [organisations]: which commissioner each practice belongs to (credentials/organisations.hpp),
// re-read on SIGHUP like the credential file. "" : no file (commissioner tokens cover no practice).
struct organisations_settings {
    std::string file;

    bool operator==(const organisations_settings&) const = default;
};

struct ratelimit_settings {
    double rate = 2.0;  // requests per second per practice
    std::uint32_t burst = 10;

    bool operator==(const ratelimit_settings&) const = default;
};

struct idempotency_settings {
    std::uint64_t ttl_seconds = 604800;

    bool operator==(const idempotency_settings&) const = default;
};

struct limits_settings {
    std::uint32_t max_connections = 20000;
    std::uint64_t max_body_bytes = 1048576;
    std::uint32_t max_header_bytes = 16384;
    std::uint32_t header_timeout_ms = 10000;
    std::uint32_t body_timeout_ms = 30000;
    std::uint32_t idle_timeout_ms = 60000;
    std::uint32_t max_inflight_per_thread = 4096;

    bool operator==(const limits_settings&) const = default;
};

struct admission_settings {
    // The queueing delay the gateway keeps its Redis calls under: an adaptive limit on admissions in
    // flight per thread is learned from measured round trips, and what exceeds it is answered 503
    // at once (with a Retry-After that says when capacity is free), before its body is read.
    std::uint32_t target_queue_delay_ms = 20;

    bool operator==(const admission_settings&) const = default;
};

struct shutdown_settings {
    std::uint32_t drain_seconds = 20;

    bool operator==(const shutdown_settings&) const = default;
};

struct durability_settings {
    std::uint32_t replicas = 0;  // Redis WAIT for this many replicas before answering 202
    // WAIT's own timeout: after it the 202 goes out anyway (the entry is queued on the primary)
    // and sluice_replication_shortfalls_total counts it. Below redis.timeout_ms.
    std::uint32_t wait_timeout_ms = 100;

    bool operator==(const durability_settings&) const = default;
};

struct catalogue_settings {
    std::string dir = "data/catalogue";

    bool operator==(const catalogue_settings&) const = default;
};

struct worker_settings {
    std::uint32_t concurrency = 64;
    std::uint32_t claim_idle_ms = 30000;
    std::uint32_t max_attempts = 5;
    std::string metrics_address = "127.0.0.1";
    std::uint16_t metrics_port = 9090;

    bool operator==(const worker_settings&) const = default;
};

// [ledger]: PostgreSQL, the system of record (DESIGN.md "Where data lives"; ledger/).
struct ledger_settings {
    // "" : no ledger (results live only in Redis, for idempotency.ttl_seconds). Otherwise a libpq
    // connection URI (postgresql://user@host:port/db?...) or key=value string (host=... dbname=...).
    // Keep passwords out of it: libpq reads PGPASSWORD and ~/.pgpass (--check-config prints the URL).
    std::string url;
    std::uint32_t retention_days = 2555;  // seven years: receipts, results, declarations, decisions
    std::uint32_t pool_size = 4;          // connections per process (each one pipelined)
    std::uint32_t timeout_ms = 2000;      // per call; beyond it the call fails and its connection is reset

    bool operator==(const ledger_settings&) const = default;
};

// [log]: how every program writes its log lines (config/log.hpp) and whether the gateway logs
// each request.
struct log_settings {
    std::string format = "text";  // "text": one readable line each; "json": one object per line
    // One line per request answered (request id, practice, route, status, latency). Off, it costs
    // one branch per request; on, a formatted line and a write() each: size the log for it.
    // Applied on SIGHUP like the limits.
    bool requests = false;

    bool operator==(const log_settings&) const = default;
};

// [status]: the public status page (GET /status). The operator's message is a file so that it can
// be changed without touching the config: its text is shown on the page, re-read on SIGHUP; a
// missing file shows no message.
struct status_settings {
    std::string message_file;  // "" : no operator's message

    bool operator==(const status_settings&) const = default;
};

struct settings {
    listen_settings listen;
    tls_settings tls;
    redis_settings redis;
    credentials_settings credentials;
    organisations_settings organisations;
    ratelimit_settings ratelimit;  // [ratelimit.per_practice]
    idempotency_settings idempotency;
    limits_settings limits;
    admission_settings admission;
    shutdown_settings shutdown;
    durability_settings durability;
    catalogue_settings catalogue;
    worker_settings worker;
    ledger_settings ledger;
    log_settings log;
    status_settings status;
};

// A configuration fault. what() is the one line shown to the operator, e.g.
//   config: limits.max_body_bytes = -5: expected an integer from 1 to 1073741824 (at sluice.toml:12)
// `key` is the dotted key ("" for faults of the whole file, such as a TOML syntax error; the
// variable's name for an unknown SLUICE_* variable). `value` is shown as TOML would write it
// (strings quoted) and is empty where there is none to show (unknown keys). `origin` says where
// the value came from ("at FILE:LINE" or "from SLUICE_..."), empty if unknown.
class config_error : public std::runtime_error {
public:
    config_error(std::string key, std::string value, std::string allowed, std::string origin = {});
    config_error(std::string whole_file_message);
    const std::string& key() const noexcept { return key_; }
    const std::string& value() const noexcept { return value_; }
    const std::string& allowed() const noexcept { return allowed_; }
    const std::string& origin() const noexcept { return origin_; }

private:
    std::string key_, value_, allowed_, origin_;
};

using environment = std::map<std::string, std::string>;

// The process's environment, only the SLUICE_* variables.
environment process_environment();

// Parses TOML text (source_name is used in messages), applies `env` overrides, validates.
// Throws config_error.
settings parse(std::string_view toml_text, const environment& env, std::string_view source_name = "config");

// Reads the file if given (a missing or unreadable file is a config_error), else starts from
// the defaults; then applies `env` and validates. Throws config_error.
settings load(const std::optional<std::filesystem::path>& file, const environment& env);

// The effective configuration as TOML, every key present, in API.md's section order.
// parse(to_toml(s), {}) == s for every valid s.
std::string to_toml(const settings& s);

bool operator==(const settings&, const settings&);

// redis.url taken apart, for the Redis client. Accepted forms:
//   redis://HOST:PORT                      one server
//   redis+cluster://HOST:PORT[,HOST:PORT]  cluster seed nodes
//   unix://PATH                            one server on a Unix socket (unix:///run/redis.sock)
// HOST is a name, an IPv4 literal or a bracketed IPv6 literal ([::1]); PORT is 1 to 65535.
struct redis_endpoint {
    std::string host;  // IPv6 literals without the brackets
    std::uint16_t port = 0;

    bool operator==(const redis_endpoint&) const = default;
};

struct redis_target {
    bool cluster = false;                   // redis+cluster://
    std::vector<redis_endpoint> endpoints;  // one for redis://, one or more for a cluster, none for unix://
    std::string socket_path;                // unix:// only

    bool operator==(const redis_target&) const = default;
};

// Throws config_error naming redis.url. A loaded settings' redis.url always parses.
redis_target parse_redis_url(std::string_view url);

}  // namespace sluice::config
