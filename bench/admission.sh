#!/usr/bin/env bash
# bench/admission.sh: admission throughput and latency, gateway + redis-server + wrk on this
# machine, beside nginx answering a static 202 to the same wrk script in the same run.
#
# Load: wrk -t1 -c256 --latency -s bench/admission.lua, after a 2 s warm-up: every request a valid
# POST /v1/submissions with a fresh Idempotency-Key, rotating through 10,000 practices
# (sluice-token generate), so each is a real admission (authentication, validation, the Redis
# admission script: rate limit, idempotency record, queue append). Limits are raised so none is
# hit: ratelimit.per_practice rate and burst 1,000,000, limits.max_inflight_per_thread 100,000,
# admission.target_queue_delay_ms 2000 (the adaptive limit would otherwise shed at 256 connections
# with 503s, which this bench counts as errors: it measures what admitting costs, not shedding;
# tests/surge and bench/surge.sh measure that), redis.timeout_ms 1000. Redis runs with the shipped ops/redis.conf (AOF, appendfsync everysec),
# a fresh one (and a fresh data directory) for each gateway run. nginx (1 worker) answers
# `return 202 '{"status":"queued"}'` to the same script: the anchor.
#
# For each gateway thread count it prints requests/s, p50/p99, errors (wrk's socket errors and
# non-2xx answers: any makes the run INVALID), the ratio to nginx's requests/s, the targets
# (throughput >= 0.5 x nginx, p99 <= 10 ms), and the entries the measured run actually queued
# (sum of XLEN over the shard streams sluice:{0}:q .. sluice:{N-1}:q, after minus before) beside
# the gateway's own count of 202s and wrk's: the queue must hold exactly what was accepted. wrk
# stops reading at the end of its run, so the requests it had sent and not yet read the answer of
# are accounted separately (bench/admission.lua counts what it sent). Then a perf profile of the
# gateway and redis-server during the measured run: the split of samples between them, and for
# each the split by shared object and the top symbols by self time.
#
# Then latency at half capacity (issue 12's goal: p99 <= 5 ms there), with the requests
# sluice-loadtest sends (realistic 4.4 KB bodies, 76 indicators; admission.lua's have 2): their
# capacity, wrk with bench/loadtest.lua for DURATION s; then sluice-loadtest, open loop (each
# request sent at its scheduled time, answered or not: no coordinated omission), at half of it for
# DURATION s over the same 256 connections, each request the first submission of its own practice
# (the practices wrk does not use). Each on a fresh redis-server and gateway: the night starts
# with an empty Redis. It prints p50/p99/p99.9 of every answer, the AOF rewrites (forks) Redis
# started, the CPU per request of the gateway, Redis and sluice-loadtest, and how busy the machine
# was; the verdict is INVALID unless every answer was 202.
# It is not a test: it exits 0 whether the targets are met or not (non-zero only if it could not
# measure).
#
# Environment:
#   SLUICE_GATEWAY   the gateway binary (default: build/release/gateway/sluice-gateway)
#   SLUICE_TOKEN     the token tool (default: build/release/credentials/sluice-token)
#   DURATION         seconds per measured run (default 10)
#   GATEWAY_THREADS  the listen.threads values to measure (default "1 2")
#   PROFILE          1 (default): perf record the gateway and redis-server during each measured
#                    gateway run (costs the run a little: perf samples at PERF_FREQUENCY); 0: do not
#   PERF_FREQUENCY   perf's sampling frequency in Hz (default 999)
#
# Takes about (1 + 3 x number of thread counts) x (DURATION + 6) s, plus perf report. Loopback only.
# Every process it starts is stopped by its pid on exit; its files (credentials, tokens, Redis's
# AOF, perf data) live in one temporary directory, removed on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

