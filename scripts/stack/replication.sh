# shellcheck shell=bash
# replication.sh -- replication variants for the test stack; sourced by start.sh when
# STACK_REPLICATION=1 (not run on its own).
#
# Cluster `hub` (real MariaDB, one mysqld_exporter each with --collect.slave_status
# --collect.heartbeat --collect.heartbeat.utc):
#   src1 (server_id 11, gtid domain 1) and src2 (12, domain 2): primaries, each with its own
#        writer (an event inserting every second into w_src1.t / w_src2.t)
#   agg1 (21): multi-source replica, connection 'a' from src1 and 'b' from src2
#   dr1  (31): delayed replica of src1, MASTER_DELAY=$REPL_DELAY seconds
#   pt-heartbeat --update --utc on src1 (percona-toolkit), table heartbeat.heartbeat
# Fixture exporters: scripts/stack/fixture_exporter.py serves exporter-format files of
# tests/fixtures/exporters/ ($REPL_FIXTURES) with cluster names prefixed "fx-" (MySQL 8.4
# replica names, Group Replication, Galera: servers Debian does not ship), scraped by the
# same Prometheus with honor_labels, so the board reads them through the real query path.
#
# Cluster `galera` (REPL_GALERA=1): MariaDB Galera g1, g2, g3 (galera-4) on loopback, run as
#   the `mysql` user (the rsync SST daemon would drop to `nobody` under root and fail), g1
#   bootstrapping, g2 and g3 joining by rsync SST; one mysqld_exporter each. DIR is opened for
#   traversal (711) so that user reaches its directories.
# Knobs: REPL_DELAY=20 (seconds), REPL_GALERA=1, REPL_FIXTURES="c01_mysql84_replica_names.prom
#        group_replication.prom galera.prom duplicates.prom" (empty: no fixture exporter;
#        duplicates.prom is scraped a second time, see repl_scrape_configs)
# Functions used by start.sh: repl_plan (after free ports are known), repl_scrape_configs,
# repl_start (after Prometheus started), repl_env (inside write_env).
# Every db lives in DIR/NAME like the main stack's, so `stack.sh fault DIR sql agg1 ...`,
# `kill-exporter src2`, `start-exporter src2` work on them.

REPL_DELAY=${REPL_DELAY:-20}
REPL_FIXTURES=${REPL_FIXTURES-"c01_mysql84_replica_names.prom group_replication.prom galera.prom duplicates.prom"}
REPL_GALERA=${REPL_GALERA:-1}
REPL_DBS="src1 src2 agg1 dr1"
GALERA_DBS=""
if [ "$REPL_GALERA" = 1 ]; then GALERA_DBS="g1 g2 g3"; fi
declare -A R_PORT R_EXP R_SID R_GCOMM R_IST R_SST
REPL_TARGETS=0

