#!/usr/bin/env bash
# bench/tls.sh: TLS termination in the gateway beside nginx terminating TLS with the same
# certificate, on this machine, in the same run.
#
# One self-signed P-256 pair (openssl CLI) serves both. The gateway runs with listen.threads = 1,
# its plain and TLS listeners, redis-server (ops/redis.conf) behind it; nginx with one worker.
# Five measured runs (wrk -t1, after a 2 s warm-up each):
#
#   admissions, keep-alive (wrk -c256 -s bench/admission.lua: every request a real admission)
#     1. the gateway's TLS listener;
#     2. nginx terminating TLS and proxying to the same gateway's plain listener (upstream
#        keep-alive): the honest anchor, the same admissions behind the other way of doing TLS;
#     (and, for what TLS costs the gateway, the same load on its plain listener, no TLS at all);
#   new connections (wrk -c64 with Connection: close: one TLS handshake per request)
#     3. the gateway's TLS listener, GET /healthz;
#     4. nginx, `return 200`.
#   wrk keeps each connection's TLS session and offers it again, so these handshakes are mostly
#   resumed (a ticket, an ECDHE exchange and no certificate signature); the gateway's counters
#   say how many. Full handshakes: openssl s_time -new (one client process, a full handshake per
#   connection, DURATION/2 s) against each, the rate a single sequential client gets.
#
# Limits are out of the way for the admission runs (rate and burst 1,000,000, max_inflight 100,000,
# admission.target_queue_delay_ms 2000 so that a busy shared machine does not turn the run into a
# measure of shedding); the gateway's own count of 202s gives admitted/s.
# For each run: requests/s, p50/p99, errors, and the servers' CPU per request in microseconds
# (user + system from /proc during the measured run: the gateway; nginx's worker; for the proxied
# run both, and Redis apart). It is not a test: it exits 0 whether or not the gateway keeps up
# (non-zero only if it could not measure).
#
# Environment:
#   SLUICE_GATEWAY  the gateway binary (default: build/release/gateway/sluice-gateway)
#   SLUICE_TOKEN    the token tool (default: build/release/credentials/sluice-token)
#   DURATION        seconds per measured run (default 10)
#
# Takes about 6 * DURATION + 30 s. Loopback only. Every process it starts is stopped by its pid on exit; its files (the pair,
# credentials, Redis's AOF) live in one temporary directory, removed on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

gateway=${SLUICE_GATEWAY:-$repo_root/build/release/gateway/sluice-gateway}
token_tool=${SLUICE_TOKEN:-$repo_root/build/release/credentials/sluice-token}
script=$repo_root/bench/admission.lua
practices=10000
shards=16
handshake_connections=64

bench_init tls
[[ -x $gateway ]] || die "no gateway binary at $gateway (build it with bench/run, or set SLUICE_GATEWAY)"
[[ -x $token_tool ]] || die "no sluice-token at $token_tool (build it with bench/run, or set SLUICE_TOKEN)"
((duration >= 2)) || die "DURATION must be at least 2 s here"
require_tools wrk curl openssl redis-server redis-cli "$nginx_bin"

# The pair both servers present.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=sluice bench" \
    -addext "subjectAltName=IP:$host" -keyout "$work/key.pem" -out "$work/cert.pem" >"$work/openssl.log" 2>&1 ||
    die "openssl could not make the pair: $(cat "$work/openssl.log")"

"$token_tool" generate --count "$practices" --file "$work/credentials.csv" --tokens "$work/tokens.csv" \
    >"$work/token-tool.log" 2>&1 || die "sluice-token generate failed: $(cat "$work/token-tool.log")"
export ADMISSION_TOKENS=$work/tokens.csv
ADMISSION_KEY_PREFIX=bench-tls-$(date +%s%N)-$$
export ADMISSION_KEY_PREFIX

start_redis "$work/redis"
pick_port
tls_port=$picked_port
start_gateway tls 1 "url = \"redis://$host:$redis_port\"
timeout_ms = 1000
shards = $shards" /readyz "[ratelimit.per_practice]
rate = 1000000
burst = 1000000

[limits]
max_connections = 20000
max_inflight_per_thread = 100000

[admission]
target_queue_delay_ms = 2000

[tls]
port = $tls_port
cert_file = \"$work/cert.pem\"
key_file = \"$work/key.pem\""
curl -fsS -o /dev/null --cacert "$work/cert.pem" "https://$host:$tls_port/healthz" ||
    die "the gateway's TLS listener does not answer on $host:$tls_port: $(cat "$work/gateway-tls.log")"

nginx_tls_cert=$work/cert.pem
nginx_tls_key=$work/key.pem
nginx_http_lines="    upstream sluice_gateway {
        server $host:$gateway_port;
        keepalive 256;
    }"
start_nginx /healthz "        location /healthz {
            return 200 \"ok\\n\";
        }
        location /v1/submissions {
            proxy_pass http://sluice_gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
        }"
nginx_worker=$(pgrep -P "$nginx_pid" | head -n1 || true)
[[ -n $nginx_worker ]] || die "nginx's worker process not found"

