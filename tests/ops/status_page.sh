#!/usr/bin/env bash
# GET /status as a practice manager sees it, in a real browser (Debian's chromium, headless):
#   - without JavaScript (curl) the page already carries every figure;
#   - rendered by Chromium, its script has refreshed it from /status.json, and the figures it
#     shows match the gateway's /metrics: queue waiting, submissions today, Retry-After, accepting;
#   - the operator's message (status.message_file) is shown escaped, replaced and cleared by SIGHUP;
#   - once a worker drains the queue the estimate is "under a minute" from a measured drain rate;
#   - with Redis gone the page says submissions are not accepted, and why.
# Screenshots are saved beside the test's build directory (status_page*.png) for people to look at.
#
#   status_page.sh REPO BUILD_DIR     exit 77 (skipped) only when chromium is not installed
set -euo pipefail
repo=$1
build=$2
fail() { echo "FAIL (ops status page): $*" >&2; exit 1; }
command -v chromium >/dev/null || { echo "SKIP: chromium is not installed (ops/install-deps.sh)"; exit 77; }
command -v jq >/dev/null || fail "jq is missing"

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-ops-status.XXXXXX")
shots=$build/tests/ops
mkdir -p "$shots"
practices=60
extra_toml="[status]\nmessage_file = \"$work/message.txt\""
source "$repo/tests/support/stack.sh"
cleanup() {
  local status=$?
  stack_stop
  ((status == 0)) || stack_print_logs
  rm -rf "$work"
}
trap cleanup EXIT

