#!/usr/bin/env bash
# bench/loadtest.sh: the load generator's own ceiling. sluice-loadtest and wrk send the same
# requests to the same nginx (one worker, a static `return 202`) on loopback, in the same run, one
# after the other; sluice-loadtest must reach at least wrk's request rate with one thread.
#
# The requests: POST /v1/submissions as sluice-loadtest sends them, with its realistic QOF bodies
# (about 4.3 KB: --es-share 0), each with a fresh Idempotency-Key, rotating through 10,000
# practices (`sluice-loadtest generate`). wrk runs bench/loadtest.lua, which builds the same
# request line and headers around `sluice-loadtest body` for Z00000 (each practice's own code put
# in its body); sluice-loadtest generates every submission's body as it goes, which wrk does not
# have to.
#
# The load: wrk -t1 -c256 for DURATION s; sluice-loadtest --threads 1 --connections 256 with a
# constant open-loop schedule for DURATION s at 1.5 x the rate wrk just reached, so that it is
# saturated (requests queue for a free connection) and what it achieves is its ceiling: answers
# received / (first intended send to last answer). Each gets a 2 s warm-up first. ROUNDS rounds
# (default 2) alternate the two, since the machine is shared; the verdict compares the means.
# For each run: requests/s, the client's CPU time per request (user + system, from the shell's
# children times) and nginx's CPU use (if nginx is near 100 %, it is the ceiling of both, and the
# CPU per request says which client has room left). Target: sluice-loadtest / wrk >= 1.0. It is
# not a test: it exits 0 whether the target is met or not (non-zero only if it could not measure).
#
# Environment:
#   SLUICE_LOADTEST  the sluice-loadtest binary (default: build/release/loadtest/sluice-loadtest)
#   DURATION         seconds per measured run (default 10)
#   ROUNDS           wrk + sluice-loadtest rounds (default 2)
#
# Loopback only. Every process it starts is stopped by its pid on exit; its files live in one
# temporary directory, removed on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

loadtest=${SLUICE_LOADTEST:-$repo_root/build/release/loadtest/sluice-loadtest}
rounds=${ROUNDS:-2}
script=$repo_root/bench/loadtest.lua
practices=10000
target_ratio=1.0
overdrive=1.5 # sluice-loadtest's offered rate, as a multiple of wrk's achieved rate

bench_init loadtest
[[ -x $loadtest ]] || die "no sluice-loadtest binary at $loadtest (build it, or set SLUICE_LOADTEST)"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a whole number from 1, got '$rounds'"
require_tools wrk curl pgrep "$nginx_bin"

# Practices and the body wrk sends.
"$loadtest" generate --practices "$practices" --credentials "$work/credentials.csv" --tokens "$work/tokens.csv" \
    >"$work/generate.log" 2>&1 || die "sluice-loadtest generate failed: $(cat "$work/generate.log")"
"$loadtest" body --practice Z00000 --es-share 0 --catalogue "$repo_root/data/catalogue" >"$work/body.json" \
    2>"$work/body.log" || die "sluice-loadtest body failed: $(cat "$work/body.log")"
export LOADTEST_TOKENS=$work/tokens.csv LOADTEST_BODY=$work/body.json LOADTEST_BODY_PRACTICE=Z00000
LOADTEST_KEY_PREFIX=bench-$(date +%s%N)-$$
export LOADTEST_KEY_PREFIX

start_nginx /v1/submissions "        location /v1/submissions {
            default_type application/json;
            return 202 '{\"status\":\"queued\"}';
        }"
url=http://$host:$nginx_port/v1/submissions