repl_plan() {
  local ports n i=0 nf=0
  [ -n "$REPL_FIXTURES" ] && nf=1
  read -r -a ports <<<"$(free_ports $((8 + nf + 15)))"
  for n in $REPL_DBS; do
    R_PORT[$n]=${ports[$i]}
    R_EXP[$n]=${ports[$((i + 1))]}
    i=$((i + 2))
  done
  R_SID=([src1]=11 [src2]=12 [agg1]=21 [dr1]=31)
  REPL_FIXTURE_PORT=""
  if [ "$nf" = 1 ]; then REPL_FIXTURE_PORT=${ports[$i]}; fi
  i=$((i + nf))
  for n in $GALERA_DBS; do
    R_PORT[$n]=${ports[$i]}
    R_EXP[$n]=${ports[$((i + 1))]}
    R_GCOMM[$n]=${ports[$((i + 2))]}
    R_IST[$n]=${ports[$((i + 3))]}
    R_SST[$n]=${ports[$((i + 4))]}
    i=$((i + 5))
  done
  # duplicates.prom is a second target: the fixture exporter scraped again by fixtures-replica
  local ndup=0
  case " $REPL_FIXTURES " in *" duplicates.prom "*) ndup=1 ;; esac
  REPL_TARGETS=$((4 + nf + ndup + ${#R_GCOMM[@]}))
  log "replication variants: src1=${R_PORT[src1]} src2=${R_PORT[src2]} agg1=${R_PORT[agg1]} dr1=${R_PORT[dr1]} fixtures=$REPL_FIXTURE_PORT"
}

repl_scrape_configs() {
  local n
  echo "  - job_name: mysql_variants"
  echo "    static_configs:"
  for n in $REPL_DBS; do
    echo "      - targets: ['127.0.0.1:${R_EXP[$n]}']"
    echo "        labels: {cluster: hub, instance: $n}"
  done
  if [ -n "$GALERA_DBS" ]; then
    echo "  - job_name: galera"
    echo "    static_configs:"
    for n in $GALERA_DBS; do
      echo "      - targets: ['127.0.0.1:${R_EXP[$n]}']"
      echo "        labels: {cluster: galera, instance: $n}"
    done
  fi
  if [ -n "$REPL_FIXTURE_PORT" ]; then
    echo "  - job_name: fixtures"
    echo "    honor_labels: true"
    echo "    static_configs: [{targets: ['127.0.0.1:$REPL_FIXTURE_PORT']}]"
    case " $REPL_FIXTURES " in
      *" duplicates.prom "*)
        # The same servers twice, told apart only by a replica label (as Thanos without
        # deduplication answers): the board must neither fail nor double-count them.
        echo "  - job_name: fixtures-replica"
        echo "    honor_labels: true"
        echo "    static_configs: [{targets: ['127.0.0.1:$REPL_FIXTURE_PORT']}]"
        echo "    metric_relabel_configs:"
        echo "      - {source_labels: [cluster], regex: fx-dup, action: keep}"
        echo "      - {target_label: prometheus_replica, replacement: b}"
        ;;
    esac
  fi
}

repl_sql() { # NAME SQL...  (root over the unix socket)
  local n=$1
  shift
  mariadb --no-defaults --socket="$DIR/$n/mysqld.sock" -uroot --batch --skip-column-names -e "$*"
}

# --skip-column-names would drop the names from \G output too
repl_status() { mariadb --no-defaults --socket="$DIR/$1/mysqld.sock" -uroot -e "$2"; }

repl_start() {
  local tpl=$DIR/repl-template n ro i extra
  if [ -n "$REPL_FIXTURE_PORT" ]; then
    local files=() f
    for f in $REPL_FIXTURES; do files+=("$HERE/../../tests/fixtures/exporters/$f"); done
    launch fixture-exporter python3 "$HERE/fixture_exporter.py" --listen 127.0.0.1 \
      --port "$REPL_FIXTURE_PORT" --cluster-prefix fx- "${files[@]}"
  fi
  mariadb-install-db --no-defaults --datadir="$tpl" --user="$ME" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --innodb-log-file-size=8M >"$DIR/logs/repl-install-db.log" 2>&1
  mariadbd --no-defaults --bootstrap --datadir="$tpl" --user="$ME" --skip-log-bin --innodb-log-file-size=8M \
    --log-error="$DIR/logs/repl-bootstrap.log" 2>>"$DIR/logs/repl-bootstrap.log" <<EOF
FLUSH PRIVILEGES;
CREATE USER 'exporter'@'127.0.0.1' IDENTIFIED BY '$EXPORTER_PW' WITH MAX_USER_CONNECTIONS 3;
GRANT $EXPORTER_GRANTS ON *.* TO 'exporter'@'127.0.0.1';
CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '$REPL_PW';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
EOF
  if [ -n "$GALERA_DBS" ]; then galera_prepare "$tpl"; fi
  for n in $REPL_DBS; do
    mkdir -p "$DIR/$n/tmp"
    cp -a "$tpl" "$DIR/$n/data"
    ro=1
    extra=""
    case $n in
      src1) ro=0; extra="--gtid-domain-id=1" ;;
      src2) ro=0; extra="--gtid-domain-id=2" ;;
    esac
    cat >"$DIR/$n/run.sh" <<EOF
#!/usr/bin/env bash
exec mariadbd --no-defaults --user=$ME --datadir=$DIR/$n/data --tmpdir=$DIR/$n/tmp \\
  --socket=$DIR/$n/mysqld.sock --pid-file=$DIR/$n/mysqld.pid --log-error=$DIR/logs/$n-error.log \\
  --skip-networking=0 --bind-address=127.0.0.1 --port=${R_PORT[$n]} \\
  --server-id=${R_SID[$n]} $extra --log-bin=$n-bin --relay-log=$n-relay --log-slave-updates=1 \\
  --binlog-format=ROW --gtid-strict-mode=1 --read-only=$ro \\
  --report-host=127.0.0.1 --report-port=${R_PORT[$n]} $MARIADB_COMMON
