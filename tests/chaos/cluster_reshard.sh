#!/usr/bin/env bash
# Resharding under load on a Redis Cluster: while a sluice-loadtest surge with --verify runs
# against the gateway and a worker on a local cluster of 3 masters and 3 replicas
# (ops/redis-cluster), the busiest queue shard's slot is moved from its master to another one the
# way `redis-cli --cluster reshard` moves a slot: the target IMPORTING, the source MIGRATING, the
# keys moved with MIGRATE a few at a time (slowly, and the slot left MIGRATING for 5 s at least,
# so that the gateway and the worker meet ASK and TRYAGAIN for seconds, not milliseconds), then
# CLUSTER SETSLOT NODE on every master.
#
#   cluster_reshard.sh REPO BUILD_DIR
#
# It passes when the slot ended on the target with no key left on the source, --verify finds every
# submission accepted exactly once (0 lost, 0 duplicated) and calculated, and the only answers
# seen were 202, 429 and 503. It prints how long the migration took, how many keys it moved, and
# the load's statuses.
#
# Bounded, loopback: 200 connections, 1,200 practices over 20 s, every wait with a deadline.
# Processes are stopped by their pids (stack.sh, ops/redis-cluster stop).
set -euo pipefail
repo=$1
build=$2

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cluster-reshard.XXXXXX")
practices=1200
fail() { echo "FAIL (cluster reshard): $*" >&2; exit 1; }
source "$repo/tests/support/stack.sh"
cleanup() {
  local status=$?
  stack_stop
  ((status == 0)) || stack_print_logs
  rm -rf "$work"
}
trap cleanup EXIT

stack_start_cluster
export SLUICE_REDIS_TIMEOUT_MS=2000  # ([redis] is stack.sh's section)
stack_credentials
stack_start_gateway
stack_start_worker
any_port=$(cat "$work/cluster/node-0.port")

# owner SLOT: "ID PORT" of the master serving SLOT, from CLUSTER NODES (slot fields "a-b" or "n";
# "[n->-id]" and "[n-<-id]" mark a migration and are skipped).
owner() {
  redis-cli -p "$any_port" cluster nodes | awk -v slot="$1" '
    $3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        if ($i ~ /^\[/) continue
        n = split($i, r, "-"); lo = r[1]; hi = (n == 2 ? r[2] : r[1])
        if (slot + 0 >= lo + 0 && slot + 0 <= hi + 0) { split($2, a, "[:@]"); print $1, a[2]; exit }
      }
    }'
}

# ---- the surge -------------------------------------------------------------------------------
timeout 150 "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$gateway_port" --tokens "$work/tokens.csv" \
  --schedule surge:practices=$practices,window=20s,peak_share=0.6 --connections 200 --timeout 5s \
  --catalogue "$repo/data/catalogue" --run-id "cluster-reshard-$$" --verify --verify-wait 60s \
  --json "$work/report.json" --quiet >"$work/loadtest.log" 2>&1 &
load_pid=$!
sleep 8  # into the surge's peak

# The busiest shard (the most keys in its slot so far: receipts, idempotency records, its stream).
busiest="" most=-1 slot="" source_id="" source_port=""
shards=$(sed -n 's/^shards *= *//p' "$work/sluice.toml" | head -n1)
for ((s = 0; s < ${shards:-16}; s++)); do
  k=$(redis-cli -p "$any_port" cluster keyslot "sluice:{$s}:q")
  read -r id port < <(owner "$k")
  n=$(redis-cli -p "$port" cluster countkeysinslot "$k")
  if ((n > most)); then busiest=$s most=$n slot=$k source_id=$id source_port=$port; fi
done
((most > 0)) || fail "no shard has a key after 8 s of load"
target_id="" target_port=""
while read -r id address flags _; do
  [[ $flags == *master* && $id != "$source_id" ]] || continue
  target_id=$id target_port=${address#*:} target_port=${target_port%@*}
  break
done < <(redis-cli -p "$any_port" cluster nodes)
[[ -n $source_id && -n $target_id ]] || fail "no source or target for slot $slot"
echo "cluster reshard: moving slot $slot (shard $busiest, $most keys) from :$source_port to :$target_port"

# ---- the migration, under load ---------------------------------------------------------------
started=$(now_ms)
redis-cli -p "$target_port" cluster setslot "$slot" importing "$source_id" | grep -qx OK || fail "IMPORTING refused"
redis-cli -p "$source_port" cluster setslot "$slot" migrating "$target_id" | grep -qx OK || fail "MIGRATING refused"
moved=0
while (($(now_ms) - started < 60000)); do
  mapfile -t keys < <(redis-cli -p "$source_port" cluster getkeysinslot "$slot" 5)
  if ((${#keys[@]} == 0 || ${#keys[0]} == 0)); then
    (($(now_ms) - started >= 5000)) && break  # the slot stays MIGRATING for 5 s at least
    sleep 0.2
    continue
  fi
  reply=$(redis-cli -p "$source_port" migrate 127.0.0.1 "$target_port" "" 0 5000 keys "${keys[@]}")
  [[ $reply == OK || $reply == NOKEY ]] || fail "MIGRATE answered: $reply"
  moved=$((moved + ${#keys[@]}))
  sleep 0.3  # a slow migration: the window in which clients meet ASK and TRYAGAIN
done
left=$(redis-cli -p "$source_port" cluster countkeysinslot "$slot")
[[ $left == 0 ]] || fail "$left keys of slot $slot still on the source after 60 s"
for i in 0 1 2 3 4 5; do
  port=$(cat "$work/cluster/node-$i.port")
  redis-cli -p "$port" role | head -n1 | grep -qx master || continue
  redis-cli -p "$port" cluster setslot "$slot" node "$target_id" | grep -qx OK || fail "SETSLOT NODE refused by :$port"
done
migration_ms=$(($(now_ms) - started))
read -r owner_id _ < <(owner "$slot")
[[ $owner_id == "$target_id" ]] || fail "slot $slot is served by $owner_id after the migration, not the target"

load_status=0
wait "$load_pid" || load_status=$?
load_pid=""

# ---- the verdict -----------------------------------------------------------------------------
cat "$work/loadtest.log"
[[ -s "$work/report.json" ]] || fail "sluice-loadtest wrote no report (exit $load_status)"
verify_line=$(grep '^verify: ' "$work/loadtest.log" || true)
statuses=$(grep -o '"statuses":{[^}]*}' "$work/report.json" | head -n1)
echo "cluster reshard: slot $slot moved in $migration_ms ms ($moved keys, in batches of 5 every 300 ms, MIGRATING for 5 s at least)" \
  "while the load ran; load statuses $statuses; now $(redis-cli -p "$target_port" cluster countkeysinslot "$slot") keys on the target"
((load_status == 0)) || fail "sluice-loadtest exited $load_status: $verify_line"
[[ $verify_line == "verify: OK: $practices submissions accepted exactly once, 0 lost, 0 duplicated"* ]] \
  || fail "verify: $verify_line"
grep -q "; $practices calculated" <<<"$verify_line" || fail "not every submission was calculated: $verify_line"
for status in $(grep -o '"[0-9]*":' <<<"$statuses" | tr -d '":'); do
  [[ $status =~ ^(202|429|503)$ ]] || fail "an answer other than 202, 429 or 503: $status"
done
echo "PASS cluster reshard"