gateway=${SLUICE_GATEWAY:-$repo_root/build/release/gateway/sluice-gateway}
token_tool=${SLUICE_TOKEN:-$repo_root/build/release/credentials/sluice-token}
gateway_threads=${GATEWAY_THREADS:-1 2}
profile=${PROFILE:-1}
perf_frequency=${PERF_FREQUENCY:-999}
script=$repo_root/bench/admission.lua
practices=10000
shards=16
target_ratio=0.5
target_p99_ms=10
half_target_p99_ms=5
loadtest=${SLUICE_LOADTEST:-$repo_root/build/release/loadtest/sluice-loadtest}
half_practices=90000  # beyond wrk's: one first submission each in the half-capacity run

bench_init admission
[[ -x $gateway ]] || die "no gateway binary at $gateway (build it with bench/run, or set SLUICE_GATEWAY)"
[[ -x $token_tool ]] || die "no sluice-token at $token_tool (build it with bench/run, or set SLUICE_TOKEN)"
[[ -x $loadtest ]] || die "no sluice-loadtest at $loadtest (build it with bench/run, or set SLUICE_LOADTEST)"
for threads in $gateway_threads; do
    [[ $threads =~ ^[1-9][0-9]*$ ]] || die "GATEWAY_THREADS must be whole numbers from 1, got '$gateway_threads'"
done
[[ $profile == 0 || $profile == 1 ]] || die "PROFILE must be 0 or 1, got '$profile'"
((duration >= 3)) || die "DURATION must be at least 3 s here (the profile skips the first second)"
require_tools wrk curl redis-server redis-cli "$nginx_bin"

# perf: usable only if it can record here (perf_event_paranoid, a container without perf events).
profile_note=
if [[ $profile == 0 ]]; then
    profile_note="skipped (PROFILE=0)"
elif ! command -v perf >/dev/null; then
    profile_note="skipped: perf is not installed (apt-get install linux-perf)"
elif ! perf record -q -o /dev/null -- true >"$work/perf-check.log" 2>&1; then
    profile_note="skipped: perf cannot record here: $(head -3 "$work/perf-check.log" | tr '\n' ' ')"
fi

# Credentials and tokens, fresh for this run: wrk rotates through the first $practices practices,
# the half-capacity run takes the others.
"$token_tool" generate --count $((practices + half_practices)) --file "$work/credentials.csv" --tokens "$work/all-tokens.csv" \
    >"$work/token-tool.log" 2>&1 || die "sluice-token generate failed: $(cat "$work/token-tool.log")"
head -n "$practices" "$work/all-tokens.csv" >"$work/tokens.csv"
tail -n +"$((practices + 1))" "$work/all-tokens.csv" >"$work/half-tokens.csv"
export ADMISSION_TOKENS=$work/tokens.csv
"$loadtest" body --practice Z00000 --es-share 0 --catalogue "$repo_root/data/catalogue" >"$work/real-body.json" ||
    die "sluice-loadtest body failed"
ADMISSION_KEY_PREFIX=bench-$(date +%s%N)-$$
export ADMISSION_KEY_PREFIX


# The gateway with THREADS threads, limits out of the way (none is hit).
start_admission_gateway() {
    start_gateway "$1" "$1" "url = \"redis://$host:$redis_port\"
timeout_ms = 1000
shards = $shards" /readyz "[ratelimit.per_practice]
rate = 1000000
burst = 1000000

[limits]
max_connections = 20000
max_inflight_per_thread = 100000

[admission]
target_queue_delay_ms = 2000"
}

# Entries in the shard streams now.
queued_entries() {
    local shard
    for ((shard = 0; shard < shards; shard++)); do
        echo "XLEN sluice:{$shard}:q"
    done | redis-cli -h "$host" -p "$redis_port" | awk '{ n += $1 } END { print n + 0 }'
}

# A counter of the gateway's /metrics (exact series name with labels), 0 if absent.
gateway_metric() {
    curl -fsS --max-time 5 "http://$host:$gateway_port/metrics" |
        awk -v series="$1" '$1 == series { v = $2 } END { print v + 0 }'
}

