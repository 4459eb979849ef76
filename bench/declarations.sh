#!/usr/bin/env bash
# bench/declarations.sh: declarations per second and their p99 with PostgreSQL on this machine
# (issue 13 item 8: target >= 1,000 declarations/s, p99 <= 50 ms; the real peak is about 9,000
# practices signing off within hours), with the CPU each declaration costs the gateway and
# PostgreSQL, beside anchors measured in the same run.
#
# The stack: a fresh redis-server (ops/redis.conf), a fresh PostgreSQL 15 (initdb into the
# temporary directory; fsync and synchronous_commit ON, as in production: every declaration is a
# durable commit before its 201), sluice-worker (results into PostgreSQL) and sluice-gateway
# (GATEWAY_THREADS threads, ledger.url set, the organisations file, rate limits out of the way).
# PRACTICES practices and 10 commissioners from `sluice-loadtest generate --commissioners`.
#
# The load: two sluice-loadtest runs with --journey, each of its own PRACTICES practices: every
# practice submits once (open loop, 1,000/s), then the journey in stages: status (poll until
# calculated), declare (POST /v1/declarations, the figure measured), decide (half of them approved
# by their commissioner). The first run's declare and decide stages are a closed loop on
# CONCURRENCY connections (the rate the stack sustains); the second's an open loop at the target
# 1,000/s on 256 connections (the p99 at that offered rate, latency from each declaration's due
# time). --verify checks PostgreSQL after each: a run whose verify fails is INVALID. The declare stage's rate (declarations answered / the stage's wall time) and
# its latency percentiles come from the tool's JSON report; the CPU of the gateway and of
# PostgreSQL (postmaster, every backend, and the children it reaped) is sampled every 50 ms from
# /proc and read at the stage's start and end, so it is the declare stage's alone:
# CPU us per declaration = CPU time in the stage / declarations.
#
# Anchors, same run: (1) the gateway's CPU per submission during the submission phase of the same
# tool run (an admission: Redis only), and (2) nginx (one worker) answering a static 201 to wrk
# with the same number of connections for DURATION s: its requests/s and CPU us per request, the
# floor of what any HTTP exchange costs on this machine right now.
#
# Environment: SLUICE_GATEWAY, SLUICE_WORKER, SLUICE_LOADTEST (binaries; default the release
# build), SLUICE_PG_BINDIR (default /usr/lib/postgresql/15/bin), PRACTICES (default 5000),
# CONCURRENCY (default 64), GATEWAY_THREADS (default 1), DURATION (nginx anchor seconds, default 10).
# Loopback only; every process it starts is stopped by its pid on exit; its files live in one
# temporary directory, removed on exit. Not a test: exits 0 whether or not the targets are met
# (non-zero only when it could not measure).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

