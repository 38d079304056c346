#!/usr/bin/env bash
# start.sh [DIR]  -- start fleetboard's real, loopback-only monitoring test stack (no systemd).
# Normally called as `scripts/stack.sh start [DIR]`.
#
# Everything listens on 127.0.0.1 on free ports picked at start. Started, in this order
# (Prometheus first: it only turns static targets into scrapes on a 5 s discovery tick):
#   * prometheus-node-exporter (loadavg, cpu, meminfo, uname), scraped once per db host with
#     {cluster, instance} labels so node_* joins mysql_* on both
#   * fake_fleet.py synthetic exporter                              (FAKE_FLEET_HOSTS=N)
#   * Alertmanager (gossip off, one blackhole receiver)
#   * Prometheus (scrape + rule evaluation every 1 s, rules.yml), command line in
#     DIR/prometheus/run.sh so `fault prom-kill` / `fault prom-start` restart it identically
#   * VictoriaMetrics scraping the same targets                     (STACK_VM=0 to skip)
#   * MariaDB: cluster payments = db1 (primary) -> db2, db3; cluster orders = db4 -> db5
#     (STACK_ORDERS=0 to skip), GTID replication, a heartbeat event every second on each primary
#   * one prometheus-mysqld-exporter per MariaDB server (--collect.slave_status)
#   * PostgreSQL streaming replication and one postgres_exporter per server (STACK_POSTGRES=1;
#     see scripts/stack/postgres.sh)
#   * a Patroni cluster of three PostgreSQL nodes, scraped through Patroni's /metrics and one
#     postgres_exporter per node (STACK_PATRONI=1; see scripts/stack/patroni.sh)
# Writes DIR/stack.env (sourceable) and returns once Prometheus (and VictoriaMetrics) see every
# target up, every mysql_up == 1 and every replica's IO and SQL threads running. If that does
# not happen within STACK_WAIT_S seconds, or anything fails, it stops what it started and exits 1.
#
# Env knobs (defaults):
#   STACK_MARIADB=1 STACK_ORDERS=1 STACK_VM=1 STACK_NODE=1 SCRAPE_INTERVAL=1s STACK_WAIT_S=90
#   FAKE_FLEET_HOSTS=0 FAKE_FLEET_CLUSTERS=0 (= hosts/3) FAKE_FLEET_INTERVAL=15s
#   EXPORTER_GRANTS="PROCESS, REPLICATION CLIENT, SELECT, SLAVE MONITOR, REPLICATION MASTER ADMIN"
#   STACK_REGIONS=0          1: also start scripts/stack/regions.sh (two regions and an HA pair)
#   STACK_POSTGRES=0         1: add PostgreSQL (cluster ledger, scripts/stack/postgres.sh)
#   STACK_PATRONI=0          1: add a Patroni-managed PostgreSQL cluster (cluster billing, raft DCS,
#                            scripts/stack/patroni.sh)
#   STACK_INSTALL=1          install missing Debian packages first (scripts/stack/install-deps.sh);
#                            0: only check, and fail if any is missing
#   STACK_OWNER_PID=PID      stop and purge the stack by itself once that process has exited
#                            (stop only, keeping logs and data, when DIR/keep exists)
#   STACK_PROM_WEB_CONFIG=F  pass --web.config.file=F to Prometheus (TLS / basic auth); then
#   STACK_PROM_SCHEME=https  (default: https when F has tls_server_config, else http)
#   STACK_PROM_CACERT=F      CA to check Prometheus' certificate (default with https: not checked)
#   STACK_PROM_BASIC_AUTH=user:password   for the readiness checks when F sets basic_auth_users
#   STACK_PMM=1              also PMM's label layout over the same exporters (scripts/stack/pmm.sh)
#   STACK_REPLICATION=1      also the replication variants of scripts/stack/replication.sh (multi-source,
#                            delayed replica, pt-heartbeat, fixture exporters); its knobs are described there
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
T0=$(now_ms)

