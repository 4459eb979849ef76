#!/usr/bin/env bash
# Installs sluice's build, test and benchmark dependencies from Debian's packages.
# Idempotent: when every package is already installed it only runs dpkg-query and exits,
# so both README commands can call it on every run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev
  libhiredis-dev libjemalloc-dev liburing-dev libssl-dev
  libgtest-dev libtomlplusplus-dev
  redis-server redis-tools
  postgresql-15 libpq-dev
  wrk nginx-light curl openssl           # openssl: run-stack --tls and bench/tls.sh make self-signed pairs
  clang-14 libclang-rt-14-dev llvm-14     # the fuzz preset: libFuzzer, sanitizers, llvm-symbolizer
  varnish slowhttptest                    # tests/wire (varnishtest) and tests/slow
  haproxy prometheus                      # tests/ops: ops/haproxy.cfg for real, promtool for ops/prometheus
  chromium jq                             # tests/ops: the status page rendered headless, its JSON read
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "sluice: installing missing packages: ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light's package starts a system nginx on port 80; the benchmark runs its own instance.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl stop nginx || true
fi
# varnish's package may start a system varnishd (port 6081); the tests need only varnishtest.
for service in varnish varnishncsa; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl stop "$service" || true
  fi
done
# haproxy's package may start a system HAProxy (its own /etc/haproxy config), and prometheus's a
# Prometheus on 9090 (the worker's default metrics port) and its node exporter on 9100: the tests
# run their own haproxy and need only promtool.
for service in haproxy prometheus prometheus-node-exporter; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl stop "$service" || true
  fi
done
# redis-server's package may start a system Redis on 6379; sluice starts its own in a state directory.
# postgresql-15's package may start a system cluster on 5432; sluice (ops/run-stack, the tests) runs
# its own from /usr/lib/postgresql/15/bin in a state or scratch directory and never uses it.
