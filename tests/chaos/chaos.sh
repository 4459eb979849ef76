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
fail() { echo "FAIL (chaos $victim): $*" >&2; exit 1; }
source "$repo/tests/support/stack.sh"
cleanup() {
  local status=$?
  stack_stop
  ((status == 0)) || stack_print_logs
  rm -rf "$work"
}
trap cleanup EXIT

stack_start_redis
stack_credentials
stack_start_gateway
stack_start_worker

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
    stack_start_gateway ;;
  worker)
    # Frozen (SIGSTOP) at a moment when it holds entries it has read and not yet acknowledged
    # (pending in its name), up to 400 tries a few milliseconds apart, then killed: its successor
    # must reclaim them (claim_idle_ms) and calculate each once.
    count_pending="local n = 0
      for shard = 0, 15 do
        local ok, summary = pcall(redis.call, 'XPENDING', 'sluice:{' .. shard .. '}:q', 'workers')
        if ok then n = n + summary[1] end
      end
      return n"
    pending=0
    for _ in $(seq 1 400); do
      kill -STOP "$worker_pid"
      pending=$(redis-cli -p "$redis_port" eval "$count_pending" 0 2>/dev/null || echo 0)
      ((pending > 0)) && break
      kill -CONT "$worker_pid"
      sleep 0.005
    done
    kill -9 "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
    ((pending > 0)) || fail "the worker was never caught holding an entry: nothing for its successor to reclaim"
    sleep 2
    stack_start_worker
    readyz_during="$(http_status /readyz) (the gateway needs no worker); pending entries at the kill: $pending" ;;
  redis)
    kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do  # the gateway notices within its Redis timeout
      readyz_during=$(http_status /readyz)
      [[ $readyz_during == 503 ]] && break
      sleep 0.1
    done
    sleep 1
    stack_start_redis
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
