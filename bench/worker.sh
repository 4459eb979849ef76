#!/usr/bin/env bash
# bench/worker.sh: the worker's throughput (the issue: "calculations per second per worker, and how
# long two workers take to drain 100,000 queued submissions"), on this machine, in one run.
#
# 1. calc: worker_bench calc, one thread, no Redis: parse + calculate + result_json of realistic
#    QOF bodies (20 indicators of 2024-25 with their registers), and each step alone. The ceiling
#    a worker process (one thread) could reach if Redis cost nothing.
# 2. drain: a fresh redis-server (the shipped ops/redis.conf: AOF, appendfsync everysec), COUNT
#    submissions queued by worker_bench enqueue (as admission.lua leaves them, for 10,000
#    practices Z00000.. on 16 shards; the gateway and wrk are not involved), then TWO sluice-worker
#    processes (worker.concurrency 64, other worker settings their defaults) started together.
#    Drain time = from starting the first worker until the sum of their
#    sluice_worker_calculated_total (polled every 100 ms from /metrics) reaches COUNT; it gives
#    up after 10 minutes. It prints the drain time, the overall rate, each worker's share and
#    rate, CPU used by the workers and redis-server, and Redis's busiest commands.
# 3. check: in Redis, nothing pending (XPENDING per shard, and the group's lag) and exactly COUNT
#    status records with status=calculated; any difference, a worker that died or exited non-zero,
#    or a drain that did not finish marks the run INVALID.
#
# Before each measurement it waits (up to 3 minutes) until no wrk runs and the 1-minute load is
# below 1.5, and prints the load beside the figures (a 2-core machine shared with others). It is
# not a test: it exits 0 whether the run is valid or not (non-zero only if it could not measure).
#
# Environment:
#   SLUICE_WORKER        the worker binary (default: build/release/worker/sluice-worker)
#   SLUICE_WORKER_BENCH  worker_bench (default: build/release/bench/worker_bench)
#   COUNT                submissions to queue and drain (default 100000)
#   CALC_SECONDS         seconds per calc loop (default 3)
# Build both with: cmake --preset release && cmake --build --preset release --target worker_bench sluice-worker
#
# Takes about 4 x CALC_SECONDS + the enqueue (a few seconds) + the drain, plus any waits for a
# quiet machine. Loopback only. Every process it starts is stopped by its pid on exit; its files
# (configs, logs, Redis's AOF) live in one temporary directory, removed on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

worker_bin=${SLUICE_WORKER:-$repo_root/build/release/worker/sluice-worker}
bench_bin=${SLUICE_WORKER_BENCH:-$repo_root/build/release/bench/worker_bench}
count=${COUNT:-100000}
calc_seconds=${CALC_SECONDS:-3}
practices=10000
shards=16
workers=2
concurrency=64
drain_limit_s=600
quiet_load=1.5
quiet_wait_s=180
build_hint="cmake --preset release && cmake --build --preset release --target worker_bench sluice-worker"

bench_init worker
[[ $count =~ ^[1-9][0-9]*$ ]] || die "COUNT must be a whole number from 1, got '$count'"
[[ $calc_seconds =~ ^[1-9][0-9]*$ ]] || die "CALC_SECONDS must be a whole number from 1, got '$calc_seconds'"
[[ -x $worker_bin ]] || die "no sluice-worker at $worker_bin (build it: $build_hint; or set SLUICE_WORKER)"
[[ -x $bench_bin ]] || die "no worker_bench at $bench_bin (build it: $build_hint; or set SLUICE_WORKER_BENCH)"
require_tools curl redis-server redis-cli

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits until no wrk runs and the 1-minute load is below quiet_load, at most quiet_wait_s. Sets
# quiet_note to what the figures that follow were measured under.
quiet_note=
wait_for_quiet() {
    local what=$1 deadline=$((SECONDS + quiet_wait_s)) waited_from=$SECONDS
    while :; do
        if ! pgrep -x wrk >/dev/null && awk -v l="$(load1)" -v q="$quiet_load" 'BEGIN { exit !(l < q) }'; then
            quiet_note="load $(load1) before $what (waited $((SECONDS - waited_from)) s for no wrk and load < $quiet_load)"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            quiet_note="load $(load1) before $what, BUSY MACHINE: after ${quiet_wait_s} s still"
            pgrep -x wrk >/dev/null && quiet_note+=" a wrk running and"
            quiet_note+=" load $(load1) (wanted < $quiet_load); measured anyway, discount these figures"
            return 0
        fi
        sleep 2
    done
}

redis() { redis-cli -h "$host" -p "$redis_port" "$@"; }


