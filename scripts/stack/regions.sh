#!/usr/bin/env bash
# regions.sh DIR  -- add more Prometheus servers to a running test stack (several sources).
# Called by start.sh when STACK_REGIONS=1, or by hand once `scripts/stack.sh start DIR` is ready.
#
# Started on 127.0.0.1, free ports, each scraping the stack's exporters every SCRAPE_INTERVAL with
# --enable-feature=extra-scrape-metrics (scrape_timeout_seconds, for slow-scrape checks):
#   * region-eu: cluster payments (db1..db3) only         -- one region
#   * region-us: cluster orders (db4, db5) only            -- the other region
#   * ha-a, ha-b: every cluster, the same targets twice    -- an HA pair
#   * global: federates region-eu and region-us (/federate) without honor_labels, as
#     Prometheus does by default: each server's series keep their `cluster`, but their
#     `instance` and `job` become `exported_instance` / `exported_job`, and `instance` is the
#     region's address                                     -- a global view
# Each evaluates rules sent to the stack's Alertmanager: an always-firing `Watchdog` (the dead
# man's switch; REGIONS_WATCHDOG=0 leaves it out, so Alertmanager lacks it) and, with
# REGIONS_DOWN_TARGET=1 (default), region-eu also scrapes a port where nothing listens
# (job `ghost`: one target down).
# PIDs go to DIR/pids/ (so stack.sh stop stops them), URLs and PIDs to DIR/regions.env:
#   REGION_EU_URL REGION_US_URL HA_A_URL HA_B_URL GLOBAL_URL and *_PID.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DIR=${1:?usage: regions.sh DIR}
DIR=$(cd "$DIR" && pwd)
ENVF=$(stack_env_file "$DIR") || { echo "regions: no stack.env in $DIR" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENVF"
REGIONS_WATCHDOG=${REGIONS_WATCHDOG:-1}
REGIONS_DOWN_TARGET=${REGIONS_DOWN_TARGET:-1}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-1s}
STACK_WAIT_S=${STACK_WAIT_S:-90}

# Each exporter gets three more scrapers (its region and the HA pair) besides the stack's.
raise_exporter_connections 12

read -r P_EU P_US P_A P_B P_GHOST P_GLOBAL < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(6):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

# targets NAME PORT CLUSTER-REGEX: the scrape config of one server
targets() {
  local port=$2 want=$3 n u c
  echo "scrape_configs:"
  echo "  - job_name: prometheus"
  echo "    static_configs: [{targets: ['127.0.0.1:$port'], labels: {instance: $1}}]"
  if [ "$1" = global ]; then
    # honor_labels left at its default (false), as a federation job is often written
    echo "  - job_name: federate"
    echo "    metrics_path: /federate"
    echo "    params: {'match[]': ['{job=~\"mysql|node\"}']}"
    echo "    static_configs: [{targets: ['127.0.0.1:$P_EU', '127.0.0.1:$P_US']}]"
    return
  fi
  echo "  - job_name: mysql"
  echo "    static_configs:"
  for n in $DB_NAMES; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    c=$(eval echo "\$${u}_CLUSTER")
    [[ $c =~ ^($want)$ ]] || continue
    echo "      - targets: ['127.0.0.1:$(eval echo "\$${u}_EXPORTER_PORT")']"
    echo "        labels: {cluster: $c, instance: $n}"
  done
  if [ -n "${NODE_PORT:-}" ]; then
    echo "  - job_name: node"
    echo "    static_configs:"
    for n in $DB_NAMES; do
      u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
      c=$(eval echo "\$${u}_CLUSTER")
      [[ $c =~ ^($want)$ ]] || continue
      echo "      - targets: ['127.0.0.1:$NODE_PORT']"
      echo "        labels: {cluster: $c, instance: $n}"
    done
  fi
  if [ "$1" = region-eu ] && [ "$REGIONS_DOWN_TARGET" = 1 ]; then
    echo "  - job_name: ghost"
    echo "    static_configs: [{targets: ['127.0.0.1:$P_GHOST']}]"
  fi
}

