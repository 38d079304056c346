#!/usr/bin/env bash
# install-deps.sh [--check]  -- install the Debian packages the test stack needs, only those
# missing. --check only tells what is missing (exit 1 if anything is).
#
# Runs `apt-get update` once and `apt-get install -y` when at least one command is missing.
# No service is started: if /usr/sbin/policy-rc.d does not exist, one that exits 101 is put in
# place for the install and removed again afterwards. Needs root (or password-less sudo).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# command (or absolute path of a file) -> Debian package
NEEDS=(
  "prometheus prometheus"
  "promtool prometheus"
  "prometheus-alertmanager prometheus-alertmanager"
  "prometheus-node-exporter prometheus-node-exporter"
  "prometheus-mysqld-exporter prometheus-mysqld-exporter"
  "mariadbd mariadb-server"
  "mariadb-install-db mariadb-server"
  "mariadb mariadb-client"
  "victoria-metrics victoria-metrics"
  "prometheus-postgres-exporter prometheus-postgres-exporter"
  "pg_ctlcluster postgresql"
  "patroni patroni"
  "patronictl patroni"
  "/usr/lib/python3/dist-packages/pysyncobj python3-pysyncobj"
  "tmux tmux"
  "python3 python3"
  "curl curl"
  "openssl openssl"
  "htpasswd apache2-utils"
  "pt-heartbeat percona-toolkit"
  "rsync rsync"
  "/usr/lib/galera/libgalera_smm.so galera-4"
)
have() { if [[ $1 == /* ]]; then [ -e "$1" ]; else command -v "$1" >/dev/null 2>&1; fi; }
missing=()
for spec in "${NEEDS[@]}"; do
  read -r cmd pkg <<<"$spec"
  if ! have "$cmd"; then
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all stack packages present"
  exit 0
fi
echo "install-deps: missing packages: ${missing[*]}"
if [ "${1:-}" = --check ]; then
  echo "install-deps: install them with 'scripts/stack.sh install' (root) or: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-deps: FAILED: not root and no password-less sudo; install as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: FAILED: no apt-get on this machine; install by hand: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$POLICY" ]; then
  # keep every package's service from starting (their defaults listen on all interfaces)
  printf '#!/bin/sh\n# put here by fleetboard scripts/stack/install-deps.sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi; }
trap cleanup EXIT

T0=$(now_ms)
"${SUDO[@]}" apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
still=()
for spec in "${NEEDS[@]}"; do
  read -r cmd pkg <<<"$spec"
  have "$cmd" || still+=("$cmd")
done
if [ ${#still[@]} -gt 0 ]; then
  echo "install-deps: FAILED: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: installed ${missing[*]} in $(elapsed "$T0" "$(now_ms)")s"
