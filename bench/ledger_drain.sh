#!/usr/bin/env bash
# bench/ledger_drain.sh: what the system of record costs the worker (issue 13: a worker that
# writes every result to PostgreSQL before acknowledging it drains at >= 0.8x the rate of one
# that does not), measured in one run on this machine.
#
# A fresh redis-server (the shipped ops/redis.conf) and a fresh PostgreSQL 15 (initdb into the
# temporary directory; fsync and synchronous_commit ON, as in production: every batch of results
# is a durable commit). Then ROUNDS times, alternating: COUNT submissions queued by
# worker_bench enqueue (as admission.lua leaves them), one sluice-worker (worker.concurrency 64,
# ledger.pool_size its default) started, and the time from its start until its
# sluice_worker_calculated_total (polled every 100 ms) reaches COUNT, or until Redis shows every
# entry acknowledged (checked once a second: a call whose reply came after redis.timeout_ms on a
# loaded machine was done in Redis but not counted by the worker); first with ledger.url = ""
# (Redis only), then with ledger.url set (each result committed to PostgreSQL before its acknowledgement). Before each
# with-ledger round the submissions table is emptied; after it, PostgreSQL must hold exactly COUNT
# rows with status 'calculated' (otherwise the run is INVALID).
#
# Per round it prints the drain time and rate, and the CPU used per result (µs of user + system
# time) by the worker (until the count is reached), redis-server and PostgreSQL (the postmaster,
# its background processes and the worker's backends, these counted through the postmaster's
# reaped-children time once the worker has gone). Then the ratio of the best with-ledger rate to
# the best Redis-only rate, and whether the 0.8x target is met.
#
# Environment: COUNT (default 20000), ROUNDS (default 2), CONCURRENCY (worker.concurrency, default 64), SLUICE_WORKER, SLUICE_WORKER_BENCH,
# SLUICE_PG_BINDIR (default /usr/lib/postgresql/15/bin). Loopback only; every process it starts is
# stopped by its pid; its files live in one temporary directory, removed on exit. Not a test: it
# exits 0 whether or not the target is met (1 only if it could not measure).
#
# Why the first version stopped silently: its drain ran inside $(...) under set -e -o pipefail, so
# a poll of /metrics that failed once (curl --max-time 1 against a worker busy with 64 entries, or
# sed reading worker.out before the worker's shell had created it) ended the subshell and then the
# script, with the worker's pid lost to the cleanup (added in the subshell). Now the drain runs in
# this shell, a failed poll is just "no figure this time", and a dead worker or a drain over
# 10 minutes is reported as such.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