# Waits until the queue stops growing (the gateway has finished what the last wrk run left in
# flight): the same count three times 0.2 s apart, at most 10 s. Prints the count.
settled_queue() {
    local last=-1 now same=0
    for _ in $(seq 50); do
        now=$(queued_entries)
        if [[ $now == "$last" ]]; then
            ((++same >= 2)) && break
        else
            same=0
        fi
        last=$now
        sleep 0.2
    done
    echo "$now"
}

# The machine's busy and total clock ticks (all cores) now: "BUSY TOTAL".
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# busy_percent BEFORE AFTER: the share of the machine's ticks between two machine_ticks that were busy.
busy_percent() {
    awk -v b="$1" -v a="$2" 'BEGIN {
        split(b, x, " "); split(a, y, " "); total = y[2] - x[2]
        if (total > 0) printf "%.0f", 100 * (y[1] - x[1]) / total; else print "nan" }'
}
# The AOF rewrites a redis-server has started, from the log in DIR.
aof_rewrites_in() { grep -c 'Background append only file rewriting started' "$1/redis.log" || true; }

# Hooks called by measure (bench/lib.sh), only for gateway runs.
accepted_series='sluice_admissions_total{outcome="accepted"}'
# Every admission outcome other than accepted, summed, since the gateway started.
other_outcomes() {
    curl -fsS --max-time 5 "http://$host:$gateway_port/metrics" |
        awk '/^sluice_admissions_total\{/ && !/outcome="accepted"/ { n += $2 } END { print n + 0 }'
}
measure_before() {
    [[ $1 == gateway-* ]] || return 0
    queued_before=$(settled_queue)
    redis-cli -h "$host" -p "$redis_port" CONFIG RESETSTAT >/dev/null # commandstats: the measured run only
    accepted_before=$(gateway_metric "$accepted_series")
    others_before=$(other_outcomes)
    gateway_ticks_before=$(cpu_ticks "$gateway_pid")
    redis_ticks_before=$(cpu_ticks "$redis_pid")
    machine_before=$(machine_ticks)
}
# The ids of a process's threads, comma-separated.
task_ids() {
    local task ids=()
    for task in "/proc/$1/task/"*; do ids+=("${task##*/}"); done
    (IFS=, && echo "${ids[*]}")
}

perf_pid=
measure_started() {
    [[ $1 == gateway-* && -z $profile_note ]] || return 0
    # The threads of both processes now; anything else perf sees is a child Redis forked during
    # the run (an AOF rewrite, once the AOF reaches auto-aof-rewrite-min-size).
    gateway_tids=$(task_ids "$gateway_pid")
    redis_tids=$(task_ids "$redis_pid")
    # The gateway and redis-server together, from 1 s into the run to 1 s before its end: steady
    # state only. perf follows Redis's forks (inherit).
    (sleep 1 && exec perf record -q -F "$perf_frequency" -g -p "$gateway_pid,$redis_pid" -o "$work/$1.perf" \
        -- sleep $((duration - 2))) >"$work/$1.perf.log" 2>&1 &
    perf_pid=$!
    track_pid "$perf_pid"
}

