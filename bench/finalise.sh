#!/usr/bin/env bash
# bench/finalise.sh: how long `sluice-admin finalise` takes for a national period (issue 16 item 1:
# 8,000 practices x 76 indicators "finalised in seconds"), measured in one run on this machine,
# beside an anchor: PostgreSQL itself reading the same rows and writing as many final rows in
# plain SQL.
#
# A fresh PostgreSQL 15 (initdb into the temporary directory; fsync and synchronous_commit ON, as
# in production). The schema is made by `sluice-admin` itself (it applies the ledger's migrations
# before finalising). PRACTICES current QOF submissions of 2023-24 are loaded in SQL as the worker
# leaves them (submissions row, submission_inputs with the body, whose SHA-256 is the row's
# content_sha256, and submission_registers): each body has all 76 QOF indicators of
# data/catalogue/2023-24.toml (varied numerators and denominators, numerator <= denominator) and a
# register for each of its 21 prevalence-adjusted groups; list sizes 3,000 to 15,000. (The
# submissions' own provisional result is a placeholder: finalise never reads it.) Then VACUUM
# ANALYZE, as a loaded production database would be.
#
# Measured, in this order:
#   anchor     psql, one transaction: pass 1's aggregate over the same rows, then INSERT ... SELECT
#              of one row per current submission (its body as the "result", the same size class)
#              into a copy of final_results; the wall time psql reports, and the table emptied
#   finalise   `sluice-admin finalise --period 2023-24` (batch BATCH): wall time, its CPU (user +
#              system) in total and per submission, its peak RSS (/usr/bin/time), PostgreSQL's
#              CPU over the same run
#   again      the same command once more: the idempotent no-op (every submission already final)
#   decay 0    period_finals deleted (with it every final row), then finalise again with
#              MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0: jemalloc returns freed pages at once,
#              so its peak RSS is what was live (by default freed pages stay for 10 s, the run's
#              length, and peak RSS grows with the run, not with what is held)
# and the check that final_results holds exactly PRACTICES rows of generation 1 and the period is
# 'final' (otherwise the run is INVALID).
#
# Environment: PRACTICES (default 8000), BATCH (default 500), SLUICE_ADMIN,
# SLUICE_PG_BINDIR (default /usr/lib/postgresql/15/bin). Loopback only; every process it starts is
# stopped by its pid; its files live in one temporary directory, removed on exit. Not a test: it
# exits 0 whether or not "in seconds" is met (1 only if it could not measure).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