gateway=${SLUICE_GATEWAY:-$repo_root/build/release/gateway/sluice-gateway}
worker_bin=${SLUICE_WORKER:-$repo_root/build/release/worker/sluice-worker}
loadtest=${SLUICE_LOADTEST:-$repo_root/build/release/loadtest/sluice-loadtest}
pg_bin=${SLUICE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
practices=${PRACTICES:-5000}
concurrency=${CONCURRENCY:-64}
threads=${GATEWAY_THREADS:-1}
shards=16
commissioners=10
target_rate=1000
target_p99_ms=50

bench_init declarations
for bin in "$gateway" "$worker_bin" "$loadtest"; do
    [[ -x $bin ]] || die "no binary at $bin (build the release preset, or set SLUICE_GATEWAY/SLUICE_WORKER/SLUICE_LOADTEST)"
done
[[ -x $pg_bin/postgres && -x $pg_bin/initdb ]] || die "no PostgreSQL in $pg_bin (ops/install-deps.sh installs postgresql-15)"
[[ $practices =~ ^[1-9][0-9]*$ ]] || die "PRACTICES must be a whole number from 1, got '$practices'"
[[ $concurrency =~ ^[1-9][0-9]*$ ]] || die "CONCURRENCY must be a whole number from 1, got '$concurrency'"
require_tools jq wrk curl pgrep redis-server redis-cli "$nginx_bin"
connections=$concurrency
clk_tck=$(clock_ticks_per_second)

# ---- practices, commissioners ----------------------------------------------------------------
"$loadtest" generate --practices "$practices" --credentials "$work/credentials.csv" --tokens "$work/tokens.csv" \
    --commissioners "$commissioners" --organisations "$work/organisations.csv" \
    --commissioner-tokens "$work/commissioner-tokens.csv" >"$work/generate.log" 2>&1 ||
    die "sluice-loadtest generate failed: $(cat "$work/generate.log")"
# A second set (K00000 ...) for the open-loop run, in the same credential and organisations files
# (the same commissioners: practice i belongs to ICB i % N, as generate maps the first set).
"$loadtest" generate --practices "$practices" --letter K --credentials "$work/credentials-k.csv" \
    --tokens "$work/tokens-k.csv" >>"$work/generate.log" 2>&1 ||
    die "sluice-loadtest generate failed: $(cat "$work/generate.log")"
grep -v '^#' "$work/credentials-k.csv" >>"$work/credentials.csv"
awk -F, -v n="$commissioners" '!/^#/ { printf "%s,ICB%02d\n", $1, (NR - 1) % n }' "$work/tokens-k.csv" \
    >>"$work/organisations.csv"

# ---- PostgreSQL ----------------------------------------------------------------------------------
# As root, PostgreSQL runs as the user postgres (setpriv execs, so $! is the postmaster itself).
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    chmod o+x "$work"
fi
mkdir -p "$work/pg" "$work/pgrun"
[[ $(id -u) -eq 0 ]] && chown postgres "$work/pg" "$work/pgrun"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U sluice -A trust -E UTF8 --locale=C >"$work/initdb.log" 2>&1 ||
    die "initdb failed: $(cat "$work/initdb.log")"
pick_port
pg_port=$picked_port
"${as_pg[@]}" "$pg_bin/postgres" -D "$work/pg" -p "$pg_port" -k "$work/pgrun" -c listen_addresses="$host" \
    -c max_connections=200 >"$work/pg.log" 2>&1 &
pg_pid=$!
track_pid "$pg_pid"
ledger_url="postgresql://sluice@$host:$pg_port/postgres"
for _ in $(seq 200); do
    "$pg_bin/pg_isready" -q -h "$host" -p "$pg_port" && break
    kill -0 "$pg_pid" 2>/dev/null || die "PostgreSQL did not start: $(cat "$work/pg.log")"
    sleep 0.05
done
"$pg_bin/pg_isready" -q -h "$host" -p "$pg_port" || die "PostgreSQL did not answer: $(cat "$work/pg.log")"
pg_fsync=$("$pg_bin/psql" -h "$host" -p "$pg_port" -U sluice -d postgres -qtAc "SHOW fsync")
pg_sync=$("$pg_bin/psql" -h "$host" -p "$pg_port" -U sluice -d postgres -qtAc "SHOW synchronous_commit")

# ---- Redis, worker, gateway ----------------------------------------------------------------------
start_redis "$work/redis"
redis_url="redis://$host:$redis_port"
cat >"$work/worker.toml" <<TOML
[redis]
url = "$redis_url"
shards = $shards
[catalogue]
dir = "$repo_root/data/catalogue"
[worker]
concurrency = 64
metrics_address = "$host"
metrics_port = 0
[ledger]
url = "$ledger_url"
TOML
env -u SLUICE_LEDGER_URL -u SLUICE_REDIS_URL "$worker_bin" --config "$work/worker.toml" --migrate-only \
    >"$work/migrate.log" 2>&1 || die "migrations failed: $(cat "$work/migrate.log")"
env -u SLUICE_LEDGER_URL -u SLUICE_REDIS_URL "$worker_bin" --config "$work/worker.toml" >"$work/worker.out" \
    2>"$work/worker.log" &
worker_pid=$!
track_pid "$worker_pid"
for _ in $(seq 200); do
    grep -q "sluice-worker metrics on" "$work/worker.out" && break
    kill -0 "$worker_pid" 2>/dev/null || die "the worker did not start: $(cat "$work/worker.log")"
    sleep 0.05
done

start_gateway journey "$threads" "url = \"$redis_url\"
timeout_ms = 1000
shards = $shards" /readyz "[ledger]
url = \"$ledger_url\"
timeout_ms = 2000

[organisations]
file = \"$work/organisations.csv\"

[ratelimit.per_practice]
rate = 1000000
burst = 1000000

[limits]
max_connections = 20000
max_inflight_per_thread = 100000"

# ---- CPU samples every 50 ms: epoch_ms gateway_ticks postgres_ticks ------------------------------
# Bash builtins only (read, $EPOCHREALTIME): a sample forks nothing but its sleep, so it stays
# cheap and on time however many backends PostgreSQL has.
sampled_ticks=0
add_ticks() { # PID WITH_REAPED_CHILDREN: adds its user + system ticks to sampled_ticks
    local line fields
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0 # it may have just exited
    read -ra fields <<<"${line##*) }"
    sampled_ticks=$((sampled_ticks + fields[11] + fields[12]))
    (($2)) && sampled_ticks=$((sampled_ticks + fields[13] + fields[14]))
    return 0
}
sampler() {
    local kids pid gateway_ticks now
    while :; do
        now=${EPOCHREALTIME/[.,]/}
        sampled_ticks=0
        add_ticks "$gateway_pid" 0
        gateway_ticks=$sampled_ticks
        sampled_ticks=0
        add_ticks "$pg_pid" 1
        kids=
        read -r kids <"/proc/$pg_pid/task/$pg_pid/children" 2>/dev/null || true
        for pid in $kids; do add_ticks "$pid" 0; done
        echo "$((now / 1000)) $gateway_ticks $sampled_ticks"
        sleep 0.05
    done
}
sampler >"$work/cpu.samples" &
sampler_pid=$!
track_pid "$sampler_pid"

# ---- the journey ----------------------------------------------------------------------------
echo "bench/declarations.sh: $practices practices, journey on $concurrency connections, gateway $threads" \
    "thread(s), PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }') (fsync $pg_fsync," \
    "synchronous_commit $pg_sync)"
echo "  $(machine_line)"
submit_ms=$(((practices * 1000 + 999) / 1000))
# journey NAME TOKENS SPEC: one sluice-loadtest run; its report in $work/NAME.json.
journey() {
    local rc=0
    "$loadtest" --target "http://$host:$gateway_port" --tokens "$2" --catalogue "$repo_root/data/catalogue" \
        --schedule "constant:rate=1000,duration=${submit_ms}ms" --connections "$concurrency" --quiet \
        --journey "$3" --organisations "$work/organisations.csv" \
        --commissioner-tokens "$work/commissioner-tokens.csv" --database "$ledger_url" --verify \
        --json "$work/$1.json" >"$work/$1.out" 2>"$work/$1.err" || rc=$?
    echo "$rc" >"$work/$1.rc"
    [[ -s $work/$1.json ]] || die "sluice-loadtest wrote no report (exit $rc): $(cat "$work/$1.err")"
}
# Closed loop on CONCURRENCY connections: the rate the stack sustains.
journey closed "$work/tokens.csv" "approve=50,reject=0,concurrency=$concurrency,wait=5m"
# Open loop at the target rate (256 connections, so that none waits for a free one at 1,000/s and
# 50 ms): the p99 at that offered rate.
journey open "$work/tokens-k.csv" "approve=50,reject=0,concurrency=256,wait=5m,rate=$target_rate"
sleep 0.2 # a sample after the last stage's end
stop_pid "$sampler_pid"
[[ -n ${KEEP_SAMPLES:-} ]] && cp "$work/cpu.samples" "$work/closed.json" "$work/open.json" "$KEEP_SAMPLES/"

# The CPU ticks of column COL at the last sample at or before MS (FIRST: the first at or after).
ticks_at() {
    awk -v t="$1" -v c="$2" -v mode="$3" '
        mode == "before" && $1 <= t { v = $c }
        mode == "after" && $1 >= t && !found { v = $c; found = 1 }
        { last = $c }
        END { print (mode == "after" && !found) ? last + 0 : v + 0 }' "$work/cpu.samples"
}
us_per() { awk -v t="$1" -v n="$2" -v k="$clk_tck" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / k / n; else print "nan" }'; }

report=$work/closed.json # the run stage, latency and stage_cpu read
stage() { jq -r --arg s "$1" --arg f "$2" '.journey.stages[] | select(.name == $s) | .[$f] // empty' "$report"; }
latency() { jq -r --arg s "$1" --arg p "$2" '.journey.stages[] | select(.name == $s) | .latency_ms[$p] // "nan"' "$report"; }
stage_cpu() { # NAME -> "gateway_us postgres_us" per call
    local from to calls
    from=$(stage "$1" started_at_ms)
    to=$(stage "$1" ended_at_ms)
    calls=$(stage "$1" calls)
    echo "$(us_per $(($(ticks_at "$to" 2 after) - $(ticks_at "$from" 2 before))) "$calls")" \
        "$(us_per $(($(ticks_at "$to" 3 after) - $(ticks_at "$from" 3 before))) "$calls")"
}

# The submission phase of the closed run (scenario.started_at, RFC 3339 with milliseconds, + elapsed).
submit_from=$(jq -r '.scenario.started_at | capture("^(?<s>[^.]*)\\.(?<ms>[0-9]{3})Z$")
    | ((.s + "Z") | fromdateiso8601) * 1000 + (.ms | tonumber)' "$report")
submit_to=$((submit_from + $(jq -r '.scenario.elapsed_ns' "$report") / 1000000))
submitted=$(jq -r '.totals.newly_accepted' "$report")
submit_gateway_us=$(us_per $(($(ticks_at "$submit_to" 2 after) - $(ticks_at "$submit_from" 2 before))) "$submitted")

# ---- anchor: nginx static 201 ---------------------------------------------------------------------
stop_pid "$gateway_pid"
stop_pid "$worker_pid"
start_nginx /v1/declarations "        location /v1/declarations {
            default_type application/json;
            return 201 '{\"status\":\"awaiting-approval\"}';
        }"
nginx_all_ticks() {
    local pid total
    total=$(cpu_ticks "$nginx_pid")
    for pid in $(pgrep -P "$nginx_pid"); do total=$((total + $(cpu_ticks "$pid"))); done
    echo "$total"
}
measure_before() { nginx_before=$(nginx_all_ticks); }
measure nginx "http://$host:$nginx_port/v1/declarations"
nginx_after=$(nginx_all_ticks)
nginx_rps=$(report_field nginx rps)
nginx_p99=$(report_field nginx p99)
nginx_us=$(us_per $((nginx_after - nginx_before)) "$(report_field nginx requests)")

# ---- figures ---------------------------------------------------------------------------------------
fmt() { awk -v v="$1" 'BEGIN { if (v == "nan" || v == "") print "nan"; else printf "%.1f", v }'; }
table_columns 40 12 10 10 16 16
print_row "" "per second" "p50 ms" "p99 ms" "gateway us/op" "postgres us/op"
invalid=
for run in closed open; do
    report=$work/$run.json
    label="closed loop, $concurrency connections"
    [[ $run == open ]] && label="open loop at $target_rate/s"
    read -r gateway_us pg_us < <(stage_cpu declare)
    print_row "declarations, $label" "$(fmt "$(stage declare rate_per_s)")" "$(fmt "$(latency declare p50)")" \
        "$(fmt "$(latency declare p99)")" "$gateway_us" "$pg_us"
    read -r gateway_us pg_us < <(stage_cpu decide)
    print_row "  decisions" "$(fmt "$(stage decide rate_per_s)")" "$(fmt "$(latency decide p50)")" \
        "$(fmt "$(latency decide p99)")" "$gateway_us" "$pg_us"
    print_row "  status polls (GET)" "$(fmt "$(stage status rate_per_s)")" "$(fmt "$(latency status p50)")" \
        "$(fmt "$(latency status p99)")" "" ""
    declared_201=$(jq -r '.journey.stages[] | select(.name == "declare") | .statuses["201"] // 0' "$report")
    rc=$(cat "$work/$run.rc")
    if [[ $rc -ne 0 || $declared_201 -ne $practices ]]; then
        invalid+="  INVALID ($run): sluice-loadtest exited $rc, $declared_201 of $practices told 201; $(head -c 2000 "$work/$run.err")"$'\n'
    fi
    verify_lines+="  $run: $declared_201 of $practices told 201; $(grep -m1 "^journey verify:" "$work/$run.out" || echo "no verify line")"$'\n'
    if [[ $run == closed ]]; then
        closed_rate=$(stage declare rate_per_s)
        closed_gateway_us=$(stage_cpu declare | cut -d' ' -f1)
    else
        open_rate=$(stage declare rate_per_s)
        open_p99=$(latency declare p99)
    fi
done
print_row "anchor: submissions, same run" "(open loop)" "" "" "$submit_gateway_us" ""
print_row "anchor: nginx static 201 (wrk)" "$(fmt "$nginx_rps")" "" "$(fmt "$nginx_p99")" "nginx: $nginx_us" ""
printf '%s' "$verify_lines"
echo "  target >= $target_rate declarations/s (closed loop): $(at_least "$closed_rate" "$target_rate");" \
    "p99 <= $target_p99_ms ms at $(fmt "$open_rate")/s (open loop): $(at_most "$open_p99" "$target_p99_ms");" \
    "gateway CPU per declaration / per submission: $(ratio "$closed_gateway_us" "$submit_gateway_us")x"
printf '%s' "$invalid"
echo "  $(load_line)"