# A counter of the gateway's /metrics, 0 if absent.
gateway_metric() {
    curl -fsS --max-time 5 "http://$host:$gateway_port/metrics" | awk -v series="$1" '$1 == series { v = $2 } END { print v + 0 }'
}

# CPU ticks of the gateway, nginx's worker and Redis before the measured run (measure's hook),
# and the resumed/full handshake counts.
measure_before() {
    ticks_before_gateway=$(cpu_ticks "$gateway_pid")
    ticks_before_nginx=$(cpu_ticks "$nginx_worker")
    ticks_before_redis=$(cpu_ticks "$redis_pid")
    handshakes_before=$(gateway_metric sluice_tls_handshakes_total)
    resumed_before=$(gateway_metric sluice_tls_resumed_handshakes_total)
    outcomes_before=$(admission_outcomes)
}

# The gateway's admissions by outcome, "accepted=N shed=N ..." (sluice_admissions_total).
admission_outcomes() {
    curl -fsS --max-time 5 "http://$host:$gateway_port/metrics" |
        sed -n 's/^sluice_admissions_total{outcome="\([a-z]*\)"} \([0-9]*\)$/\1=\2/p' | tr '\n' ' '
}
# The outcomes counted between two admission_outcomes snapshots, the non-zero ones.
outcome_delta() {
    awk -v before="$1" -v after="$2" 'BEGIN {
        n = split(before, b, " "); for (i = 1; i <= n; i++) { split(b[i], kv, "="); was[kv[1]] = kv[2] }
        n = split(after, a, " "); out = ""
        for (i = 1; i <= n; i++) { split(a[i], kv, "="); d = kv[2] - was[kv[1]]; if (d > 0) out = out kv[1] " " d ", " }
        sub(/, $/, "", out); print (out == "" ? "none" : out)
    }'
}

ticks_per_second=$(clock_ticks_per_second)
declare -A cpu_gateway cpu_nginx cpu_redis handshakes resumed outcomes admitted
# µs of CPU per request: ticks over the measured run / answers.
per_request_us() { awk -v t="$1" -v hz="$ticks_per_second" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", 1e6 * t / hz / n; else print "nan" }'; }
after_run() {
    local name=$1 answered
    answered=$(report_field "$name" requests)
    cpu_gateway[$name]=$(per_request_us $(($(cpu_ticks "$gateway_pid") - ticks_before_gateway)) "$answered")
    cpu_nginx[$name]=$(per_request_us $(($(cpu_ticks "$nginx_worker") - ticks_before_nginx)) "$answered")
    cpu_redis[$name]=$(per_request_us $(($(cpu_ticks "$redis_pid") - ticks_before_redis)) "$answered")
    handshakes[$name]=$(($(gateway_metric sluice_tls_handshakes_total) - handshakes_before))
    resumed[$name]=$(($(gateway_metric sluice_tls_resumed_handshakes_total) - resumed_before))
    local outcomes_after
    outcomes_after=$(admission_outcomes)
    outcomes[$name]=$(outcome_delta "$outcomes_before" "$outcomes_after")
    admitted[$name]=$(awk -v b="$outcomes_before" -v a="$outcomes_after" -v d="$duration" 'BEGIN {
        match(b, /accepted=[0-9]+/); x = substr(b, RSTART + 9, RLENGTH - 9)
        match(a, /accepted=[0-9]+/); y = substr(a, RSTART + 9, RLENGTH - 9)
        printf "%.0f", (y - x) / d }')
}

echo "sluice bench: tls (the gateway terminating TLS vs nginx terminating TLS, same certificate, loopback)"
echo "machine:  $(machine_line)"
echo "          a shared 2-core machine: wrk, the gateway, redis-server and nginx all run on it"
echo "pair:     self-signed, P-256 ECDSA (openssl req), served by both"
echo "gateway:  $gateway (listen.threads = 1), plain $host:$gateway_port, TLS $host:$tls_port"
echo "nginx:    $(nginx_version) (worker_processes 1), TLS on $host:$nginx_port; /v1/submissions proxied to the gateway's"
echo "          plain listener (upstream keep-alive 256), /healthz return 200"
echo "redis:    $(redis-server --version | awk '{ print $3 }'), ops/redis.conf, one for both admission runs"
echo "wrk:      -t$wrk_threads, admissions -c$connections -s bench/admission.lua, new connections -c$handshake_connections" \
    "-H 'Connection: close'; ${duration} s after ${warmup} s warm-up ($(wrk_version))"
echo

measure gateway-admissions "https://$host:$tls_port/v1/submissions" -s "$script"
after_run gateway-admissions
measure nginx-admissions "https://$host:$nginx_port/v1/submissions" -s "$script"
after_run nginx-admissions
measure plain-admissions "http://$host:$gateway_port/v1/submissions" -s "$script"
after_run plain-admissions

connections=$handshake_connections
measure gateway-handshakes "https://$host:$tls_port/healthz" -H "Connection: close"
after_run gateway-handshakes
measure nginx-handshakes "https://$host:$nginx_port/healthz" -H "Connection: close"
after_run nginx-handshakes

# Full handshakes: openssl s_time -new, one sequential client, an HTTP/1.0 GET per connection.
# Its own "real seconds" are whole seconds: the rate is its count over our wall clock instead.
s_time_seconds=$(((duration + 1) / 2))
s_time_rate() {
    local port=$1 out=$work/s_time-$1.log start end
    start=$(date +%s%N)
    timeout $((s_time_seconds + 30)) openssl s_time -connect "$host:$port" -new -time "$s_time_seconds" -www /healthz \
        >"$out" 2>&1 || die "openssl s_time against port $port failed: $(tail -5 "$out")"
    end=$(date +%s%N)
    awk -v ns=$((end - start)) '/connections in .* real seconds/ { printf "%.0f", $1 / (ns / 1e9); found = 1; exit }
        END { if (!found) print "nan" }' "$out"
}
handshake_before=$(gateway_metric sluice_tls_handshakes_total)
gateway_full=$(s_time_rate "$tls_port")
gateway_full_count=$(($(gateway_metric sluice_tls_handshakes_total) - handshake_before))
nginx_full=$(s_time_rate "$nginx_port")

echo "admissions over TLS, keep-alive (POST /v1/submissions, each a real admission through Redis)"
table_columns 34 11 12 9 9 10 8 11 11 11
print_row "path" "admitted/s" "requests/s" "p50 ms" "p99 ms" "requests" "errors" "gw us/req" "nginx us" "redis us"
for name in gateway-admissions nginx-admissions plain-admissions; do
    case $name in
    gateway-*) label="gateway TLS" ;;
    nginx-*) label="nginx TLS -> gateway plain (anchor)" ;;
    *) label="gateway plain, no TLS (context)" ;;
    esac
    print_row "$label" "${admitted[$name]}" "$(report_field "$name" rps)" "$(report_field "$name" p50)" "$(report_field "$name" p99)" \
        "$(report_field "$name" requests)" "$(report_field "$name" errors)" "${cpu_gateway[$name]}" \
        "$([[ $name == nginx-* ]] && echo "${cpu_nginx[$name]}" || echo -)" "${cpu_redis[$name]}"
