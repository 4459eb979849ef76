#!/usr/bin/env bash
# bench/cluster_capacity.sh: the CPU each process spends per admission, on one redis-server and
# on a local Redis Cluster, and what it implies for admissions/s per added master.
#
# Load: wrk -t1 -c64 with bench/admission.lua (a valid POST /v1/submissions, fresh
# Idempotency-Key, rotating through 10,000 practices; limits out of the way) against a gateway
# with one thread, after a 2 s warm-up. CPU is each process's user + system time from /proc over
# the measured run, divided by the admissions it made (the gateway's accepted counter): the
# steady figure on this shared 2-core machine, unlike requests/s.
#
#   single     one redis-server (ops/redis.conf: AOF, appendfsync everysec)
#   cluster    ops/redis-cluster: 3 masters and 3 replicas (AOF too); each master's share of the
#              admissions is its count of EVALSHA calls (INFO commandstats), so its cost per
#              admission it served is exact even though 16 shards do not split evenly over 3
#   anchor     nginx (1 worker) answering a static 202 to the same wrk script: its CPU per request
#
# The projection is arithmetic on the measured per-master cost, not a measurement: this machine
# has 2 cores, so 3 masters, 3 replicas, the gateway and wrk share them and no cluster here can
# show its own scaling. A master that owns its core admits about 1 / (its us per admission)
# million admissions/s; its replica costs a core's share too (replication) and the gateway about
# 1 / (gateway us per admission) million per core. The runbook's capacity section uses these.
#
# Environment: SLUICE_GATEWAY, SLUICE_TOKEN (binaries), DURATION (seconds per measured run,
# default 10). Loopback only; ~1 minute. Processes are stopped by their pids on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

gateway=${SLUICE_GATEWAY:-$repo_root/build/release/gateway/sluice-gateway}
token_tool=${SLUICE_TOKEN:-$repo_root/build/release/credentials/sluice-token}
practices=10000
shards=16
connections=64

bench_init cluster_capacity
[[ -x $gateway ]] || die "no gateway binary at $gateway (build it with bench/run, or set SLUICE_GATEWAY)"
[[ -x $token_tool ]] || die "no sluice-token at $token_tool (build it with bench/run, or set SLUICE_TOKEN)"
require_tools wrk curl redis-server redis-cli "$nginx_bin"

"$token_tool" generate --count "$practices" --file "$work/credentials.csv" --tokens "$work/tokens.csv" \
    >"$work/token-tool.log" 2>&1 || die "sluice-token generate failed: $(cat "$work/token-tool.log")"
export ADMISSION_TOKENS=$work/tokens.csv
ADMISSION_KEY_PREFIX=bench-$(date +%s%N)-$$
export ADMISSION_KEY_PREFIX
ticks_per_s=$(clock_ticks_per_second)

start_admission_gateway() {  # NAME REDIS_URL
    start_gateway "$1" 1 "url = \"$2\"
timeout_ms = 1000
shards = $shards" /readyz "[ratelimit.per_practice]
rate = 1000000
burst = 1000000

[limits]
max_connections = 20000
max_inflight_per_thread = 100000"
}
accepted() {
    curl -fsS --max-time 5 "http://$host:$gateway_port/metrics" |
        awk '$1 == "sluice_admissions_total{outcome=\"accepted\"}" { v = $2 } END { print v + 0 }'
}
evalsha_calls() {  # PORT
    redis-cli -h "$host" -p "$1" info commandstats | tr -d '\r' |
        awk -F'[:=,]' '$1 == "cmdstat_evalsha" { print $3; found = 1 } END { if (!found) print 0 }'
}
us_per() { awk -v t="$1" -v n="$2" -v hz="$ticks_per_s" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "nan" }'; }
# run NAME URL PIDS...: warm-up, then the measured run; sets ticks[PID] (CPU ticks over it) and
# run_admissions, run_rps.
declare -A ticks=()
run() {
    local name=$1 url=$2 pid before_accepted
    shift 2
    BENCH_RUN=$name-warmup wrk -t1 -c"$connections" -d"${warmup}s" -s "$repo_root/bench/admission.lua" "$url" \
        >"$work/$name-warmup.wrk" 2>&1 || die "wrk warm-up against $name failed"
    declare -A start=()
    for pid in "$@"; do start[$pid]=$(cpu_ticks "$pid"); done
    before_accepted=$([[ $name == nginx ]] && echo 0 || accepted)
    BENCH_RUN=$name wrk -t1 -c"$connections" -d"${duration}s" -s "$repo_root/bench/admission.lua" "$url" \
        >"$work/$name.wrk" 2>&1 || die "wrk against $name failed: $(cat "$work/$name.wrk")"
    for pid in "$@"; do ticks[$pid]=$(($(cpu_ticks "$pid") - ${start[$pid]})); done
    if [[ $name == nginx ]]; then
        run_admissions=$(report_field nginx requests)
    else
        run_admissions=$(($(accepted) - before_accepted))
    fi
    run_rps=$(awk -v n="$run_admissions" -v d="$duration" 'BEGIN { printf "%.0f", n / d }')
    run_refused=$(report_field "$name" errors)
}