admin_bin=${SLUICE_ADMIN:-$repo_root/build/release/admin/sluice-admin}
pg_bin=${SLUICE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
practices=${PRACTICES:-8000}
batch=${BATCH:-500}
catalogue_dir=$repo_root/data/catalogue
period=2023-24

bench_init finalise
[[ $practices =~ ^[1-9][0-9]*$ ]] || die "PRACTICES must be a whole number from 1, got '$practices'"
[[ $batch =~ ^[1-9][0-9]*$ ]] || die "BATCH must be a whole number from 1, got '$batch'"
[[ -x $admin_bin ]] || die "build first: cmake --build --preset release --target sluice-admin (or set SLUICE_ADMIN)"
[[ -x $pg_bin/initdb && -x $pg_bin/pg_ctl ]] || die "no PostgreSQL in $pg_bin (ops/install-deps.sh; or set SLUICE_PG_BINDIR)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"

# ---- PostgreSQL: bench/lib.sh's (start_postgres, psql_run, pg_cpu_ticks) -----------------------

trap 'pg_stop; bench_cleanup' EXIT

start_postgres
url="postgresql://sluice@$host:$pg_port/postgres"
cat >"$work/sluice.toml" <<EOF
[ledger]
url = "$url"
[catalogue]
dir = "$catalogue_dir"
EOF

# The schema, by the tool itself (finalising another, empty period: nothing to do).
"$admin_bin" --config "$work/sluice.toml" finalise --period 2024-25 >"$work/schema.out" 2>&1 ||
    die "sluice-admin could not make the schema: $(cat "$work/schema.out")"

# ---- the load -----------------------------------------------------------------------------------
codes=$(grep -E '^[A-Z]+[0-9]+ +=' "$catalogue_dir/$period.toml" | awk '{ printf "%s\x27%s\x27", sep, $1; sep = "," }')
groups=$(grep -E '^[A-Z]+ +=.*prevalence_adjusted = true' "$catalogue_dir/$period.toml" |
    awk '{ printf "%s\x27%s\x27", sep, $1; sep = "," }')
n_codes=$(grep -cE '^[A-Z]+[0-9]+ +=' "$catalogue_dir/$period.toml")
n_groups=$(grep -cE '^[A-Z]+ +=.*prevalence_adjusted = true' "$catalogue_dir/$period.toml")
note "loading $practices submissions x $n_codes indicators, $n_groups registers each"
load_start=$SECONDS
psql_run >/dev/null <<EOF
BEGIN;
CREATE TEMP TABLE bodies AS
SELECT i, 'P' || lpad(i::text, 5, '0') AS practice, 3000 + (i * 7919) % 12001 AS list,
       '{"practice": "P' || lpad(i::text, 5, '0') || '", "period": "$period", "scheme": "QOF", "list_size": '
       || (3000 + (i * 7919) % 12001) || ', "items": ['
       || (SELECT string_agg('{"code": "' || c.code || '", "numerator": ' || ((50 + (i * c.k) % 451) * ((i + 13 * c.k) % 101) / 100)
                             || ', "denominator": ' || (50 + (i * c.k) % 451) || '}', ', ' ORDER BY c.k)
           FROM unnest(ARRAY[$codes]) WITH ORDINALITY AS c (code, k))
       || '], "registers": ['
       || (SELECT string_agg('{"condition": "' || g.code || '", "size": ' || ((3000 + (i * 7919) % 12001) * (1 + (i + g.k) % 9) / 200)
                             || '}', ', ' ORDER BY g.k)
           FROM unnest(ARRAY[$groups]) WITH ORDINALITY AS g (code, k))
       || ']}' AS body
FROM generate_series(1, $practices) AS i;
INSERT INTO submissions (submission_id, practice, period, scheme, received_at, content_sha256, status, attempts,
                         result, points, payment_gbp, calculated_at)
SELECT '0-' || lpad(i::text, 32, '0'), practice, '$period', 'QOF', now(), encode(sha256(convert_to(body, 'UTF8')), 'hex'),
       'calculated', 1, '{}', 0, 0, now()
FROM bodies;
INSERT INTO submission_inputs (submission_id, list_size, body) SELECT '0-' || lpad(i::text, 32, '0'), list, body FROM bodies;
INSERT INTO submission_registers (submission_id, group_code, size)
SELECT '0-' || lpad(i::text, 32, '0'), r->>'condition', (r->>'size')::bigint
FROM bodies, jsonb_array_elements(body::jsonb -> 'registers') AS r;
COMMIT;
VACUUM ANALYZE;
EOF
loaded=$(psql_value "SELECT count(*) FROM submission_inputs")
[[ $loaded == "$practices" ]] || die "loaded $loaded submissions, not $practices"
body_bytes=$(psql_value "SELECT avg(length(body))::int FROM submission_inputs")
note "loaded in $((SECONDS - load_start)) s (bodies of $body_bytes bytes on average)"

# ---- the anchor: the same reads and writes in plain SQL ------------------------------------------
psql_value "CREATE TABLE anchor_results (LIKE final_results INCLUDING DEFAULTS)" >/dev/null
anchor_ms=$(psql_run <<EOF | awk '/^Time:/ { t += $2 } END { printf "%.0f", t }'
\timing on
BEGIN;
SELECT count(*) FROM (SELECT r.group_code, sum(r.size), sum(i.list_size), count(*) FROM current_submissions c
  JOIN submission_inputs i ON i.submission_id = c.submission_id JOIN submission_registers r ON r.submission_id = c.submission_id
  WHERE c.period = '$period' AND c.scheme = 'QOF' AND c.status = 'calculated' GROUP BY r.group_code) AS pass_1;
INSERT INTO anchor_results (period, practice, scheme, submission_id, generation, result, points, payment_gbp)
SELECT c.period, c.practice, c.scheme, c.submission_id, 1, i.body || ' ', 1.00, 1.00 FROM current_submissions c
  JOIN submission_inputs i ON i.submission_id = c.submission_id WHERE c.period = '$period' AND c.status = 'calculated';
COMMIT;
EOF
)
psql_value "DROP TABLE anchor_results" >/dev/null

# ---- finalise -----------------------------------------------------------------------------------
run_finalise() {
    local name=$1 pg_before pg_after start_ns end_ns
    pg_before=$(pg_cpu_ticks)
    start_ns=${EPOCHREALTIME/./}
    /usr/bin/time -f "%U %S %M" -o "$work/$name.time" \
        "$admin_bin" --config "$work/sluice.toml" finalise --period "$period" --batch "$batch" \
        >"$work/$name.out" 2>"$work/$name.err" || die "finalise ($name) failed: $(cat "$work/$name.err")"
    end_ns=${EPOCHREALTIME/./}
    pg_after=$(pg_cpu_ticks)
    read -r user sys rss_kb <"$work/$name.time"
    wall_s=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
    cpu_s=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    cpu_us_each=$(awk -v c="$cpu_s" -v n="$practices" 'BEGIN { printf "%.0f", c * 1e6 / n }')
    pg_cpu_s=$(awk -v t=$((pg_after - pg_before)) -v hz="$(clock_ticks_per_second)" 'BEGIN { printf "%.2f", t / hz }')
    rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
}

note "finalising"
run_finalise first
first=("$wall_s" "$cpu_s" "$cpu_us_each" "$rss_mb" "$pg_cpu_s")
written=$(psql_value "SELECT count(*) FROM final_results WHERE generation = 1")
state=$(psql_value "SELECT state FROM period_finals WHERE period = '$period'")
run_finalise again
again=("$wall_s" "$cpu_s" "$cpu_us_each" "$rss_mb" "$pg_cpu_s")
rewritten=$(psql_value "SELECT count(*) FROM final_results WHERE calculated_at > (SELECT finished_at FROM period_finals WHERE period = '$period')")
# Once more from scratch with jemalloc returning freed pages at once, so that peak RSS shows what is
# live (by default jemalloc keeps freed pages for dirty_decay_ms = 10 s, longer than the run).
psql_value "DELETE FROM period_finals WHERE period = '$period'" >/dev/null
MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 run_finalise decay0
decay0=("$wall_s" "$cpu_s" "$cpu_us_each" "$rss_mb" "$pg_cpu_s")
written_decay0=$(psql_value "SELECT count(*) FROM final_results")

echo "bench/finalise.sh: $practices practices x $n_codes indicators ($period), batch $batch, $(date -u +%FT%TZ)"
machine_line
echo "PostgreSQL $(psql_value 'SHOW server_version'), fsync on, synchronous_commit on; bodies $body_bytes bytes on average"
table_columns 30 10 10 14 12 12
print_row run "wall s" "CPU s" "CPU µs/sub" "peak RSS MB" "PG CPU s"
print_row "anchor (plain SQL)" "$(awk -v m="$anchor_ms" 'BEGIN { printf "%.2f", m / 1000 }')" - - - -
print_row "sluice-admin finalise" "${first[@]}"
print_row "finalise again (no-op)" "${again[@]}"
print_row "finalise, jemalloc decay 0" "${decay0[@]}"
echo "finalise / anchor wall time: $(ratio "$(awk -v s="${first[0]}" 'BEGIN { print s * 1000 }')" "$anchor_ms")"
sed 's/^/  /' "$work/first.out" | grep -v "^  [A-Z]* 0 / 0" | head -30
if [[ $written == "$practices" && $state == final && $rewritten == 0 && $written_decay0 == "$practices" ]]; then
    echo "valid: $written final results of generation 1, period $state, the second run rewrote none"
else
    echo "INVALID: $written final results of generation 1 (expected $practices), period '$state', $rewritten rewritten by the second run"
fi
echo "in seconds: $(at_most "${first[0]}" 59.99) (wall ${first[0]} s)"
load_line
