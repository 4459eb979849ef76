#!/usr/bin/env bash
# HAProxy failover, for real: Debian's haproxy with ops/haproxy.cfg (its bind and server lines
# pointed at this test's ports) before two sluice gateways, one redis-server and one worker; a
# verified sluice-loadtest run through it; meanwhile one gateway is killed (SIGKILL) with requests
# in flight and restarted, then the other drained (SIGTERM) and started again.
#
# It passes when `haproxy -c` accepts the shipped configuration, sluice-loadtest --verify finds
# every submission accepted exactly once (0 lost, 0 duplicated) and calculated, the clients saw
# only 202, 429 and 503 (no transport error: no reset, no refused connection, no timeout; no 502,
# no 504), every 503 carried Retry-After (HAProxy's log captures it), and the drained gateway
# exited 0, and HAProxy did retry requests on the other gateway (the kill is timed to catch some in
# flight). It prints what HAProxy did: requests retried, redispatched, answered by itself.
# Loopback only, bounded: 1,200 practices at 100 a second (a tenth of them double-clicking, the two
# copies free to land on different gateways), every wait with a deadline.
#
#   haproxy.sh REPO BUILD_DIR
set -euo pipefail
repo=$1
build=$2
fail() { echo "FAIL (ops haproxy): $*" >&2; exit 1; }
command -v haproxy >/dev/null || fail "haproxy is missing (Debian's haproxy package; ops/install-deps.sh)"
haproxy -c -q -f "$repo/ops/haproxy.cfg" || fail "haproxy -c refuses ops/haproxy.cfg"

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-ops-haproxy.XXXXXX")
practices=1200
source "$repo/tests/support/stack.sh"
haproxy_pid="" gw_pids=("" "") gw_ports=(0 0)
stop_all() {
  local pid
  for pid in $haproxy_pid "${gw_pids[@]}"; do [[ -n $pid ]] && { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done
  stack_stop
}
cleanup() {
  local status=$?
  stop_all
  if ((status != 0)); then
    stack_print_logs
    echo "---- haproxy.log (last 30 lines)"; tail -n 30 "$work/haproxy.log" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port=$((20000 + RANDOM % 12000))
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

# Gateway N (0 or 1) on its own port with its own config file, as stack.sh writes it.
start_gw() {
  local n=$1
  gateway_port=${gw_ports[$n]}
  stack_write_config
  mv "$work/sluice.toml" "$work/sluice-gw$n.toml"
  "$build/gateway/sluice-gateway" --config "$work/sluice-gw$n.toml" >"$work/gw$n.out" 2>>"$work/gateway$n.log" &
  gw_pids[$n]=$!
  stack_wait_for_line "$work/gw$n.out" "listening on 127.0.0.1:${gw_ports[$n]}" "${gw_pids[$n]}" >/dev/null \
    || fail "gateway $n did not start on ${gw_ports[$n]}"
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:${gw_ports[$n]}/readyz" || true) == 200 ]] && return 0
    sleep 0.1
  done
  fail "gateway $n did not become ready"
}

stack_start_redis
stack_credentials
gw_ports[0]=$(free_port)
gw_ports[1]=$(free_port)
while [[ ${gw_ports[1]} == "${gw_ports[0]}" ]]; do gw_ports[1]=$(free_port); done
start_gw 0
start_gw 1
gateway_port=${gw_ports[0]}
stack_start_worker

# ---- HAProxy: the shipped file, with this test's ports ------------------------------------------
hp_port=$(free_port)
while [[ " ${gw_ports[*]} " == *" $hp_port "* ]]; do hp_port=$(free_port); done
mkdir -p "$work/haproxy"
cp "$repo"/ops/haproxy/*.http "$work/haproxy/"
# maxconn needs two descriptors a connection: lower it to what this machine's hard limit allows.
maxconn=$(sed -n 's/^ *maxconn \([0-9]*\)$/\1/p' "$repo/ops/haproxy.cfg" | head -n1)
fd_limit=$(ulimit -Hn)
[[ $fd_limit == unlimited ]] || ((maxconn <= (fd_limit - 100) / 2)) || maxconn=$(((fd_limit - 100) / 2))
sed -e "s/^\( *bind \).*/\1127.0.0.1:$hp_port/" -e "s/^\( *maxconn \).*/\1$maxconn/" \
  -e "s/^\( *server gw1 \).*/\1127.0.0.1:${gw_ports[0]}/" \
  -e "s/^\( *server gw2 \).*/\1127.0.0.1:${gw_ports[1]}/" "$repo/ops/haproxy.cfg" >"$work/haproxy.cfg"
grep -q "bind 127.0.0.1:$hp_port" "$work/haproxy.cfg" || fail "could not point the bind line at $hp_port"
haproxy -c -q -f "$work/haproxy.cfg" || fail "haproxy -c refuses the test's copy"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
through() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$hp_port$1" || true; }
for _ in $(seq 1 100); do [[ $(through /readyz) == 200 ]] && break; sleep 0.1; done
[[ $(through /readyz) == 200 ]] || fail "HAProxy does not answer /readyz through the gateways"

# ---- the surge, the drain and the kill ----------------------------------------------------------
timeout 150 "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$hp_port" --tokens "$work/tokens.csv" \
  --schedule constant:rate=100,duration=12s --mix polite=90,double=10 --connections 50 --timeout 10s \
  --catalogue "$repo/data/catalogue" --run-id "haproxy-$$" --verify --verify-wait 60s \
  --json "$work/report.json" --quiet >"$work/loadtest.log" 2>&1 &
load_pid=$!
sleep 3
# Gateway 1 killed with requests in flight: Redis is frozen for 200 ms first, so that both gateways
# hold admissions waiting on it when the kill comes. HAProxy must send those again, to gateway 0.
kill -STOP "$redis_pid"
sleep 0.2
kill -9 "${gw_pids[1]}"; wait "${gw_pids[1]}" 2>/dev/null || true
gw_pids[1]=""
kill -CONT "$redis_pid"
sleep 1
start_gw 1
sleep 1
# Gateway 0 drained: it stops accepting and answers /readyz 503; HAProxy retries what it refuses.
kill -TERM "${gw_pids[0]}"
drain_status=0
wait "${gw_pids[0]}" || drain_status=$?
gw_pids[0]=""
((drain_status == 0)) || fail "the drained gateway exited $drain_status, not 0"
sleep 1
start_gw 0
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""
sleep 0.5  # HAProxy writes its last log lines

# ---- the verdict --------------------------------------------------------------------------------
cat "$work/loadtest.log"
[[ -s "$work/report.json" ]] || fail "sluice-loadtest wrote no report (exit $load_status)"
verify_line=$(grep '^verify: ' "$work/loadtest.log" || true)
statuses=$(grep -o '"statuses":{[^}]*}' "$work/report.json" | head -n1)
requests=$(grep -E '" retry_after=' "$work/haproxy.log" || true)
# Fields: 1 client, 2 date, 3 frontend, 4 backend/server, 5 timers, 6 status, 7 bytes, 8 termination
# state, 9 conn counts ending with retries ("+N": redispatched), 10-12 request line, last retry_after=.
retried=$(awk '{ split($9, c, "/"); if (c[5] + 0 > 0) n++ } END { print n + 0 }' <<<"$requests")
redispatched=$(awk '{ split($9, c, "/"); if (c[5] ~ /^\+/) n++ } END { print n + 0 }' <<<"$requests")
by_haproxy=$(awk '$6 == "503" && $4 ~ /<NOSRV>/ { n++ } END { print n + 0 }' <<<"$requests")
echo "haproxy: $(wc -l <<<"$requests") requests logged, $retried retried, $redispatched redispatched, $by_haproxy answered 503 by HAProxy itself (no gateway up)"
echo "haproxy: status and termination state of its answers: $(awk '{ print $6 "/" $8 }' <<<"$requests" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
echo "statuses seen by the clients: $statuses"
((load_status == 0)) || fail "sluice-loadtest exited $load_status: $verify_line"
[[ $verify_line == "verify: OK: $practices submissions accepted exactly once, 0 lost, 0 duplicated"* ]] \
  || fail "verify: $verify_line"
grep -q "; $practices calculated" <<<"$verify_line" || fail "not every submission was calculated: $verify_line"
for status in $(grep -o '"[0-9]*":' <<<"$statuses" | tr -d '":'); do
  [[ $status =~ ^(202|429|503)$ ]] || fail "a client saw $status (0 is a transport error: reset, refused or timed out)"
done
# Every 503 and 429 told the client when to come back.
# (HAProxy's own 503s, server <NOSRV>, are its errorfiles: their Retry-After is checked there.)
for file in "$repo"/ops/haproxy/50[234].http; do
  grep -q $'^Retry-After: [1-9][0-9]*\r$' "$file" || fail "$file has no Retry-After"
  head -n1 "$file" | grep -q '^HTTP/1.1 503 ' || fail "$file does not answer 503"
done
missing=$(awk '($6 == "503" || $6 == "429") && $4 !~ /<NOSRV>/ && $NF == "retry_after=" { n++ } END { print n + 0 }' <<<"$requests")
((missing == 0)) || { grep -E ' (503|429) .* retry_after=$' <<<"$requests" | head -n 5; fail "$missing 503/429 answers without Retry-After"; }
bad=$(awk '$6 == "502" || $6 == "504" { n++ } END { print n + 0 }' <<<"$requests")
((bad == 0)) || { awk '$6 == "502" || $6 == "504"' <<<"$requests" | head -n 5; fail "$bad answers were HAProxy's 502 or 504"; }
# A request that failed on its way to a gateway (termination state S...: refused, reset, closed,
# timed out) and was answered by HAProxy with a server named was not retried elsewhere.
unretried=$(awk '$4 !~ /<NOSRV>/ && $8 ~ /^S/ { n++ } END { print n + 0 }' <<<"$requests")
((unretried == 0)) || { awk '$4 !~ /<NOSRV>/ && $8 ~ /^S/' <<<"$requests" | head -n 5; fail "$unretried requests failed on their way to a gateway and were not retried on another"; }
((retried > 0)) || fail "HAProxy retried no request: the kill caught none in flight, so this run proved nothing about retries"
echo "PASS ops haproxy"