# perf_rows FILE MODE LIMIT: rows of a profile. FILE is `perf report -n --sort pid,dso,sym` with
# tab separators (sample counts, not perf's rounded percentages). Each thread is put in a group by
# its tid: gateway (the gateway's threads), redis (redis-server's main thread), redis-bg (its other
# threads: bio_*, jemalloc), redis-fork (a child it forked). MODE: groups (% of all samples per
# group), or dso:GROUP, sym:GROUP, unresolved:GROUP (% of that group's samples; unresolved: the
# samples at addresses without a symbol, per object). Largest first, LIMIT rows, cut at 150
# characters (C++ template names). No `head`: under pipefail, the SIGPIPE it gives a long report
# would end the script. (perf report --pid with --sort dso gave inconsistent totals with perf 6.1
# here, hence the grouping by tid in awk.)
perf_rows() {
    local file=$1 mode=$2 limit=$3
    awk -F'\t' -v mode="$mode" -v gateway="$profile_gateway_tids" -v redis_main="$profile_redis_pid" \
        -v redis_threads="$profile_redis_tids" '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        BEGIN {
            n = split(gateway, t, ","); for (i = 1; i <= n; i++) group_of[t[i]] = "gateway"
            n = split(redis_threads, t, ","); for (i = 1; i <= n; i++) group_of[t[i]] = "redis-bg"
            group_of[redis_main] = "redis"
            split(mode, m, ":"); want = m[2]
        }
        /^#/ || NF < 5 { next }
        {
            samples = $2 + 0; tid = trim($3); sub(/:.*/, "", tid)
            g = (tid in group_of) ? group_of[tid] : "redis-fork"
            total[g] += samples
            if (m[1] == "groups") key = g
            else if (g != want) next
            else if (m[1] == "dso") key = trim($4)
            else if (m[1] == "unresolved") { if (trim($5) !~ /^\[\.\] 0x/) next; key = "no symbol, in " trim($4) }
            else key = sprintf("%-24s %s", trim($4), trim($5))
            sum[key] += samples
        }
        END {
            all = 0
            for (g in total) all += total[g]
            for (key in sum) {
                base = (m[1] == "groups") ? all : total[want]
                if (base > 0) printf "%.2f\t%s\n", 100 * sum[key] / base, key
            }
        }' "$file" | sort -t $'\t' -k1,1 -rn |
        awk -F'\t' -v limit="$limit" 'NR <= limit { printf "    %6.2f%%  %s\n", $1, substr($2, 1, 140) }'
}

# half_run THREADS CAPACITY: sluice-loadtest at half of CAPACITY (requests/s) for DURATION s on the
# running gateway (its Redis in $work/redis-half-THREADS); its report in $work/half-THREADS.log.
declare -A half_busy half_cpu_us real_capacity half_rate half_seconds half_p50 half_p99 half_p999 half_statuses half_rewrites
half_run() {
    local threads=$1 rate seconds
    rate=$(awk -v c="$2" 'BEGIN { printf "%d", c / 2 }')
    seconds=$duration
    ((rate * seconds <= half_practices)) || seconds=$((half_practices / rate))
    half_rate[$threads]=$rate
    half_seconds[$threads]=$seconds
    local machine_start gateway_start redis_start
    machine_start=$(machine_ticks)
    gateway_start=$(cpu_ticks "$gateway_pid")
    redis_start=$(cpu_ticks "$redis_pid")
    /usr/bin/time -f '%U %S' -o "$work/half-$threads.time" \
    "$loadtest" --target "http://$host:$gateway_port" --tokens "$work/half-tokens.csv" \
        --schedule "constant:rate=$rate,duration=${seconds}s" --connections "$connections" --timeout 10s \
        --catalogue "$repo_root/data/catalogue" --run-id "half-$threads-$$" --json "$work/half-$threads.json" \
        --quiet >"$work/half-$threads.log" 2>&1 || note "sluice-loadtest at half capacity (threads=$threads) failed: $(tail -n 3 "$work/half-$threads.log")"
    # latency (ms) table, row "all answers": count p50 p90 p99 p99.9 ...
    read -r half_p50[$threads] half_p99[$threads] half_p999[$threads] < <(
        awk '/^latency \(ms\)/ { t = 1 } t && /^ *all answers/ { print $4, $6, $7; exit }' "$work/half-$threads.log")
    half_busy[$threads]=$(busy_percent "$machine_start" "$(machine_ticks)")
    local requests_sent=$((rate * seconds)) hz
    hz=$(clock_ticks_per_second)
    half_cpu_us[$threads]=$(awk -v g=$(($(cpu_ticks "$gateway_pid") - gateway_start)) -v r=$(($(cpu_ticks "$redis_pid") - redis_start)) \
        -v hz="$hz" -v n="$requests_sent" -v lt="$(cat "$work/half-$threads.time" 2>/dev/null)" 'BEGIN {
        split(lt, l, " "); printf "%.1f/%.1f/%.1f", 1e6 * g / hz / n, 1e6 * r / hz / n, 1e6 * (l[1] + l[2]) / n }')
    half_rewrites[$threads]=$(aof_rewrites_in "$work/redis-half-$threads")  # a fresh Redis: all of them
    half_statuses[$threads]=$(grep -o '"statuses":{[^}]*}' "$work/half-$threads.json" 2>/dev/null | head -n1 | sed 's/"statuses"://')
}

