#!/usr/bin/env bash
# ops/systemd's units as systemd reads them: `systemd-analyze verify` of an instance of each
# template (with ExecStart pointing at this build's binaries, so that the executable checks mean
# something), failing on any complaint, not only on errors (an unknown or misspelt key is only a
# warning to systemd, and a silently ignored sandboxing line is a hole). Then the numbers that must
# agree with the configuration's defaults (sluice-gateway --check-config): LimitNOFILE above
# limits.max_connections + 256, TimeoutStopSec above shutdown.drain_seconds; the gateway reloads
# with SIGHUP, the worker has no ExecReload (SIGHUP would end it).
#
#   systemd.sh REPO BUILD_DIR      exit 77 (skipped) where systemd-analyze is missing
set -euo pipefail
repo=$1
build=$2
fail() { echo "FAIL (ops systemd): $*" >&2; exit 1; }
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed on this machine"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-ops-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT

for program in gateway worker; do
  unit=$repo/ops/systemd/sluice-$program@.service
  [[ -f $unit ]] || fail "missing $unit"
  sed "s#/usr/local/bin/sluice-$program#$build/$program/sluice-$program#g" "$unit" >"$work/sluice-$program@.service"
done
if ! (cd "$work" && systemd-analyze verify --man=no ./sluice-gateway@demo.service ./sluice-worker@demo.service) \
  >"$work/verify.log" 2>&1; then
  cat "$work/verify.log"
  fail "systemd-analyze verify failed"
fi
if [[ -s $work/verify.log ]]; then
  cat "$work/verify.log"
  fail "systemd-analyze verify complained (every line above is a key systemd ignores or a path it cannot use)"
fi
echo "systemd-analyze verify: both units clean ($(systemd-analyze --version | head -n1))"

key() { sed -n "s/^$2=//p" "$repo/ops/systemd/$1" | tail -n1; }
defaults=$("$build/gateway/sluice-gateway" --check-config)
max_connections=$(sed -n 's/^max_connections = //p' <<<"$defaults")
drain_seconds=$(sed -n 's/^drain_seconds = //p' <<<"$defaults")
[[ -n $max_connections && -n $drain_seconds ]] || fail "could not read the defaults from --check-config"
nofile=$(key sluice-gateway@.service LimitNOFILE)
((nofile > max_connections + 256)) || fail "gateway LimitNOFILE $nofile is not above limits.max_connections + 256"
for program in gateway worker; do
  stop=$(key "sluice-$program@.service" TimeoutStopSec)
  ((stop > drain_seconds)) || fail "$program TimeoutStopSec $stop is not above shutdown.drain_seconds ($drain_seconds)"
  for line in NoNewPrivileges=yes ProtectSystem=strict 'StateDirectory=sluice/%i' KillSignal=SIGTERM; do
    grep -qx "$line" "$repo/ops/systemd/sluice-$program@.service" || fail "sluice-$program@.service lacks $line"
  done
done
[[ $(key sluice-gateway@.service ExecReload) == '/bin/kill -HUP $MAINPID' ]] || fail "the gateway must reload with SIGHUP"
[[ -z $(key sluice-worker@.service ExecReload) ]] || fail "the worker has no SIGHUP handler: no ExecReload"
echo "LimitNOFILE $nofile > $max_connections + 256; TimeoutStopSec > drain_seconds $drain_seconds"
echo "PASS ops systemd"
