#!/usr/bin/env bash
# The alerting and dashboard files of ops/ as an operator loads them:
#   - promtool check rules / check config, and the rules' unit tests (promtool test rules);
#   - every alert has a runbook_url whose anchor is a heading of ops/RUNBOOK.md, and a test;
#   - the Grafana dashboard is well-formed JSON with queries (cmake -P json_well_formed.cmake);
#   - every sluice_* metric the rules and the dashboard name is one a real gateway or worker
#     exports (their /metrics' TYPE lines, read from processes started here), as are the label
#     values they select on.
#
#   prometheus.sh REPO BUILD_DIR
set -euo pipefail
repo=$1
build=$2
prom=$repo/ops/prometheus
fail() { echo "FAIL (ops prometheus): $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool is missing (Debian's prometheus package; ops/install-deps.sh)"

promtool check rules "$prom/recording.yml" "$prom/alerts.yml"
promtool check config "$prom/prometheus.yml"
(cd "$prom" && promtool test rules tests.yml)

# ---- runbook links and tests for every alert ----------------------------------------------------
# GitHub's anchors of the runbook's headings: lower case, punctuation dropped, spaces as '-'.
anchors=$(grep -E '^#{1,6} ' "$repo/ops/RUNBOOK.md" | sed -E 's/^#+ +//' | tr 'A-Z' 'a-z' \
  | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g')
alerts=$(sed -n 's/^ *- alert: *//p' "$prom/alerts.yml")
[[ -n $alerts ]] || fail "no alerts in alerts.yml"
links=$(grep -c 'runbook_url:' "$prom/alerts.yml")
(($(wc -l <<<"$alerts") == links)) || fail "$(wc -l <<<"$alerts") alerts but $links runbook_url annotations"
for url in $(sed -n 's/^ *runbook_url: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$prom/alerts.yml"); do
  [[ $url == ops/RUNBOOK.md#* ]] || fail "runbook_url $url does not point into ops/RUNBOOK.md"
  grep -qx -- "${url#*#}" <<<"$anchors" || fail "runbook_url $url: no such heading in ops/RUNBOOK.md"
done
for alert in $alerts; do
  grep -q "alertname: $alert\$" "$prom/tests.yml" || fail "alert $alert has no test in tests.yml"
done
echo "alerts: $(wc -l <<<"$alerts"), each with a runbook section and a test"

# ---- the dashboard ------------------------------------------------------------------------------
cmake -DFILE="$repo/ops/grafana/sluice.json" -P "$repo/tests/ops/json_well_formed.cmake"

# ---- the metric names, against real processes ---------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-ops-prometheus.XXXXXX")
practices=10
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
worker_port=$(grep -o 'metrics on 127.0.0.1:[0-9]*' "$work/worker.out" | head -n1)
worker_port=${worker_port##*:}
curl -sf -m 5 "http://127.0.0.1:$gateway_port/metrics" >"$work/gateway.metrics" || fail "no gateway /metrics"
curl -sf -m 5 "http://127.0.0.1:$worker_port/metrics" >"$work/worker.metrics" || fail "no worker /metrics"
exported=$(cat "$work/gateway.metrics" "$work/worker.metrics" | sed -n 's/^# TYPE \([a-z_:]*\) .*/\1/p' | sort -u)
# Named by a rule or a panel but not exported yet, each with why (the test says so, every run).
pending="sluice_credentials_earliest_expiry_timestamp_seconds"
used=$(cat "$prom/recording.yml" "$prom/alerts.yml" "$repo/ops/grafana/sluice.json" | grep -o 'sluice_[a-z_]*' \
  | sed -E 's/_(bucket|sum|count)$//' | sort -u)
for name in $used; do
  if grep -qx "$name" <<<"$exported"; then continue; fi
  if [[ " $pending " == *" $name "* ]]; then
    echo "PENDING: $name is named by alerts.yml but not exported yet (ops/RUNBOOK.md, SluiceCredentialsExpireBeforeDeadline)"
    continue
  fi
  fail "$name is named by the rules or the dashboard but neither the gateway nor the worker exports it"
done
# The label values the rules select on.
for sample in 'sluice_admissions_total{outcome="accepted"}' 'sluice_admissions_total{outcome="replayed"}' \
  'sluice_admissions_total{outcome="shed"}' 'sluice_http_timeouts_total{phase="header"}' 'sluice_ready ' \
  'sluice_draining '; do
  grep -qF "$sample" "$work/gateway.metrics" || fail "the gateway's /metrics has no $sample"
done
grep -q '^sluice_http_request_duration_seconds_bucket{route="submit",le=' "$work/gateway.metrics" \
  || fail "no route label on sluice_http_request_duration_seconds_bucket"
grep -q '^sluice_redis_round_trip_seconds_bucket{le=' "$work/gateway.metrics" || fail "no sluice_redis_round_trip_seconds_bucket"
echo "metric names: $(wc -l <<<"$used") used, all exported by sluice-gateway or sluice-worker (pending: $pending)"
echo "PASS ops prometheus"