done
print_row "gateway / anchor" "$(ratio "${admitted[gateway-admissions]}" "${admitted[nginx-admissions]}")" \
    "$(ratio "$(report_field gateway-admissions rps)" "$(report_field nginx-admissions rps)")"
echo "  the gateway's admission outcomes: gateway TLS run: ${outcomes[gateway-admissions]}; anchor run:"
echo "  ${outcomes[nginx-admissions]}; plain run: ${outcomes[plain-admissions]} (anything but 'accepted' is a 4xx/5xx:"
echo "  wrk's 'errors' column; 'shed' is the gateway's admission control, e.g. during its 5 s minimum-RTT probes)"
echo "  admitted/s: the gateway's 202s (its sluice_admissions_total{outcome=\"accepted\"}) over the measured run."
echo "  CPU in microseconds per answered request over the measured run (user + system): the gateway process, nginx's"
echo "  worker, redis-server. TLS termination costs the gateway path 'gw us/req' - the plain gateway's share of the"
echo "  anchor; the anchor's TLS costs it 'nginx us'."
echo
echo "new connections, one TLS handshake per request (GET /healthz; nginx return 200)"
table_columns 34 12 9 9 10 8 11 11 11
print_row "server" "handshakes/s" "p50 ms" "p99 ms" "requests" "errors" "us/conn" "resumed"
print_row "gateway TLS" "$(report_field gateway-handshakes rps)" "$(report_field gateway-handshakes p50)" \
    "$(report_field gateway-handshakes p99)" "$(report_field gateway-handshakes requests)" \
    "$(report_field gateway-handshakes errors)" "${cpu_gateway[gateway-handshakes]}" \
    "${resumed[gateway-handshakes]}/${handshakes[gateway-handshakes]}"
print_row "nginx TLS (anchor)" "$(report_field nginx-handshakes rps)" "$(report_field nginx-handshakes p50)" \
    "$(report_field nginx-handshakes p99)" "$(report_field nginx-handshakes requests)" \
    "$(report_field nginx-handshakes errors)" "${cpu_nginx[nginx-handshakes]}" "?"
print_row "gateway / nginx" "$(ratio "$(report_field gateway-handshakes rps)" "$(report_field nginx-handshakes rps)")"
echo "  'resumed': handshakes the gateway counted as resumed / all it counted in the run (wrk offers each connection's"
echo "  session again). wrk counts a connection the server closes after its answer as no error."
echo
echo "full handshakes, one sequential client (openssl s_time -new, ${s_time_seconds} s each)"
table_columns 34 14
print_row "server" "connections/s"
print_row "gateway TLS" "$gateway_full"
print_row "nginx TLS (anchor)" "$nginx_full"
print_row "gateway / nginx" "$(ratio "$gateway_full" "$nginx_full")"
echo "  the gateway counted $gateway_full_count handshakes during its s_time run"
echo
echo "machine: $(load_line); figures from a shared 2-core machine"
echo
for name in gateway-admissions nginx-admissions gateway-handshakes nginx-handshakes; do
    echo "--- wrk output, $name"
    cat "$work/$name.wrk"
done
