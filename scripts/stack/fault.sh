#!/usr/bin/env bash
# fault.sh DIR ACTION [DB] [ARG]  -- cause or heal faults in a running test stack.
# Normally called as `scripts/stack.sh fault DIR ACTION [DB] [ARG]`.
#
# Replication (DB is a replica):
#   stop-sql DB        STOP SLAVE SQL_THREAD   -> MySQLReplicationStopped; the lag series vanishes
#   stop-io DB         STOP SLAVE IO_THREAD    -> MySQLReplicationStopped; the lag series vanishes
#   start-slave DB     START SLAVE
#   delay DB SECS      STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=SECS; START SLAVE (0 heals); an
#                      intended delay, which the board subtracts from the lag
#   hold DB SECS       FLUSH TABLES WITH READ LOCK on DB for SECS: its SQL thread waits ("Waiting
#                      for backup lock") and real lag grows 1 s per second
#   release DB         end a hold (KILL of the session holding the lock)
# Servers:
#   kill DB            SIGKILL mariadbd        -> mysql_up 0, MySQLDown; its replicas' IO thread stops
#   stop DB            SIGTERM mariadbd and wait until it has exited
#   start DB           start mariadbd again (same datadir and port); replicas reconnect within ~1 s
#   kill-exporter DB   SIGKILL the db's mysqld_exporter -> target down, ExporterDown
#   start-exporter DB  start that exporter again
#   sql DB "SQL"       run SQL as root over the socket
#   status DB          short SHOW SLAVE STATUS (replica) or SHOW MASTER STATUS (primary)
# Prometheus (no DB):
#   prom-stop          SIGSTOP Prometheus: its port still accepts connections but nothing answers
#   prom-cont          SIGCONT Prometheus
#   prom-kill          SIGKILL Prometheus: connections are refused
#   prom-start         start Prometheus again from DIR/prometheus/run.sh (same port, same data);
#                      returns once it is ready and has scraped every target again
# PostgreSQL (STACK_POSTGRES=1): pg-stop|pg-start|pg-cut|pg-uncut|pg-pause|pg-resume NAME,
#   pg-slot, pg-drop-slot, pg-sql NAME "SQL", pg-status, pg-heal (see scripts/stack/postgres.sh)
# Patroni (STACK_PATRONI=1): patroni stop-leader|start NAME|pause|resume|no-leader|heal|status
#   (see scripts/stack/patroni.sh)
# Everything:
#   heal               undo all of the above (cont/start Prometheus, start stopped dbs and exporters,
#                      MASTER_DELAY=0 and START SLAVE on every replica), then wait until ready
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
usage() { sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
DIR=${1:-}
ACTION=${2:-}
[ -n "$DIR" ] && [ -n "$ACTION" ] || usage
DIR=$(cd "$DIR" && pwd)
ENVF=$(stack_env_file "$DIR") || { echo "stack fault: no stack.env in $DIR (is a stack running there?)" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENVF"
DB=${3:-}
ARG=${4:-}

need_db() {
  [ -n "$DB" ] || { echo "stack fault: $ACTION needs a db name (one of: $DB_NAMES)" >&2; exit 2; }
  [ -x "$DIR/$DB/run.sh" ] || { echo "stack fault: no db $DB in $DIR (have: $DB_NAMES)" >&2; exit 2; }
}
sql_on() { local n=$1; shift; mariadb --no-defaults --socket="$DIR/$n/mysqld.sock" -uroot --batch -e "$*"; }
sql() { sql_on "$DB" "$@"; }

ready_args() {
  READY_ARGS=(--prom "$PROM_URL" --targets "$PROM_TARGETS" --dbs "${DB_COUNT:-0}" --replicas "${REPLICA_COUNT:-0}")
  if [ -n "${VM_URL:-}" ]; then READY_ARGS+=(--vm "$VM_URL"); fi
  if [[ $PROM_URL == https:* ]]; then
    if [ -n "${PROM_CACERT:-}" ]; then READY_ARGS+=(--cacert "$PROM_CACERT"); else READY_ARGS+=(--insecure); fi
  fi
  export PROM_BASIC_AUTH=${PROM_BASIC_AUTH:-}
}

# stop_proc NAME SIGNAL: signal the process of pids/NAME.pid and wait until it has gone
stop_proc() {
  local name=$1 sig=$2 f=$DIR/pids/$1.pid p s i
  pidfile_alive "$f" || { echo "stack fault: $name is not running" >&2; return 1; }
  read -r p s <"$f"
  kill "-$sig" "$p"
  kill -CONT "$p" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do pid_alive "$p" "$s" || break; sleep 0.1; done
  if pid_alive "$p" "$s"; then echo "stack fault: $name (pid $p) still running after SIG$sig" >&2; return 1; fi
  rm -f "$f"
  echo "stack fault: $name (pid $p) ended by SIG$sig"
}

# start_proc NAME SCRIPT: start SCRIPT in the background as NAME and record its PID
start_proc() {
  local name=$1 script=$2 p
  if pidfile_alive "$DIR/pids/$name.pid"; then echo "stack fault: $name already running" >&2; return 1; fi
  nohup "$script" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  p=$!
  record_pid "$DIR/pids/$name.pid" "$p"
  set_env_var "$ENVF" "$(env_pid_key "$name")" "$p"
  STARTED_PID=$p
}

# release_hold DB: KILL the session holding FLUSH TABLES WITH READ LOCK (a client killed
# in SLEEP leaves the server session, and the lock, in place until the sleep ends)
release_hold() {
  local id
  for id in $(sql_on "$1" "SELECT id FROM information_schema.processlist WHERE info LIKE '%fleetboard-hold%' AND id <> CONNECTION_ID()" 2>/dev/null | tail -n +2); do
    sql_on "$1" "KILL $id" || true
  done
  if pidfile_alive "$DIR/pids/$1-hold.pid"; then stop_proc "$1-hold" TERM || true; fi
  rm -f "$DIR/pids/$1-hold.pid"
  echo "stack fault: $1 released"
}

start_db() {
  local n=$1 i
  rm -f "$DIR/$n/mysqld.sock"
  start_proc "$n" "$DIR/$n/run.sh"
  for ((i = 0; i < 300; i++)); do
    if sql_on "$n" "SELECT 1" >/dev/null 2>&1; then break; fi
    pidfile_alive "$DIR/pids/$n.pid" || { echo "stack fault: mariadbd $n died; see $DIR/logs/$n-error.log" >&2; return 1; }
    sleep 0.1
  done
  sql_on "$n" "SELECT 1" >/dev/null
  echo "stack fault: $n started, pid $STARTED_PID"
}

prom_start() {
  local since
  since=$(date +%s.%N)
  start_proc prometheus "$DIR/prometheus/run.sh"
  ready_args
  python3 "$HERE/ready.py" "${READY_ARGS[@]}" --fresh-only --since "$since" --timeout "${STACK_WAIT_S:-60}"
  echo "stack fault: prometheus started, pid $STARTED_PID, scraping again"
}

case $ACTION in
  pg-*) exec "$HERE/postgres.sh" fault "$DIR" "${ACTION#pg-}" "$DB" "$ARG" ;;
  patroni) exec "$HERE/patroni.sh" fault "$DIR" "${DB:?usage: fault DIR patroni ACTION [NAME]}" "$ARG" ;;
  stop-sql) need_db; sql "STOP SLAVE SQL_THREAD" ;;
  stop-io) need_db; sql "STOP SLAVE IO_THREAD" ;;
  start-slave) need_db; sql "START SLAVE" ;;
  delay)
    need_db
    [[ $ARG =~ ^[0-9]+$ ]] || { echo "stack fault: delay needs SECS (an integer)" >&2; exit 2; }
    sql "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=$ARG; START SLAVE" ;;
  hold)
    need_db
    [[ $ARG =~ ^[0-9]+$ ]] || { echo "stack fault: hold needs SECS (an integer)" >&2; exit 2; }
    # the comment marks the session, so `release` finds it in the process list
    printf '#!/usr/bin/env bash\nexec mariadb --no-defaults --comments --socket=%q -uroot -e "FLUSH TABLES WITH READ LOCK; SELECT /* fleetboard-hold */ SLEEP(%s)"\n' \
      "$DIR/$DB/mysqld.sock" "$ARG" >"$DIR/$DB/hold.sh"
    chmod +x "$DIR/$DB/hold.sh"
    start_proc "$DB-hold" "$DIR/$DB/hold.sh"
    echo "stack fault: $DB held for ${ARG}s (pid $STARTED_PID)" ;;
  release) need_db; release_hold "$DB" ;;
  kill) need_db; stop_proc "$DB" KILL ;;
  stop) need_db; stop_proc "$DB" TERM ;;
  start) need_db; start_db "$DB" ;;
  kill-exporter) need_db; stop_proc "$DB-exporter" KILL ;;
  start-exporter)
    need_db
    start_proc "$DB-exporter" "$DIR/$DB/exporter-run.sh"
    echo "stack fault: $DB-exporter started, pid $STARTED_PID" ;;
  sql) need_db; sql "${ARG:?SQL text}" ;;
  status)
    need_db
    r=$(sql "SHOW SLAVE STATUS\G" | grep -E 'Slave_(IO|SQL)_Running:|Seconds_Behind_Master|SQL_Delay|Gtid_IO_Pos|Last_.*Error:' || true)
    if [ -n "$r" ]; then echo "$r"; else sql "SHOW MASTER STATUS; SELECT @@gtid_binlog_pos"; fi ;;
  prom-stop | prom-cont)
    f=$DIR/pids/prometheus.pid
    pidfile_alive "$f" || { echo "stack fault: prometheus is not running" >&2; exit 1; }
    read -r p _ <"$f"
    if [ "$ACTION" = prom-stop ]; then kill -STOP "$p"; else kill -CONT "$p"; fi
    echo "stack fault: prometheus (pid $p) $([ "$ACTION" = prom-stop ] && echo stopped || echo continued)" ;;
  prom-kill) stop_proc prometheus KILL ;;
  prom-start) prom_start ;;
  heal)
    if pidfile_alive "$DIR/pids/prometheus.pid"; then
      read -r p _ <"$DIR/pids/prometheus.pid"
      kill -CONT "$p"
    else
      prom_start
    fi
    for n in $DB_NAMES; do
      pidfile_alive "$DIR/pids/$n.pid" || start_db "$n"
      if ! pidfile_alive "$DIR/pids/$n-exporter.pid"; then
        start_proc "$n-exporter" "$DIR/$n/exporter-run.sh"
        echo "stack fault: $n-exporter started, pid $STARTED_PID"
      fi
    done
    for n in $DB_NAMES; do
      if [ -e "$DIR/pids/$n-hold.pid" ]; then release_hold "$n"; fi
    done
    for n in $DB_NAMES; do
      role_var=$(echo "$n" | tr '[:lower:]' '[:upper:]')_ROLE
      if [ "${!role_var}" = replica ]; then
        delay=$(sql_on "$n" "SHOW SLAVE STATUS\G" | awk '/ SQL_Delay:/ {print $2}')
        if [ "${delay:-0}" != 0 ]; then sql_on "$n" "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0"; fi
        sql_on "$n" "START SLAVE" 2>/dev/null || true
      fi
    done
    ready_args
    python3 "$HERE/ready.py" "${READY_ARGS[@]}" --timeout "${STACK_WAIT_S:-90}"
    echo "stack fault: healed, stack ready" ;;
  *) echo "stack fault: unknown action '$ACTION'" >&2; usage ;;
esac
