#!/usr/bin/env bash
# bench/idle_memory.sh: what an idle keep-alive connection costs the gateway in memory, beside
# nginx holding the same connections in the same run.
#
# Both servers run one thread (gateway listen.threads = 1, nginx worker_processes 1). A client
# (bench/idle_connections.py) opens CONNECTIONS (default 9,000) keep-alive connections, sends one
# GET /healthz on each and reads its answer, then holds them all open and idle. The figure is
# the growth of the serving process's resident memory (VmRSS) from before the connections were
# opened (after a warm-up of the same requests on a few connections) to while they are all held,
# divided by the connections: bytes in user space per idle connection. Kernel socket buffers are
# not in it (the same for both servers). Target (issue "Capacity"): <= 1.5 KB per connection.
# The gateway needs no Redis for /healthz: its URL names a port nothing listens on, as in
# bench/http_core.sh.
#
# Environment:
#   SLUICE_GATEWAY  the gateway binary (default: build/release/gateway/sluice-gateway in the repo)
#   CONNECTIONS     idle connections to hold (default 9000; the open-file limit must allow them)
#
# Loopback only; it takes ~20 s. Every process it starts is stopped by its pid on exit; its files
# live in one temporary directory, removed on exit. It prints figures and exits 0 whether the
# target is met or not (non-zero only if it could not measure).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

gateway=${SLUICE_GATEWAY:-$repo_root/build/release/gateway/sluice-gateway}
connections=${CONNECTIONS:-9000}
target_bytes=1536

bench_init idle_memory
[[ -x $gateway ]] || die "no gateway binary at $gateway (build it with bench/run, or set SLUICE_GATEWAY)"
require_tools python3 curl "$nginx_bin"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= connections + 256)) || die "the open-file limit $(ulimit -n) is below $connections connections + 256"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# hold NAME PORT PID: opens the connections against PORT and prints "NAME BEFORE_KB DURING_KB
# HELD" for the process PID.
hold() {
    local name=$1 port=$2 pid=$3 fifo=$work/$1.fifo before during held
    python3 "$repo_root/bench/idle_connections.py" "$host" "$port" 64 --once >/dev/null ||
        die "$name: the warm-up connections failed"
    sleep 0.5
    before=$(rss_kb "$pid")
    mkfifo "$fifo"
    python3 "$repo_root/bench/idle_connections.py" "$host" "$port" "$connections" <"$fifo" >"$work/$name.held" &
    local client=$!
    track_pid "$client"
    exec 7>"$fifo"  # the client holds its connections until this closes
    local waited=0
    until [[ -s $work/$name.held ]] || ((waited > 600)); do
        kill -0 "$client" 2>/dev/null || die "$name: the client ended before holding its connections"
        sleep 0.1
        waited=$((waited + 1))
    done
    held=$(cat "$work/$name.held")
    [[ $held =~ ^[0-9]+$ ]] || die "$name: the client printed '$held', not a count of held connections"
    sleep 1  # idle: nothing more arrives
    during=$(rss_kb "$pid")
    exec 7>&-
    wait "$client" 2>/dev/null || true
    forget_pid "$client"
    rm -f "$fifo"
    echo "$name $before $during $held"
}

printf '# practice,token_sha256_hex,not_after\n' >"$work/credentials.csv"
pick_port # nothing is started there: /healthz needs no Redis
start_gateway idle_memory 1 "url = \"redis://$host:$picked_port\"" /healthz "[limits]
max_connections = 20000
idle_timeout_ms = 600000"
start_nginx /healthz '        location / {
            return 200 "ok\n";
        }'
# nginx's worker_connections from bench/lib.sh (4,096) is below what is held here: raised, and
# the master reloads its configuration into a new worker.
sed -i "s/worker_connections [0-9]*;/worker_connections $((connections + 256));/" "$work/nginx/nginx.conf"
sed -i "s/^worker_processes 1;/worker_processes 1;\nworker_rlimit_nofile $((connections + 512));/" "$work/nginx/nginx.conf"
old_workers=" $(pgrep -P "$nginx_pid" | tr '\n' ' ') "
kill -HUP "$nginx_pid"
nginx_worker=""
for _ in $(seq 1 100); do
    new="" stale=0
    for pid in $(pgrep -P "$nginx_pid" || true); do
        if [[ $old_workers == *" $pid "* ]]; then stale=1; else new=$pid; fi
    done
    if [[ -n $new && $stale == 0 ]]; then nginx_worker=$new; break; fi
    sleep 0.1
done
[[ -n $nginx_worker ]] || die "nginx's new worker did not start after the reload"

echo "sluice bench: idle_memory ($connections idle keep-alive connections, each after one GET /healthz)"
echo "machine:  $(machine_line)"
echo "gateway:  $gateway (listen.threads = 1) on $host:$gateway_port"
echo "nginx:    $(nginx_version) (worker_processes 1) on $host:$nginx_port"
echo

read -r _ g_before g_during g_held < <(hold gateway "$gateway_port" "$gateway_pid")
read -r _ n_before n_during n_held < <(hold nginx "$nginx_port" "$nginx_worker")
per() { awk -v b="$1" -v d="$2" -v n="$3" 'BEGIN { printf "%.0f", (d - b) * 1024 / n }'; }
g_per=$(per "$g_before" "$g_during" "$g_held")
n_per=$(per "$n_before" "$n_during" "$n_held")

table_columns 18 12 14 14 16
print_row "server" "held" "RSS before KB" "RSS held KB" "bytes/connection"
print_row "sluice-gateway" "$g_held" "$g_before" "$g_during" "$g_per"
print_row "nginx (anchor)" "$n_held" "$n_before" "$n_during" "$n_per"
print_row "gateway / nginx" "" "" "" "$(ratio "$g_per" "$n_per")"
echo
echo "target: gateway <= $target_bytes bytes per idle connection: $(at_most "$g_per" "$target_bytes") ($g_per bytes)"
echo "machine:  $(load_line)"