threads_list=()
declare -A rps p50 p99 requests non2xx socket_errors sent queued accepted outcomes_other
declare -A aof_rewrites aof_mb gateway_cpu redis_cpu machine_cpu profile_file redis_pids gateway_tids_of redis_tids_of

start_nginx /v1/submissions "        location /v1/submissions {
            default_type application/json;
            return 202 '{\"status\":\"queued\"}';
        }"

echo "sluice bench: admission (POST /v1/submissions through gateway + Redis, vs nginx return 202, loopback)"
echo "machine:  $(machine_line)"
echo "          a shared 2-core machine: wrk, the gateway and redis-server (or nginx) all run on it"
echo "gateway:  $gateway, listen.threads = ${gateway_threads// /, then }"
echo "redis:    $(redis-server --version | awk '{ print $3 }'), $repo_root/ops/redis.conf (AOF, appendfsync everysec), fresh per gateway run"
echo "nginx:    $(nginx_version) (worker_processes 1) on $host:$nginx_port, return 202 '{\"status\":\"queued\"}'"
echo "wrk:      wrk -t$wrk_threads -c$connections -d${duration}s --latency -s bench/admission.lua URL   (after ${warmup} s warm-up; $(wrk_version))"
echo "load:     $practices practices in rotation, a fresh Idempotency-Key per request; rate/burst 1000000, max_inflight_per_thread 100000"
echo "profile:  ${profile_note:-perf record -F $perf_frequency -g on the gateway and redis-server, from 1 s into each measured gateway run for $((duration - 2)) s}"
echo

measure nginx "http://$host:$nginx_port/v1/submissions" -s "$script"
stop_pid "$nginx_pid"
n_rps=$(report_field nginx rps)
n_p50=$(report_field nginx p50)
n_p99=$(report_field nginx p99)
n_requests=$(report_field nginx requests)
n_errors=$(report_field nginx errors)

