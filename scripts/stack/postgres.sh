#!/usr/bin/env bash
# postgres.sh -- the PostgreSQL part of fleetboard's test stack: streaming replication on
# loopback, one prometheus-postgres-exporter per server, and its faults.
#
# Sourced by start.sh when STACK_POSTGRES=1 (it then calls pg_plan, pg_scrape_configs,
# pg_start, pg_env and pg_wait_ready). Run by hand (or through `scripts/stack.sh fault`) for faults:
#
#   postgres.sh fault DIR ACTION [NAME]
#     stop NAME        fast shutdown of that server        -> pg_up 0 or vanished: DOWN
#     start NAME       start it again (same data, same port)
#     cut NAME         the primary rejects NAME's replication user (pg_hba.conf + reload) and
#                      its walsender is terminated: NAME keeps running, pg_replication_lag_seconds
#                      stays 0, its WAL receiver and the primary's row for it vanish
#     uncut NAME       undo cut (NAME reconnects within wal_retrieve_retry_interval, 1 s)
#     pause NAME       SELECT pg_wal_replay_pause() on replica NAME (the writer keeps writing)
#     resume NAME      SELECT pg_wal_replay_resume()
#     slot             create an inactive physical slot `orphan` on the primary (holds WAL)
#     drop-slot        drop it
#     sql NAME "SQL"   run SQL as postgres over NAME's socket
#     status           pg_stat_replication and pg_replication_slots of the primary, receivers
#     heal             undo all of the above
#
# Topology: cluster `ledger` = pg1 (primary) -> pg2, pg3 streaming replicas, each through its own
# slot (slot_pgN) and replication user (repl_pgN), application_name = cluster_name = pgN.
# STACK_PG_CASCADE=1 adds pg4, a cascading replica of pg2. A writer inserts a row every 0.5 s
# on the primary, so replay lag moves when replay stops.
#
# Knobs: STACK_PG_CASCADE=0, PG_SCRAPE_INTERVAL=2s (a stopped server makes the exporter wait
# about 1 s before answering: a 1 s scrape timeout would drop pg_up instead of reading 0).
#
# Debian's exporter (0.11.1) predates the replication collectors of newer upstream versions;
# postgres-queries.yaml gives it upstream's SQL for pg_replication_* and pg_stat_wal_receiver_*.

PG_CLUSTER=ledger

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# pg_topology: "name role upstream" lines
pg_topology() {
  echo "pg1 primary -"
  echo "pg2 replica pg1"
  echo "pg3 replica pg1"
  if [ "${STACK_PG_CASCADE:-0}" = 1 ]; then echo "pg4 replica pg2"; fi
}

