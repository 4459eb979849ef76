#!/usr/bin/env bash
# bench/fuzz.sh: every libFuzzer target of tests/fuzz run longer than CI runs them (CI: 20 s each),
# each from its committed seed corpus, printing executions, executions per second and how far the
# corpus grew. Builds the `fuzz` preset (clang-14, ASan+UBSan) when a target is missing.
#
# A crash, leak, timeout or failed property prints the input and makes the run fail (exit 1):
# unlike a figure that misses its anchor, that is a bug to fix, with its input kept as
# build/fuzz/bench-fuzz/crash-* (add it to the target's corpus with the fix).
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 120: sixteen minutes for the eight)
#   FUZZ_TARGETS  which targets (default: all: request_head credentials organisations config admission_reply
#                 redis_reply submission sign_off_body)
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
seconds=${FUZZ_SECONDS:-120}
targets=${FUZZ_TARGETS:-request_head credentials organisations config admission_reply redis_reply submission sign_off_body}

missing=
for target in $targets; do
  [[ -x build/fuzz/tests/fuzz/${target}_fuzz ]] || missing+=" ${target}_fuzz"
done
if [[ -n $missing ]]; then
  echo "bench/fuzz: missing:$missing; building the fuzz preset" >&2
  cmake --preset fuzz >/dev/null
  nice -n 10 cmake --build --preset fuzz
fi

mkdir -p build/fuzz/bench-fuzz
cd build/fuzz/bench-fuzz
echo "bench/fuzz: $seconds s per target, one process each, load $(cut -d' ' -f1 /proc/loadavg)"
failed=()
for target in $targets; do
  "$repo_root/tests/fuzz/run_fuzzer.sh" "$repo_root/build/fuzz/tests/fuzz/${target}_fuzz" "$seconds" \
    || failed+=("$target")
done
if ((${#failed[@]} > 0)); then
  echo "bench/fuzz: FAILED: ${failed[*]} (inputs in $PWD)" >&2
  exit 1
fi
