#!/usr/bin/env bash
# Surge survival (issue "Surge survival"): the gateway keeps its throughput when offered more
# than it can take, from thousands of connections, by clients that retry.
#
#   surge.sh REPO BUILD_DIR
#
# 1. Capacity, measured first on a stack of its own: wrk (1 thread, 256 connections, 3 s) sending the
#    submissions sluice-loadtest sends (bench/loadtest.lua: its realistic QOF body), admissions
#    (2xx answers) per second.
# 2. The surge, on a fresh stack: sluice-loadtest at OVERLOAD (default 2.5) x that capacity for SURGE_SECONDS
#    (default 4) over CONNECTIONS (default 3,000) keep-alive connections, polite clients (they
#    honour Retry-After), then --verify.
#
# PRACTICES (default 100,000) and SUBMISSIONS_PER_PRACTICE (default 1) make practices submit
# again (repeats wait behind first submissions); SURGE_TIMELINE=1 prints the run per second.
#
# Passes when every submission was accepted exactly once (none lost, none duplicated, nobody
# gave up), the only answers were 202 and 503 (no transport error), the gateway never dropped its
# Redis connection (sluice_redis_liveness_drops_total 0, no "connection lost" in its log), and the
# submissions accepted per second of the whole run (the surge and the retries after it) reached
# GOODPUT_FLOOR (default 0.3) x capacity. The floor guards against the collapse (the code before
# reached 0.002 x); it is not the issue's target (0.8 x at 2x), which bench/surge.sh reports. On
# this 2-core machine the load generator takes a third of the CPU while it offers 2.5 x, and the
# runs measured 0.45 to 0.67 x.
#
# Capacity is measured on one stack and the surge runs on a fresh one (a fresh redis-server and
# gateway, as a deadline night starts): behind the capacity run's records, the surge's AOF would
# reach auto-aof-rewrite-min-size and Redis would fork a rewrite in the middle of it.
#
# Lost, duplicated or unanswered submissions, answers other than 202 and 503, and Redis drops fail
# at once. The two load-sensitive verdicts (somebody gave up, goodput below the floor) depend on
# what else the shared machine does while the surge runs: one such failure is measured again, on a
# fresh stack (new redis-server and gateway, capacity measured again), and the test fails only if
# the second attempt fails too; both attempts are printed. The verdict is printed last, after the
# logs of a failure, so that a shortened CI log still shows it.
#
# Before the change it holds, the gateway collapsed here: one slow Redis call dropped the
# pipelined connection, every request was answered 503 while the reconnect starved, and the
# polite clients gave up. Bounded: tens of seconds; processes stopped by their pids.
set -euo pipefail
repo=$1
build=$2
overload=${OVERLOAD:-2.5}
surge_seconds=${SURGE_SECONDS:-4}
connections=${CONNECTIONS:-3000}
goodput_floor=${GOODPUT_FLOOR:-0.3}
per_practice=${SUBMISSIONS_PER_PRACTICE:-1}