# ---- used by start.sh ------------------------------------------------------------------------
# pg_plan: names and ports (needs start.sh's free_ports)
pg_plan() {
  declare -gA PG_PORT PG_EXP_PORT PG_ROLE PG_UP
  PG_NAMES=""
  PG_REPLICAS=0
  local n r u ports i=0
  local count
  count=$(pg_topology | wc -l)
  read -r -a ports <<<"$(free_ports $((2 * count)))"
  while read -r n r u; do
    PG_PORT[$n]=${ports[$i]}
    PG_EXP_PORT[$n]=${ports[$((i + 1))]}
    i=$((i + 2))
    PG_ROLE[$n]=$r
    PG_UP[$n]=$u
    PG_NAMES="$PG_NAMES $n"
    if [ "$r" = replica ]; then PG_REPLICAS=$((PG_REPLICAS + 1)); fi
  done < <(pg_topology)
  PG_NAMES=${PG_NAMES# }
  PG_COUNT=$count
}

# pg_ntargets: scrape targets added (one exporter per server, plus node_exporter per server)
pg_ntargets() { echo $((PG_COUNT * (1 + (STACK_NODE == 1 ? 1 : 0)))); }

pg_scrape_configs() {
  local n
  echo "  - job_name: postgres"
  echo "    scrape_interval: ${PG_SCRAPE_INTERVAL:-2s}"
  echo "    scrape_timeout: ${PG_SCRAPE_INTERVAL:-2s}"
  echo "    static_configs:"
  for n in $PG_NAMES; do
    echo "      - targets: ['127.0.0.1:${PG_EXP_PORT[$n]}']"
    echo "        labels: {cluster: $PG_CLUSTER, instance: $n}"
  done
  # the Patroni cluster's exporters and hosts share these jobs (STACK_PATRONI=1, patroni.sh)
  if [ "${STACK_PATRONI:-0}" = 1 ]; then patroni_postgres_targets; fi
  if [ "$STACK_NODE" = 1 ]; then
    echo "  - job_name: node-postgres"
    echo "    static_configs:"
    for n in $PG_NAMES; do
      echo "      - targets: ['127.0.0.1:$NODE_PORT']"
      echo "        labels: {cluster: $PG_CLUSTER, instance: $n}"
    done
    if [ "${STACK_PATRONI:-0}" = 1 ]; then patroni_node_targets; fi
  fi
}

pg_env() {
  local n u
  echo "PG_NAMES=\"$PG_NAMES\""
  echo "PG_CLUSTER=$PG_CLUSTER"
  echo "PG_COUNT=$PG_COUNT"
  echo "PG_REPLICA_COUNT=$PG_REPLICAS"
  for n in $PG_NAMES; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    echo "${u}_ROLE=${PG_ROLE[$n]}"
    echo "${u}_UPSTREAM=${PG_UP[$n]}"
    echo "${u}_PORT=${PG_PORT[$n]}"
    echo "${u}_SOCKET_DIR=$DIR/$n"
    echo "${u}_EXPORTER_PORT=${PG_EXP_PORT[$n]}"
    echo "${u}_EXPORTER_URL=http://127.0.0.1:${PG_EXP_PORT[$n]}/metrics"
  done
}

# as_pg CMD...: run as the postgres user (PostgreSQL refuses to run as root)
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

pg_psql() { # NAME SQL
  as_pg "$(pg_bindir)/psql" -X -q -A -t -h "$DIR/$1" -p "$(pg_port_of "$1")" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2"
}
pg_port_of() {
  if [ -n "${PG_PORT[$1]:-}" ] 2>/dev/null; then echo "${PG_PORT[$1]}"; return; fi
  local v
  v=$(echo "$1" | tr '[:lower:]' '[:upper:]')_PORT
  echo "${!v}"
}

pg_wait_accepting() { # NAME
  local i
  for ((i = 0; i < 300; i++)); do
    if as_pg "$(pg_bindir)/pg_isready" -q -h "$DIR/$1" -p "$(pg_port_of "$1")"; then return 0; fi
    if ! pidfile_alive "$DIR/pids/$1.pid"; then
      echo "stack: postgres $1 died; see $DIR/logs/$1.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "stack: postgres $1 not accepting connections after 30 s" >&2
  return 1
}

# the server's run script: a wrapper turning SIGTERM into a fast shutdown (SIGINT), so that
# stop.sh and faults do not wait for clients (a smart shutdown waits for the exporter)
pg_write_run() { # NAME
  local n=$1 bin
  bin=$(pg_bindir)
  cat >"$DIR/$n/run.sh" <<EOF
#!/usr/bin/env bash
setpriv_cmd=()
if [ "\$(id -u)" = 0 ]; then setpriv_cmd=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi
"\${setpriv_cmd[@]}" $bin/postgres -D $DIR/$n/data -c port=${PG_PORT[$n]} -c listen_addresses=127.0.0.1 \\
  -c unix_socket_directories=$DIR/$n -c cluster_name=$n -c wal_level=replica -c max_wal_senders=10 \\
  -c max_replication_slots=10 -c hot_standby=on -c shared_buffers=16MB -c fsync=off \\
  -c wal_receiver_status_interval=1s -c wal_retrieve_retry_interval=1s -c max_connections=50 \\
  -c logging_collector=off -c log_min_messages=warning &
pid=\$!
trap 'kill -INT \$pid' TERM INT
wait \$pid
wait \$pid
EOF
  chmod +x "$DIR/$n/run.sh"
}

pg_write_exporter_run() { # NAME
  local n=$1
  cat >"$DIR/$n/exporter-run.sh" <<EOF
#!/usr/bin/env bash
export DATA_SOURCE_NAME='host=$DIR/$n port=${PG_PORT[$n]} user=postgres dbname=postgres sslmode=disable'
exec prometheus-postgres-exporter --web.listen-address=127.0.0.1:${PG_EXP_PORT[$n]} \\
  --extend.query-path=$DIR/postgres-queries.yaml --log.level=warn
EOF
  chmod +x "$DIR/$n/exporter-run.sh"
}

pg_start() {
  local bin n r u
  bin=$(pg_bindir)
  [ -n "$bin" ] || { echo "stack start: no PostgreSQL server (/usr/lib/postgresql/*/bin)" >&2; return 1; }
  # the postgres user must reach DIR/<name>: open the stack folder for traversal
  chmod o+x "$DIR"
  cp "$HERE/postgres-queries.yaml" "$DIR/postgres-queries.yaml"
  # exporters first: they answer with pg_up 0 until their server is up
  for n in $PG_NAMES; do
    mkdir -p "$DIR/$n"
    chown postgres: "$DIR/$n" 2>/dev/null || true
    pg_write_run "$n"
    pg_write_exporter_run "$n"
    launch "$n-exporter" "$DIR/$n/exporter-run.sh"
  done
  for n in $PG_NAMES; do
    [ "${PG_ROLE[$n]}" = primary ] || continue
    as_pg "$bin/initdb" -D "$DIR/$n/data" -U postgres --auth=trust --no-sync -E UTF8 >"$DIR/logs/$n-initdb.log" 2>&1
    # faults insert `reject` lines for one replication user above the last line
    cat >"$DIR/$n/data/pg_hba.conf" <<EOF
# fleetboard test stack (loopback only); faults add lines above this one
local all all trust
host all all 127.0.0.1/32 trust
local replication all trust
host replication all 127.0.0.1/32 trust
EOF
    launch "$n" "$DIR/$n/run.sh"
    pg_wait_accepting "$n"
    pg_psql "$n" "CREATE TABLE heartbeat (id bigserial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now())" >/dev/null
  done
  # replicas in topology order, so a cascading replica's upstream exists before it
  for n in $PG_NAMES; do
    [ "${PG_ROLE[$n]}" = replica ] || continue
    u=${PG_UP[$n]}
    r=$(pg_primary_name)
    pg_psql "$r" "CREATE ROLE repl_$n REPLICATION LOGIN" >/dev/null
    # a cascading replica's upstream is itself a replica: the role reaches it by replay
    if [ "$u" != "$r" ]; then
      local tries=0
      until [ "$(pg_psql "$u" "SELECT count(*) FROM pg_roles WHERE rolname = 'repl_$n'" 2>/dev/null)" = 1 ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || { echo "stack start: repl_$n never replayed on $u" >&2; return 1; }
        sleep 0.1
      done
    fi
    # -C -S: a slot per replica on its upstream; -R: standby.signal + primary_conninfo
    as_pg "$bin/pg_basebackup" -D "$DIR/$n/data" -X stream -C -S "slot_$n" -R --no-sync \
      -d "host=127.0.0.1 port=${PG_PORT[$u]} user=repl_$n application_name=$n" >"$DIR/logs/$n-basebackup.log" 2>&1
    launch "$n" "$DIR/$n/run.sh"
    pg_wait_accepting "$n"
  done
  launch pg-writer bash -c "while :; do
      '$bin/psql' -X -q -h '$DIR/$(pg_primary_name)' -p ${PG_PORT[$(pg_primary_name)]} -U postgres -d postgres \
        -c 'INSERT INTO heartbeat DEFAULT VALUES' >/dev/null 2>&1
      sleep 0.5
    done"
  log "postgres x$PG_COUNT accepting connections, $PG_REPLICAS streaming replicas set up"
}

pg_primary_name() {
  local n
  for n in $PG_NAMES; do
    if [ "$(pg_role_of "$n")" = primary ]; then echo "$n"; return; fi
  done
}
pg_role_of() {
  if [ -n "${PG_ROLE[$1]:-}" ] 2>/dev/null; then echo "${PG_ROLE[$1]}"; return; fi
  local v
  v=$(echo "$1" | tr '[:lower:]' '[:upper:]')_ROLE
  echo "${!v}"
}

# pg_wait_ready TIMEOUT: Prometheus sees pg_up == 1 on every server and every replica streaming
# (a WAL receiver with status="streaming" and its upstream's walsender row in state streaming)
pg_wait_ready() {
  local r=${PG_REPLICAS:-${PG_REPLICA_COUNT:-0}}
  # job postgres also holds the Patroni cluster's exporters (STACK_PATRONI=1): count this cluster only
  local sel="job=\"postgres\",cluster=\"$PG_CLUSTER\""
  python3 "$HERE/wait_counts.py" "$PROM_URL" "${1:-90}" postgres \
    pg_up "count(pg_up{$sel} == 1)" "$PG_COUNT" \
    receivers "count(pg_stat_wal_receiver_received_tli{$sel,status=\"streaming\"})" "$r" \
    walsenders "count(pg_stat_replication_pg_current_wal_lsn_bytes{$sel,state=\"streaming\"})" "$r"
}

# ---- faults ------------------------------------------------------------------------------------
pg_fault() {
  local action=$1 name=${2:-} arg=${3:-} p
  p=$(pg_primary_name)
  need() { [ -n "$name" ] && [ -x "$DIR/$name/run.sh" ] || { echo "stack fault: $action needs a postgres server name (one of: $PG_NAMES)" >&2; exit 2; }; }
  case $action in
    stop) need; pg_stop "$name" ;;
    start) need; pg_start_one "$name" ;;
    cut)
      need
      [ "$name" != "$p" ] || { echo "stack fault: cut needs a replica" >&2; exit 2; }
      sed -i "1a host replication repl_$name 127.0.0.1/32 reject  # cut $name" "$DIR/$(pg_upstream_of "$name")/data/pg_hba.conf"
      pg_psql "$(pg_upstream_of "$name")" "SELECT pg_reload_conf()" >/dev/null
      # the reload applies to new connections only: end the walsender serving it
      sleep 0.2
      pg_psql "$(pg_upstream_of "$name")" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication WHERE application_name = '$name'" >/dev/null
      echo "stack fault: $name cut from $(pg_upstream_of "$name")" ;;
    uncut)
      need
      sed -i "/# cut $name\$/d" "$DIR/$(pg_upstream_of "$name")/data/pg_hba.conf"
      pg_psql "$(pg_upstream_of "$name")" "SELECT pg_reload_conf()" >/dev/null
      echo "stack fault: $name may reconnect to $(pg_upstream_of "$name")" ;;
    pause) need; pg_psql "$name" "SELECT pg_wal_replay_pause()" >/dev/null; echo "stack fault: replay paused on $name" ;;
    resume) need; pg_psql "$name" "SELECT pg_wal_replay_resume()" >/dev/null; echo "stack fault: replay resumed on $name" ;;
    slot)
      pg_psql "$p" "SELECT pg_create_physical_replication_slot('orphan', true)" >/dev/null
      echo "stack fault: inactive slot orphan created on $p" ;;
    drop-slot) pg_psql "$p" "SELECT pg_drop_replication_slot('orphan')" >/dev/null; echo "stack fault: slot orphan dropped" ;;
    sql) need; pg_psql "$name" "${arg:?SQL text}" ;;
    status)
      pg_psql "$p" "SELECT application_name, state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication"
      pg_psql "$p" "SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots"
      for n in $PG_NAMES; do
        [ "$n" = "$p" ] && continue
        echo "$n: $(pg_psql "$n" "SELECT status FROM pg_stat_wal_receiver" 2>&1) paused=$(pg_psql "$n" "SELECT pg_is_wal_replay_paused()" 2>&1)"
      done ;;
    heal)
      for n in $PG_NAMES; do
        pidfile_alive "$DIR/pids/$n.pid" || pg_start_one "$n"
        pidfile_alive "$DIR/pids/$n-exporter.pid" || start_proc "$n-exporter" "$DIR/$n/exporter-run.sh"
      done
      for n in $PG_NAMES; do
        sed -i "/# cut /d" "$DIR/$n/data/pg_hba.conf"
        pg_psql "$n" "SELECT pg_reload_conf()" >/dev/null
        if [ "$n" != "$p" ]; then pg_psql "$n" "SELECT pg_wal_replay_resume()" >/dev/null; fi
      done
      pg_psql "$p" "SELECT pg_drop_replication_slot('orphan') FROM pg_replication_slots WHERE slot_name = 'orphan'" >/dev/null
      pg_wait_ready "${STACK_WAIT_S:-90}"
      echo "stack fault: postgres healed, every replica streaming" ;;
    *) echo "stack fault: unknown postgres action '$action'" >&2; exit 2 ;;
  esac
}

