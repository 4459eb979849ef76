# Test support for shell-driven tests (tests/chaos, tests/slow): a private sluice stack on
# loopback, started and stopped by the pids recorded here. Source it, after setting
#   repo, build   the checkout and the build directory
#   work          a scratch directory (the caller removes it)
#   practices     how many practices `stack_credentials` generates
#   extra_toml    (optional) appended to the config, e.g. "[limits]\nmax_connections = 5000"
#   redis_url     (optional) the Redis the gateway and worker use, e.g. a cluster's
#                 redis+cluster://...; default the redis-server of stack_start_redis
# and define `fail MESSAGE` (print, exit non-zero). Then:
#   stack_start_redis     redis-server with ops/redis.conf (AOF) in $work/redis, on a free port
#                         ($redis_port; kept for restarts, which load the AOF)
#   stack_credentials     $work/credentials.csv and $work/tokens.csv (sluice-loadtest generate)
#   stack_start_gateway   the gateway (1 thread) on $gateway_port (0 the first time: the kernel
#                         picks, and later starts reuse it), waits for /readyz 200
#   stack_start_worker    the worker (claim_idle_ms 2 s, so that a killed one's entries return fast)
#   stack_start_cluster   a local Redis Cluster (ops/redis-cluster: 3 masters, 3 replicas) in
#                         $work/cluster on free ports, node timeout $cluster_node_timeout_ms if
#                         set; sets redis_url to it. stack_stop stops it, stack_print_logs
#                         shows its nodes' logs
#   stack_stop            SIGKILL and reap whatever of them still runs, and $load_pid
#   http_status PATH      the gateway's status for GET PATH, 000 when nothing answers
# Logs go to $work/{redis,gateway,worker}.log; stack_print_logs shows their tails.

redis_pid="" gateway_pid="" worker_pid="" load_pid=""
redis_port=$((20000 + RANDOM % 12000))  # below the ephemeral range
gateway_port=0

now_ms() { date +%s%3N; }
http_status() { curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$gateway_port$1" || true; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stack_stop() {
  local pid
  for pid in $load_pid $gateway_pid $worker_pid $redis_pid; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done
  load_pid="" gateway_pid="" worker_pid="" redis_pid=""
  if [[ -d $work/cluster ]]; then "$repo/ops/redis-cluster" stop "$work/cluster" >/dev/null 2>&1 || true; fi
}

stack_print_logs() {
  local log
  for log in "$work"/*.log; do echo "---- $log (last 30 lines)"; tail -n 30 "$log"; done
  for log in "$work"/cluster/node-*.log; do [[ -e $log ]] && { echo "---- $log (last 10 lines)"; tail -n 10 "$log"; }; done
  return 0
}

stack_start_cluster() {
  local timeout=()
  [[ -n ${cluster_node_timeout_ms:-} ]] && timeout=(SLUICE_CLUSTER_NODE_TIMEOUT_MS="$cluster_node_timeout_ms")
  env "${timeout[@]}" SLUICE_CLUSTER_BASE_PORT=$((20000 + RANDOM % 9000)) \
    "$repo/ops/redis-cluster" start "$work/cluster" >"$work/cluster-start.log" 2>&1 \
    || fail "the cluster did not start: $(tail -n 5 "$work/cluster-start.log")"
  redis_url=$(cat "$work/cluster/url")
}

stack_launch_redis() {
  mkdir -p "$work/redis"
  redis-server "$repo/ops/redis.conf" --port "$redis_port" --dir "$work/redis" >>"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 100); do
    [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && return 0
    kill -0 "$redis_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

stack_start_redis() {
  if [[ -n ${redis_started_once:-} ]]; then
    stack_launch_redis || fail "redis-server did not restart on its AOF"
    return
  fi
  for _ in 1 2 3 4 5; do  # a port nobody listens on may still be taken by the time we bind it
    while port_in_use "$redis_port"; do redis_port=$((redis_port + 1)); done
    stack_launch_redis && break
    redis_port=$((redis_port + 1))
  done
  [[ $(redis-cli -p "$redis_port" info server | tr -d '\r' | sed -n 's/^process_id://p') == "$redis_pid" ]] \
    || fail "redis-server did not start"
  redis_started_once=yes
}

stack_credentials() {
  "$build/loadtest/sluice-loadtest" generate --practices "$practices" --credentials "$work/credentials.csv" \
    --tokens "$work/tokens.csv" >/dev/null
}

stack_write_config() {
  cat >"$work/sluice.toml" <<TOML
[listen]
address = "127.0.0.1"
port = $gateway_port
threads = 1

[redis]
url = "${redis_url:-redis://127.0.0.1:$redis_port}"

[credentials]
file = "$work/credentials.csv"

[catalogue]
dir = "$repo/data/catalogue"

[worker]
metrics_port = 0
claim_idle_ms = 2000
$(printf '%b' "${extra_toml:-}")
TOML
}

stack_wait_for_line() {  # FILE PATTERN PID: prints the first match; fails when PID exits or 10 s pass
  for _ in $(seq 1 100); do
    grep -o "$2" "$1" 2>/dev/null | head -n1 && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

stack_start_gateway() {
  stack_write_config
  "$build/gateway/sluice-gateway" --config "$work/sluice.toml" >"$work/gateway.out" 2>>"$work/gateway.log" &
  gateway_pid=$!
  local listening
  listening=$(stack_wait_for_line "$work/gateway.out" 'listening on 127.0.0.1:[0-9]*' "$gateway_pid") \
    || fail "the gateway did not start"
  gateway_port=${listening##*:}
  for _ in $(seq 1 100); do [[ $(http_status /readyz) == 200 ]] && return 0; sleep 0.1; done
  fail "the gateway did not become ready"
}

stack_start_worker() {
  stack_write_config
  "$build/worker/sluice-worker" --config "$work/sluice.toml" >"$work/worker.out" 2>>"$work/worker.log" &
  worker_pid=$!
  stack_wait_for_line "$work/worker.out" 'metrics on' "$worker_pid" >/dev/null || fail "the worker did not start"
}