browser() {  # browser ARGS... URL: headless Chromium with a private profile, bounded in time
  timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --user-data-dir="$work/chromium" --window-size=900,800 --virtual-time-budget=4000 "$@" 2>>"$work/chromium.log"
}
metric() { curl -sf -m 5 "http://127.0.0.1:$gateway_port/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
status_json() { curl -sf -m 5 "http://127.0.0.1:$gateway_port/status.json"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do "$@" && return 0; sleep 0.2; done
  fail "after ${seconds}s: $what"
}
# The figure a rendered page shows: the data-value of the element with this id, and its text.
dom_value() { grep -o "id=\"$1\" data-value=\"[^\"]*\"" "$2" | sed 's/.*data-value="\([^"]*\)"/\1/'; }

printf '%s\n' 'Planned <maintenance> 02:00-02:30 & "no" submissions then' >"$work/message.txt"
stack_start_redis
stack_credentials
stack_start_gateway

# ---- submissions, with no worker: they wait -----------------------------------------------------
timeout 60 "$build/loadtest/sluice-loadtest" --target "http://127.0.0.1:$gateway_port" --tokens "$work/tokens.csv" \
  --schedule constant:rate=30,duration=2s --mix polite=100 --connections 10 --timeout 10s \
  --catalogue "$repo/data/catalogue" --run-id "status-$$" --json "$work/report.json" --quiet \
  >"$work/loadtest.log" 2>&1 || fail "sluice-loadtest failed: $(tail -n 3 "$work/loadtest.log")"
accepted=$(metric 'sluice_admissions_total{outcome="accepted"}')
((accepted > 0)) || fail "no submission was accepted"
figures_settled() { [[ $(metric sluice_queue_waiting) == "$accepted" && $(metric sluice_submissions_today) == "$accepted" ]]; }
wait_for 10 "/metrics shows $accepted waiting and today (waiting $(metric sluice_queue_waiting), today $(metric sluice_submissions_today))" figures_settled
echo "accepted $accepted submissions; /metrics: waiting $(metric sluice_queue_waiting), today $(metric sluice_submissions_today)"
# A second gateway sampling the same shards (queue_stats.lua run here as it would) counts nothing twice.
day=$(date -u +%F)
for shard in $(seq 0 15); do
  redis-cli -p "$redis_port" EVAL "$(cat "$repo/gateway/queue_stats.lua")" 3 "sluice:{$shard}:q" \
    "sluice:{$shard}:stats:counted" "sluice:{$shard}:stats:day:$day" workers 691200 >/dev/null
done
sleep 1.5
[[ $(metric sluice_submissions_today) == "$accepted" ]] || fail "a second sampler changed today's count to $(metric sluice_submissions_today)"

# ---- without JavaScript: the page as sent ------------------------------------------------------
curl -sf -m 5 -D "$work/headers" "http://127.0.0.1:$gateway_port/status" >"$work/plain.html" || fail "GET /status failed"
grep -qi '^content-type: text/html; charset=utf-8' "$work/headers" || fail "/status is not text/html"
[[ $(dom_value queue_waiting "$work/plain.html") == "$accepted" ]] || fail "the page as sent shows another queue figure"
[[ $(dom_value submissions_today "$work/plain.html") == "$accepted" ]] || fail "the page as sent shows another today figure"
grep -q 'Planned &lt;maintenance&gt; 02:00-02:30 &amp; &quot;no&quot; submissions then' "$work/plain.html" \
  || fail "the operator's message is missing or not escaped"
grep -q '<h2 id="headline">Accepting submissions</h2>' "$work/plain.html" || fail "the page as sent does not say it accepts"
# No external resource: nothing fetched from another origin, no src= or stylesheet link at all.
if grep -Eiq '(src=|<link |@import|url\(|https?://)' "$work/plain.html"; then fail "the page names an external resource"; fi

# ---- in Chromium: the script refreshed it, and it agrees with /metrics --------------------------
browser --dump-dom "http://127.0.0.1:$gateway_port/status" >"$work/rendered.html" || fail "chromium failed: $(tail -n 5 "$work/chromium.log")"
grep -q 'data-refreshed="1"' "$work/rendered.html" || fail "the page's script did not refresh it from /status.json"
for pair in "queue_waiting:sluice_queue_waiting" "submissions_today:sluice_submissions_today" \
  "retry_after:sluice_admission_retry_backlog_seconds"; do
  id=${pair%%:*} name=${pair#*:}
  shown=$(dom_value "$id" "$work/rendered.html")
  exported=$(metric "$name")
  [[ -n $shown && $shown == "$exported" ]] || fail "the page shows $id = '$shown', /metrics $name = '$exported'"
  echo "rendered $id = $shown, /metrics $name = $exported"
done
[[ $(metric sluice_ready) == 1 ]] && grep -q '<h2 id="headline">Accepting submissions</h2>' "$work/rendered.html" \
  || fail "the rendered page and sluice_ready disagree on accepting"
grep -q 'Planned &lt;maintenance&gt; 02:00-02:30' "$work/rendered.html" || fail "the rendered page lost the message"
browser --screenshot="$shots/status_page.png" "http://127.0.0.1:$gateway_port/status" >/dev/null \
  || fail "chromium made no screenshot"
(($(stat -c %s "$shots/status_page.png") > 5000)) || fail "the screenshot is implausibly small"
[[ $(head -c 8 "$shots/status_page.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "the screenshot is not a PNG"

# ---- the operator's message: replaced, then cleared, by SIGHUP ---------------------------------
printf '%s\n' 'Extended: open until 23:59' >"$work/message.txt"
kill -HUP "$gateway_pid"
message_is() { [[ $(status_json | jq -r .message) == "$1" ]]; }
wait_for 10 "SIGHUP did not bring the new message" message_is 'Extended: open until 23:59'
rm "$work/message.txt"
kill -HUP "$gateway_pid"
wait_for 10 "SIGHUP with the file removed did not clear the message" message_is ''
curl -sf -m 5 "http://127.0.0.1:$gateway_port/status" | grep -q '<div id="message" hidden>' || fail "a cleared message still shows"

# ---- a worker drains the queue: the rate is measured, the estimate follows ----------------------
stack_start_worker
drained() { [[ $(metric sluice_queue_waiting) == 0 ]] && [[ $(status_json | jq -r .estimated_seconds) == 0 ]]; }
wait_for 60 "the queue did not drain (waiting $(metric sluice_queue_waiting))" drained
rate_measured() { [[ -n $(metric sluice_queue_drain_rate) ]]; }
wait_for 15 "no drain rate was measured" rate_measured
json=$(status_json)
[[ $(jq -r .text.estimate <<<"$json") == "under a minute" ]] || fail "estimate: $(jq -c .text <<<"$json")"
[[ $(jq -r .submissions_today <<<"$json") == "$accepted" ]] || fail "today changed while draining: $json"
echo "drained; sluice_queue_drain_rate $(metric sluice_queue_drain_rate); status.json: $(jq -c '{state, estimated_seconds, drain_per_second, submissions_today}' <<<"$json")"

# ---- Redis gone: not accepting, and why ---------------------------------------------------------
kill -9 "$redis_pid" && wait "$redis_pid" 2>/dev/null || true
redis_pid=""
not_ready() { [[ $(metric sluice_ready) == 0 ]]; }
wait_for 30 "the gateway still reports ready with Redis gone" not_ready
browser --dump-dom "http://127.0.0.1:$gateway_port/status" >"$work/down.html" || fail "chromium failed"
grep -q '<h2 id="headline">Not accepting submissions</h2>' "$work/down.html" || fail "the page does not say it refuses"
grep -q 'cannot reach its queue store' "$work/down.html" || fail "the page does not say why"
[[ $(status_json | jq -r '.accepting, .state' | tr '\n' ' ') == "false unreachable " ]] || fail "status.json: $(status_json)"
browser --screenshot="$shots/status_page_down.png" "http://127.0.0.1:$gateway_port/status" >/dev/null \
  || fail "chromium made no screenshot"
echo "OK: status page rendered by $(chromium --version 2>/dev/null | head -n1); screenshots in $shots"
