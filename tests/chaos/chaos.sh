#!/usr/bin/env bash
# Chaos at small scale: a sluice-loadtest surge with --verify while one part of the stack is
# killed with SIGKILL and started again.
#
#   chaos.sh REPO BUILD_DIR gateway|worker|redis
#
#   gateway  the gateway is killed mid-surge and restarted on the same port: clients see resets
#            and refusals (transport errors) and retry with the same Idempotency-Key;
#   worker   the worker is killed and restarted: the entries it held are reclaimed
#            (worker.claim_idle_ms is 2 s here) and calculated once;
#   redis    redis-server is killed and restarted on its AOF (ops/redis.conf: appendonly,
#            everysec): the gateway answers 503 and /readyz is 503 during the outage.
#
# It passes when --verify finds every submission accepted exactly once (0 acknowledged lost,
# 0 duplicated) and calculated, when the only answers seen were 202, 429 and 503 (and transport
# errors, only in the gateway case), and, for redis, when /readyz answered 503 during the outage
# and 200 again after it. Everything runs on loopback, bounded: 1,200 practices over 12 s, the
# outage 2 s, every wait with a deadline. Processes are stopped by the pids recorded here.
set -euo pipefail
repo=$1
build=$2
victim=$3
case "$victim" in gateway | worker | redis) ;; *) echo "usage: chaos.sh REPO BUILD_DIR gateway|worker|redis" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-chaos-$victim.XXXXXX")
practices=1200
redis_pid="" gateway_pid="" worker_pid="" load_pid=""
cleanup() {
  local status=$?
  for pid in $load_pid $gateway_pid $worker_pid $redis_pid; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done
  if ((status != 0)); then
    for log in "$work"/*.log; do echo "---- $log (last 30 lines)"; tail -n 30 "$log"; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL (chaos $victim): $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
http_status() { curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$gateway_port$1" || true; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- the stack -------------------------------------------------------------------------------
redis_port=$((20000 + RANDOM % 12000))  # below the ephemeral range
start_redis() {
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
for _ in 1 2 3 4 5; do
  while port_in_use "$redis_port"; do redis_port=$((redis_port + 1)); done
  start_redis && break
  redis_port=$((redis_port + 1))
done
[[ $(redis-cli -p "$redis_port" info server | tr -d '\r' | sed -n 's/^process_id://p') == "$redis_pid" ]] \
  || fail "redis-server did not start"

"$build/loadtest/sluice-loadtest" generate --practices "$practices" --credentials "$work/credentials.csv" \
  --tokens "$work/tokens.csv" >/dev/null
gateway_port=0
write_config() {
  cat >"$work/sluice.toml" <<TOML
[listen]
address = "127.0.0.1"
port = $gateway_port
threads = 1

[redis]
url = "redis://127.0.0.1:$redis_port"

[credentials]
file = "$work/credentials.csv"

[catalogue]
dir = "$repo/data/catalogue"

[worker]
metrics_port = 0
claim_idle_ms = 2000
TOML
}
wait_for_line() {  # FILE PATTERN PID: the first match, or fail when PID exits or 10 s pass
  for _ in $(seq 1 100); do
    grep -o "$2" "$1" 2>/dev/null | head -n1 && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
start_gateway() {
  "$build/gateway/sluice-gateway" --config "$work/sluice.toml" >"$work/gateway.out" 2>>"$work/gateway.log" &
  gateway_pid=$!
  local listening
  listening=$(wait_for_line "$work/gateway.out" 'listening on 127.0.0.1:[0-9]*' "$gateway_pid") \
    || fail "the gateway did not start"
  gateway_port=${listening##*:}
  for _ in $(seq 1 100); do [[ $(http_status /readyz) == 200 ]] && return 0; sleep 0.1; done
  fail "the gateway did not become ready"
}
start_worker() {
  "$build/worker/sluice-worker" --config "$work/sluice.toml" >"$work/worker.out" 2>>"$work/worker.log" &
  worker_pid=$!
  wait_for_line "$work/worker.out" 'metrics on' "$worker_pid" >/dev/null || fail "the worker did not start"
}
write_config
start_gateway
write_config  # the port it got, for the restart
start_worker

# ---- the surge, and the kill ---------------------------------------------------------------
timeout 150 "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$gateway_port" --tokens "$work/tokens.csv" \
  --schedule surge:practices=$practices,window=12s,peak_share=0.6 --connections 50 --timeout 2s \
  --catalogue "$repo/data/catalogue" --run-id "chaos-$victim-$$" --verify --verify-wait 60s \
  --json "$work/report.json" --quiet >"$work/loadtest.log" 2>&1 &
load_pid=$!
sleep 5
outage_start=$(now_ms)
readyz_during=""
case "$victim" in
  gateway)
    kill -9 "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
    sleep 2
    readyz_during=$(http_status /readyz)  # nobody listens: 000
    start_gateway ;;
  worker)
    kill -9 "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
    sleep 2
    start_worker ;;
  redis)
    kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do  # the gateway notices within its Redis timeout
      readyz_during=$(http_status /readyz)
      [[ $readyz_during == 503 ]] && break
      sleep 0.1
    done
    sleep 1
    start_redis || fail "redis-server did not restart on its AOF"
    ready_again=""
    for _ in $(seq 1 100); do [[ $(http_status /readyz) == 200 ]] && { ready_again=yes; break; }; sleep 0.1; done
    [[ -n $ready_again ]] || fail "/readyz did not answer 200 within 10 s of Redis coming back" ;;
esac
outage_ms=$(($(now_ms) - outage_start))
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""

# ---- the verdict -----------------------------------------------------------------------------
cat "$work/loadtest.log"
[[ -s "$work/report.json" ]] || fail "sluice-loadtest wrote no report (exit $load_status)"
verify_line=$(grep '^verify: ' "$work/loadtest.log" || true)
statuses=$(grep -o '"statuses":{[^}]*}' "$work/report.json" | head -n1)
echo "chaos $victim: outage ${outage_ms} ms, /readyz during it: ${readyz_during:-not asked}, statuses $statuses"
((load_status == 0)) || fail "sluice-loadtest exited $load_status: $verify_line"
[[ $verify_line == "verify: OK: $practices submissions accepted exactly once, 0 lost, 0 duplicated"* ]] \
  || fail "verify: $verify_line"
grep -q "; $practices calculated" <<<"$verify_line" || fail "not every submission was calculated: $verify_line"
allowed='^(202|429|503)$'
[[ $victim == gateway ]] && allowed='^(0|202|429|503)$'
for status in $(grep -o '"[0-9]*":' <<<"$statuses" | tr -d '":'); do
  [[ $status =~ $allowed ]] || fail "an answer other than 202, 429, 503 (or a transport error while the gateway was down): $status"
done
case "$victim" in
  gateway) [[ $readyz_during == 000 ]] || fail "something answered /readyz while the gateway was down: $readyz_during" ;;
  redis) [[ $readyz_during == 503 ]] || fail "/readyz did not answer 503 while Redis was down: $readyz_during" ;;
esac
echo "PASS chaos $victim"