EOF
    chmod +x "$DIR/$n/run.sh"
    launch "$n" "$DIR/$n/run.sh"
  done
  rm -rf "$tpl"
  for n in $REPL_DBS; do
    for ((i = 0; i < 300; i++)); do
      if repl_sql "$n" "SELECT 1" >/dev/null 2>&1; then break; fi
      if ! pidfile_alive "$DIR/pids/$n.pid"; then
        echo "stack start: mariadbd $n died; see $DIR/logs/$n-error.log" >&2
        false
      fi
      sleep 0.1
    done
    repl_sql "$n" "SELECT 1" >/dev/null
  done
  # Each primary writes its own database: with one shared schema a row event of one
  # connection would land on the other's table on agg1 (see real-stack.md).
  for n in src1 src2; do
    repl_sql "$n" "CREATE DATABASE w_$n; CREATE TABLE w_$n.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, ts TIMESTAMP(6) DEFAULT NOW(6));
      CREATE EVENT w_$n.writer ON SCHEDULE EVERY 1 SECOND DO INSERT INTO w_$n.t (ts) VALUES (NOW(6));"
  done
  repl_sql src1 "CREATE DATABASE heartbeat"
  local common="MASTER_HOST='127.0.0.1', MASTER_USER='repl', MASTER_PASSWORD='$REPL_PW', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1"
  repl_sql agg1 "CHANGE MASTER 'a' TO MASTER_PORT=${R_PORT[src1]}, $common;
    CHANGE MASTER 'b' TO MASTER_PORT=${R_PORT[src2]}, $common; START ALL SLAVES;"
  repl_sql dr1 "CHANGE MASTER TO MASTER_PORT=${R_PORT[src1]}, $common, MASTER_DELAY=$REPL_DELAY; START SLAVE;"
  # pt-heartbeat writes server_id and a UTC timestamp every second (--create-table makes
  # heartbeat.heartbeat); the exporters read it with --collect.heartbeat.utc.
  cat >"$DIR/src1/pt-heartbeat.cnf" <<EOF
[client]
user=root
socket=$DIR/src1/mysqld.sock
EOF
  launch pt-heartbeat pt-heartbeat --defaults-file="$DIR/src1/pt-heartbeat.cnf" -D heartbeat \
    --create-table --update --utc --interval 1
  for n in $REPL_DBS; do
    cat >"$DIR/$n/exporter.my.cnf" <<EOF
[client]
user=exporter
password=$EXPORTER_PW
host=127.0.0.1
port=${R_PORT[$n]}
EOF
    chmod 600 "$DIR/$n/exporter.my.cnf"
    cat >"$DIR/$n/exporter-run.sh" <<EOF
#!/usr/bin/env bash
exec prometheus-mysqld-exporter --config.my-cnf=$DIR/$n/exporter.my.cnf \\
  --web.listen-address=127.0.0.1:${R_EXP[$n]} \\
  --collect.global_status --collect.global_variables --collect.slave_status \\
  --collect.heartbeat --collect.heartbeat.utc \\
  --no-collect.info_schema.query_response_time --no-collect.info_schema.innodb_cmp \\
  --no-collect.info_schema.innodb_cmpmem
EOF
    chmod +x "$DIR/$n/exporter-run.sh"
    launch "$n-exporter" "$DIR/$n/exporter-run.sh"
  done
  # Ready when agg1 runs both connections and dr1 its one (Slave_SQL_Running Yes).
  for ((i = 0; i < 300; i++)); do
    local running
    running=$(repl_status agg1 "SHOW ALL SLAVES STATUS\G" | grep -c -E "Slave_(IO|SQL)_Running: Yes" || true)
    running=$((running + $(repl_status dr1 "SHOW SLAVE STATUS\G" | grep -c -E "Slave_(IO|SQL)_Running: Yes" || true)))
    if [ "$running" = 6 ] && repl_sql agg1 "SELECT 1 FROM heartbeat.heartbeat LIMIT 1" 2>/dev/null | grep -q 1; then
      break
    fi
    sleep 0.2
  done
  [ "$running" = 6 ] || { echo "stack start: replication variants not running ($running/6 threads)" >&2; false; }
  if [ -n "$GALERA_DBS" ]; then galera_start; fi
  log "replication variants running (agg1 a+b, dr1 delayed ${REPL_DELAY}s, pt-heartbeat on src1)"
}