# start NAME PORT CLUSTER-REGEX
start() {
  local name=$1 port=$2 d=$DIR/$1
  mkdir -p "$d/data"
  {
    echo "global: {scrape_interval: $SCRAPE_INTERVAL, scrape_timeout: $SCRAPE_INTERVAL, evaluation_interval: 1s}"
    echo "rule_files: ['$d/rules.yml']"
    echo "alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]}]}"
    targets "$name" "$port" "$3"
  } >"$d/prometheus.yml"
  if [ "$REGIONS_WATCHDOG" = 1 ]; then
    cat >"$d/rules.yml" <<'EOF'
groups:
  - name: meta
    interval: 1s
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
        annotations: {summary: "Always firing: proves that rules are evaluated and alerts delivered"}
EOF
  else
    echo "groups: []" >"$d/rules.yml"
  fi
  promtool check config "$d/prometheus.yml" >"$DIR/logs/$name-promtool.log" 2>&1 || {
    cat "$DIR/logs/$name-promtool.log" >&2
    exit 1
  }
  nohup prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
    --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=1d \
    --enable-feature=extra-scrape-metrics >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  record_pid "$DIR/pids/$name.pid" $!
}

start region-eu "$P_EU" payments
start region-us "$P_US" orders
start ha-a "$P_A" '.*'
start ha-b "$P_B" '.*'
start global "$P_GLOBAL" ''
{
  echo "REGION_EU_URL=http://127.0.0.1:$P_EU"
  echo "REGION_US_URL=http://127.0.0.1:$P_US"
  echo "HA_A_URL=http://127.0.0.1:$P_A"
  echo "HA_B_URL=http://127.0.0.1:$P_B"
  echo "GLOBAL_URL=http://127.0.0.1:$P_GLOBAL"
  for n in region-eu region-us ha-a ha-b global; do echo "$(env_pid_key "$n")=$(cut -d' ' -f1 "$DIR/pids/$n.pid")"; done
} >"$DIR/regions.env"

# Ready when each server sees its databases up (the ghost target is down on purpose).
count() { # CLUSTER-REGEX -> "dbs replicas"
  local d=0 r=0 n u c
  for n in $DB_NAMES; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    c=$(eval echo "\$${u}_CLUSTER")
    [[ $c =~ ^($1)$ ]] || continue
    d=$((d + 1))
    [ "$(eval echo "\$${u}_ROLE")" = replica ] && r=$((r + 1))
  done
  echo "$d $r"
}
for s in "region-eu $P_EU payments" "region-us $P_US orders" "ha-a $P_A .*" "ha-b $P_B .*"; do
  read -r name port want <<<"$s"
  read -r d r < <(count "$want")
  t=$((1 + 2 * d))
  if [ "$name" = region-eu ] && [ "$REGIONS_DOWN_TARGET" = 1 ]; then t=$((t + 1)); fi
  if [ -z "${NODE_PORT:-}" ]; then t=$((1 + d + (t - 1 - 2 * d))); fi
  python3 "$HERE/ready.py" --prom "http://127.0.0.1:$port" --targets "$t" --dbs "$d" --replicas "$r" \
    --fresh-only --timeout "$STACK_WAIT_S" >/dev/null || { echo "regions: $name not ready" >&2; exit 1; }
done
# The global server: its own target and the two regions' /federate, each scraped since now
# (the federated series then arrive with the regions' own timestamps).
python3 "$HERE/ready.py" --prom "http://127.0.0.1:$P_GLOBAL" --targets 3 --fresh-only \
  --timeout "$STACK_WAIT_S" >/dev/null || { echo "regions: global not ready" >&2; exit 1; }
echo "regions: ready; source $DIR/regions.env"
