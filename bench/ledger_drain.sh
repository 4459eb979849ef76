#!/usr/bin/env bash
# bench/ledger_drain.sh: what the system of record costs the worker (issue 13: a worker that
# writes every result to PostgreSQL before acknowledging it drains at >= 0.8x the rate of one
# that does not), measured in one run on this machine.
#
# A fresh redis-server and a fresh PostgreSQL 15 (initdb into a temporary directory; fsync and
# synchronous_commit ON, as in production: every batch of results is a durable commit), then
# twice: COUNT submissions queued by worker_bench enqueue (as admission.lua leaves them), one
# sluice-worker (worker.concurrency 64) started, and the time until its
# sluice_worker_calculated_total reaches COUNT. First with ledger.url = "" (Redis only), then with
# ledger.url set (results batched into PostgreSQL before each acknowledgement). It prints both
# rates, the ratio and whether the 0.8x target is met, and checks that PostgreSQL holds exactly
# COUNT calculated rows after the second run (otherwise the run is INVALID).
#
# Environment: COUNT (default 20000), SLUICE_WORKER, SLUICE_WORKER_BENCH, SLUICE_PG_BINDIR.
# Loopback only; every process it starts is stopped by its pid; its files live in one temporary
# directory, removed on exit. Not a test: it exits 0 whether or not the target is met.
#
# UNFINISHED: on the first try it stopped silently after printing its header (set -e in the
# first drain); not yet debugged, so it has produced no figures yet.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
worker_bin=${SLUICE_WORKER:-$repo_root/build/release/worker/sluice-worker}
bench_bin=${SLUICE_WORKER_BENCH:-$repo_root/build/release/bench/worker_bench}
pg_bin=${SLUICE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
count=${COUNT:-20000}
shards=16
host=127.0.0.1
[[ -x $worker_bin && -x $bench_bin ]] ||
  { echo "build first: cmake --build --preset release --target sluice-worker worker_bench" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-ledger-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  [[ -f $work/pg/postmaster.pid ]] && kill -INT "$(head -n1 "$work/pg/postmaster.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { local p=$1; while (exec 3<>"/dev/tcp/$host/$p") 2>/dev/null; do p=$((p + 1)); done; echo "$p"; }

redis_port=$(free_port 26379)
redis-server "$repo_root/ops/redis.conf" --port "$redis_port" --bind "$host" --dir "$work" --daemonize no \
  --logfile "$work/redis.log" &
pids+=($!)
mkdir -p "$work/pg" "$work/pgrun"
if [[ $(id -u) -eq 0 ]]; then chmod o+x "$work"; chown postgres "$work/pg" "$work/pgrun"; fi
as_pg "$pg_bin/initdb" -D "$work/pg" -U sluice -A trust -E UTF8 --locale=C >"$work/initdb.log" 2>&1
pg_port=$(free_port 25433)
touch "$work/pg.log"; [[ $(id -u) -eq 0 ]] && chown postgres "$work/pg.log"
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-p $pg_port -k $work/pgrun -c listen_addresses=$host" \
  start >/dev/null
ledger_url="postgresql://sluice@$host:$pg_port/postgres"
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

drain() {  # drain LEDGER_URL -> prints seconds
  local url=$1 out=$work/worker.out
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  "$bench_bin" enqueue --redis "$host:$redis_port" --count "$count" --practices 10000 --shards "$shards" >/dev/null
  cat >"$work/worker.toml" <<TOML
[redis]
url = "redis://$host:$redis_port"
shards = $shards
[catalogue]
dir = "$repo_root/data/catalogue"
[worker]
concurrency = 64
metrics_address = "$host"
metrics_port = 0
[ledger]
url = "$url"
TOML
  local began port n=0 pid
  began=$(date +%s%N)
  env -u SLUICE_LEDGER_URL -u SLUICE_REDIS_URL "$worker_bin" --config "$work/worker.toml" >"$out" 2>"$work/worker.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 3000); do
    port=$(sed -n "s/^sluice-worker metrics on $host:\([0-9]*\)$/\1/p" "$out")
    [[ -n $port ]] && break
    sleep 0.01
  done
  [[ -n $port ]] || { echo "the worker did not start: $(cat "$work/worker.log")" >&2; exit 1; }
  while ((n < count)); do
    sleep 0.05
    n=$(curl -fsS --max-time 1 "http://$host:$port/metrics" |
      awk '$1 == "sluice_worker_calculated_total" { printf "%.0f", $2 }')
    n=${n:-0}
  done
  awk -v a="$began" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
  kill -TERM "$pid"
  wait "$pid" || true
}

echo "bench/ledger_drain.sh: $count submissions, one sluice-worker (concurrency 64), $(nproc) cores,"
echo "  load $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') with fsync on"
without=$(drain "")
with=$(drain "$ledger_url")
rows=$(as_pg "$pg_bin/psql" -h "$host" -p "$pg_port" -U sluice -d postgres -qtAc \
  "SELECT count(*) FROM submissions WHERE status = 'calculated'")
rate() { awk -v c="$count" -v s="$1" 'BEGIN { printf "%.0f", c / s }'; }
ratio=$(awk -v a="$without" -v b="$with" 'BEGIN { printf "%.2f", a / b }')
printf '  %-36s %8s s  %8s/s\n' "drain, Redis only (ledger.url \"\")" "$without" "$(rate "$without")"
printf '  %-36s %8s s  %8s/s\n' "drain, with ledger writes" "$with" "$(rate "$with")"
echo "  ratio with/without: ${ratio}x (target >= 0.8x: $(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "met" : "not met" }'))"
if [[ $rows == "$count" ]]; then echo "  check: PostgreSQL holds $rows calculated rows: valid"
else echo "  check: PostgreSQL holds $rows calculated rows, expected $count: INVALID"; fi