# Waits (at most 2 minutes) until Redis is not rewriting its AOF or saving: a fork in progress
# would take a core from the measured run.
wait_for_redis_idle() {
    local deadline=$((SECONDS + 120)) info
    while ((SECONDS < deadline)); do
        info=$(redis INFO persistence | tr -d '\r')
        if grep -q '^aof_rewrite_in_progress:0' <<<"$info" && grep -q '^rdb_bgsave_in_progress:0' <<<"$info" &&
            grep -q '^aof_rewrite_scheduled:0' <<<"$info"; then
            return 0
        fi
        sleep 0.2
    done
    note "Redis was still rewriting its AOF after 2 minutes; measuring anyway"
}

aof_rewrites() { grep -c 'Background append only file rewriting started' "$work/redis/redis.log" || true; }

# The workers: pids, metrics ports, logs. Every SLUICE_* variable is removed from their
# environment: this script's own (SLUICE_WORKER, ...) would be unknown config keys to them, and
# another job's must not override the file.
worker_pids=()
worker_ports=()
clean_env=()
while IFS= read -r name; do clean_env+=(-u "$name"); done < <(compgen -e | grep '^SLUICE_' || true)

write_worker_config() {
    printf '# generated by bench/worker.sh\n# practice,token_sha256_hex,not_after\n' >"$work/credentials.csv"
    cat >"$work/worker.toml" <<EOF
# generated by bench/worker.sh
[redis]
url = "redis://$host:$redis_port"
shards = $shards
timeout_ms = 1000

[catalogue]
dir = "$repo_root/data/catalogue"

[credentials]
file = "$work/credentials.csv"

[worker]
concurrency = $concurrency
metrics_address = "$host"
metrics_port = 0
EOF
}

start_worker() {
    local i=$1 out=$work/worker-$1.out log=$work/worker-$1.log
    env "${clean_env[@]}" "$worker_bin" --config "$work/worker.toml" >"$out" 2>"$log" &
    worker_pids[i]=$!
    track_pid "${worker_pids[i]}"
}

# Waits until worker i printed its metrics line; sets worker_ports[i].
await_worker() {
    local i=$1 deadline=$((SECONDS + start_deadline_s)) port
    while ((SECONDS < deadline)); do
        port=$(sed -n "s/^sluice-worker metrics on $host:\([0-9]*\)$/\1/p" "$work/worker-$i.out")
        if [[ -n $port ]]; then
            worker_ports[i]=$port
            return 0
        fi
        kill -0 "${worker_pids[i]}" 2>/dev/null || die "sluice-worker $i exited during start-up; its log: $(cat "$work/worker-$i.log")"
        sleep 0.01
    done
    die "sluice-worker $i printed no metrics line within ${start_deadline_s} s; its log: $(cat "$work/worker-$i.log")"
}

# A series of worker i's /metrics (exact name with labels), empty if it did not answer.
worker_metric() {
    curl -fsS --max-time 1 "http://$host:${worker_ports[$1]}/metrics" 2>/dev/null |
        awk -v series="$2" '$1 == series { v = $2 } END { if (v != "") printf "%.0f", v }'
}

# Stops worker i with SIGTERM (it drains and exits 0), at most 15 s; sets worker_exit[i].
declare -A worker_exit
stop_worker() {
    local i=$1 pid=${worker_pids[$1]} rc=0
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        worker_exit[$i]="did not exit within 15 s of SIGTERM (killed)"
        stop_pid "$pid"
        return 0
    fi
    wait "$pid" || rc=$?
    forget_pid "$pid"
    if ((rc == 0)); then
        worker_exit[$i]="exit 0"
    elif ((rc > 128)); then
        worker_exit[$i]="KILLED BY SIGNAL $((rc - 128))"
    else
        worker_exit[$i]="EXIT $rc"
    fi
}

echo "sluice bench: worker (calculation in process; two sluice-worker processes draining a queue in Redis, loopback)"
echo "machine:  $(machine_line)"
echo "          a shared 2-core machine: both workers and redis-server run on it"
echo "          wrk and the gateway are not involved: worker_bench enqueue writes the queued submissions into Redis"
echo "worker:   $worker_bin ($workers processes, worker.concurrency $concurrency, claim_idle_ms and max_attempts default)"
echo "redis:    $(redis-server --version | awk '{ print $3 }'), $repo_root/ops/redis.conf (AOF, appendfsync everysec), fresh for this run, $shards shards"
echo

# ---- 1. calc ------------------------------------------------------------------------------------
wait_for_quiet "calc"
echo "--- calc: $bench_bin calc --seconds $calc_seconds   ($quiet_note)"
"$bench_bin" calc --seconds "$calc_seconds" || die "worker_bench calc failed"
echo "load $(load1) after calc"
echo

# ---- 2. enqueue, then drain -------------------------------------------------------------------------
start_redis "$work/redis"
write_worker_config
wait_for_quiet "enqueue"
echo "--- enqueue: $bench_bin enqueue --count $count --practices $practices --shards $shards   ($quiet_note)"
"$bench_bin" enqueue --redis "$host:$redis_port" --count "$count" --practices "$practices" --shards "$shards" ||
    die "worker_bench enqueue failed"