galera_prepare() { # TEMPLATE_DATADIR
  local n a=""
  chmod 711 "$DIR"
  for n in $GALERA_DBS; do a="$a${a:+,}127.0.0.1:${R_GCOMM[$n]}"; done
  for n in $GALERA_DBS; do
    mkdir -p "$DIR/$n/tmp"
    cp -a "$1" "$DIR/$n/data"
    cat >"$DIR/$n/run.sh" <<EOF
#!/usr/bin/env bash
exec mariadbd --no-defaults --user=mysql --datadir=$DIR/$n/data --tmpdir=$DIR/$n/tmp \\
  --socket=$DIR/$n/mysqld.sock --pid-file=$DIR/$n/mysqld.pid --log-error=$DIR/$n/error.log \\
  --skip-networking=0 --bind-address=127.0.0.1 --port=${R_PORT[$n]} --server-id=${n#g} \\
  --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 $MARIADB_COMMON \\
  --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so --wsrep-cluster-name=fleetboard \\
  --wsrep-cluster-address=gcomm://$a --wsrep-node-address=127.0.0.1:${R_GCOMM[$n]} --wsrep-node-name=$n \\
  --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:${R_GCOMM[$n]};ist.recv_addr=127.0.0.1:${R_IST[$n]};gcache.size=16M" \\
  --wsrep-sst-method=rsync --wsrep-sst-receive-address=127.0.0.1:${R_SST[$n]} "\$@"
EOF
    chmod +x "$DIR/$n/run.sh"
    chown -R mysql:mysql "$DIR/$n"
  done
}

# galera_join NODE: starts a joiner and waits until it is Synced (wsrep_local_state 4),
# starting it again (up to three times in all) when it died on the way.
galera_join() {
  local n=$1 attempt i st
  for attempt in 1 2 3; do
    launch "$n" "$DIR/$n/run.sh"
    for ((i = 0; i < 450; i++)); do
      st=$(repl_sql "$n" "SHOW STATUS LIKE 'wsrep_local_state'" 2>/dev/null | awk '{print $2}' || true)
      if [ "$st" = 4 ]; then return 0; fi
      pidfile_alive "$DIR/pids/$n.pid" || break
      sleep 0.2
    done
    if pidfile_alive "$DIR/pids/$n.pid"; then break; fi
    echo "stack start: galera $n died while joining (attempt $attempt); see $DIR/$n/error.log" >&2
  done
  echo "stack start: galera $n not synced (state ${st:-none}); see $DIR/$n/error.log" >&2
  false
}

galera_start() {
  local n i size
  launch g1 "$DIR/g1/run.sh" --wsrep-new-cluster
  for ((i = 0; i < 300; i++)); do
    if repl_sql g1 "SELECT 1" >/dev/null 2>&1; then break; fi
    pidfile_alive "$DIR/pids/g1.pid" || { echo "stack start: galera g1 died; see $DIR/g1/error.log" >&2; false; }
    sleep 0.1
  done
  # One joiner at a time: two state transfers from the one donor at once can fail, and a
  # joiner whose transfer failed aborts (mysqld's design). One that died is started again.
  for n in g2 g3; do galera_join "$n"; done
  size=$(repl_sql g1 "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | awk '{print $2}' || true)
  if [ "$size" != 3 ]; then
    echo "stack start: galera cluster size $size, not 3; see $DIR/g*/error.log" >&2
    false
  fi
  for n in $GALERA_DBS; do
    cat >"$DIR/$n/exporter.my.cnf" <<EOF
[client]
user=exporter
password=$EXPORTER_PW
host=127.0.0.1
port=${R_PORT[$n]}
EOF
    chmod 600 "$DIR/$n/exporter.my.cnf"
    cat >"$DIR/$n/exporter-run.sh" <<EOF
#!/usr/bin/env bash
exec prometheus-mysqld-exporter --config.my-cnf=$DIR/$n/exporter.my.cnf \\
  --web.listen-address=127.0.0.1:${R_EXP[$n]} --collect.global_status --collect.global_variables \\
  --no-collect.info_schema.query_response_time --no-collect.info_schema.innodb_cmp \\
  --no-collect.info_schema.innodb_cmpmem
EOF
    chmod +x "$DIR/$n/exporter-run.sh"
    launch "$n-exporter" "$DIR/$n/exporter-run.sh"
  done
  log "galera: g1 g2 g3 synced"
}

repl_env() {
  local n u
  echo "REPL_DBS=\"$REPL_DBS\""
  echo "REPL_DELAY=$REPL_DELAY"
  if [ -n "$REPL_FIXTURE_PORT" ]; then echo "REPL_FIXTURE_URL=http://127.0.0.1:$REPL_FIXTURE_PORT/metrics"; fi
  echo "GALERA_DBS=\"$GALERA_DBS\""
  for n in $GALERA_DBS; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    echo "${u}_CLUSTER=galera"
    echo "${u}_PORT=${R_PORT[$n]}"
    echo "${u}_SOCKET=$DIR/$n/mysqld.sock"
    echo "${u}_EXPORTER_PORT=${R_EXP[$n]}"
  done
  for n in $REPL_DBS; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    echo "${u}_CLUSTER=hub"
    echo "${u}_PORT=${R_PORT[$n]}"
    echo "${u}_SOCKET=$DIR/$n/mysqld.sock"
    echo "${u}_EXPORTER_PORT=${R_EXP[$n]}"
  done
}