echo "sluice bench: cluster_capacity (CPU per admission: gateway 1 thread, wrk -t1 -c$connections, ${duration} s)"
echo "machine:  $(machine_line)"
echo

# ---- single redis-server ----------------------------------------------------------------------
start_redis "$work/redis"
start_admission_gateway single "redis://$host:$redis_port"
run single "http://$host:$gateway_port/v1/submissions" "$gateway_pid" "$redis_pid"
single_n=$run_admissions single_rps=$run_rps single_refused=$run_refused
single_gateway=$(us_per "${ticks[$gateway_pid]}" "$single_n")
single_redis=$(us_per "${ticks[$redis_pid]}" "$single_n")
stop_pid "$gateway_pid"
stop_pid "$redis_pid"

# ---- cluster ----------------------------------------------------------------------------------
SLUICE_CLUSTER_BASE_PORT=$((20000 + RANDOM % 9000)) "$repo_root/ops/redis-cluster" start "$work/cluster" \
    >"$work/cluster.log" 2>&1 || die "the cluster did not start: $(tail -n 5 "$work/cluster.log")"
trap '"$repo_root/ops/redis-cluster" stop "$work/cluster" >/dev/null 2>&1 || true; bench_cleanup' EXIT
start_admission_gateway cluster "$(cat "$work/cluster/url")"
node_pids=() node_ports=() node_roles=()
for i in 0 1 2 3 4 5; do
    node_pids+=("$(cat "$work/cluster/node-$i.pid")")
    node_ports+=("$(cat "$work/cluster/node-$i.port")")
    node_roles+=("$(redis-cli -h "$host" -p "${node_ports[$i]}" role | head -n1)")
    redis-cli -h "$host" -p "${node_ports[$i]}" config resetstat >/dev/null
done
run cluster "http://$host:$gateway_port/v1/submissions" "$gateway_pid" "${node_pids[@]}"
cluster_n=$run_admissions cluster_rps=$run_rps cluster_refused=$run_refused
cluster_gateway=$(us_per "${ticks[$gateway_pid]}" "$cluster_n")

# ---- nginx, the anchor ------------------------------------------------------------------------
start_nginx / '        location / {
            return 202 "{\"status\":\"queued\"}";
        }'
nginx_worker=$(pgrep -P "$nginx_pid" | head -n1)
run nginx "http://$host:$nginx_port/v1/submissions" "$nginx_worker"
nginx_us=$(us_per "${ticks[$nginx_worker]}" "$run_admissions")

table_columns 34 14 14 24
print_row "process" "us/admission" "admissions/s" "other answers"
print_row "single: gateway (1 thread)" "$single_gateway" "$single_rps" "$single_refused"
print_row "single: redis-server" "$single_redis" ""
print_row "cluster: gateway (1 thread)" "$cluster_gateway" "$cluster_rps" "$cluster_refused"
masters=0 master_total=0 best_master=""
for i in 0 1 2 3 4 5; do
    if [[ ${node_roles[$i]} == master ]]; then
        calls=$(evalsha_calls "${node_ports[$i]}")
        cost=$(us_per "${ticks[${node_pids[$i]}]}" "$calls")
        print_row "cluster: master :${node_ports[$i]}" "$cost" "($calls admissions)"
        masters=$((masters + 1))
        master_total=$(awk -v a="$master_total" -v b="$cost" 'BEGIN { print a + b }')
    else
        print_row "cluster: replica :${node_ports[$i]}" "$(us_per "${ticks[${node_pids[$i]}]}" "$cluster_n")" "(per admission of all)"
    fi
done
print_row "nginx static 202 (anchor)" "$nginx_us" "$run_rps" "$run_refused"
echo "(us/admission: the process's CPU over the run / admissions; other answers: wrk's non-2xx and"
echo " socket errors, mostly 503s of the admission control on a busy machine, whose cost is in the"
echo " gateway's figure: the figures are then upper bounds)"
mean_master=$(awk -v t="$master_total" -v m="$masters" 'BEGIN { printf "%.1f", t / m }')
echo "projection (arithmetic on the figures above, not measured scaling: 2 cores here): a master"
echo "  with its own core admits about $(awk -v c="$mean_master" 'BEGIN { printf "%.0f", 1e6 / c }') admissions/s (mean $mean_master us per admission it serves);"
echo "  N masters about N times that, as long as the 16 shards spread evenly (with 3 masters they"
echo "  split 6/5/5: the busiest master sets the pace); a gateway core about"
echo "  $(awk -v c="$cluster_gateway" 'BEGIN { printf "%.0f", 1e6 / c }') admissions/s (cluster) or $(awk -v c="$single_gateway" 'BEGIN { printf "%.0f", 1e6 / c }') (single redis-server)."
echo "machine:  $(load_line)"