DIR=${1:-}
if [ -z "$DIR" ]; then DIR=$(mktemp -d -t fleetstack.XXXXXX); fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -n "$(ls -A "$DIR")" ]; then
  echo "stack start: $DIR is not empty (a stack, running or stopped, may be there); give a new or empty directory" >&2
  exit 1
fi

STACK_MARIADB=${STACK_MARIADB:-1}
STACK_POSTGRES=${STACK_POSTGRES:-0}
if [ "$STACK_POSTGRES" = 1 ]; then
  # shellcheck source=postgres.sh
  . "$HERE/postgres.sh"
fi
STACK_PATRONI=${STACK_PATRONI:-0}
if [ "$STACK_PATRONI" = 1 ]; then
  # shellcheck source=patroni.sh
  . "$HERE/patroni.sh"
fi
STACK_ORDERS=${STACK_ORDERS:-1}
STACK_VM=${STACK_VM:-1}
STACK_NODE=${STACK_NODE:-1}
STACK_INSTALL=${STACK_INSTALL:-1}
STACK_OWNER_PID=${STACK_OWNER_PID:-}
STACK_REPLICATION=${STACK_REPLICATION:-0}
if [ "$STACK_REPLICATION" = 1 ]; then
  # shellcheck source=replication.sh
  . "$HERE/replication.sh"
fi
FAKE_FLEET_HOSTS=${FAKE_FLEET_HOSTS:-0}
FAKE_FLEET_CLUSTERS=${FAKE_FLEET_CLUSTERS:-0}
FAKE_FLEET_INTERVAL=${FAKE_FLEET_INTERVAL:-15s}
# scrape_timeout may not exceed scrape_interval (promtool rejects the config otherwise)
if [[ $FAKE_FLEET_INTERVAL =~ ^([0-9]+)s$ ]] && [ "${BASH_REMATCH[1]}" -lt 10 ]; then
  FAKE_FLEET_TIMEOUT=${FAKE_FLEET_TIMEOUT:-$FAKE_FLEET_INTERVAL}
else
  FAKE_FLEET_TIMEOUT=${FAKE_FLEET_TIMEOUT:-10s}
fi
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-1s}
STACK_WAIT_S=${STACK_WAIT_S:-90}
# MariaDB >= 10.5.9: SHOW SLAVE STATUS needs SLAVE MONITOR (REPLICATION CLIENT is only
# BINLOG MONITOR there); SHOW SLAVE HOSTS (--collect.slave_hosts) needs REPLICATION MASTER ADMIN.
EXPORTER_GRANTS=${EXPORTER_GRANTS:-"PROCESS, REPLICATION CLIENT, SELECT, SLAVE MONITOR, REPLICATION MASTER ADMIN"}
EXPORTER_PW=exporterpw
REPL_PW=replpw
ME=$(id -un)

STACK_PROM_WEB_CONFIG=${STACK_PROM_WEB_CONFIG:-}
STACK_PROM_CACERT=${STACK_PROM_CACERT:-}
STACK_PROM_BASIC_AUTH=${STACK_PROM_BASIC_AUTH:-}
if [ -n "$STACK_PROM_WEB_CONFIG" ]; then
  [ -r "$STACK_PROM_WEB_CONFIG" ] || { echo "stack start: cannot read STACK_PROM_WEB_CONFIG=$STACK_PROM_WEB_CONFIG" >&2; exit 1; }
  STACK_PROM_WEB_CONFIG=$(cd "$(dirname "$STACK_PROM_WEB_CONFIG")" && pwd)/$(basename "$STACK_PROM_WEB_CONFIG")
  if grep -q tls_server_config "$STACK_PROM_WEB_CONFIG"; then PROM_SCHEME=${STACK_PROM_SCHEME:-https}; fi
fi
PROM_SCHEME=${PROM_SCHEME:-${STACK_PROM_SCHEME:-http}}