worker_bin=${SLUICE_WORKER:-$repo_root/build/release/worker/sluice-worker}
bench_bin=${SLUICE_WORKER_BENCH:-$repo_root/build/release/bench/worker_bench}
pg_bin=${SLUICE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
count=${COUNT:-20000}
rounds=${ROUNDS:-2}
shards=16
practices=10000
concurrency=${CONCURRENCY:-64}
drain_limit_s=600
quiet_load=1.5
quiet_wait_s=${QUIET_WAIT_S:-120}
target_ratio=0.8

bench_init ledger_drain
[[ $count =~ ^[1-9][0-9]*$ ]] || die "COUNT must be a whole number from 1, got '$count'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a whole number from 1, got '$rounds'"
[[ -x $worker_bin && -x $bench_bin ]] ||
    die "build first: cmake --build --preset release --target sluice-worker worker_bench (or set SLUICE_WORKER, SLUICE_WORKER_BENCH)"
[[ -x $pg_bin/initdb && -x $pg_bin/pg_ctl ]] || die "no PostgreSQL in $pg_bin (ops/install-deps.sh; or set SLUICE_PG_BINDIR)"
require_tools curl redis-server redis-cli

# Nanoseconds from bash itself: the poll loop forks no `date` (on 2 cores, the harness's forks
# compete with the worker, redis-server and PostgreSQL).
now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
redis() { redis-cli -h "$host" -p "$redis_port" "$@"; }

# Waits (at most quiet_wait_s) for a 1-minute load below quiet_load; sets quiet_note.
quiet_note=
wait_for_quiet() {
    local deadline=$((SECONDS + quiet_wait_s)) from=$SECONDS
    while ! awk -v l="$(load1)" -v q="$quiet_load" 'BEGIN { exit !(l < q) }'; do
        if ((SECONDS >= deadline)); then
            quiet_note="load $(load1), BUSY MACHINE (still >= $quiet_load after ${quiet_wait_s} s): discount this round"
            return 0
        fi
        sleep 2
    done
    quiet_note="load $(load1), waited $((SECONDS - from)) s"
}

# ---- PostgreSQL ---------------------------------------------------------------------------------
# Waits (at most 10 s) until no client backend is left: the worker's have exited and been reaped.
await_no_backends() {
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        [[ $(psql_value "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()") == 0 ]] &&
            return 0
        sleep 0.1
    done
    note "PostgreSQL still had the worker's backends 10 s after it exited; their CPU is counted as far as it is known"
}

# Every queued entry delivered and acknowledged: on every shard nothing pending and nothing
# undelivered (the group's lag; unknown counts as not drained). One script call.
# shellcheck disable=SC2016 # Lua, not shell
queue_drained() {
    local left
    left=$(redis EVAL '
local left = 0
for s = 0, tonumber(ARGV[1]) - 1 do
  local key = "sluice:{" .. s .. "}:q"
  left = left + redis.call("XPENDING", key, "workers")[1]
  for _, group in ipairs(redis.call("XINFO", "GROUPS", key)) do
    for i = 1, #group, 2 do
      if group[i] == "lag" then left = left + (group[i + 1] or 1) end
    end
  end
end
return left' 0 "$shards" 2>/dev/null) || return 1
    [[ $left == 0 ]]
}

# ---- one drain ----------------------------------------------------------------------------------
clean_env=()
while IFS= read -r name; do clean_env+=(-u "$name"); done < <(compgen -e | grep '^SLUICE_' || true)

# drain NAME LEDGER_URL: queues COUNT submissions, runs one worker until it has calculated them,
# stops it. Sets drain_s, worker_us, redis_us, pg_us (CPU µs per result), drain_note (what to
# know about the round) and drain_failed (set when the round is not a valid measurement).
drain_s=
worker_us=
redis_us=
pg_us=
drain_note=
drain_failed=
drain() {
    local name=$1 url=$2 out=$work/worker-$1.out log=$work/worker-$1.log
    redis FLUSHALL >/dev/null
    "$bench_bin" enqueue --redis "$host:$redis_port" --count "$count" --practices "$practices" --shards "$shards" \
        >"$work/enqueue-$name.log" 2>&1 || die "worker_bench enqueue failed: $(cat "$work/enqueue-$name.log")"
    local queued
    queued=$(for ((s = 0; s < shards; s++)); do echo "XLEN sluice:{$s}:q"; done | redis | awk '{ n += $1 } END { print n + 0 }')
    ((queued == count)) || die "the shards hold $queued entries after enqueueing $count"
    cat >"$work/worker-$name.toml" <<TOML
# generated by bench/ledger_drain.sh
[redis]
url = "redis://$host:$redis_port"
shards = $shards
[catalogue]
dir = "$repo_root/data/catalogue"
[worker]
concurrency = $concurrency
metrics_address = "$host"
metrics_port = 0
[ledger]
url = "$url"
TOML
    wait_for_quiet
    local redis_before pg_before began pid port="" n calculated=0 worker_ticks rc=0
    redis_before=$(cpu_ticks "$redis_pid")
    pg_before=$(pg_cpu_ticks)
    began=$(now_ns)
    : >"$out"
    env "${clean_env[@]}" "$worker_bin" --config "$work/worker-$name.toml" >"$out" 2>"$log" &
    pid=$!
    track_pid "$pid"
    while [[ -z $port ]]; do
        kill -0 "$pid" 2>/dev/null || die "sluice-worker exited during start-up; its log: $(cat "$log")"
        (($(now_ns) - began < start_deadline_s * 1000000000)) ||
            die "sluice-worker printed no metrics line within $start_deadline_s s; its log: $(cat "$log")"
        port=$(sed -n "s/^sluice-worker metrics on $host:\([0-9]*\)$/\1/p" "$out")
        [[ -n $port ]] || sleep 0.01
    done
    drain_note=
    drain_failed=
    local polls=0 drained_in_redis=
    while ((calculated < count)); do
        kill -0 "$pid" 2>/dev/null || die "sluice-worker died after $calculated results; its log: $(tail -n 20 "$log")"
        if (($(now_ns) - began >= drain_limit_s * 1000000000)); then
            drain_note="DID NOT FINISH: $calculated of $count after $drain_limit_s s"
            drain_failed=1
            break
        fi
        sleep 0.1
        n=$(curl -fsS --max-time 2 "http://$host:$port/metrics" 2>/dev/null |
            awk '$1 == "sluice_worker_calculated_total" { printf "%.0f", $2 }') || n=
        [[ $n =~ ^[0-9]+$ ]] && ((n > calculated)) && calculated=$n
        # Once a second, Redis itself: a call whose reply came after redis.timeout_ms (a loaded
        # machine) was done in Redis but not counted by the worker, so its count may stop short.
        if ((++polls % 10 == 0)) && queue_drained; then
            drained_in_redis=1
            break
        fi
    done
    drain_s=$(awk -v a="$began" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    if [[ -n $drained_in_redis ]]; then
        # Acknowledged in Redis a moment before the worker counts it, or never counted (a reply
        # after redis.timeout_ms): only the latter is worth a note.
        sleep 0.5
        local metrics counted errors
        metrics=$(curl -fsS --max-time 2 "http://$host:$port/metrics" 2>/dev/null) || metrics=
        counted=$(awk '$1 == "sluice_worker_calculated_total" { printf "%.0f", $2 }' <<<"$metrics")
        errors=$(awk '$1 == "sluice_worker_redis_errors_total" { printf "%.0f", $2 }' <<<"$metrics")
        ((${counted:-0} < count)) &&
            drain_note+=" (all acknowledged in Redis; the worker counted ${counted:-?}: ${errors:-?} Redis calls timed out on its side)"
    fi
    worker_ticks=$(cpu_ticks "$pid")
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    forget_pid "$pid"
    ((rc == 0)) || { drain_note+=" worker exited $rc after SIGTERM"; drain_failed=1; }
    [[ -n $url ]] && await_no_backends
    local hz
    hz=$(getconf CLK_TCK)
    per_result() { awk -v t="$1" -v hz="$hz" -v c="$count" 'BEGIN { printf "%.0f", t / hz * 1e6 / c }'; }
    worker_us=$(per_result "$worker_ticks")
    redis_us=$(per_result $(($(cpu_ticks "$redis_pid") - redis_before)))
    pg_us=$(per_result $(($(pg_cpu_ticks) - pg_before)))
}

# ---- the run ------------------------------------------------------------------------------------
start_redis "$work/redis"
start_postgres
trap 'pg_stop; bench_cleanup' EXIT
ledger_url="postgresql://sluice@$host:$pg_port/postgres"

echo "bench/ledger_drain.sh: $count submissions ($practices practices, $shards shards), one sluice-worker" \
    "(worker.concurrency $concurrency), $rounds rounds"
echo "machine: $(machine_line)"
echo "redis $(redis-server --version | awk '{ sub(/^v=/, "", $3); print $3 }') (ops/redis.conf); PostgreSQL" \
    "$("$pg_bin/postgres" --version | awk '{ print $3 }') (fsync on, synchronous_commit on); ledger.pool_size default"
echo "CPU columns: µs of user + system time per result"
table_columns 30 8 9 8 8 10 8
print_row "round" "drain s" "results/s" "worker" "redis" "postgres" "rows"
best_without=0
best_with=0
invalid=
for ((round = 1; round <= rounds; round++)); do
    drain "without-$round" ""
    rate=$(awk -v c="$count" -v s="$drain_s" 'BEGIN { printf "%.0f", c / s }')
    ((rate > best_without)) && best_without=$rate
    print_row "$round: Redis only (url \"\")" "$drain_s" "$rate" "$worker_us" "$redis_us" "$pg_us" "-"
    echo "    ($quiet_note)${drain_note:+ $drain_note}"
    [[ -n $drain_failed ]] && invalid+=" round $round without: $drain_note;"

    # The table is there once the first worker has migrated; CASCADE: declarations refer to it (empty).
    [[ $(psql_value "SELECT to_regclass('submissions') IS NOT NULL") == t ]] &&
        psql_value "SET client_min_messages = warning; TRUNCATE submissions CASCADE" >/dev/null
    drain "with-$round" "$ledger_url"
    rows=$(psql_value "SELECT count(*) FROM submissions WHERE status = 'calculated'")
    rate=$(awk -v c="$count" -v s="$drain_s" 'BEGIN { printf "%.0f", c / s }')
    ((rate > best_with)) && best_with=$rate
    print_row "$round: with the ledger" "$drain_s" "$rate" "$worker_us" "$redis_us" "$pg_us" "$rows"
    echo "    ($quiet_note)${drain_note:+ $drain_note}"
    [[ -n $drain_failed ]] && invalid+=" round $round with: $drain_note;"
    [[ $rows == "$count" ]] || invalid+=" round $round: PostgreSQL holds $rows calculated rows, expected $count;"
done

ratio=$(ratio "$best_with" "$best_without")
echo "best rates: Redis only $best_without/s, with the ledger $best_with/s"
echo "ratio with/without: ${ratio}x (target >= ${target_ratio}x: $(at_least "$ratio" "$target_ratio"))"
if [[ -z $invalid ]]; then
    echo "check: every with-ledger round left exactly $count calculated rows in PostgreSQL: valid"
else
    echo "check: INVALID:$invalid"
fi
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs"