base=$(mktemp -d "${TMPDIR:-/tmp}/sluice-surge.XXXXXX")
work=$base
# One submission per practice (repeat submissions are held back behind first ones by design, which
# is not what this test is about): a machine fast enough to ask for more gets a shorter surge.
practices=${PRACTICES:-100000}
# Rate limits out of the way: this is about the gateway's capacity, not one practice's rate.
extra_toml='[ratelimit.per_practice]\nrate = 1000000.0\nburst = 1000000'
verdict=""
fail() {
  verdict="FAIL (surge): $*"
  echo "$verdict" >&2
  exit 1
}
source "$repo/tests/support/stack.sh"
cleanup() {
  local status=$?
  stack_stop
  ((status == 0)) || stack_print_logs
  if ((status != 0)) && [[ -n ${KEEP_WORK:-} ]]; then echo "surge: kept $base" >&2; else rm -rf "$base"; fi
  [[ -n $verdict ]] && echo "$verdict" >&2  # last: the lines a shortened log keeps
  return 0
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v wrk >/dev/null || fail "wrk is not installed (ops/install-deps.sh)"

# One attempt on a fresh stack in $base/attempt-N. Fails the test (fail) on a correctness
# violation; returns 1 with $shortfall set when only a load-sensitive verdict missed.
shortfall=""
attempt() {
  local dir=$base/attempt-$1
  work=$dir/capacity
  mkdir -p "$work"
  redis_started_once="" gateway_port=0 redis_url=""
  stack_start_redis
  stack_credentials
  stack_start_gateway

  # ---- 1. capacity ---------------------------------------------------------------------------
  # wrk's practices (the first 64) are kept out of the surge's tokens.
  head -n 64 "$work/tokens.csv" >"$work/wrk-tokens.csv"
  tail -n +65 "$work/tokens.csv" >"$work/surge-tokens.csv"
  "$build/loadtest/sluice-loadtest" body --practice Z00000 --es-share 0 --catalogue "$repo/data/catalogue" \
    >"$work/body.json" || fail "sluice-loadtest body failed"
  LOADTEST_TOKENS=$work/wrk-tokens.csv LOADTEST_BODY=$work/body.json LOADTEST_BODY_PRACTICE=Z00000 \
    LOADTEST_KEY_PREFIX=capacity-$$-$1 BENCH_RUN=capacity \
    wrk -t1 -c256 -d3s -s "$repo/bench/loadtest.lua" "http://127.0.0.1:$gateway_port/v1/submissions" \
    >"$work/wrk.log" 2>&1 || fail "wrk failed: $(tail -n 5 "$work/wrk.log")"
  # Admissions per second: wrk's answers less its non-2xx ones (the gateway sheds what it cannot
  # take in time, and wrk's closed loop sends the next at once), over its duration.
  local requests seconds non2xx capacity rate surge_practices surge_ms surge_submissions
  read -r requests seconds < <(sed -n 's/^ *\([0-9]*\) requests in \([0-9.]*\)s.*/\1 \2/p' "$work/wrk.log")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$work/wrk.log")
  [[ -n ${requests:-} && -n ${seconds:-} ]] || fail "no capacity measured: $(cat "$work/wrk.log")"
  capacity=$(awk -v r="$requests" -v n="${non2xx:-0}" -v s="$seconds" 'BEGIN { printf "%.0f", (r - n) / s }')
  rate=$(awk -v c="$capacity" -v o="$overload" 'BEGIN { printf "%d", c * o }')
  surge_practices=$(wc -l <"$work/surge-tokens.csv")
  surge_ms=$((surge_seconds * 1000))
  surge_submissions=$((surge_practices * per_practice))
  ((rate * surge_seconds <= surge_submissions)) || surge_ms=$((surge_submissions * 1000 / rate))
  echo "surge, attempt $1: capacity ${capacity} admissions/s (wrk, 256 connections: ${requests} answers, ${non2xx:-0} of them 503); offering ${rate}/s for ${surge_ms} ms over ${connections} connections"

  # The surge on a fresh redis-server and gateway, as a deadline night starts: not behind the
  # capacity run's records, whose AOF would make Redis fork a rewrite in the middle of the surge.
  stack_stop
  local tokens=$work/surge-tokens.csv credentials=$work/credentials.csv
  work=$dir/surge
  mkdir -p "$work"
  cp "$tokens" "$credentials" "$work/"
  redis_started_once="" gateway_port=0
  stack_start_redis
  stack_start_gateway

  # ---- 2. the surge --------------------------------------------------------------------------
  local status=0
  timeout 300 "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$gateway_port" \
    --tokens "$work/surge-tokens.csv" --schedule "constant:rate=$rate,duration=${surge_ms}ms" \
    --connections "$connections" --submissions-per-practice "$per_practice" --mix polite=100 --timeout 10s --catalogue "$repo/data/catalogue" \
    --run-id "surge-$$-$1" --verify --json "$work/report.json" --quiet >"$work/loadtest.log" 2>&1 || status=$?
  sed -n '/^totals/,/^verify/p' "$work/loadtest.log" | grep -v '^verify'
  [[ -n ${SURGE_TIMELINE:-} ]] && sed -n '/^over time/,/^status codes/p' "$work/loadtest.log"
  # --verify exits 1 for any submission not accepted exactly once. Lost, duplicated, another
  # practice's or unreadable ones fail here; not accepted because the client gave up is judged
  # below with the other load-sensitive verdicts.
  local verdict_json
  verdict_json=$(grep -o '"verdict":{[^}]*' "$work/report.json" 2>/dev/null | head -n1)
  field() { grep -o "\"$1\":[0-9]*" <<<"$verdict_json" | head -n1 | cut -d: -f2; }
  if ((status != 0)); then
    ((status == 1)) && [[ -n $verdict_json ]] \
      && [[ $(field duplicates) == 0 && $(field lost) == 0 && $(field wrong_practice) == 0 && $(field lookup_failed) == 0 ]] \
      || fail "sluice-loadtest exited $status (a --verify violation is 1): $(tail -n 20 "$work/loadtest.log")"
  fi

  # ---- 3. the verdict ------------------------------------------------------------------------
  local statuses gave_up unfinished metrics drops totals goodput p99_ms ratio
  statuses=$(grep -o '"statuses":{[^}]*}' "$work/report.json" | head -n1)
  [[ $statuses =~ ^\"statuses\":\{\"202\":[0-9]+(,\"503\":[0-9]+)?\}$ ]] \
    || fail "answers other than 202 and 503 (or transport errors): $statuses"

  metrics=$(curl -s -m 5 "http://127.0.0.1:$gateway_port/metrics")
  drops=$(sed -n 's/^sluice_redis_liveness_drops_total \([0-9]*\)$/\1/p' <<<"$metrics")
  [[ $drops == 0 ]] || fail "the gateway dropped its Redis connection $drops time(s)"
  if grep -q "Redis connection lost" "$work/gateway.log"; then
    fail "the gateway lost its Redis connection: $(grep "Redis connection lost" "$work/gateway.log" | head -n 3)"
  fi

  totals=$(grep -o '"totals":{[^}]*}' "$work/report.json" | head -n1)
  goodput=$(grep -o '"goodput_per_s":[0-9.eE+-]*' <<<"$totals" | cut -d: -f2)
  p99_ms=$(grep -o '"p99_ns":[0-9]*' "$work/report.json" | sed -n 2p | cut -d: -f2 | awk '{ printf "%.1f", $1 / 1e6 }')
  ratio=$(awk -v g="$goodput" -v c="$capacity" 'BEGIN { printf "%.2f", g / c }')
  gave_up=$(grep -o '"gave_up":[0-9]*' "$work/report.json" | head -n1 | cut -d: -f2)
  unfinished=$(grep -o '"unfinished":[0-9]*' "$work/report.json" | head -n1 | cut -d: -f2)
  local not_accepted
  not_accepted=$(field not_accepted)
  ((${not_accepted:-0} == ${gave_up:-0} + ${unfinished:-0})) \
    || fail "${not_accepted:-0} submissions not accepted, but only ${gave_up:-0} gave up and ${unfinished:-0} were still retrying"
  echo "surge, attempt $1: goodput ${goodput}/s over the whole run = ${ratio} x capacity (floor ${goodput_floor}); accepted p99 ${p99_ms} ms; ${gave_up:-0} gave up, ${unfinished:-0} still retrying at the end; Redis connection drops: 0"
  stack_stop
  shortfall=""
  [[ ${gave_up:-0} == 0 && ${unfinished:-0} == 0 ]] \
    || shortfall="${gave_up} gave up, ${unfinished} still retrying at the end"
  awk -v r="$ratio" -v f="$goodput_floor" 'BEGIN { exit !(r >= f) }' \
    || shortfall="${shortfall:+$shortfall; }goodput ${ratio} x capacity is below ${goodput_floor} x"
  [[ -z $shortfall ]]
}

if ! attempt 1; then
  echo "surge, attempt 1 missed: $shortfall; measuring again on a fresh stack" >&2
  attempt 2 || fail "both attempts missed; the second: $shortfall"
fi
echo "PASS surge"
