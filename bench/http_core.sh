#!/usr/bin/env bash
# bench/http_core.sh: the gateway's HTTP core beside nginx, on this machine, in the same run.
#
# Both servers get one thread (gateway listen.threads = 1, nginx worker_processes 1) and the same
# load: wrk with 1 thread and 256 keep-alive connections on 127.0.0.1, after a 2 s warm-up each.
# The gateway answers GET /healthz (no Redis involved), nginx answers `return 200 "ok\n"`: the
# figure is what the session loop, parser and writer cost, with nginx as the anchor.
# Target: gateway requests/s >= 0.9 x nginx's. The script prints figures; it is not a test and
# exits 0 whether the target is met or not (non-zero only if it could not measure).
#
# The gateway needs a credential file, the indicator catalogue and a Redis URL to start; it gets
# an empty credential file, the repository's data/catalogue and the URL of a port nothing listens
# on (no Redis is started: /healthz does not need it, and the client's reconnect backoff keeps
# the failed attempts rare).
#
# Environment:
#   SLUICE_GATEWAY  the gateway binary (default: build/release/gateway/sluice-gateway in the repo)
#   DURATION        seconds per measured run (default 10); the whole script takes ~2*(DURATION+2)+5 s
#
# Loopback only. Every process it starts is stopped by its pid on exit; its files live in one
# temporary directory, removed on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

gateway=${SLUICE_GATEWAY:-$repo_root/build/release/gateway/sluice-gateway}
target_ratio=0.9

bench_init http_core
[[ -x $gateway ]] || die "no gateway binary at $gateway (build it with bench/run, or set SLUICE_GATEWAY)"
require_tools wrk curl "$nginx_bin"

printf '# practice,token_sha256_hex,not_after\n' >"$work/credentials.csv"
pick_port # nothing is started there: /healthz needs no Redis
start_gateway http_core 1 "url = \"redis://$host:$picked_port\"" /healthz "[limits]
max_connections = 20000"
start_nginx /healthz '        location / {
            return 200 "ok\n";
        }'

wrk_command="wrk -t$wrk_threads -c$connections -d${duration}s --latency http://$host:PORT/healthz"
echo "sluice bench: http_core (gateway /healthz vs nginx return 200, loopback)"
echo "machine:  $(machine_line)"
echo "gateway:  $gateway (listen.threads = 1) on $host:$gateway_port"
echo "nginx:    $(nginx_version) (worker_processes 1) on $host:$nginx_port"
echo "wrk:      $wrk_command   (after ${warmup} s warm-up; $(wrk_version))"
echo

measure gateway "http://$host:$gateway_port/healthz"
measure nginx "http://$host:$nginx_port/healthz"

g_rps=$(report_field gateway rps)
n_rps=$(report_field nginx rps)
g_p99=$(report_field gateway p99)
n_p99=$(report_field nginx p99)
g_errors=$(report_field gateway errors)
n_errors=$(report_field nginx errors)
g_requests=$(report_field gateway requests)
n_requests=$(report_field nginx requests)
throughput_ratio=$(ratio "$g_rps" "$n_rps")
p99_ratio=$(ratio "$g_p99" "$n_p99")
verdict=$(at_least "$throughput_ratio" "$target_ratio")

table_columns 18 14 12 12 10
print_row "server" "requests/s" "p99 (ms)" "requests" "errors"
print_row "sluice-gateway" "$g_rps" "$g_p99" "$g_requests" "$g_errors"
print_row "nginx (anchor)" "$n_rps" "$n_p99" "$n_requests" "$n_errors"
print_row "gateway / nginx" "$throughput_ratio" "$p99_ratio"
echo
echo "target: gateway throughput >= ${target_ratio} x nginx: $verdict (ratio $throughput_ratio)"
echo "machine:  $(load_line)"
if ((g_errors + n_errors > 0)); then
    echo "warning: errors during the runs (socket errors or non-2xx answers); the figures above overstate that server"
fi
echo
for name in gateway nginx; do
    echo "--- wrk output, $name"
    cat "$work/$name.wrk"
done
