#!/usr/bin/env bash
# Slow clients: slowhttptest (Debian's) holds thousands of slow connections open against the
# gateway while a good client (sluice-loadtest, a constant rate of real submissions) measures its
# latency. The good client must not notice:
#
#   slow_clients.sh REPO BUILD_DIR headers|body
#
#   headers  slowhttptest -H (slowloris): heads that never end, a header line every 5 s, to
#            GET /healthz. limits.header_timeout_ms is 60 s here (default 10 s), so that all
#            3,000 are held while the good client measures: slowhttptest does not replace the
#            connections the gateway cuts, a real attacker does;
#   body     slowhttptest -B (R-U-Dead-Yet): unauthenticated POST /v1/submissions heads with a
#            Content-Length of 8 KiB and a few body bytes every 2 s; the gateway must refuse them
#            (401, or 429 once the address has failed too often) right after the head instead of
#            reading the body to its end, so it must hold none of them: the test asserts that it
#            holds fewer than 10 % of the attack's connections while the good client measures.
#            Refused at once, the attack costs only its connection rate, so it opens them at 250
#            a second (3,000 in 12 s, then again): at 1,000 a second it is a connection flood
#            instead, ~800 handshakes a second that cost the gateway's one core 11 % (measured:
#            140 us of CPU per refused connection on this VM, 58 % of it in the kernel), which is
#            not what this test is about (the heads mode measures after its ramp for the same
#            reason) and which a per-address connection rate limit in front is for.
#
# Passes when, with 3,000 slow connections open, every good request is answered 202 and the
# good client's p99 stays within 2x of its p99 measured just before the attack on the same stack.
# The machine is shared (builds run beside CI's own work), so redis-server, the gateway and the
# good client run at SCHED_RR where allowed (root), and slowhttptest at nice 19: what is measured
# is what the slow connections cost the gateway, not what others' compilers or the attacker's own
# busy loop cost the two cores. A failed comparison is measured again, baseline and attack
# again; it fails only if three pairs are all beyond 2x (a single scheduler stall of a few ms on a
# shared machine is beyond 2x of a 1.3 ms p99). Bounded: each measurement is 2,000 requests over
# 5 s, the attack at most 45 s, three pairs at most; measuring starts once the gateway holds 90 %
# of the slow connections and the count has stopped rising (heads: required, within 20 s + 10 s;
# bodies: within 5 s if at all, as a gateway that refuses them after the head closes them at once).
set -euo pipefail
repo=$1
build=$2
mode=$3
case "$mode" in headers | body) ;; *) echo "usage: slow_clients.sh REPO BUILD_DIR headers|body" >&2; exit 2 ;; esac
command -v slowhttptest >/dev/null || { echo "FAIL: slowhttptest is not installed (ops/install-deps.sh)" >&2; exit 1; }