ticks_per_second=$(clock_ticks_per_second)
for threads in $gateway_threads; do
    name=gateway-$threads
    threads_list+=("$threads")
    start_redis "$work/redis-$threads"
    start_admission_gateway "$threads"
    redis_pids[$threads]=$redis_pid
    measure "$name" "http://$host:$gateway_port/v1/submissions" -s "$script"
    gateway_ticks_after=$(cpu_ticks "$gateway_pid")
    redis_ticks_after=$(cpu_ticks "$redis_pid")
    machine_after=$(machine_ticks)
    if [[ -n $perf_pid ]]; then
        wait "$perf_pid" 2>/dev/null || note "perf record for $name failed: $(cat "$work/$name.perf.log")"
        forget_pid "$perf_pid"
        perf_pid=
        [[ -s $work/$name.perf ]] && profile_file[$threads]=$work/$name.perf
        gateway_tids_of[$threads]=$gateway_tids
        redis_tids_of[$threads]=$redis_tids
    fi
    queued_after=$(settled_queue)
    accepted_after=$(gateway_metric "$accepted_series")
    # Admissions of the measured run that ended other than accepted: should be 0 (no 429, 503, 4xx;
    # the warm-up's, while the adaptive limit learns, are not counted).
    outcomes_other[$threads]=$(($(other_outcomes) - others_before))
    # Where Redis's time went, by command (the script's own calls counted too), since RESETSTAT.
    redis-cli -h "$host" -p "$redis_port" INFO commandstats >"$work/$name.commandstats"
    stop_pid "$gateway_pid"
    stop_pid "$redis_pid"
    # The shipped config rewrites the AOF (a fork) each time it doubles past 64 MB.
    aof_rewrites[$threads]=$(aof_rewrites_in "$work/redis-$threads")
    aof_mb[$threads]=$(du -sm "$work/redis-$threads/appendonlydir" 2>/dev/null | cut -f1)
    # Half capacity with sluice-loadtest's realistic bodies (4.4 KB, 76 indicators; admission.lua's
    # has 2): their capacity first (wrk, bench/loadtest.lua), then half of it, each on a fresh
    # redis-server and gateway: the night starts with an empty Redis, not with a closed loop's
    # 100,000 records (whose AOF rewrite, a fork of that dataset, would be what is measured).
    start_redis "$work/redis-real-$threads"
    start_admission_gateway "$threads"
    LOADTEST_TOKENS=$work/tokens.csv LOADTEST_BODY=$work/real-body.json LOADTEST_BODY_PRACTICE=Z00000 \
        LOADTEST_KEY_PREFIX=$ADMISSION_KEY_PREFIX \
        measure "real-$threads" "http://$host:$gateway_port/v1/submissions" -s "$repo_root/bench/loadtest.lua"
    # Admissions per second: the answers per second that were 2xx.
    real_capacity[$threads]=$(awk -v rps="$(report_field "real-$threads" rps)" -v n="$(report_field "real-$threads" requests)" \
        -v bad="$(report_field "real-$threads" non2xx)" 'BEGIN { printf "%.0f", (n > 0 ? rps * (n - bad) / n : 0) }')
    stop_pid "$gateway_pid"
    stop_pid "$redis_pid"
    start_redis "$work/redis-half-$threads"
    start_admission_gateway "$threads"
    half_run "$threads" "${real_capacity[$threads]}"
    stop_pid "$gateway_pid"
    stop_pid "$redis_pid"

    rps[$threads]=$(report_field "$name" rps)
    p50[$threads]=$(report_field "$name" p50)
    p99[$threads]=$(report_field "$name" p99)
    requests[$threads]=$(report_field "$name" requests)
    non2xx[$threads]=$(report_field "$name" non2xx)
    socket_errors[$threads]=$(report_field "$name" socket_errors)
    sent[$threads]=$(awk '/^admission.lua: sent / { print $3 }' "$work/$name.wrk")
    [[ -n ${sent[$threads]} ]] || die "no 'admission.lua: sent' line in wrk's output for $name"
    queued[$threads]=$((queued_after - queued_before))
    accepted[$threads]=$((accepted_after - accepted_before))
    # CPU used during the measured run, in % of one core (the machine: of all its cores).
    gateway_cpu[$threads]=$(awk -v t=$((gateway_ticks_after - gateway_ticks_before)) -v hz="$ticks_per_second" \
        -v d="$duration" 'BEGIN { printf "%.0f", 100 * t / hz / d }')
    redis_cpu[$threads]=$(awk -v t=$((redis_ticks_after - redis_ticks_before)) -v hz="$ticks_per_second" \
        -v d="$duration" 'BEGIN { printf "%.0f", 100 * t / hz / d }')
    machine_cpu[$threads]=$(busy_percent "$machine_before" "$machine_after")
done

table_columns 22 12 9 9 10 8 10 13 13
print_row "server" "requests/s" "p50 ms" "p99 ms" "requests" "errors" "vs nginx" "p99<=${target_p99_ms}ms" "valid"
print_row "nginx return 202" "$n_rps" "$n_p50" "$n_p99" "$n_requests" "$n_errors" "1.000" "-" \
    "$( ((n_errors == 0)) && echo yes || echo INVALID)"
