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
# The load: one sluice-loadtest run with --journey: every practice submits once (open loop,
# 1,000/s), then the journey in stages on CONCURRENCY keep-alive connections (closed loop): status
# (poll until calculated), declare (POST /v1/declarations, the figure measured), decide (half of
# them approved by their commissioner). --verify checks PostgreSQL afterwards: a run whose verify
# fails is INVALID. The declare stage's rate (declarations answered / the stage's wall time) and
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
    read -r line <"/proc/$1/stat" 2>/dev/null || return 0
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
"$loadtest" --target "http://$host:$gateway_port" --tokens "$work/tokens.csv" --catalogue "$repo_root/data/catalogue" \
    --schedule "constant:rate=1000,duration=${submit_ms}ms" --connections "$concurrency" --quiet \
    --journey "approve=50,reject=0,concurrency=$concurrency,wait=5m" --organisations "$work/organisations.csv" \
    --commissioner-tokens "$work/commissioner-tokens.csv" --database "$ledger_url" --verify \
    --json "$work/journey.json" >"$work/journey.out" 2>"$work/journey.err" && journey_rc=0 || journey_rc=$?
stop_pid "$sampler_pid"
[[ -n ${KEEP_SAMPLES:-} ]] && cp "$work/cpu.samples" "$work/journey.json" "$KEEP_SAMPLES/"
[[ -s $work/journey.json ]] || die "sluice-loadtest wrote no report (exit $journey_rc): $(cat "$work/journey.err")"

# The CPU ticks of column COL at the last sample at or before MS (FIRST: the first at or after).
ticks_at() {
    awk -v t="$1" -v c="$2" -v mode="$3" '
        mode == "before" && $1 <= t { v = $c }
        mode == "after" && $1 >= t && !found { v = $c; found = 1 }
        END { print v + 0 }' "$work/cpu.samples"
}
us_per() { awk -v t="$1" -v n="$2" -v k="$clk_tck" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / k / n; else print "nan" }'; }

stage() { jq -r --arg s "$1" --arg f "$2" '.journey.stages[] | select(.name == $s) | .[$f] // empty' "$work/journey.json"; }
latency() { jq -r --arg s "$1" --arg p "$2" '.journey.stages[] | select(.name == $s) | .latency_ms[$p] // "nan"' "$work/journey.json"; }
stage_cpu() { # NAME -> "gateway_us postgres_us" per call
    local from to calls
    from=$(stage "$1" started_at_ms)
    to=$(stage "$1" ended_at_ms)
    calls=$(stage "$1" calls)
    echo "$(us_per $(($(ticks_at "$to" 2 after) - $(ticks_at "$from" 2 before))) "$calls")" \
        "$(us_per $(($(ticks_at "$to" 3 after) - $(ticks_at "$from" 3 before))) "$calls")"
}

# The submission phase of the same run (scenario.started_at, RFC 3339 with milliseconds, + elapsed).
submit_from=$(jq -r '.scenario.started_at | capture("^(?<s>[^.]*)\\.(?<ms>[0-9]{3})Z$")
    | ((.s + "Z") | fromdateiso8601) * 1000 + (.ms | tonumber)' "$work/journey.json")
submit_to=$((submit_from + $(jq -r '.scenario.elapsed_ns' "$work/journey.json") / 1000000))
submitted=$(jq -r '.totals.newly_accepted' "$work/journey.json")
submit_gateway_us=$(us_per $(($(ticks_at "$submit_to" 2 after) - $(ticks_at "$submit_from" 2 before))) "$submitted")

read -r declare_gateway_us declare_pg_us < <(stage_cpu declare)
read -r decide_gateway_us decide_pg_us < <(stage_cpu decide)
declare_rate=$(stage declare rate_per_s)
declare_p99=$(latency declare p99)
verify_line=$(grep -m1 "^journey verify:" "$work/journey.out" || echo "journey verify: (no line)")
declared_201=$(jq -r '.journey.stages[] | select(.name == "declare") | .statuses["201"] // 0' "$work/journey.json")

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
table_columns 34 12 10 10 16 16
print_row "" "per second" "p50 ms" "p99 ms" "gateway us/op" "postgres us/op"
print_row "declarations (POST, 201)" "$(fmt "$declare_rate")" "$(fmt "$(latency declare p50)")" \
    "$(fmt "$declare_p99")" "$declare_gateway_us" "$declare_pg_us"
print_row "decisions (POST, 200)" "$(fmt "$(stage decide rate_per_s)")" "$(fmt "$(latency decide p50)")" \
    "$(fmt "$(latency decide p99)")" "$decide_gateway_us" "$decide_pg_us"
print_row "status polls (GET)" "$(fmt "$(stage status rate_per_s)")" "$(fmt "$(latency status p50)")" \
    "$(fmt "$(latency status p99)")" "" ""
print_row "anchor: submissions, same run" "(open loop)" "" "" "$submit_gateway_us" ""
print_row "anchor: nginx static 201 (wrk)" "$(fmt "$nginx_rps")" "" "$(fmt "$nginx_p99")" "nginx: $nginx_us" ""
echo "  declarations told 201: $declared_201 of $practices; $verify_line"
echo "  target >= $target_rate declarations/s: $(at_least "$declare_rate" "$target_rate");" \
    "p99 <= $target_p99_ms ms: $(at_most "$declare_p99" "$target_p99_ms");" \
    "gateway CPU per declaration / per submission: $(ratio "$declare_gateway_us" "$submit_gateway_us")x"
if [[ $journey_rc -ne 0 || $declared_201 -ne $practices ]]; then
    echo "  INVALID: sluice-loadtest exited $journey_rc; $(head -c 2000 "$work/journey.err")"
fi
echo "  $(load_line)"
