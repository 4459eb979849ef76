# shellcheck shell=bash
# bench/lib.sh: what the benchmarks in bench/ share. Sourced, never run (bench/run skips it).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME          name used in messages; makes $work (one temporary directory) and
#                            registers the cleanup: every pid given to track_pid is stopped on exit
#                            (last started, first stopped), then $work is removed
#
# Then: pick_port, wait_until_answers, start_nginx, measure (wrk warm-up + measured run),
# report_field, to_ms, ratio, print_row. Settings a script may change after bench_init (before
# using them): host, duration (DURATION, default 10), warmup, wrk_threads, connections,
# start_deadline_s, nginx_bin.
#
# Loopback only. A process is only ever stopped by the pid this shell started it with, and a pid
# is forgotten once reaped, so a reused pid is never signalled.

host=127.0.0.1
duration=${DURATION:-10}
warmup=2
wrk_threads=1
connections=256
start_deadline_s=10
nginx_bin=/usr/sbin/nginx
bench_name=bench
work=
bench_pids=()

die() {
    echo "$bench_name: $*" >&2
    exit 1
}

note() { echo "$bench_name: $*" >&2; }

bench_init() {
    bench_name=$1
    [[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a whole number of seconds, got '$duration'"
    work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-$bench_name.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# Tools the script needs, with a hint where they come from.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool not found (ops/install-deps.sh installs it)"
    done
}

track_pid() { bench_pids+=("$1"); }

forget_pid() {
    local pid=$1 i
    for i in "${!bench_pids[@]}"; do
        [[ ${bench_pids[i]} == "$pid" ]] && unset 'bench_pids[i]'
    done
    return 0
}

# Stops one process we started: SIGTERM, up to 5 s, then SIGKILL (its direct children too, for
# nginx's workers), and reaps it.
stop_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

bench_cleanup() {
    local i
    for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do
        [[ -n ${bench_pids[i]:-} ]] && stop_pid "${bench_pids[i]}"
    done
    [[ -n $work ]] && rm -rf "$work"
    return 0
}

# Ports something listens on now (IPv4 and IPv6), from /proc: no extra tools needed.
listening_ports() {
    local file _ local_address state
    for file in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $file ]] || continue
        while read -r _ local_address _ state _; do
            [[ $state == 0A ]] && echo $((16#${local_address##*:}))
        done < <(tail -n +2 "$file")
    done
}

# Sets picked_port to a port nobody listens on, below the kernel's ephemeral range (so wrk's
# own outgoing connections never collide with it) and not handed out before by this script.
# Another process may still take it before our server binds; the start functions retry then.
taken_ports=" "
picked_port=
pick_port() {
    local used candidate
    used=" $(listening_ports | tr '\n' ' ')"
    for _ in $(seq 200); do
        candidate=$((20000 + RANDOM % 12000))
        if [[ $used != *" $candidate "* && $taken_ports != *" $candidate "* ]]; then
            taken_ports+="$candidate "
            picked_port=$candidate
            return 0
        fi
    done
    die "no free port found in 20000-31999"
}

# Waits until the server with this pid answers GET url with a 2xx, or fails. Returns 1 if the
# process exited (the caller may retry on another port), dies on timeout.
wait_until_answers() {
    local pid=$1 url=$2 name=$3 log=$4
    local deadline=$((SECONDS + start_deadline_s))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        # https: the benchmarks' own self-signed pair, so the probe does not verify it.
        if curl -fsS -o /dev/null --max-time 1 $([[ $url == https://* ]] && echo -k) "$url" 2>/dev/null; then
            kill -0 "$pid" 2>/dev/null || return 1 # someone else answered on "our" port
            return 0
        fi
        sleep 0.05
    done
    note "$name did not answer $url within ${start_deadline_s} s; its log:"
    cat "$log" >&2 || true
    exit 1
}

# After a start attempt whose process exited: reaps it, shows its log, and returns 0 if the
# attempt is worth repeating on another port (the log says the address was in use), else dies.
start_failed() {
    local pid=$1 name=$2 port=$3
    shift 3
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
    note "$name exited during start-up (port $port); its log:"
    cat "$@" >&2 2>/dev/null || true
    cat "$@" 2>/dev/null | grep -qi "in use" || exit 1
}

# start_nginx PROBE_PATH LOCATIONS: nginx with one worker, keep-alive like the gateway (a million
# requests per connection), nothing logged, serving the given `location` blocks on a fresh port;
# waits until GET PROBE_PATH answers 2xx. Sets nginx_port and nginx_pid.
# With nginx_tls_cert and nginx_tls_key set (PEM files), it serves HTTPS (TLS 1.2 and 1.3, the
# probe unverified); nginx_http_lines go into its http block (an upstream, say).
nginx_port=
nginx_pid=
nginx_tls_cert=
nginx_tls_key=
nginx_http_lines=
start_nginx() {
    local probe=$1 locations=$2 attempt prefix=$work/nginx user_line=""
    mkdir -p "$prefix"
    # nginx's master drops its workers to `nobody` unless told otherwise; as root, keep root so
    # the workers can use the temp directory. As another user, no directive is needed.
    [[ $(id -u) -eq 0 ]] && user_line="user root;"
    for attempt in 1 2 3; do
        pick_port
        nginx_port=$picked_port
        cat >"$prefix/nginx.conf" <<EOF
# generated by bench/lib.sh for bench/$bench_name.sh: one worker, keep-alive like the gateway,
# nothing logged
$user_line
worker_processes 1;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path $prefix/client_body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;

$nginx_http_lines
    server {
        listen $host:$nginx_port$([[ -n $nginx_tls_cert ]] && echo " ssl");
$([[ -n $nginx_tls_cert ]] && printf '        ssl_certificate %s;\n        ssl_certificate_key %s;\n        ssl_protocols TLSv1.2 TLSv1.3;\n' "$nginx_tls_cert" "$nginx_tls_key")
$locations
    }
}
EOF
        "$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" >"$prefix/stdout.log" 2>&1 &
        nginx_pid=$!
        track_pid "$nginx_pid"
        if wait_until_answers "$nginx_pid" "http$([[ -n $nginx_tls_cert ]] && echo s)://$host:$nginx_port$probe" nginx \
            "$prefix/error.log"; then
            return 0
        fi
        start_failed "$nginx_pid" nginx "$nginx_port" "$prefix/error.log" "$prefix/stdout.log"
        nginx_pid=
    done
    die "nginx did not start after $attempt attempts"
}

# Other processes' load shows here: compare it with the one printed before the runs.
load_line() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs"; }

nginx_version() { "$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'; }
wrk_version() { wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'; }
machine_line() {
    echo "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
}

# wrk's latency with its unit (850.00us, 1.20ms, 2.00s, 1.00m) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) { print "nan"; exit }
        printf "%.3f", n * f
    }'
}

# measure NAME URL [WRK ARGS...]: a warm-up run (warmup s) and the measured run (duration s,
# --latency) of wrk -t$wrk_threads -c$connections against url, with the extra arguments (such as
# `-s script.lua`) given to both. Leaves the measured run's output in $work/NAME.wrk. wrk sees
# BENCH_RUN=NAME-warmup, then BENCH_RUN=NAME, in its environment (scripts may use it to keep their
# runs apart). Hooks, if the script defines them: measure_before NAME, after the warm-up and
# before the measured run (to take counts); measure_started NAME WRK_PID, as soon as the measured
# run is under way (to start a profiler in the background; it must return at once).
measure() {
    local name=$1 url=$2 wrk_pid rc=0
    shift 2
    BENCH_RUN=$name-warmup timeout $((warmup + 30)) wrk -t"$wrk_threads" -c"$connections" -d"${warmup}s" "$@" "$url" \
        >"$work/$name-warmup.wrk" 2>&1 || die "wrk warm-up against $name failed: $(cat "$work/$name-warmup.wrk")"
    [[ $(type -t measure_before) == function ]] && measure_before "$name"
    BENCH_RUN=$name timeout $((duration + 30)) wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency "$@" \
        "$url" >"$work/$name.wrk" 2>&1 &
    wrk_pid=$!
    track_pid "$wrk_pid"
    [[ $(type -t measure_started) == function ]] && measure_started "$name" "$wrk_pid"
    wait "$wrk_pid" || rc=$?
    forget_pid "$wrk_pid"
    ((rc == 0)) || die "wrk against $name failed (exit $rc): $(cat "$work/$name.wrk")"
}

# Fields of the measured run's wrk report: rps, p50 and p99 (ms), requests (answers read),
# non2xx, socket_errors, errors (the two together).
report_field() {
    local name=$1 field=$2 file=$work/$1.wrk
    [[ -s $file ]] || die "no wrk output for $name"
    case $field in
    rps) awk '/^Requests\/sec:/ { print $2 }' "$file" ;;
    p50) to_ms "$(awk '$1 == "50%" { print $2 }' "$file")" ;;
    p99) to_ms "$(awk '$1 == "99%" { print $2 }' "$file")" ;;
    requests) awk '/ requests in / { print $1 }' "$file" ;;
    non2xx) awk '/Non-2xx or 3xx responses:/ { e += $NF } END { print e + 0 }' "$file" ;;
    socket_errors) awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 } END { print e + 0 }' "$file" ;;
    errors) echo $(($(report_field "$name" non2xx) + $(report_field "$name" socket_errors))) ;;
    *) die "report_field: unknown field $field" ;;
    esac
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'; }

