#!/usr/bin/env bash
# Failover under load on a Redis Cluster: a sluice-loadtest surge with --verify against the
# gateway and a worker on a local cluster of 3 masters and 3 replicas (ops/redis-cluster,
# cluster-node-timeout 1000 ms), durability.replicas = 1, while one master is killed with kill -9.
#
#   cluster_failover.sh REPO BUILD_DIR
#
# It passes when --verify finds every submission accepted exactly once (0 acknowledged lost,
# 0 duplicated) and calculated, when the only answers seen were 202, 429 and 503, and when a
# probe practice of the dead master's shards answered 503 (with Retry-After) after the kill and
# 202 again once its replica was promoted. It prints how long those shards answered 503 (kill -9
# to the probe's first 202), and the statuses the probes of the other masters' shards saw (all
# 202 expected; a 503 there fails the test).
#
# Bounded, loopback: 200 connections, 1,200 practices over 20 s, every wait with a deadline.
# Processes are stopped by their pids (stack.sh, ops/redis-cluster stop).
set -euo pipefail
repo=$1
build=$2

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cluster-failover.XXXXXX")
practices=1200
fail() { echo "FAIL (cluster failover): $*" >&2; exit 1; }
source "$repo/tests/support/stack.sh"
cleanup() {
  local status=$?
  stack_stop
  ((status == 0)) || stack_print_logs
  rm -rf "$work"
}
trap cleanup EXIT

cluster_node_timeout_ms=1000
stack_start_cluster
extra_toml="[durability]\nreplicas = 1\nwait_timeout_ms = 500\n"
export SLUICE_REDIS_TIMEOUT_MS=2000  # ([redis] is stack.sh's section)
stack_credentials
# Probe practices (letter Y), not in the load's tokens file: one request each 100 ms while the
# master is down, under their own rate limits.
"$build/loadtest/sluice-loadtest" generate --practices 24 --letter Y --credentials "$work/probe-credentials.csv" \
  --tokens "$work/probe-tokens.csv" >/dev/null
grep -v '^#' "$work/probe-credentials.csv" >>"$work/credentials.csv"
stack_start_gateway
stack_start_worker

# probe PRACTICE TOKEN KEY: "STATUS SUBMISSION_ID RETRY_AFTER" of one submission.
probe() {
  local out
  out=$(curl -s -m 3 -D - -o "$work/probe.body" -X POST "http://127.0.0.1:$gateway_port/v1/submissions" \
    -H "Authorization: Bearer $2" -H "Idempotency-Key: $3" -H "Content-Type: application/json" \
    --data-binary "@$work/body-$1.json" || true)
  local status retry id
  status=$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' <<<"$out" | tr -d '\r' || true)
  retry=$(grep -i '^retry-after:' <<<"$out" | tr -d '\r' | awk '{print $2}' || true)
  id=$(grep -o '"submission_id":"[^"]*"' "$work/probe.body" 2>/dev/null | cut -d'"' -f4 || true)
  echo "${status:-000} ${id:--} ${retry:--}"
}

