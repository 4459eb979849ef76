#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its committed seed corpus, and fails on any
# crash, leak, timeout (one input over 10 s) or failed property. Used by ctest (the `fuzz` preset)
# and bench/fuzz.sh.
#
#   run_fuzzer.sh BINARY SECONDS
#
# BINARY is NAME_fuzz; its seeds are tests/fuzz/corpus/NAME and its dictionary, if any,
# tests/fuzz/NAME.dict. libFuzzer writes new inputs into the first corpus directory it is given, so
# it gets a scratch copy: the committed seeds never change behind anyone's back. A crashing input
# is kept as ./crash-* (or leak-*, timeout-*) in the working directory, and printed.
# Last line: "fuzz NAME: N executions in S s, E exec/s, corpus A -> B inputs".
set -euo pipefail
binary=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$binary")
name=${name%_fuzz}
seeds=$here/corpus/$name
[[ -d "$seeds" ]] || { echo "no seed corpus $seeds" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz-$name-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -r "$seeds/." "$scratch/"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$PWD/")
[[ -f "$here/$name.dict" ]] && args+=(-dict="$here/$name.dict")

start=$(date +%s)
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$binary" "${args[@]}" "$scratch" >"$scratch.log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))
if ((status != 0)); then
  tail -n 60 "$scratch.log"
  for artifact in "$PWD"/crash-* "$PWD"/leak-* "$PWD"/timeout-* "$PWD"/oom-*; do
    [[ -f "$artifact" ]] && { echo "input $artifact:"; od -c "$artifact" | head -20; }
  done
  rm -f "$scratch.log"
  echo "fuzz $name: FAILED (exit $status)"
  exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch.log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch.log")
rm -f "$scratch.log"
printf 'fuzz %s: %s executions in %s s, %s exec/s, corpus %s -> %s inputs\n' "$name" "$runs" "$elapsed" "$rate" \
  "$(find "$seeds" -type f | wc -l)" "$(find "$scratch" -type f | wc -l)"