for threads in "${threads_list[@]}"; do
    errors=$((non2xx[$threads] + socket_errors[$threads]))
    print_row "gateway threads=$threads" "${rps[$threads]}" "${p50[$threads]}" "${p99[$threads]}" \
        "${requests[$threads]}" "$errors" "$(ratio "${rps[$threads]}" "$n_rps")" \
        "$(at_most "${p99[$threads]}" "$target_p99_ms")" "$( ((errors == 0)) && echo yes || echo INVALID)"
done
echo
echo "targets: gateway throughput >= ${target_ratio} x nginx's and p99 <= ${target_p99_ms} ms at $connections connections"
for threads in "${threads_list[@]}"; do
    errors=$((non2xx[$threads] + socket_errors[$threads]))
    r=$(ratio "${rps[$threads]}" "$n_rps")
    if ((errors > 0)); then
        verdict="INVALID run (${socket_errors[$threads]} socket errors, ${non2xx[$threads]} non-2xx answers): no verdict"
    else
        verdict="throughput $(at_least "$r" "$target_ratio") (ratio $r), p99 $(at_most "${p99[$threads]}" "$target_p99_ms") (${p99[$threads]} ms)"
    fi
    echo "  threads=$threads: $verdict"
done
echo "machine: $(load_line); figures from a shared 2-core machine"
echo
echo "latency at half of the capacity for realistic bodies (wrk, bench/loadtest.lua: admissions/s), by sluice-loadtest,"
echo "open loop, $connections connections, first submissions, each stage on a fresh Redis and gateway; target p99 <= ${half_target_p99_ms} ms."
echo "CPU us per request: gateway/redis-server/sluice-loadtest; busy: the machine's two cores during the run"
table_columns 22 10 8 8 9 9 10 22 9 16 7 12
print_row "run" "capacity" "rate/s" "s" "p50 ms" "p99 ms" "p99.9 ms" "answers" "rewrites" "CPU us" "busy" "p99<=${half_target_p99_ms}ms"
for threads in "${threads_list[@]}"; do
    verdict=$(at_most "${half_p99[$threads]:-nan}" "$half_target_p99_ms")
    [[ ${half_statuses[$threads]} =~ ^\{\"202\":[0-9]+\}$ ]] || verdict="INVALID (not all 202)"
    print_row "gateway threads=$threads" "${real_capacity[$threads]}" "${half_rate[$threads]}" "${half_seconds[$threads]}" "${half_p50[$threads]:-?}" \
        "${half_p99[$threads]:-?}" "${half_p999[$threads]:-?}" "${half_statuses[$threads]:-none}" \
        "${half_rewrites[$threads]}" "${half_cpu_us[$threads]}" "${half_busy[$threads]}%" "$verdict"
done
echo
echo "queue check (measured run only): entries queued = sum of XLEN sluice:{0..$((shards - 1))}:q after - before"
table_columns 22 12 14 12 14 12 9
print_row "run" "queued" "gateway 202s" "wrk 202s" "sent, unread" "other" "check"
for threads in "${threads_list[@]}"; do
    answered=$((requests[$threads] - non2xx[$threads]))
    unread=$((sent[$threads] - requests[$threads]))
    # Exact: the queue holds what the gateway accepted, all wrk's 202s are in it, and any more are
    # requests wrk had sent and stopped waiting for.
    if ((queued[$threads] == accepted[$threads] && queued[$threads] >= answered &&
        queued[$threads] - answered <= unread && outcomes_other[$threads] == 0)); then
        check=match
    else
        check=MISMATCH
    fi
    print_row "gateway threads=$threads" "${queued[$threads]}" "${accepted[$threads]}" "$answered" "$unread" \
        "${outcomes_other[$threads]}" "$check"
done
echo "  queued = the gateway's 202s exactly; wrk's 202s + the requests it had sent and not read the answer of when it"
echo "  stopped (at most $connections) bound it; 'other' = admissions that ended other than accepted (429, 503, 4xx)"
echo
echo "Redis commands during the measured runs (INFO commandstats; a script's calls are counted inside EVALSHA's time"
echo "and again under their own names):"
for threads in "${threads_list[@]}"; do
    echo "  threads=$threads:"
    tr -d '\r' <"$work/gateway-$threads.commandstats" | awk -F'[:,=]' '/^cmdstat_/ {
        sub(/^cmdstat_/, "", $1)
        for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
        printf "%s\t%s\t%s\t%s\n", v["usec"], $1, v["calls"], v["usec_per_call"]
    }' | sort -t $'\t' -k1,1 -rn | awk -F'\t' 'NR <= 8 {
        printf "    %-12s %10s calls %9.2f us/call %10.0f ms in all\n", $2, $3, $4, $1 / 1000 }'
done
echo
echo "CPU during the measured runs (100% = one core; the machine: all $(nproc) cores):"
for threads in "${threads_list[@]}"; do
    echo "  threads=$threads: gateway ${gateway_cpu[$threads]}%, redis-server ${redis_cpu[$threads]}%, machine busy ${machine_cpu[$threads]}%;" \
        "AOF rewrites (forks) during warm-up and run: ${aof_rewrites[$threads]}, AOF at the end: ${aof_mb[$threads]:-?} MB"
done
echo

if [[ -n $profile_note ]]; then
    echo "profile: $profile_note"
else
    for threads in "${threads_list[@]}"; do
        data=${profile_file[$threads]:-}
        if [[ -z $data ]]; then
            echo "--- profile, threads=$threads: perf recorded nothing ($(cat "$work/gateway-$threads.perf.log" 2>/dev/null))"
            continue
        fi
        profile_gateway_tids=${gateway_tids_of[$threads]}
        profile_redis_pid=${redis_pids[$threads]}
        profile_redis_tids=${redis_tids_of[$threads]}
        rows=$work/gateway-$threads.perf.txt
        perf report -i "$data" --no-children -g none --stdio -n --sort pid,dso,sym -t $'\t' >"$rows" 2>/dev/null ||
            note "perf report for threads=$threads failed"
        echo "--- profile, threads=$threads: samples by process (perf record -F $perf_frequency on the gateway and redis-server;"
        echo "    redis-fork is the child Redis forked for an AOF rewrite, redis-bg its bio/jemalloc threads)"
        perf_rows "$rows" groups 5
        echo "--- profile, threads=$threads: gateway, self time by shared object (% of the gateway's samples)"
        perf_rows "$rows" dso:gateway 12
        echo "--- profile, threads=$threads: gateway, top 25 symbols by self time (% of the gateway's samples)"
        perf_rows "$rows" sym:gateway 25
        echo "--- profile, threads=$threads: redis-server main thread, self time by shared object (redis-check-rdb is"
        echo "    Debian's name for the redis-server binary)"
        perf_rows "$rows" dso:redis 6
        echo "--- profile, threads=$threads: redis-server main thread, top 15 symbols by self time"
        perf_rows "$rows" sym:redis 15
        echo "--- profile, threads=$threads: redis-server main thread, samples at addresses without a symbol (Debian's"
        echo "    binary is stripped: its static functions, Lua's interpreter among them, have no names)"
        perf_rows "$rows" unresolved:redis 3
        if grep -q . <(perf_rows "$rows" sym:redis-fork 1); then
            echo "--- profile, threads=$threads: redis-server's forked child, top 5 symbols by self time"
            perf_rows "$rows" sym:redis-fork 5
        fi
        echo
    done
fi

for name in nginx "${threads_list[@]/#/gateway-}"; do
    echo "--- wrk output, $name"
    cat "$work/$name.wrk"
done
