#!/usr/bin/env bash
# End to end: `ops/run-stack` starts redis-server, PostgreSQL, the gateway and a worker from this
# build, every curl command it prints works exactly as printed (with the ids it says to fill in):
# submit, status, then the sign-off journey (declare with the statement digest, the commissioner
# approves, the statement says approved, the operator's outstanding list), and `ops/run-stack
# stop` stops them all by their pids.
# Usage (from ctest): run_stack_test.sh REPO BUILD_DIR
set -euo pipefail
repo=$1
build=$2
state=$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e-stack.XXXXXX")
export SLUICE_STATE_DIR=$state SLUICE_BUILD_DIR=$build SLUICE_LISTEN_PORT=0
export SLUICE_EMBEDDED_REDIS_PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
unset SLUICE_REDIS_URL
cleanup() { "$repo/ops/run-stack" stop >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$repo/ops/run-stack") || { cat "$state"/*.log* >&2 2>/dev/null; fail "ops/run-stack failed"; }
echo "$out"
health_line=$(grep -E '^\s+curl .*/healthz' <<<"$out" | head -n1 | sed 's/^ *//')
submit_line=$(grep -E '^\s+curl .*/v1/submissions -H' <<<"$out" | head -n1 | sed 's/^ *//')
[[ -n $health_line && -n $submit_line ]] || fail "run-stack did not print both curl commands"
answer=$(bash -c "$health_line")  # exactly as printed
grep -q '^HTTP/1.1 200' <<<"$answer" || fail "the printed healthz curl did not get 200: $answer"
answer=$(bash -c "$submit_line" 2>/dev/null)  # exactly as printed
grep -q '^HTTP/1.1 202' <<<"$answer" || fail "the printed submission curl did not get 202: $answer"
location=$(grep -i '^Location:' <<<"$answer" | tr -d '\r' | cut -d' ' -f2)
id=${location##*/}
status_line=$(grep -E '^\s+curl .*/v1/submissions/\$id ' <<<"$out" | head -n1 | sed 's/^ *//')
[[ -n $status_line ]] || fail "run-stack did not print the status curl"
status_line="id=$id; $status_line"
answer=$(bash -c "$status_line" 2>/dev/null)
grep -q '^HTTP/1.1 200' <<<"$answer" && grep -Eq '"status":"(queued|processing|calculated)"' <<<"$answer" \
  || fail "the printed status curl, with the Location filled in, did not show the submission: $answer"
# The worker calculates it: queued -> calculated, with a result.
for _ in $(seq 1 100); do
  answer=$(bash -c "$status_line" 2>/dev/null)
  grep -q '"status":"calculated"' <<<"$answer" && break
  sleep 0.1
done
grep -q '"status":"calculated"' <<<"$answer" && grep -q '"payment_gbp"' <<<"$answer" \
  || fail "the submission was not calculated by the stack's worker within 10 s: $answer"
worker_pid=$(cat "$state/worker.pid")
# ... and recorded it in the private PostgreSQL (the system of record) before acknowledging it.
postgres_pid=$(cat "$state/postgres.pid")
recorded=$(/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p "$(cat "$state/postgres.port")" -U sluice -d sluice -qtAc \
  "SELECT status FROM submissions WHERE submission_id = '$id'")
[[ $recorded == calculated ]] || fail "the submission is not recorded as calculated in the ledger: '$recorded'"

# The sign-off journey, each line as printed.
printed() { grep -E "$1" <<<"$out" | head -n1 | sed 's/^ *//'; }
sha_line=$(printed '^\s+sha=')
declare_line=$(printed '^\s+curl .*/v1/declarations -H')
decision_line=$(printed '^\s+curl .*/decision -H')
statement_line=$(printed '^\s+curl .*/v1/statements/')
outstanding_line=$(printed '^\s+curl .*/v1/admin/outstanding')
[[ -n $sha_line && -n $declare_line && -n $decision_line && -n $statement_line && -n $outstanding_line ]] \
  || fail "run-stack did not print the sign-off curls"
answer=$(bash -c "id=$id; $sha_line; $declare_line" 2>/dev/null)
grep -q '^HTTP/1.1 201' <<<"$answer" || fail "the printed declaration did not get 201: $answer"
declaration=$(grep -i '^Location:' <<<"$answer" | tr -d '\r' | cut -d' ' -f2)
declaration=${declaration##*/}
answer=$(bash -c "declaration=$declaration; $decision_line" 2>/dev/null)
grep -q '^HTTP/1.1 200' <<<"$answer" && grep -q '"status":"approved"' <<<"$answer" \
  || fail "the printed decision did not approve: $answer"
answer=$(bash -c "$statement_line" 2>/dev/null)
grep -q '^HTTP/1.1 200' <<<"$answer" && grep -q '"scheme":"QOF","state":"approved"' <<<"$answer" \
  || fail "the printed statement does not say approved: $answer"
answer=$(bash -c "$outstanding_line" 2>/dev/null)
grep -q '^HTTP/1.1 200' <<<"$answer" && grep -q '"practice":"A81001"' <<<"$answer" \
  || fail "the printed outstanding list did not answer: $answer"
echo "sign-off journey: declared $declaration, approved, statement and outstanding read"

gateway_pid=$(cat "$state/gateway.pid")
redis_pid=$(cat "$state/redis.pid")
redis_port=$(cat "$state/redis.port")
[[ $(redis-cli -p "$redis_port" config get appendonly | tail -n1) == yes ]] \
  || fail "the embedded redis-server does not run with appendonly yes"
[[ $(redis-cli -p "$redis_port" config get appendfsync | tail -n1) == everysec ]] \
  || fail "the embedded redis-server does not run with appendfsync everysec"
[[ -s $state/demo-token && -s $state/credentials.csv ]] || fail "no demo credentials written"
token=$(cut -d, -f2 "$state/demo-token")
[[ ${#token} -eq 43 ]] || fail "demo token is not 43 base64url characters"
hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
grep -q "^A81001,$hash," "$state/credentials.csv" || fail "credentials.csv does not hold the token's SHA-256"

"$repo/ops/run-stack" stop
! kill -0 "$gateway_pid" 2>/dev/null || fail "gateway still running after stop"
! kill -0 "$worker_pid" 2>/dev/null || fail "worker still running after stop"
! kill -0 "$redis_pid" 2>/dev/null || fail "redis-server still running after stop"
! kill -0 "$postgres_pid" 2>/dev/null || fail "postgres still running after stop"
echo "PASS"