connections=3000
rate=400          # good requests per second
seconds=5         # per measurement
practices=$((rate * seconds))
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-slow-$mode.XXXXXX")
failure=""
fail() {
  failure="FAIL (slow $mode): $*"
  echo "$failure" >&2
  exit 1
}
[[ $mode == headers ]] && extra_toml='[limits]\nheader_timeout_ms = 60000'
source "$repo/tests/support/stack.sh"
spinner_pid=""  # start_spinner/stop_spinner: the baseline's busy neighbour (see the pairs below)
start_spinner() {
  ((${#attacker_cpu[@]} > 0)) || return 0
  "${attacker_cpu[@]}" nice -n 19 sh -c 'while :; do :; done' &
  spinner_pid=$!
}
stop_spinner() {
  [[ -n $spinner_pid ]] && { kill -9 "$spinner_pid" && wait "$spinner_pid"; } 2>/dev/null || true
  spinner_pid=""
}
attack_pid=""
base=0  # the gateway's descriptors before the attack
cleanup() {
  local status=$?
  [[ -n $attack_pid ]] && { kill -TERM "$attack_pid" && wait "$attack_pid"; } 2>/dev/null || true
  stop_spinner
  stack_stop
  ((status == 0)) || stack_print_logs
  rm -rf "$work"
  [[ -n $failure ]] && echo "$failure" >&2  # last: the lines a shortened log keeps
  return 0
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 3,000 sockets here and as many in the gateway

stack_start_redis
stack_credentials 2>/dev/null
stack_start_gateway
# The stack and the good client at a real-time priority where the system allows it (root, as in
# CI): the machine is shared with builds, whose time slices would otherwise be what p99 measures.
realtime=()
if chrt -a -r -p 10 "$redis_pid" 2>/dev/null && chrt -a -r -p 10 "$gateway_pid" 2>/dev/null; then
  realtime=(chrt -r 10)
fi
# slowhttptest is a busy loop over its 3,000 sockets (a whole core, measured), much of it inside
# select() in the kernel, where a woken real-time task on the same core waits for it: ~1-2 ms at
# p99 that the gateway did not cause. So the attacker gets the last core to itself and the stack
# and the good client the others (a real attacker's CPU is elsewhere, not beside the gateway).
stack_cpus=""
attacker_cpu=()
cores=$(nproc)
if ((cores >= 2)); then
  stack_cpus="0-$((cores - 2))"
  if taskset -a -c -p "$stack_cpus" "$redis_pid" >/dev/null 2>&1 \
    && taskset -a -c -p "$stack_cpus" "$gateway_pid" >/dev/null 2>&1; then
    attacker_cpu=(taskset -c "$((cores - 1))")
    realtime=(taskset -c "$stack_cpus" "${realtime[@]}")
  fi
fi

measure() {  # measure RUN: prints the good client's p99 in microseconds; fails unless every request got 202
  local run=$1
  local report=$work/good-$run.json
  timeout 60 "${realtime[@]}" "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$gateway_port" --tokens "$work/tokens.csv" \
    --schedule "constant:rate=$rate,duration=${seconds}s" --connections 20 --timeout 5s \
    --catalogue "$repo/data/catalogue" --run-id "slow-$mode-$$-$run" --json "$report" --quiet \
    >"$work/good-$run.log" 2>&1 || { cat "$work/good-$run.log" >&2; fail "the good client failed (run $run)"; }
  local statuses
  statuses=$(grep -o '"statuses":{[^}]*}' "$report" | head -n1)
  [[ $statuses == "\"statuses\":{\"202\":$practices}" ]] \
    || fail "not every good request was answered 202 (run $run): $statuses"
  local p99_ns
  p99_ns=$(grep -o '"p99_ns":[0-9]*' "$report" | head -n1 | cut -d: -f2)
  echo $((p99_ns / 1000))
}
open_connections() { ls "/proc/$gateway_pid/fd" 2>/dev/null | wc -l; }

start_attack() {
  local args=(-c "$connections" -l 45 -p 3)
  if [[ $mode == headers ]]; then
    args+=(-r 1000 -H -i 5 -x 24 -u "http://127.0.0.1:$gateway_port/healthz")
  else
    args+=(-r 250 -B -i 2 -s 8192 -x 16 -t POST -u "http://127.0.0.1:$gateway_port/v1/submissions")
  fi
  # At the lowest priority: what is measured is what its connections cost the gateway, not
  # what its own busy loop costs this 2-core machine (a real attacker's CPU is elsewhere).
  # slowhttptest ends when the gateway has closed all its connections, which is what a gateway
  # that refuses unauthenticated bodies after the head does; a real attacker comes back, so the
  # attack is started again until it is stopped.
  (
    trap 'kill -9 $(jobs -p) 2>/dev/null; exit 0' TERM
    while :; do
      "${attacker_cpu[@]}" nice -n 19 slowhttptest "${args[@]}" >>"$work/slowhttptest.log" 2>&1 &
      wait $!
    done
  ) &
  attack_pid=$!
  base=$(open_connections)
  # Until the gateway holds them (heads at 1,000 a second: 3 s). Slow heads must all be held (at most
  # 20 s); slow bodies only until refused, which a gateway that answers 401 right after the head
  # does at once and closes: then 5 s for slowhttptest to have opened them all.
  local wait_steps=200
  [[ $mode == body ]] && wait_steps=50
  for _ in $(seq 1 "$wait_steps"); do
    (($(open_connections) - base >= connections * 90 / 100)) && break
    sleep 0.1
  done
  kill -0 "$attack_pid" 2>/dev/null || fail "slowhttptest ended early: $(tail -n 20 "$work/slowhttptest.log")"
  if [[ $mode == headers ]] && (($(open_connections) - base < connections * 90 / 100)); then
    fail "the gateway holds $(($(open_connections) - base)) slow connections, not the $connections of the attack"
  fi
  # Then until the attack's ramp is over (the count holds still for a second, at most 10 s): what
  # is measured is the cost of holding slow connections, not the kernel's handshakes of new ones.
  if [[ $mode == headers ]]; then
    local before now
    before=$(open_connections)
    for _ in $(seq 1 10); do
      sleep 1
      now=$(open_connections)
      ((now == before)) && break
      before=$now
    done
  fi
}
stop_attack() {
  { kill -TERM "$attack_pid" && wait "$attack_pid"; } 2>/dev/null || true
  pkill -9 -P "$attack_pid" 2>/dev/null || true
  attack_pid=""
  sleep 2  # let the gateway close what the attack left
}

# The baseline is measured with the attacker's core as busy as slowhttptest keeps it (a spinning
# process at the same nice 19): the two virtual cores here are not independent (lscpu shows one
# thread per core, but the host may run them as siblings of one physical core), and a busy loop on
# the other one slows everything on this one. Measured: a bare spin there raised the good client's
# p99 1.14x, 1.41x and 1.25x; heads then measured 0.99x to 3.47x against an idle baseline. What the
# comparison is to show is what the slow connections cost, not the neighbour's spinning.
verdict=""
for pair in 1 2 3; do
  start_spinner
  baseline=$(measure "$pair-before")
  stop_spinner
  start_attack
  held=$(open_connections)
  attacked=$(measure "$pair-during")
  held_after=$(open_connections)
  stop_attack
  if [[ $mode == body ]] && ((held - base >= connections / 10 || held_after - base >= connections / 10)); then
    fail "the gateway held $((held - base)) then $((held_after - base)) slow bodies: it must refuse them right after the head"
  fi
  echo "slow $mode, pair $pair: good client p99 ${baseline} us before, ${attacked} us during the attack" \
    "(gateway descriptors: $held when measuring began, $held_after when it ended; ratio" \
    "$(awk -v a="$attacked" -v b="$baseline" 'BEGIN { printf "%.2f", a / b }'))${attacker_cpu:+, attacker on its own core, a spinner there during the baseline}"
  if ((attacked <= 2 * baseline)); then verdict=held; break; fi
done
[[ $verdict == held ]] || fail "the good client's p99 rose beyond 2x of its baseline in all three pairs"
echo "PASS slow $mode"