# The probes' shards (from their first receipts), and which of them the victim serves: the victim
# is the master of the first probe's shard. A node answers a key of a slot it does not serve
# with MOVED.
declare -A shard_of=()
while IFS=, read -r practice token; do
  [[ $practice == \#* || -z $practice ]] && continue
  "$build/loadtest/sluice-loadtest" body --practice "$practice" --catalogue "$repo/data/catalogue" >"$work/body-$practice.json"
  read -r status id _ < <(probe "$practice" "$token" "warm-$practice")
  [[ $status == 202 ]] || fail "probe $practice: $status before the kill"
  shard_of[$practice]=${id%%-*}
done <"$work/probe-tokens.csv"
first_probe=$(grep -v '^#' "$work/probe-tokens.csv" | head -n1 | cut -d, -f1)
victim_port=""
for i in 0 1 2 3 4 5; do
  port=$(cat "$work/cluster/node-$i.port")
  if [[ $(redis-cli -p "$port" exists "sluice:{${shard_of[$first_probe]}}:q" 2>&1) =~ ^[0-9]+$ ]] &&
    redis-cli -p "$port" role | head -n1 | grep -qx master; then
    victim_port=$port victim_pid=$(cat "$work/cluster/node-$i.pid")
  fi
done
[[ -n $victim_port ]] || fail "no master serves shard ${shard_of[$first_probe]}"
victim_probes=() other_probes=()
while IFS=, read -r practice token; do
  [[ $practice == \#* || -z $practice ]] && continue
  if [[ $(redis-cli -p "$victim_port" exists "sluice:{${shard_of[$practice]}}:q" 2>&1) =~ ^[0-9]+$ ]]; then
    victim_probes+=("$practice,$token")
  else
    other_probes+=("$practice,$token")
  fi
done <"$work/probe-tokens.csv"
((${#other_probes[@]} > 0)) || fail "every probe practice is on the victim"

# ---- the surge, and the kill ---------------------------------------------------------------
timeout 150 "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$gateway_port" --tokens "$work/tokens.csv" \
  --schedule surge:practices=$practices,window=20s,peak_share=0.6 --connections 200 --timeout 5s \
  --catalogue "$repo/data/catalogue" --run-id "cluster-failover-$$" --verify --verify-wait 60s \
  --json "$work/report.json" --quiet >"$work/loadtest.log" 2>&1 &
load_pid=$!
sleep 6
shortfalls_before=$(curl -s "http://127.0.0.1:$gateway_port/metrics" | sed -n 's/^sluice_replication_shortfalls_total //p')
kill -9 "$victim_pid"
killed=$(now_ms)
first_503="" last_503="" recovered="" victim_503=0 bad_retry=0 n=0
declare -A other_statuses=()
while [[ -z $recovered ]] && (($(now_ms) - killed < 30000)); do
  n=$((n + 1))
  IFS=, read -r practice token <<<"${victim_probes[n % ${#victim_probes[@]}]}"
  read -r status _ retry < <(probe "$practice" "$token" "after-$n")
  case "$status" in
    503) victim_503=$((victim_503 + 1)); last_503=$(now_ms); [[ -n $first_503 ]] || first_503=$last_503; [[ $retry != - ]] || bad_retry=1 ;;
    202) [[ -z $first_503 ]] || recovered=$(now_ms) ;;
    *) fail "a probe of the dead master's shards answered $status" ;;
  esac
  IFS=, read -r practice token <<<"${other_probes[n % ${#other_probes[@]}]}"
  read -r status _ _ < <(probe "$practice" "$token" "other-$n")
  other_statuses[$status]=$((${other_statuses[$status]:-0} + 1))
  sleep 0.1
done
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""

# ---- the verdict -----------------------------------------------------------------------------
cat "$work/loadtest.log"
[[ -s "$work/report.json" ]] || fail "sluice-loadtest wrote no report (exit $load_status)"
verify_line=$(grep '^verify: ' "$work/loadtest.log" || true)
statuses=$(grep -o '"statuses":{[^}]*}' "$work/report.json" | head -n1)
others=""
for s in "${!other_statuses[@]}"; do others+="$s:${other_statuses[$s]} "; done
echo "cluster failover: the dead master's shards answered 503 for $((${recovered:-$(now_ms)} - killed)) ms" \
  "(kill -9 to the first 202 after promotion; first 503 $((${first_503:-$killed} - killed)) ms after the kill," \
  "last 503 $((${last_503:-$killed} - killed)) ms after it, $victim_503 probes refused);" \
  "other masters' probes: ${others:-none}; load statuses $statuses"
echo "shortfalls (WAIT answered fewer than 1 replica): $shortfalls_before before the kill, $(curl -s "http://127.0.0.1:$gateway_port/metrics" |
  sed -n 's/^sluice_replication_shortfalls_total //p') in all"
[[ -n $first_503 ]] || fail "the dead master's shards never answered 503"
[[ -n $recovered ]] || fail "the dead master's shards did not answer 202 within 30 s of the kill"
((bad_retry == 0)) || fail "a 503 without Retry-After"
for s in "${!other_statuses[@]}"; do [[ $s == 202 ]] || fail "a probe of another master's shards answered $s"; done
((load_status == 0)) || fail "sluice-loadtest exited $load_status: $verify_line"
[[ $verify_line == "verify: OK: $practices submissions accepted exactly once, 0 lost, 0 duplicated"* ]] \
  || fail "verify: $verify_line"
grep -q "; $practices calculated" <<<"$verify_line" || fail "not every submission was calculated: $verify_line"
for status in $(grep -o '"[0-9]*":' <<<"$statuses" | tr -d '":'); do
  [[ $status =~ ^(202|429|503)$ ]] || fail "an answer other than 202, 429 or 503: $status"
done
echo "PASS cluster failover"