queued=$(for ((s = 0; s < shards; s++)); do echo "XLEN sluice:{$s}:q"; done | redis | awk '{ n += $1 } END { print n + 0 }')
((queued == count)) || die "the shards hold $queued entries after enqueueing $count"
echo "queued: $queued entries in sluice:{0..$((shards - 1))}:q; Redis used_memory $(redis INFO memory | tr -d '\r' | sed -n 's/^used_memory_human://p')"
echo

wait_for_redis_idle
wait_for_quiet "the drain"
rewrites_before=$(aof_rewrites)
redis CONFIG RESETSTAT >/dev/null # commandstats: the drain only
redis_ticks_before=$(cpu_ticks "$redis_pid")
started_ns=$(now_ns)
for ((i = 1; i <= workers; i++)); do start_worker "$i"; done
for ((i = 1; i <= workers; i++)); do await_worker "$i"; done
ready_s=$(seconds_since "$started_ns")

# Poll every 100 ms; a progress line every 5 s.
drained=
died=
calculated=0
progress=()
last_report=$SECONDS
last_count=0
while :; do
    total=0
    for ((i = 1; i <= workers; i++)); do
        if ! kill -0 "${worker_pids[i]}" 2>/dev/null; then
            died+=" $i"
            continue
        fi
        n=$(worker_metric "$i" sluice_worker_calculated_total)
        total=$((total + ${n:-0}))
    done
    ((total > calculated)) && calculated=$total
    if ((calculated >= count)); then
        drained=$(seconds_since "$started_ns")
        break
    fi
    [[ -n $died ]] && break
    elapsed_ns=$(($(now_ns) - started_ns))
    ((elapsed_ns >= drain_limit_s * 1000000000)) && break
    if ((SECONDS - last_report >= 5)); then
        progress+=("$(seconds_since "$started_ns") s: $calculated calculated (+$((calculated - last_count)) in the last $((SECONDS - last_report)) s), load $(load1)")
        last_report=$SECONDS
        last_count=$calculated
    fi
    sleep 0.1
done
drain_end_ns=$(now_ns)
load_after_drain=$(load1)
redis_ticks_after=$(cpu_ticks "$redis_pid")
declare -A w_calculated w_ticks w_other
for ((i = 1; i <= workers; i++)); do
    w_ticks[$i]=$(cpu_ticks "${worker_pids[i]}")
    if kill -0 "${worker_pids[i]}" 2>/dev/null; then
        w_calculated[$i]=$(worker_metric "$i" sluice_worker_calculated_total)
        w_other[$i]=""
        for series in duplicate_results failed reclaimed dead_lettered redis_errors; do
            w_other[$i]+=" $series=$(worker_metric "$i" "sluice_worker_${series}_total")"
        done
    else
        w_calculated[$i]="?"
        w_other[$i]=" (DIED: no metrics)"
    fi
done
redis INFO commandstats >"$work/commandstats"
rewrites_during=$(($(aof_rewrites) - rewrites_before))

# ---- 3. check in Redis, while the workers still run ---------------------------------------------
# (XPENDING first: a pending entry seen after the workers stopped would be what the drain left.)
# The group's lag is null when Redis cannot tell (deleted entries in the way): shown, not counted.
pending_total=0
lag_total=0
unanswered=0
pending_shards=()
for ((s = 0; s < shards; s++)); do
    p=$(redis XPENDING "sluice:{$s}:q" workers | head -1)
    lag=$(redis XINFO GROUPS "sluice:{$s}:q" | tr -d '\r' | awk 'prev == "lag" { print; exit } { prev = $0 }')
    if [[ $p =~ ^[0-9]+$ ]]; then
        pending_total=$((pending_total + p))
    else
        unanswered=$((unanswered + 1))
        p="no answer ($p)"
    fi
    if [[ $lag =~ ^[0-9]+$ ]]; then
        lag_total=$((lag_total + lag))
    else
        lag="unknown"
    fi
    if [[ $p != 0 || $lag != 0 ]]; then
        pending_shards+=("shard $s: pending $p, undelivered $lag")
    fi
