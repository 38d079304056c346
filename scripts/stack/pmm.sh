#!/usr/bin/env bash
# pmm.sh DIR  -- PMM's label layout over a running stack's real exporters (loopback only).
# Called by start.sh when STACK_PMM=1 (prints KEY=VALUE lines for stack.env on stdout);
# can also be run by hand on a ready stack: then it appends them to DIR/stack.env.
#
# PMM (Percona Monitoring and Management) scrapes each exporter as its own agent: every target
# gets instance="/agent_id/<uuid>" (so mysqld_exporter and node_exporter of one server never
# share it), node_name on both, service_name/cluster/environment/replication_set only on the
# database exporter; node_exporter series carry no cluster. Its alert rules aggregate
# `by (service_name, node_name)`, so alerts carry neither instance nor cluster. PMM serves the
# query API from VictoriaMetrics under /prometheus.
#
# Started here, all on 127.0.0.1, recorded in DIR/pids (stop.sh stops them):
#   * pmm-prometheus: scrapes the stack's mysqld_exporters and node_exporter with
#     relabel_configs that produce PMM's labels, evaluates a PMM-style replication alert
#   * pmm-alertmanager: receives only that Prometheus' alerts
#   * pmm-vm: VictoriaMetrics with -http.pathPrefix=/prometheus scraping the same way
# Writes PMM_PROM_URL, PMM_AM_URL, PMM_VM_URL (with /prometheus) and waits until both engines
# have every server's mysql_up == 1 and node_load1 (STACK_WAIT_S, default 90).
# Knob: PMM_SCRAPE_INTERVAL=2s (both engines).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DIR=${1:?usage: pmm.sh DIR}
DIR=$(cd "$DIR" && pwd)
ENVF=$(stack_env_file "$DIR") || { echo "pmm.sh: no stack.env in $DIR" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENVF"
[ -n "${NODE_PORT:-}" ] && [ "${DB_COUNT:-0}" -gt 0 ] || { echo "pmm.sh: needs the stack's MariaDB servers and node_exporter" >&2; exit 1; }
STACK_WAIT_S=${STACK_WAIT_S:-90}
SCRAPE_INTERVAL=${PMM_SCRAPE_INTERVAL:-2s}

# Two more scrapers of each mysqld_exporter: the exporter user's 3 connections (start.sh)
# would be taken now and then and mysql_up read 0.
raise_exporter_connections 12

read -r PROM_P AM_P VM_P <<<"$(python3 - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)"
P=$DIR/pmm
mkdir -p "$P/prometheus/data" "$P/alertmanager/data" "$P/vm/data"

# Agent ids: stable per server and exporter, shaped like PMM's uuids.
agent() { printf '6f1c%04x-ef4a-4147-97a8-621a9966%04x' "$1" "$2"; }
scrape_configs() {
  echo "scrape_configs:"
  echo "  - job_name: mysqld_exporter_agent_id_pmm"
  echo "    static_configs:"
  local i=0 n u c
  for n in $DB_NAMES; do
    i=$((i + 1))
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    eval "c=\$${u}_CLUSTER; port=\$${u}_EXPORTER_PORT"
    echo "      - targets: ['127.0.0.1:$port']"
    echo "        labels: {__pmm_node: $n, __pmm_cluster: $c, __pmm_agent: $(agent "$i" 1)}"
  done
  cat <<'EOF'
    relabel_configs:
      - {source_labels: [__pmm_agent], target_label: instance, replacement: '/agent_id/$1'}
      - {source_labels: [__pmm_agent], target_label: agent_id, replacement: '/agent_id/$1'}
      - {target_label: agent_type, replacement: mysqld_exporter}
      - {source_labels: [__pmm_node], target_label: node_name}
      - {source_labels: [__pmm_node], target_label: service_name, replacement: '$1-mysql'}
      - {target_label: service_type, replacement: mysql}
      - {source_labels: [__pmm_cluster], target_label: cluster}
      - {source_labels: [__pmm_cluster], target_label: replication_set, replacement: '$1-rs'}
      - {target_label: environment, replacement: e2e}
EOF
  echo "  - job_name: node_exporter_agent_id_pmm"
  echo "    static_configs:"
  i=0
  for n in $DB_NAMES; do
    i=$((i + 1))
    echo "      - targets: ['127.0.0.1:$NODE_PORT']"
    echo "        labels: {__pmm_node: $n, __pmm_agent: $(agent "$i" 2)}"
  done
  cat <<'EOF'
    relabel_configs:
      - {source_labels: [__pmm_agent], target_label: instance, replacement: '/agent_id/$1'}
      - {source_labels: [__pmm_agent], target_label: agent_id, replacement: '/agent_id/$1'}
      - {target_label: agent_type, replacement: node_exporter}
      - {source_labels: [__pmm_node], target_label: node_name}
      - {target_label: node_type, replacement: generic}
EOF
}

cat >"$P/prometheus/rules.yml" <<'EOF'
# As PMM's alert templates: aggregated by service and node, so neither instance nor cluster.
groups:
  - name: pmm
    interval: 1s
    rules:
      - alert: MySQLReplicationSQLNotRunning
        expr: sum by (service_name, node_name) (mysql_slave_status_slave_sql_running) == 0
        for: 1s
        labels: {severity: critical, template_name: pmm_mysql_replication_sql_running}
        annotations:
          summary: "MySQL Replication Not Running on {{ $labels.service_name }}"
EOF
cat >"$P/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: $SCRAPE_INTERVAL
  evaluation_interval: 1s
rule_files: ['$P/prometheus/rules.yml']
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$AM_P']}]
$(scrape_configs)
EOF
promtool check config "$P/prometheus/prometheus.yml" >"$DIR/logs/pmm-promtool.log" 2>&1 || { cat "$DIR/logs/pmm-promtool.log" >&2; exit 1; }
{ echo "global: {scrape_interval: $SCRAPE_INTERVAL, scrape_timeout: $SCRAPE_INTERVAL}"; scrape_configs; } >"$P/vm/scrape.yml"
cat >"$P/alertmanager/alertmanager.yml" <<'EOF'
route:
  receiver: blackhole
  group_by: [alertname, node_name]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: blackhole
EOF

launch() {
  local name=$1
  shift
  nohup "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  record_pid "$DIR/pids/$name.pid" $!
}
launch pmm-alertmanager prometheus-alertmanager --config.file="$P/alertmanager/alertmanager.yml" \
  --storage.path="$P/alertmanager/data" --web.listen-address="127.0.0.1:$AM_P" \
  --cluster.listen-address= --log.level=info
launch pmm-prometheus prometheus --config.file="$P/prometheus/prometheus.yml" \
  --storage.tsdb.path="$P/prometheus/data" --web.listen-address="127.0.0.1:$PROM_P" \
  --storage.tsdb.retention.time=1d
launch pmm-vm victoria-metrics -httpListenAddr="127.0.0.1:$VM_P" -http.pathPrefix=/prometheus \
  -storageDataPath="$P/vm/data" -promscrape.config="$P/vm/scrape.yml" -retentionPeriod=1d \
  -search.latencyOffset=1s -memory.allowedPercent=10

PMM_PROM_URL=http://127.0.0.1:$PROM_P
PMM_AM_URL=http://127.0.0.1:$AM_P
PMM_VM_URL=http://127.0.0.1:$VM_P/prometheus
# ready: both engines hold every server's mysql_up and node series (node series without cluster)
python3 - "$PMM_PROM_URL" "$PMM_VM_URL" "$DB_COUNT" "$STACK_WAIT_S" "$PMM_AM_URL" <<'EOF' >&2
import json, sys, time, urllib.parse, urllib.request
prom, vm, n, wait, am = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def count(base, q):
    try:
        u = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        r = json.load(urllib.request.urlopen(u, timeout=2))
        return len(r["data"]["result"])
    except Exception:
        return -1
def am_up():
    try:
        urllib.request.urlopen(am + "/api/v2/status", timeout=2)
        return True
    except Exception:
        return False
t0 = time.time()
while time.time() - t0 < wait:
    ok = all(count(b, 'mysql_up{node_name!="",service_name!=""} == 1') == n and
             count(b, 'node_load1{node_name!="",cluster=""}') == n for b in (prom, vm)) and am_up()
    if ok:
        print("pmm.sh: ready in %.1fs" % (time.time() - t0))
        sys.exit(0)
    time.sleep(0.5)
print("pmm.sh: not ready after %ss" % wait)
sys.exit(1)
EOF
OUT="PMM_PROM_URL=$PMM_PROM_URL
PMM_AM_URL=$PMM_AM_URL
PMM_VM_URL=$PMM_VM_URL"
echo "$OUT" >"$P/pmm.env"
if [ "$ENVF" = "$DIR/stack.env" ]; then echo "$OUT" >>"$DIR/stack.env"; else echo "$OUT"; fi