if [ "$STACK_INSTALL" = 1 ]; then
  "$HERE/install-deps.sh" || { echo "stack start: FAILED: the stack's packages are missing and could not be installed" >&2; exit 1; }
else
  "$HERE/install-deps.sh" --check || { echo "stack start: FAILED: the stack's packages are missing (STACK_INSTALL=0: not installing)" >&2; exit 1; }
fi

mkdir -p "$DIR/logs" "$DIR/pids"
log() { printf '[stack start %6ss] %s\n' "$(elapsed "$T0" "$(now_ms)")" "$*"; }

READY=0
on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ "$READY" != 1 ]; then
    [ "$rc" != 0 ] || rc=1
    echo "stack start: FAILED (rc=$rc) -- stopping what was started; logs in $DIR/logs" >&2
    "$HERE/stop.sh" "$DIR" >&2 || true
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- ports: bind N sockets to 127.0.0.1:0 at once, read the numbers, release ------------------
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# ---- launch NAME CMD...: in the background, output to logs/NAME.log, "PID STARTTIME" to pids/NAME.pid
launch() {
  local name=$1
  shift
  nohup "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  record_pid "$DIR/pids/$name.pid" $!
}
pid_of() { cut -d' ' -f1 "$DIR/pids/$1.pid"; }

# ---- topology: name cluster role server_id primary ----------------------------------------------
DBS=()
if [ "$STACK_MARIADB" = 1 ]; then
  DBS+=("db1 payments primary 1 -" "db2 payments replica 2 db1" "db3 payments replica 3 db1")
  if [ "$STACK_ORDERS" = 1 ]; then
    DBS+=("db4 orders primary 4 -" "db5 orders replica 5 db4")
  fi