done
dead_letters=$(for ((s = 0; s < shards; s++)); do echo "XLEN sluice:{$s}:dlq"; done | redis | awk '{ n += $1 } END { print n + 0 }')
# Status records by status, scanned inside Redis (one script: no 100,000 round trips).
# shellcheck disable=SC2016 # Lua, not shell
statuses=$(redis EVAL '
local counts, cursor = {}, "0"
repeat
  local page = redis.call("SCAN", cursor, "MATCH", "sluice:*:sub:*", "COUNT", 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local status = redis.call("HGET", key, "status") or "(none)"
    counts[status] = (counts[status] or 0) + 1
  end
until cursor == "0"
local out = {}
for status, n in pairs(counts) do out[#out + 1] = status .. "=" .. n end
table.sort(out)
return out' 0 | tr '\n' ' ')
calculated_records=$(tr ' ' '\n' <<<"$statuses" | sed -n 's/^calculated=//p')
calculated_records=${calculated_records:-0}

for ((i = 1; i <= workers; i++)); do stop_worker "$i"; done
stop_pid "$redis_pid"

# ---- report ---------------------------------------------------------------------------------
ticks_per_second=$(clock_ticks_per_second)
drain_window_s=$(awk -v a="$started_ns" -v b="$drain_end_ns" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
cpu_pct() { awk -v t="$1" -v hz="$ticks_per_second" -v d="$drain_window_s" 'BEGIN { printf "%.0f", 100 * t / hz / d }'; }

echo "--- drain: $workers sluice-worker processes, $count queued submissions   ($quiet_note)"
echo "both workers serving /metrics ${ready_s} s after the first was started (the drain clock starts at that start)"
for line in "${progress[@]}"; do echo "  $line"; done
if [[ -n $drained ]]; then
    echo "drain time: $drained s for $count submissions = $(awk -v n="$count" -v t="$drained" 'BEGIN { printf "%.0f", n / t }') calculations/s overall (to 0.1 s: polled every 100 ms)"
elif [[ -n $died ]]; then
    echo "drain: NOT FINISHED: worker(s)$died died after $(seconds_since "$started_ns") s with $calculated of $count calculated"
else
    echo "drain: NOT FINISHED within $drain_limit_s s: $calculated of $count calculated"
fi
table_columns 10 12 8 16 14
print_row "worker" "calculated" "share" "calculations/s" "CPU (1 core)"
for ((i = 1; i <= workers; i++)); do
    c=${w_calculated[$i]}
    if [[ $c =~ ^[0-9]+$ ]]; then
        share=$(awk -v c="$c" -v n="$count" 'BEGIN { printf "%.1f%%", 100 * c / n }')
        rate=$(awk -v c="$c" -v t="$drain_window_s" 'BEGIN { printf "%.0f", c / t }')
    else
        share="?"
        rate="?"
    fi
    print_row "worker $i" "$c" "$share" "$rate" "$(cpu_pct "$((w_ticks[$i]))")%"
done
print_row "redis" "-" "-" "-" "$(cpu_pct $((redis_ticks_after - redis_ticks_before)))%"
for ((i = 1; i <= workers; i++)); do echo "worker $i:${w_other[$i]}; ${worker_exit[$i]} on SIGTERM"; done
echo "load $load_after_drain at the end of the drain; AOF rewrites (forks) during the drain: $rewrites_during" \
    "(a rewrite's forked child is not in redis's CPU above); CPU = user + system time / drain time"
echo "Redis commands during the drain (INFO commandstats; a script's own calls are counted again under their names):"
tr -d '\r' <"$work/commandstats" | awk -F'[:,=]' '/^cmdstat_/ {
    sub(/^cmdstat_/, "", $1)
    for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
    printf "%s\t%s\t%s\t%s\n", v["usec"], $1, v["calls"], v["usec_per_call"]
}' | sort -t $'\t' -k1,1 -rn | awk -F'\t' 'NR <= 8 {
    printf "  %-12s %10s calls %9.2f us/call %10.0f ms in all\n", $2, $3, $4, $1 / 1000 }'
echo

echo "--- check (Redis, right after the drain)"
echo "pending (XPENDING, all shards): $pending_total; undelivered (group lag): $lag_total; dead letters: $dead_letters"
for line in "${pending_shards[@]}"; do echo "  $line"; done
echo "status records: $statuses"
invalid=()
[[ -n $drained ]] || invalid+=("the drain did not finish")
[[ -n $died ]] && invalid+=("worker(s)$died died")
((pending_total == 0)) || invalid+=("$pending_total entries pending")
((lag_total == 0)) || invalid+=("$lag_total entries undelivered")
((unanswered == 0)) || invalid+=("$unanswered shards without an XPENDING answer")
((calculated_records == count)) || invalid+=("$calculated_records status=calculated records, expected $count")
for ((i = 1; i <= workers; i++)); do
    [[ ${worker_exit[$i]} == "exit 0" ]] || invalid+=("worker $i: ${worker_exit[$i]}")
done
if ((${#invalid[@]} == 0)); then
    echo "valid: all $count calculated exactly once in Redis, nothing pending"
else
    echo "INVALID: $(IFS=';' && echo "${invalid[*]}")"
    for ((i = 1; i <= workers; i++)); do
        echo "--- worker $i log (last 20 lines)"
        tail -20 "$work/worker-$i.log"
    done
fi
echo "machine: $(load_line)"