# CPU seconds (user + system) of this shell's children that have ended and been waited for,
# their own children included: the second line of `times`, which must run in this shell (not in a
# command substitution's subshell). Sets children_cpu_s.
children_cpu_s=0
children_cpu() {
    local user system
    times >"$work/times"
    read -r user system < <(tail -1 "$work/times")
    children_cpu_s=$(awk -v u="$user" -v s="$system" 'function secs(t,  m) { m = t; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", t); sub(/s$/, "", t); return m * 60 + t }
        BEGIN { printf "%.3f", secs(u) + secs(s) }')
}

# nginx's CPU ticks so far: its master and workers (the workers are the master's children).
nginx_ticks() {
    local pid total
    total=$(cpu_ticks "$nginx_pid")
    for pid in $(pgrep -P "$nginx_pid"); do
        total=$((total + $(cpu_ticks "$pid")))
    done
    echo "$total"
}

# Figures of one run, in globals: rps, requests, errors, client_us (CPU us per request), nginx_pct.
cpu_before=0
nginx_ticks_before=0
started_ns=0
begin_run() {
    children_cpu
    cpu_before=$children_cpu_s
    nginx_ticks_before=$(nginx_ticks)
    started_ns=$(date +%s%N)
}
end_run() {
    local requests=$1 ended_ns cpu_after ticks
    ended_ns=$(date +%s%N)
    children_cpu
    cpu_after=$children_cpu_s
    ticks=$(($(nginx_ticks) - nginx_ticks_before))
    client_us=$(awk -v a="$cpu_after" -v b="$cpu_before" -v n="$requests" 'BEGIN { if (n > 0) printf "%.2f", (a - b) * 1e6 / n; else print "nan" }')
    nginx_pct=$(awk -v t="$ticks" -v hz="$(clock_ticks_per_second)" -v ns=$((ended_ns - started_ns)) \
        'BEGIN { printf "%.0f", t / hz / (ns / 1e9) * 100 }')
}

# wrk, after its warm-up (bench/lib.sh's measure; the hook marks the start of the measured run).
measure_before() { begin_run; }
run_wrk() {
    local name=wrk-$1
    measure "$name" "$url" -s "$script"
    requests=$(report_field "$name" requests)
    rps=$(report_field "$name" rps)
    errors=$(report_field "$name" errors)
    end_run "$requests"
}

# sluice-loadtest: a warm-up run, then the measured one; figures from its JSON report.
json_field() { grep -o "\"$2\":[0-9.eE+-]*" "$1" | head -1 | cut -d: -f2; }
loadtest_rate=
run_loadtest() {
    local name=loadtest-$1 count per_practice totals
    count=$(awk -v r="$loadtest_rate" -v d="$duration" 'BEGIN { printf "%d", r * d }')
    per_practice=$(((count + practices - 1) / practices + 1))
    run_args=(--target "http://$host:$nginx_port" --tokens "$work/tokens.csv" --threads 1 --connections "$connections"
        --submissions-per-practice "$per_practice" --es-share 0 --catalogue "$repo_root/data/catalogue" --quiet)
    "$loadtest" "${run_args[@]}" --schedule "constant:rate=$loadtest_rate,duration=${warmup}s" \
        >"$work/$name-warmup.out" 2>&1 || die "sluice-loadtest warm-up failed: $(tail -5 "$work/$name-warmup.out")"
    begin_run
    timeout $((duration * 10 + 60)) "$loadtest" "${run_args[@]}" \
        --schedule "constant:rate=$loadtest_rate,duration=${duration}s" --json "$work/$name.json" \
        >"$work/$name.out" 2>&1 || die "sluice-loadtest failed: $(tail -5 "$work/$name.out")"
    totals=$(grep -o '"totals":{[^}]*}' "$work/$name.json") || die "no totals in $work/$name.json"
    requests=$(grep -o '"answered":[0-9]*' <<<"$totals" | cut -d: -f2)
    local sent accepted elapsed
    sent=$(grep -o '"sent":[0-9]*' <<<"$totals" | cut -d: -f2)
    accepted=$(grep -o '"accepted":[0-9]*' <<<"$totals" | cut -d: -f2)
    elapsed=$(json_field "$work/$name.json" elapsed_s)
    rps=$(awk -v n="$requests" -v s="$elapsed" 'BEGIN { if (s > 0) printf "%.2f", n / s; else print "nan" }')
    errors=$((sent - accepted))
    end_run "$requests"
}

echo "sluice bench: loadtest (sluice-loadtest vs wrk, the same POST /v1/submissions to nginx's static 202, loopback)"
echo "machine:  $(machine_line)"
echo "nginx:    $(nginx_version) (worker_processes 1) on $host:$nginx_port, return 202"
echo "wrk:      wrk -t$wrk_threads -c$connections -d${duration}s --latency -s bench/loadtest.lua   (after ${warmup} s warm-up; $(wrk_version))"
echo "loadtest: $loadtest --threads 1 --connections $connections, constant open-loop schedule for ${duration} s at" \
    "${overdrive} x wrk's rate (after ${warmup} s warm-up)"
echo "body:     $(wc -c <"$work/body.json") bytes for wrk (Z00000's); sluice-loadtest's vary per submission"
echo

table_columns 18 7 12 11 14 10 8
rows=()
wrk_sum=0
loadtest_sum=0
for ((round = 1; round <= rounds; round++)); do
    run_wrk "$round"
    wrk_sum=$(awk -v a="$wrk_sum" -v b="$rps" 'BEGIN { print a + b }')
    rows+=("wrk -t1|$round|$rps|$requests|$client_us|$nginx_pct|$errors")
    loadtest_rate=$(awk -v r="$rps" -v k="$overdrive" 'BEGIN { printf "%d", r * k + 1 }')
    run_loadtest "$round"
    loadtest_sum=$(awk -v a="$loadtest_sum" -v b="$rps" 'BEGIN { print a + b }')
    rows+=("sluice-loadtest|$round|$rps|$requests|$client_us|$nginx_pct|$errors")
    if awk -v r="$rps" -v o="$loadtest_rate" 'BEGIN { exit !(r >= 0.97 * o) }'; then
        note "round $round: sluice-loadtest kept up with its offered $loadtest_rate/s: its ceiling is higher than measured"
    fi
done

print_row "client" "round" "requests/s" "requests" "CPU us/req" "nginx CPU%" "errors"
for row in "${rows[@]}"; do
    IFS='|' read -r -a cells <<<"$row"
    print_row "${cells[@]}"
done
wrk_mean=$(awk -v s="$wrk_sum" -v n="$rounds" 'BEGIN { printf "%.2f", s / n }')
loadtest_mean=$(awk -v s="$loadtest_sum" -v n="$rounds" 'BEGIN { printf "%.2f", s / n }')
throughput_ratio=$(ratio "$loadtest_mean" "$wrk_mean")
echo
print_row "mean wrk" "" "$wrk_mean"
print_row "mean loadtest" "" "$loadtest_mean"
print_row "loadtest / wrk" "" "$throughput_ratio"
echo
echo "target: sluice-loadtest (1 thread) >= ${target_ratio} x wrk -t1: $(at_least "$throughput_ratio" "$target_ratio") (ratio $throughput_ratio)"
echo "machine:  $(load_line)"
echo
echo "--- wrk output, last round"
cat "$work/wrk-$rounds.wrk"
echo "--- sluice-loadtest summary, last round"
cat "$work/loadtest-$rounds.out"