fi
NDB=${#DBS[@]}
NPORTS=$((2 * NDB + 2 + STACK_NODE + STACK_VM + (FAKE_FLEET_HOSTS > 0 ? 1 : 0)))
read -r -a PORTS <<<"$(free_ports "$NPORTS")"
pi=0
next_port() { NEXT_PORT=${PORTS[$pi]}; pi=$((pi + 1)); }
next_port; PROM_PORT=$NEXT_PORT
next_port; AM_PORT=$NEXT_PORT
NODE_PORT=""; VM_PORT=""; FAKE_FLEET_PORT=""
if [ "$STACK_NODE" = 1 ]; then next_port; NODE_PORT=$NEXT_PORT; fi
if [ "$STACK_VM" = 1 ]; then next_port; VM_PORT=$NEXT_PORT; fi
if [ "$FAKE_FLEET_HOSTS" -gt 0 ]; then next_port; FAKE_FLEET_PORT=$NEXT_PORT; fi
declare -A DB_PORT DB_EXP_PORT DB_CLUSTER DB_ROLE DB_SID DB_PRIMARY
DB_NAMES=""
NREPL=0
for spec in "${DBS[@]}"; do
  read -r n c r sid p <<<"$spec"
  next_port; DB_PORT[$n]=$NEXT_PORT
  next_port; DB_EXP_PORT[$n]=$NEXT_PORT
  DB_CLUSTER[$n]=$c; DB_ROLE[$n]=$r; DB_SID[$n]=$sid; DB_PRIMARY[$n]=$p
  DB_NAMES="$DB_NAMES $n"
  if [ "$r" = replica ]; then NREPL=$((NREPL + 1)); fi
done
DB_NAMES=${DB_NAMES# }
if [ "$STACK_POSTGRES" = 1 ]; then pg_plan; fi
if [ "$STACK_PATRONI" = 1 ]; then patroni_plan; fi
PROM_URL=$PROM_SCHEME://127.0.0.1:$PROM_PORT
AM_URL=http://127.0.0.1:$AM_PORT
VM_URL=""
if [ -n "$VM_PORT" ]; then VM_URL=http://127.0.0.1:$VM_PORT; fi
if [ "$STACK_REPLICATION" = 1 ]; then repl_plan; fi
log "dir=$DIR ports: prometheus=$PROM_PORT alertmanager=$AM_PORT node=$NODE_PORT vm=$VM_PORT fake=$FAKE_FLEET_PORT"

# ---- scrape config (shared by Prometheus and VictoriaMetrics) ------------------------------------
PROM_SELF_SCRAPE=1
if [ -n "$STACK_PROM_WEB_CONFIG" ]; then PROM_SELF_SCRAPE=0; fi # a TLS/auth Prometheus is not scraped
NTARGETS=$((PROM_SELF_SCRAPE + NDB + (STACK_NODE == 1 ? (NDB > 0 ? NDB : 1) : 0) + (FAKE_FLEET_HOSTS > 0 ? 1 : 0)))
if [ "$STACK_POSTGRES" = 1 ]; then NTARGETS=$((NTARGETS + $(pg_ntargets))); fi
if [ "$STACK_PATRONI" = 1 ]; then NTARGETS=$((NTARGETS + $(patroni_ntargets))); fi
NTARGETS=$((NTARGETS + ${REPL_TARGETS:-0}))
scrape_configs() {
  echo "scrape_configs:"
  if [ "$PROM_SELF_SCRAPE" = 1 ]; then
    echo "  - job_name: prometheus"
    echo "    static_configs: [{targets: ['127.0.0.1:$PROM_PORT'], labels: {instance: prometheus}}]"
  fi
  if [ "$NDB" -gt 0 ]; then
    echo "  - job_name: mysql"
    echo "    static_configs:"
    for n in $DB_NAMES; do
      echo "      - targets: ['127.0.0.1:${DB_EXP_PORT[$n]}']"
      echo "        labels: {cluster: ${DB_CLUSTER[$n]}, instance: $n}"
    done
  fi
  if [ "$STACK_NODE" = 1 ]; then
    # one node_exporter stands in for every db host: same address, one target per instance label
    echo "  - job_name: node"
    echo "    static_configs:"
    if [ "$NDB" -gt 0 ]; then
      for n in $DB_NAMES; do
        echo "      - targets: ['127.0.0.1:$NODE_PORT']"
        echo "        labels: {cluster: ${DB_CLUSTER[$n]}, instance: $n}"
      done
    else
      echo "      - targets: ['127.0.0.1:$NODE_PORT']"
      echo "        labels: {instance: localhost}"
    fi
  fi
  if [ "$FAKE_FLEET_HOSTS" -gt 0 ]; then
    echo "  - job_name: fake_fleet"
    echo "    honor_labels: true"
    echo "    scrape_interval: $FAKE_FLEET_INTERVAL"
    echo "    scrape_timeout: $FAKE_FLEET_TIMEOUT"
    echo "    static_configs: [{targets: ['127.0.0.1:$FAKE_FLEET_PORT']}]"
  fi
  if [ "$STACK_POSTGRES" = 1 ]; then pg_scrape_configs; fi
  if [ "$STACK_PATRONI" = 1 ]; then patroni_scrape_configs; fi
  if [ "$STACK_REPLICATION" = 1 ]; then repl_scrape_configs; fi
}

# ---- stack.env (stack.env.tmp until ready; pids/*.pid stay authoritative) -----------------------
write_env() {
  {
    echo "# fleetboard test stack, written by scripts/stack.sh start at $(date -u +%FT%TZ)"
    echo "STACK_DIR=$DIR"
    echo "PROM_PORT=$PROM_PORT"
    echo "PROM_URL=$PROM_URL"
    echo "PROM_RUN=$DIR/prometheus/run.sh"
    echo "PROM_TARGETS=$NTARGETS"
    printf 'PROM_WEB_CONFIG=%q\n' "$STACK_PROM_WEB_CONFIG"
    printf 'PROM_CACERT=%q\n' "$STACK_PROM_CACERT"
    printf 'PROM_BASIC_AUTH=%q\n' "$STACK_PROM_BASIC_AUTH"
    echo "AM_PORT=$AM_PORT"
    echo "AM_URL=$AM_URL"
    if [ -n "$NODE_PORT" ]; then echo "NODE_PORT=$NODE_PORT"; fi
    if [ -n "$VM_PORT" ]; then echo "VM_PORT=$VM_PORT"; echo "VM_URL=$VM_URL"; fi
    if [ -n "$FAKE_FLEET_PORT" ]; then
      echo "FAKE_FLEET_PORT=$FAKE_FLEET_PORT"
      echo "FAKE_FLEET_URL=http://127.0.0.1:$FAKE_FLEET_PORT"
      echo "FAKE_FLEET_HOSTS=$FAKE_FLEET_HOSTS"
    fi
    echo "DB_NAMES=\"$DB_NAMES\""
    echo "DB_COUNT=$NDB"
    echo "REPLICA_COUNT=$NREPL"
    for n in $DB_NAMES; do
      local u
      u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
      echo "${u}_CLUSTER=${DB_CLUSTER[$n]}"
      echo "${u}_ROLE=${DB_ROLE[$n]}"
      echo "${u}_PRIMARY=${DB_PRIMARY[$n]}"
      echo "${u}_PORT=${DB_PORT[$n]}"
      echo "${u}_SOCKET=$DIR/$n/mysqld.sock"
      echo "${u}_EXPORTER_PORT=${DB_EXP_PORT[$n]}"
      echo "${u}_EXPORTER_URL=http://127.0.0.1:${DB_EXP_PORT[$n]}/metrics"
    done
    if [ "$STACK_POSTGRES" = 1 ]; then pg_env; fi
    if [ "$STACK_PATRONI" = 1 ]; then patroni_env; fi
    # PIDs as launched (a restart by `stack.sh fault` updates them here and in pids/)
    local f name
    for f in "$DIR"/pids/*.pid; do
      [ -e "$f" ] || continue
      name=$(basename "$f" .pid)
      echo "$(env_pid_key "$name")=$(pid_of "$name")"
    done
    if [ "$STACK_REPLICATION" = 1 ]; then repl_env; fi
  } >"$DIR/stack.env.tmp"
}

# ---- owner watchdog: stop the stack once the process that asked for it is gone ------------------
if [ -n "$STACK_OWNER_PID" ]; then
  OWNER_START=$(proc_start "$STACK_OWNER_PID")
  [ -n "$OWNER_START" ] || { echo "stack start: STACK_OWNER_PID=$STACK_OWNER_PID is not running" >&2; false; }
  launch owner-watch bash -c '
    . "$1/lib.sh"
    while pid_alive "$2" "$3"; do sleep 1; done
    rm -f "$4/pids/owner-watch.pid"
    echo "owner $2 gone, stopping the stack"
    # a test that failed leaves a `keep` file: its logs and data stay for a post-mortem
    if [ -e "$4/keep" ]; then exec "$1/stop.sh" "$4"; fi
    exec "$1/stop.sh" "$4" --purge' owner-watch "$HERE" "$STACK_OWNER_PID" "$OWNER_START" "$DIR"
fi

# ---- node exporter / fake fleet ------------------------------------------------------------------
if [ "$STACK_NODE" = 1 ]; then
  launch node-exporter prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" \
    --collector.disable-defaults --collector.loadavg --collector.cpu --collector.meminfo --collector.uname
fi
if [ "$FAKE_FLEET_HOSTS" -gt 0 ]; then
  launch fake-fleet python3 "$HERE/fake_fleet.py" --hosts "$FAKE_FLEET_HOSTS" \
    --clusters "$FAKE_FLEET_CLUSTERS" --listen 127.0.0.1 --port "$FAKE_FLEET_PORT"
fi

# ---- Prometheus + Alertmanager ------------------------------------------------------------------
mkdir -p "$DIR/prometheus/data" "$DIR/alertmanager/data"
cat >"$DIR/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: $SCRAPE_INTERVAL
  evaluation_interval: 1s
rule_files: ['$DIR/prometheus/rules.yml']
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]
$(scrape_configs)
EOF
cp "$HERE/rules.yml" "$DIR/prometheus/rules.yml"
if ! promtool check config "$DIR/prometheus/prometheus.yml" >"$DIR/logs/promtool.log" 2>&1; then
  cat "$DIR/logs/promtool.log" >&2
  false
fi

cat >"$DIR/alertmanager/alertmanager.yml" <<EOF
route:
  receiver: blackhole
  group_by: [alertname, cluster, instance]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: blackhole
inhibit_rules:
  - source_matchers: [alertname="MySQLDown"]
    target_matchers: [alertname=~"MySQLReplication.*"]
    equal: [cluster, instance]
EOF
cat >"$DIR/alertmanager/run.sh" <<EOF
#!/usr/bin/env bash
# --cluster.listen-address= turns gossip off (no extra listener on all interfaces)
exec prometheus-alertmanager --config.file=$DIR/alertmanager/alertmanager.yml \\
  --storage.path=$DIR/alertmanager/data --web.listen-address=127.0.0.1:$AM_PORT \\
  --cluster.listen-address= --web.external-url=$AM_URL/ --log.level=info
EOF
WEB_CONFIG_FLAG=""
if [ -n "$STACK_PROM_WEB_CONFIG" ]; then WEB_CONFIG_FLAG="--web.config.file=$STACK_PROM_WEB_CONFIG"; fi
# kept as a script so that `stack.sh fault DIR prom-start` restarts it with the same ports and data
cat >"$DIR/prometheus/run.sh" <<EOF
#!/usr/bin/env bash
exec prometheus --config.file=$DIR/prometheus/prometheus.yml --storage.tsdb.path=$DIR/prometheus/data \\
  --web.listen-address=127.0.0.1:$PROM_PORT --web.external-url=$PROM_URL/ \\
  --storage.tsdb.retention.time=1d --web.enable-lifecycle --web.enable-admin-api $WEB_CONFIG_FLAG
EOF
chmod +x "$DIR/alertmanager/run.sh" "$DIR/prometheus/run.sh"
launch alertmanager "$DIR/alertmanager/run.sh"
launch prometheus "$DIR/prometheus/run.sh"

# ---- VictoriaMetrics ------------------------------------------------------------------------------
if [ "$STACK_VM" = 1 ]; then
  mkdir -p "$DIR/vm/data"
  # only scrape sections: VM parses -promscrape.config strictly
  { echo "global: {scrape_interval: $SCRAPE_INTERVAL, scrape_timeout: $SCRAPE_INTERVAL}"; scrape_configs; } >"$DIR/vm/scrape.yml"
  # -search.latencyOffset (default 30s) hides the newest samples from queries: 1s here
  cat >"$DIR/vm/run.sh" <<EOF
#!/usr/bin/env bash
exec victoria-metrics -httpListenAddr=127.0.0.1:$VM_PORT -storageDataPath=$DIR/vm/data \\
  -promscrape.config=$DIR/vm/scrape.yml -retentionPeriod=1d -search.latencyOffset=1s \\
  -memory.allowedPercent=20
EOF
  chmod +x "$DIR/vm/run.sh"
  launch victoria-metrics "$DIR/vm/run.sh"
fi

# ---- MariaDB (last: its set-up time hides behind Prometheus' discovery tick) ----------------------
MARIADB_COMMON="--innodb-buffer-pool-size=32M --innodb-log-file-size=8M --performance-schema=OFF \\
  --skip-name-resolve --max-connections=151 --event-scheduler=ON"
sql() { # NAME SQL...  (root over the unix socket)
  local n=$1
  shift
  mariadb --no-defaults --socket="$DIR/$n/mysqld.sock" -uroot --batch --skip-column-names -e "$*"
}
if [ "$NDB" -gt 0 ]; then
  TPL=$DIR/mariadb-template
  # --no-defaults first, so /etc/mysql/*.cnf is never read
  mariadb-install-db --no-defaults --datadir="$TPL" --user="$ME" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --innodb-log-file-size=8M >"$DIR/logs/mariadb-install-db.log" 2>&1
  # users go into the template in bootstrap mode (no binlog), so every copy starts with them;
  # bootstrap skips the grant tables, hence FLUSH PRIVILEGES before CREATE USER
  mariadbd --no-defaults --bootstrap --datadir="$TPL" --user="$ME" --skip-log-bin --innodb-log-file-size=8M \
    --log-error="$DIR/logs/mariadb-bootstrap.log" 2>>"$DIR/logs/mariadb-bootstrap.log" <<EOF
FLUSH PRIVILEGES;
CREATE USER 'exporter'@'127.0.0.1' IDENTIFIED BY '$EXPORTER_PW' WITH MAX_USER_CONNECTIONS 3;
CREATE USER 'exporter'@'localhost' IDENTIFIED BY '$EXPORTER_PW' WITH MAX_USER_CONNECTIONS 3;
GRANT $EXPORTER_GRANTS ON *.* TO 'exporter'@'127.0.0.1';
GRANT $EXPORTER_GRANTS ON *.* TO 'exporter'@'localhost';
CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '$REPL_PW';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
EOF
  log "mariadb template datadir ready"
  for n in $DB_NAMES; do
    mkdir -p "$DIR/$n/tmp"
    cp -a "$TPL" "$DIR/$n/data"
    ro=0
    if [ "${DB_ROLE[$n]}" = replica ]; then ro=1; fi
    cat >"$DIR/$n/run.sh" <<EOF
#!/usr/bin/env bash
exec mariadbd --no-defaults --user=$ME --datadir=$DIR/$n/data --tmpdir=$DIR/$n/tmp \\
  --socket=$DIR/$n/mysqld.sock --pid-file=$DIR/$n/mysqld.pid --log-error=$DIR/logs/$n-error.log \\
  --skip-networking=0 --bind-address=127.0.0.1 --port=${DB_PORT[$n]} \\
  --server-id=${DB_SID[$n]} --log-bin=$n-bin --relay-log=$n-relay --log-slave-updates=1 \\
  --binlog-format=ROW --gtid-strict-mode=1 --read-only=$ro \\
  --report-host=127.0.0.1 --report-port=${DB_PORT[$n]} $MARIADB_COMMON
EOF
    chmod +x "$DIR/$n/run.sh"
    launch "$n" "$DIR/$n/run.sh"
  done
  rm -rf "$TPL"
  for n in $DB_NAMES; do
    for ((i = 0; i < 300; i++)); do
      if sql "$n" "SELECT 1" >/dev/null 2>&1; then break; fi
      if ! pidfile_alive "$DIR/pids/$n.pid"; then
        echo "stack start: mariadbd $n died; see $DIR/logs/$n-error.log" >&2
        false
      fi
      sleep 0.1
    done
    sql "$n" "SELECT 1" >/dev/null
  done
  log "mariadbd x$NDB accepting connections"
  for n in $DB_NAMES; do
    if [ "${DB_ROLE[$n]}" = primary ]; then
      # a write every second, so Seconds_Behind_Master moves when a replica is delayed
      sql "$n" "CREATE DATABASE app;
        CREATE TABLE app.heartbeat (id INT PRIMARY KEY, ts TIMESTAMP(6) NOT NULL, server_id INT NOT NULL);
        CREATE TABLE app.load_test (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), ts TIMESTAMP(6) DEFAULT NOW(6));
        CREATE EVENT app.heartbeat_ev ON SCHEDULE EVERY 1 SECOND
          DO REPLACE INTO app.heartbeat VALUES (1, NOW(6), @@server_id);"
    fi
  done
  for n in $DB_NAMES; do
    if [ "${DB_ROLE[$n]}" = replica ]; then
      p=${DB_PRIMARY[$n]}
      # MASTER_CONNECT_RETRY=1: reconnect within ~1 s after the primary comes back (default 60 s)
      sql "$n" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${DB_PORT[$p]},
        MASTER_USER='repl', MASTER_PASSWORD='$REPL_PW', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
        START SLAVE;"
    fi
  done
  log "replication configured"
  for n in $DB_NAMES; do
    cat >"$DIR/$n/exporter.my.cnf" <<EOF
[client]
user=exporter
password=$EXPORTER_PW
host=127.0.0.1
port=${DB_PORT[$n]}
EOF
    chmod 600 "$DIR/$n/exporter.my.cnf"
    cat >"$DIR/$n/exporter-run.sh" <<EOF
#!/usr/bin/env bash
exec prometheus-mysqld-exporter --config.my-cnf=$DIR/$n/exporter.my.cnf \\
  --web.listen-address=127.0.0.1:${DB_EXP_PORT[$n]} \\
  --collect.global_status --collect.global_variables --collect.slave_status --collect.slave_hosts \\
  --collect.info_schema.processlist \\
  --no-collect.info_schema.query_response_time --no-collect.info_schema.innodb_cmp \\
  --no-collect.info_schema.innodb_cmpmem
EOF
    chmod +x "$DIR/$n/exporter-run.sh"
    launch "$n-exporter" "$DIR/$n/exporter-run.sh"
  done
fi
# Patroni first: its nodes bootstrap on their own while pg_start sets up its servers one by one
if [ "$STACK_PATRONI" = 1 ]; then patroni_start; fi
if [ "$STACK_POSTGRES" = 1 ]; then pg_start; fi
if [ "$STACK_REPLICATION" = 1 ]; then repl_start; fi
write_env

# ---- wait until everything is up -------------------------------------------------------------------
READY_ARGS=(--prom "$PROM_URL" --targets "$NTARGETS" --dbs "$NDB" --replicas "$NREPL")
if [ -n "$VM_URL" ]; then READY_ARGS+=(--vm "$VM_URL"); fi
if [ "$PROM_SCHEME" = https ]; then
  if [ -n "$STACK_PROM_CACERT" ]; then READY_ARGS+=(--cacert "$STACK_PROM_CACERT"); else READY_ARGS+=(--insecure); fi
fi
export PROM_BASIC_AUTH=$STACK_PROM_BASIC_AUTH
if ! python3 "$HERE/ready.py" "${READY_ARGS[@]}" --timeout "$STACK_WAIT_S"; then
  echo "stack start: not ready after ${STACK_WAIT_S}s" >&2
  false
fi
if [ "$STACK_POSTGRES" = 1 ] && ! pg_wait_ready "$STACK_WAIT_S"; then
  echo "stack start: postgres not ready after ${STACK_WAIT_S}s" >&2
  false
fi
if [ "$STACK_PATRONI" = 1 ] && ! patroni_wait_ready "$STACK_WAIT_S"; then
  echo "stack start: patroni not ready after ${STACK_WAIT_S}s" >&2
  false
fi
if [ "${STACK_PMM:-0}" = 1 ]; then "$HERE/pmm.sh" "$DIR" >>"$DIR/stack.env.tmp"; fi
STARTUP=$(elapsed "$T0" "$(now_ms)")
echo "STARTUP_SECONDS=$STARTUP" >>"$DIR/stack.env.tmp"
mv "$DIR/stack.env.tmp" "$DIR/stack.env"
# more Prometheus servers (two regions, an HA pair): scripts/stack/regions.sh
if [ "${STACK_REGIONS:-0}" = 1 ]; then "$HERE/regions.sh" "$DIR"; fi
READY=1
log "READY: $NTARGETS targets up, mysql_up=$NDB/$NDB, replicas running=$NREPL/$NREPL"
echo "STACK_DIR=$DIR"
echo "stack start: ready in ${STARTUP}s; source $DIR/stack.env"