pg_upstream_of() {
  local v
  v=$(echo "$1" | tr '[:lower:]' '[:upper:]')_UPSTREAM
  echo "${!v}"
}

pg_stop() {
  local f=$DIR/pids/$1.pid p s i
  pidfile_alive "$f" || { echo "stack fault: $1 is not running" >&2; return 1; }
  read -r p s <"$f"
  kill -TERM "$p"
  for ((i = 0; i < 300; i++)); do pid_alive "$p" "$s" || break; sleep 0.1; done
  if pid_alive "$p" "$s"; then echo "stack fault: $1 (pid $p) still running" >&2; return 1; fi
  rm -f "$f"
  echo "stack fault: $1 (pid $p) stopped"
}

start_proc() { # NAME SCRIPT
  local p
  nohup "$2" >>"$DIR/logs/$1.log" 2>&1 </dev/null &
  p=$!
  record_pid "$DIR/pids/$1.pid" "$p"
  set_env_var "$ENVF" "$(env_pid_key "$1")" "$p"
}

pg_start_one() {
  if pidfile_alive "$DIR/pids/$1.pid"; then echo "stack fault: $1 already running" >&2; return 1; fi
  start_proc "$1" "$DIR/$1/run.sh"
  pg_wait_accepting "$1"
  echo "stack fault: $1 started"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  # shellcheck source=lib.sh
  . "$HERE/lib.sh"
  [ "${1:-}" = fault ] || { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  DIR=${2:?usage: postgres.sh fault DIR ACTION [NAME]}
  DIR=$(cd "$DIR" && pwd)
  ENVF=$(stack_env_file "$DIR") || { echo "stack fault: no stack.env in $DIR" >&2; exit 1; }
  # shellcheck disable=SC1090
  . "$ENVF"
  [ -n "${PG_NAMES:-}" ] || { echo "stack fault: no PostgreSQL in this stack (start it with STACK_POSTGRES=1)" >&2; exit 2; }
  declare -A PG_PORT PG_ROLE
  pg_fault "${3:?action}" "${4:-}" "${5:-}"
fi
