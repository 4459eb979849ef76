#!/usr/bin/env bash
# bench/admission_script.sh: what one admission costs Redis, with no gateway in the way: the
# capacity of one Redis core (one queue-shard node) in admissions per second.
#
# redis-benchmark sends COUNT EVALSHA calls of the admission script exactly as the gateway builds
# them (ratelimit/gcra.lua + queue/admission.lua, the 4 keys and 14 arguments of
# queue/admission.hpp, a ~300-byte body, a latest field), each with a new idempotency key, practice
# and submission record (redis-benchmark's __rand_int__), limits so high that none is hit, to a fresh
# redis-server with the shipped ops/redis.conf (AOF, appendfsync everysec). Then the same number of
# calls of a script that returns at once, given the same keys and arguments: the floor of an
# EVALSHA carrying them (reading the command, the KEYS/ARGV tables, the reply), so the difference
# is the admission's own work (its Lua, its nine Redis calls, the AOF and the keyspace growing).
#
# Prints per variant: the calls Redis ran (INFO commandstats; with pipelining redis-benchmark may
# send a few more than COUNT), Redis's CPU per call (user + system of redis-server's process, from
# /proc; an AOF rewrite's forked child is not in it), EVALSHA's own time per call, the calls per
# second redis-benchmark saw, and the entries queued (the admission script must have queued every
# call Redis ran: anything else makes the run INVALID). Not a test: exits 0 whatever the figures,
# non-zero only if it could not measure.
#
# Environment: COUNT (calls per variant, default 100000), CLIENTS (redis-benchmark connections,
# default 16), PIPELINE (calls in flight per connection, default 16).
# Loopback only; the redis-server it starts is stopped by its pid on exit.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

count=${COUNT:-100000}
clients=${CLIENTS:-16}
pipeline=${PIPELINE:-16}

bench_init admission_script
for value in "$count" "$clients" "$pipeline"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || die "COUNT, CLIENTS and PIPELINE must be whole numbers from 1"
done
require_tools redis-server redis-cli redis-benchmark

# The script as the build embeds it (cmake/embed.cmake: gcra.lua, then admission.lua).
cat "$repo_root/ratelimit/gcra.lua" "$repo_root/queue/admission.lua" >"$work/admission.lua"
echo "return {'accepted', '0-1', 0, 0}" >"$work/floor.lua"

shard=7
practice=Z__rand_int__
body='{"practice":"Z00001","period":"2024-25","scheme":"QOF","list_size":8123,"items":[{"code":"AF006","numerator":120,"denominator":140,"pca":6},{"code":"HYP008","numerator":950,"denominator":1210}],"registers":[{"condition":"AF","size":201},{"condition":"HYP","size":1312}]}'
sha256=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
# Two placeholders: 62 random bits, so no two calls share a record (a shared one would replay).
record="$shard-__rand_int____rand_int__"
id="$record-195eea42f79"
received_at=2026-03-31T23:58:12.345Z

echo "sluice bench: admission_script (EVALSHA of the admission script on redis-server alone, loopback)"
echo "machine:  $(machine_line)"
echo "redis:    $(redis-server --version | awk '{ print $3 }'), $repo_root/ops/redis.conf (AOF, appendfsync everysec), fresh per variant"
echo "load:     redis-benchmark -n $count -c $clients -P $pipeline, EVALSHA with 4 keys and 14 arguments (body ${#body} bytes), a new practice, key and record per call"
echo

table_columns 12 10 14 12 12 10 8
print_row variant calls "redis CPU us" "EVALSHA us" "calls/s" queued valid
tick_us=$((1000000 / $(clock_ticks_per_second)))
for variant in admission floor; do
    start_redis "$work/redis-$variant"
    sha=$(redis-cli -h "$host" -p "$redis_port" SCRIPT LOAD "$(cat "$work/$variant.lua")")
    before=$(cpu_ticks "$redis_pid")
    redis-benchmark -h "$host" -p "$redis_port" -n "$count" -c "$clients" -P "$pipeline" -r 2000000000 -q \
        EVALSHA "$sha" 4 \
        "sluice:{$shard}:sub:$record" "sluice:{$shard}:practice:$practice" "sluice:{$shard}:q" \
        "sluice:{$shard}:idem:$practice:key-__rand_int__" \
        "$sha256" "$id" "$practice" "$received_at" "$body" 1000000 1000000 604800 done '' '' '' \
        "key-__rand_int__" 2024-25/QOF \
        >"$work/benchmark-$variant.log" 2>&1 || die "redis-benchmark failed: $(tail -c 400 "$work/benchmark-$variant.log")"
    after=$(cpu_ticks "$redis_pid")
    rate=$(tr '\r' '\n' <"$work/benchmark-$variant.log" | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    stats=$(redis-cli -h "$host" -p "$redis_port" INFO commandstats | tr -d '\r' | grep '^cmdstat_evalsha:')
    calls=$(sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' <<<"$stats")
    evalsha=$(sed -n 's/.*usec_per_call=\([0-9.]*\).*/\1/p' <<<"$stats")
    errors=$(redis-cli -h "$host" -p "$redis_port" INFO errorstats | tr -d '\r' | grep -c '^errorstat' || true)
    queued=$(redis-cli -h "$host" -p "$redis_port" XLEN "sluice:{$shard}:q")
    valid=yes
    if [[ -z $calls || ($variant == admission && $queued != "$calls") ]] || ((errors > 0)); then valid=INVALID; fi
    cpu=$(awk -v t=$((after - before)) -v u="$tick_us" -v n="${calls:-0}" 'BEGIN { if (n > 0) printf "%.1f", t * u / n; else print "?" }')
    print_row "$variant" "${calls:-?}" "$cpu" "${evalsha:-?}" "${rate:-?}" "$queued" "$valid"
    stop_pid "$redis_pid"
done
echo
echo "admission = what one submission costs Redis's single thread; floor = an EVALSHA with the same"
echo "arguments that does nothing. 1e6 / (admission's redis CPU us) = admissions per second per Redis core."
echo "machine:  $(load_line)"