# at_least A B / at_most A B: "met" or "not met".
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "nan" && a + 0 >= b + 0) ? "met" : "not met" }'; }
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "nan" && a + 0 <= b + 0) ? "met" : "not met" }'; }

# The figures table: print_row with the column widths set by table_columns (printf widths, first
# column left-aligned), e.g. table_columns 18 14 12 12 10; print_row server requests/s ...
table_widths=()
table_columns() { table_widths=("$@"); }
print_row() {
    local i out="" cell cells=("$@")
    for ((i = 0; i < ${#cells[@]}; i++)); do
        cell=${cells[i]}
        if ((i == 0)); then
            out+=$(printf "%-${table_widths[i]:-18}s" "$cell")
        else
            out+=$(printf " %${table_widths[i]:-12}s" "$cell")
        fi
    done
    echo "$out"
}

# CPU time (user + system, in clock ticks) a process has used so far: field 14 + 15 of its stat.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
clock_ticks_per_second() { getconf CLK_TCK; }

# start_gateway NAME THREADS REDIS_KEYS PROBE_PATH [TOML]: the gateway ($gateway, which the script
# sets) on a fresh port with THREADS threads, the [redis] keys REDIS_KEYS (at least url = "..."),
# $work/credentials.csv, data/catalogue, plus TOML (whole sections of its own); waits until GET
# PROBE_PATH answers 2xx (/readyz needs Redis, /healthz does not). Sets gateway_port and
# gateway_pid (tracked); its config and log are $work/gateway-NAME.{toml,log}.
gateway_port=
gateway_pid=
start_gateway() {
    local name=$1 threads=$2 redis_keys=$3 probe=$4 extra=${5:-} attempt
    local config=$work/gateway-$name.toml log=$work/gateway-$name.log
    for attempt in 1 2 3; do
        pick_port
        gateway_port=$picked_port
        printf '%s\n' "# generated by bench/$bench_name.sh" "[listen]" "address = \"$host\"" "port = $gateway_port" \
            "threads = $threads" "" "[redis]" "$redis_keys" "" "[credentials]" "file = \"$work/credentials.csv\"" "" \
            "[catalogue]" "dir = \"$repo_root/data/catalogue\"" "" "$extra" >"$config"
        # SLUICE_GATEWAY is the benchmarks' setting, not a config override for the gateway.
        env -u SLUICE_GATEWAY "$gateway" --config "$config" >"$log" 2>&1 &
        gateway_pid=$!
        track_pid "$gateway_pid"
        if wait_until_answers "$gateway_pid" "http://$host:$gateway_port$probe" gateway "$log"; then
            grep -q "sluice-gateway listening on $host:$gateway_port threads=$threads" "$log" ||
                note "note: the gateway answers but printed no 'listening on $host:$gateway_port threads=$threads' line"
            return 0
        fi
        start_failed "$gateway_pid" gateway "$gateway_port" "$log"
        gateway_pid=
    done
    die "the gateway did not start after $attempt attempts"
}

# Starts redis-server with the shipped ops/redis.conf in DIR on a free port (retrying on a port
# taken meanwhile) and waits until it answers PING; sets redis_port and redis_pid (tracked).
redis_port=
redis_pid=
start_redis() {
    local dir=$1 attempt log=$1/redis.log
    mkdir -p "$dir"
    for attempt in 1 2 3; do
        pick_port
        redis_port=$picked_port
        redis-server "$repo_root/ops/redis.conf" --port "$redis_port" --dir "$dir" --daemonize no >"$log" 2>&1 &
        redis_pid=$!
        track_pid "$redis_pid"
        local deadline=$((SECONDS + start_deadline_s))
        while ((SECONDS < deadline)) && kill -0 "$redis_pid" 2>/dev/null; do
            if [[ $(redis-cli -h "$host" -p "$redis_port" ping 2>/dev/null) == PONG ]]; then
                kill -0 "$redis_pid" 2>/dev/null && return 0
            fi
            sleep 0.05
        done
        kill -0 "$redis_pid" 2>/dev/null && die "redis-server did not answer PING within ${start_deadline_s} s: $(cat "$log")"
        start_failed "$redis_pid" redis-server "$redis_port" "$log"
        redis_pid=
    done
    die "redis-server did not start after $attempt attempts"
}

# ---- PostgreSQL, for the benches that need one (ledger_drain.sh, finalise.sh) -------------------
# The caller sets pg_bin (PostgreSQL 15's bin directory) after bench_init. start_postgres makes a
# fresh cluster in $work/pg (fsync and synchronous_commit on, as in production) on a free port,
# pg_port; pg_stop stops it (call it from the cleanup). as_pg runs a PostgreSQL tool as postgres
# when we are root.
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_port=
pg_stop() {
    [[ -n ${pg_dir:-} && -f $pg_dir/postmaster.pid ]] && as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1
    return 0
}
start_postgres() {
    pg_dir=$work/pg
    mkdir -p "$pg_dir" "$work/pgrun"
    touch "$work/pg.log"
    if [[ $(id -u) -eq 0 ]]; then
        chmod o+x "$work"
        chown postgres "$pg_dir" "$work/pgrun" "$work/pg.log"
    fi
    as_pg "$pg_bin/initdb" -D "$pg_dir" -U sluice -A trust -E UTF8 --locale=C >"$work/initdb.log" 2>&1 ||
        die "initdb failed: $(cat "$work/initdb.log")"
    local attempt
    for attempt in 1 2 3; do
        pick_port
        pg_port=$picked_port
        if as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -l "$work/pg.log" -w -t 30 \
            -o "-p $pg_port -k $work/pgrun -c listen_addresses=$host -c fsync=on -c synchronous_commit=on" \
            start >/dev/null 2>&1; then
            return 0
        fi
        grep -qi "in use" "$work/pg.log" || die "PostgreSQL did not start: $(tail -n 20 "$work/pg.log")"
    done
    die "PostgreSQL did not start after $attempt attempts"
}
psql_run() { as_pg "$pg_bin/psql" -h "$host" -p "$pg_port" -U sluice -d postgres -qtAX -v ON_ERROR_STOP=1 "$@"; }
psql_value() { psql_run -c "$1"; }
postmaster_pid() { head -n1 "$pg_dir/postmaster.pid"; }
# All the CPU PostgreSQL has used so far, in clock ticks: the postmaster's own and that of its
# reaped children (fields 14-17), plus its live children's (background processes, backends).
pg_cpu_ticks() {
    local pm total child
    pm=$(postmaster_pid)
    total=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pm/stat")
    for child in $(pgrep -P "$pm" || true); do total=$((total + $(cpu_ticks "$child"))); done
    echo "$total"
}
