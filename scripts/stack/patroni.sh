#!/usr/bin/env bash
# patroni.sh -- a Patroni-managed PostgreSQL cluster in fleetboard's test stack: three nodes on
# loopback, Patroni's built-in raft DCS (no etcd), each node scraped twice (Patroni's REST API
# /metrics, job patroni, and a prometheus-postgres-exporter, job postgres), and its faults.
#
# Sourced by start.sh when STACK_PATRONI=1 (it then calls patroni_plan, patroni_scrape_configs,
# patroni_start, patroni_env and patroni_wait_ready). Run by hand (or through
# `scripts/stack.sh fault DIR patroni ACTION [NAME]`) for faults:
#
#   patroni.sh fault DIR ACTION [NAME]
#     stop-leader   SIGTERM the leader's Patroni (it stops its PostgreSQL and drops the leader key):
#                   its patroni target goes down and its pg_up 0, the two others show
#                   patroni_cluster_unlocked 1 for 2-3 s, then one is patroni_primary 1 (new
#                   timeline) and the other streams from it; prints the old leader's name
#     start NAME    start NAME's Patroni again: it rejoins as a replica (patroni_replica 1, streaming)
#     pause         patronictl pause: patroni_is_paused 1 everywhere, roles unchanged, no failover
#     resume        patronictl resume
#     no-leader     pause, then a fast shutdown of the leader's PostgreSQL: in maintenance mode its
#                   Patroni drops the leader key at once and nobody takes over, so all three nodes
#                   (every /metrics still answers) show patroni_cluster_unlocked 1 until heal; the
#                   old leader keeps patroni_primary 1 (Patroni 3.0.2 reports its last role) with
#                   patroni_postgres_running 0; prints the old leader's name
#     heal          start every stopped Patroni / exporter, resume, wait until ready again
#     status        patronictl list
#
# Other ways to lose the leader, tried: pause + SIGTERM of the leader's Patroni leaves its
# PostgreSQL running (still primary, replicas still streaming) and the key held until the ttl
# expires (cluster_unlocked 1 on the others after about ttl = 20 s). Stopping two of the three
# Patroni (no raft quorum) does NOT unlock: the survivor demotes itself after about 10 s
# (patroni_replica 1) but keeps reading the stale leader key (cluster_unlocked 0).
#
# Topology: scope (cluster) `billing` = pgp1, pgp2, pgp3; the first to win the raft race
# bootstraps with initdb, the others are cloned by Patroni (pg_basebackup) and stream from it
# through a slot named after them. Patroni sets cluster_name to the scope (billing) and each
# replica's application_name to its node name. A writer inserts a row every 0.5 s into the
# current primary (libpq target_session_attrs=read-write, so it follows a failover).
# Node dirs: DIR/patroni/NAME/{patroni.yml,data,raft,run.sh,exporter-run.sh}; the PostgreSQL
# socket is in DIR/patroni/NAME. Patroni runs as the postgres user.
#
# Knobs: PATRONI_SCRAPE_INTERVAL=2s (job patroni; job postgres uses PG_SCRAPE_INTERVAL=2s), PATRONI_TTL=20 PATRONI_LOOP_WAIT=2
# PATRONI_RETRY_TIMEOUT=5 (Patroni's DCS timings; loop_wait is also how often /metrics changes).
#
# Patroni 3.0.2 (Debian 12) labels its series with `scope` only (no `name` label) and has no
# patroni_postgres_streaming; the replicas' streaming state comes from the exporter's
# pg_stat_wal_receiver_* series (postgres-queries.yaml).

PAT_CLUSTER=billing
PAT_NAMES="pgp1 pgp2 pgp3"

# shellcheck disable=SC2012 # /usr/lib/postgresql/NN/bin: plain names
pat_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# as_postgres CMD...: run as the postgres user (PostgreSQL refuses to run as root)
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

pat_var() { # NAME SUFFIX: value of NAME_SUFFIX from stack.env (e.g. pgp1 API_PORT)
  local v
  v=$(echo "$1" | tr '[:lower:]' '[:upper:]')_$2
  echo "${!v:-}"
}

# ---- used by start.sh ------------------------------------------------------------------------
patroni_plan() {
  declare -gA PAT_PORT PAT_API_PORT PAT_RAFT_PORT PAT_EXP_PORT
  local n ports i=0
  read -r -a ports <<<"$(free_ports 12)"
  for n in $PAT_NAMES; do
    PAT_PORT[$n]=${ports[$i]}
    PAT_API_PORT[$n]=${ports[$((i + 1))]}
    PAT_RAFT_PORT[$n]=${ports[$((i + 2))]}
    PAT_EXP_PORT[$n]=${ports[$((i + 3))]}
    i=$((i + 4))
  done
  PAT_COUNT=3
}

# targets added: Patroni's API and an exporter per node, plus node_exporter per node
patroni_ntargets() { echo $((PAT_COUNT * (2 + (STACK_NODE == 1 ? 1 : 0)))); }

# the exporters' targets, in job postgres (shared with postgres.sh's cluster when both run)
patroni_postgres_targets() {
  local n
  for n in $PAT_NAMES; do
    echo "      - targets: ['127.0.0.1:${PAT_EXP_PORT[$n]}']"
    echo "        labels: {cluster: $PAT_CLUSTER, instance: $n}"
  done
}
patroni_node_targets() {
  local n
  for n in $PAT_NAMES; do
    echo "      - targets: ['127.0.0.1:$NODE_PORT']"
    echo "        labels: {cluster: $PAT_CLUSTER, instance: $n}"
  done
}

patroni_scrape_configs() {
  local n iv=${PATRONI_SCRAPE_INTERVAL:-2s}
  echo "  - job_name: patroni"
  echo "    scrape_interval: $iv"
  echo "    scrape_timeout: $iv"
  echo "    static_configs:"
  for n in $PAT_NAMES; do
    echo "      - targets: ['127.0.0.1:${PAT_API_PORT[$n]}']"
    echo "        labels: {cluster: $PAT_CLUSTER, instance: $n}"
  done
  # with STACK_POSTGRES=1, pg_scrape_configs puts these targets into its own jobs
  # (Prometheus refuses two jobs of the same name)
  if [ "${STACK_POSTGRES:-0}" != 1 ]; then
    echo "  - job_name: postgres"
    echo "    scrape_interval: ${PG_SCRAPE_INTERVAL:-2s}"
    echo "    scrape_timeout: ${PG_SCRAPE_INTERVAL:-2s}"
    echo "    static_configs:"
    patroni_postgres_targets
    if [ "$STACK_NODE" = 1 ]; then
      echo "  - job_name: node-postgres"
      echo "    static_configs:"
      patroni_node_targets
    fi
  fi
}

patroni_env() {
  local n u
  echo "PATRONI_CLUSTER=$PAT_CLUSTER"
  echo "PATRONI_NAMES=\"$PAT_NAMES\""
  echo "PATRONI_COUNT=$PAT_COUNT"
  echo "PATRONICTL_CONFIG=$DIR/patroni/patronictl.yml"
  for n in $PAT_NAMES; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    echo "PATRONI_${u}_API=http://127.0.0.1:${PAT_API_PORT[$n]}"
    echo "${u}_API_PORT=${PAT_API_PORT[$n]}"
    echo "${u}_PORT=${PAT_PORT[$n]}"
    echo "${u}_RAFT_PORT=${PAT_RAFT_PORT[$n]}"
    echo "${u}_SOCKET_DIR=$DIR/patroni/$n"
    echo "${u}_DATA=$DIR/patroni/$n/data"
    echo "${u}_CONFIG=$DIR/patroni/$n/patroni.yml"
    echo "${u}_EXPORTER_PORT=${PAT_EXP_PORT[$n]}"
    echo "${u}_EXPORTER_URL=http://127.0.0.1:${PAT_EXP_PORT[$n]}/metrics"
  done
}

patroni_write_config() { # NAME
  local n=$1 m partners="" d=$DIR/patroni/$1
  for m in $PAT_NAMES; do
    [ "$m" = "$n" ] || partners="$partners, '127.0.0.1:${PAT_RAFT_PORT[$m]}'"
  done
  cat >"$d/patroni.yml" <<EOF
# fleetboard test stack: Patroni node $n of cluster $PAT_CLUSTER (loopback only, trust auth)
scope: $PAT_CLUSTER
name: $n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:${PAT_API_PORT[$n]}
  connect_address: 127.0.0.1:${PAT_API_PORT[$n]}
raft:
  data_dir: $d/raft
  self_addr: 127.0.0.1:${PAT_RAFT_PORT[$n]}
  # without bind_addr pysyncobj listens on 0.0.0.0
  bind_addr: 127.0.0.1:${PAT_RAFT_PORT[$n]}
  partner_addrs: [${partners#, }]
bootstrap:
  dcs:
    ttl: ${PATRONI_TTL:-20}
    loop_wait: ${PATRONI_LOOP_WAIT:-2}
    retry_timeout: ${PATRONI_RETRY_TIMEOUT:-5}
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_connections: 50
        max_wal_senders: 10
        max_replication_slots: 10
        shared_buffers: 16MB
        fsync: 'off'
        wal_receiver_status_interval: 1s
        wal_retrieve_retry_interval: 1s
  initdb:
    - encoding: UTF8
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - local replication all trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:${PAT_PORT[$n]}
  connect_address: 127.0.0.1:${PAT_PORT[$n]}
  data_dir: $d/data
  bin_dir: $(pat_bindir)
  pgpass: $d/pgpass
  authentication:
    superuser: {username: postgres}
    replication: {username: replicator}
    rewind: {username: postgres}
  basebackup:
    - checkpoint: fast
  parameters:
    unix_socket_directories: $d
    logging_collector: 'off'
    log_min_messages: warning
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - local replication all trust
    - host replication all 127.0.0.1/32 trust
watchdog:
  mode: 'off'
EOF
}

patroni_write_run() { # NAME
  local n=$1 d=$DIR/patroni/$1
  cat >"$d/run.sh" <<EOF
#!/usr/bin/env bash
# Patroni of $n (as postgres when started by root); it starts and stops its own PostgreSQL
cd $d || exit 1
if [ "\$(id -u)" = 0 ]; then
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- patroni $d/patroni.yml
fi
exec patroni $d/patroni.yml
EOF
  cat >"$d/exporter-run.sh" <<EOF
#!/usr/bin/env bash
export DATA_SOURCE_NAME='host=$d port=${PAT_PORT[$n]} user=postgres dbname=postgres sslmode=disable'
exec prometheus-postgres-exporter --web.listen-address=127.0.0.1:${PAT_EXP_PORT[$n]} \\
  --extend.query-path=$DIR/postgres-queries.yaml --log.level=warn
EOF
  chmod +x "$d/run.sh" "$d/exporter-run.sh"
}

patroni_start() {
  local n addrs="" hosts="" pgports=""
  [ -n "$(pat_bindir)" ] || { echo "stack start: no PostgreSQL server (/usr/lib/postgresql/*/bin)" >&2; return 1; }
  # the postgres user must reach DIR/patroni/<name>
  chmod o+x "$DIR"
  mkdir -p "$DIR/patroni"
  cp "$HERE/postgres-queries.yaml" "$DIR/postgres-queries.yaml"
  for n in $PAT_NAMES; do
    mkdir -p "$DIR/patroni/$n/raft"
    patroni_write_config "$n"
    patroni_write_run "$n"
    chown -R postgres: "$DIR/patroni/$n" 2>/dev/null || true
    addrs="$addrs, '127.0.0.1:${PAT_RAFT_PORT[$n]}'"
    hosts="$hosts,127.0.0.1"
    pgports="$pgports,${PAT_PORT[$n]}"
  done
  # patronictl talks to the raft members as a client (no self_addr)
  cat >"$DIR/patroni/patronictl.yml" <<EOF
scope: $PAT_CLUSTER
raft:
  partner_addrs: [${addrs#, }]
EOF
  # exporters first (pg_up 0 until their server is up), then all three Patroni at once:
  # raft needs two of the three members before anything happens
  for n in $PAT_NAMES; do launch "$n-exporter" "$DIR/patroni/$n/exporter-run.sh"; done
  for n in $PAT_NAMES; do launch "$n-patroni" "$DIR/patroni/$n/run.sh"; done
  cat >"$DIR/patroni/writer.sh" <<EOF
#!/usr/bin/env bash
# a row every 0.5 s into whichever node is the primary
conn='host=${hosts#,} port=${pgports#,} user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=1'
while :; do
  $(pat_bindir)/psql -X -q "\$conn" -c 'CREATE TABLE IF NOT EXISTS heartbeat (id bigserial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now())' \\
    -c 'INSERT INTO heartbeat DEFAULT VALUES' >/dev/null 2>&1
  sleep 0.5
done
EOF
  chmod +x "$DIR/patroni/writer.sh"
  launch pgp-writer "$DIR/patroni/writer.sh"
  log "patroni x$PAT_COUNT started (cluster $PAT_CLUSTER, raft DCS)"
}

# patroni_wait_ready TIMEOUT: Prometheus sees exactly one patroni_primary == 1, every other node
# patroni_replica == 1 and streaming (WAL receiver status streaming), pg_up == 1 on every node,
# the cluster locked and not paused on every node
patroni_wait_ready() {
  local n=${PAT_COUNT:-${PATRONI_COUNT:-3}}
  local pat="job=\"patroni\",cluster=\"$PAT_CLUSTER\"" pg="job=\"postgres\",cluster=\"$PAT_CLUSTER\""
  python3 "$HERE/wait_counts.py" "$PROM_URL" "${1:-90}" patroni \
    primary "count(patroni_primary{$pat} == 1)" 1 \
    replicas "count(patroni_replica{$pat} == 1)" $((n - 1)) \
    locked "count(patroni_cluster_unlocked{$pat} == 0)" "$n" \
    "not paused" "count(patroni_is_paused{$pat} == 0)" "$n" \
    pg_up "count(pg_up{$pg} == 1)" "$n" \
    streaming "count(pg_stat_wal_receiver_received_tli{$pg,status=\"streaming\"})" $((n - 1))
}

# ---- faults ------------------------------------------------------------------------------------
patronictl_() { patronictl -c "$DIR/patroni/patronictl.yml" "$@"; }

# pat_leader: name of the member holding the leader key, from the first API that answers
pat_leader() {
  local n
  for n in $PAT_NAMES; do
    if curl -sf -m 2 "http://127.0.0.1:$(pat_var "$n" API_PORT)/cluster" 2>/dev/null |
      python3 -c 'import json,sys; m=[x["name"] for x in json.load(sys.stdin).get("members",[]) if x.get("role")=="leader"]; print(m[0] if m else ""); sys.exit(0 if m else 1)'; then
      return 0
    fi
  done
  return 1
}

pat_start_node() { # NAME: start its Patroni and wait until the REST API answers
  local n=$1 f=$DIR/pids/$1-patroni.pid p i
  if pidfile_alive "$f"; then echo "stack fault: $n's Patroni already running" >&2; return 1; fi
  nohup "$DIR/patroni/$n/run.sh" >>"$DIR/logs/$n-patroni.log" 2>&1 </dev/null &
  p=$!
  record_pid "$f" "$p"
  set_env_var "$ENVF" "$(env_pid_key "$n-patroni")" "$p"
  for ((i = 0; i < 300; i++)); do
    curl -s -o /dev/null -m 1 "http://127.0.0.1:$(pat_var "$n" API_PORT)/liveness" && break
    pidfile_alive "$f" || { echo "stack fault: $n's Patroni died; see $DIR/logs/$n-patroni.log" >&2; return 1; }
    sleep 0.1
  done
  echo "stack fault: $n's Patroni started, pid $p"
}

pat_start_exporter() { # NAME
  local p
  nohup "$DIR/patroni/$1/exporter-run.sh" >>"$DIR/logs/$1-exporter.log" 2>&1 </dev/null &
  p=$!
  record_pid "$DIR/pids/$1-exporter.pid" "$p"
  set_env_var "$ENVF" "$(env_pid_key "$1-exporter")" "$p"
  echo "stack fault: $1-exporter started, pid $p"
}

pat_stop_patroni() { # NAME: SIGTERM its Patroni and wait (it stops PostgreSQL first)
  local f=$DIR/pids/$1-patroni.pid p s i
  pidfile_alive "$f" || { echo "stack fault: $1's Patroni is not running" >&2; return 1; }
  read -r p s <"$f"
  kill -TERM "$p"
  for ((i = 0; i < 600; i++)); do pid_alive "$p" "$s" || break; sleep 0.1; done
  if pid_alive "$p" "$s"; then echo "stack fault: $1's Patroni (pid $p) still running after 60 s" >&2; return 1; fi
  rm -f "$f"
}

pat_paused() { curl -sf -m 2 "http://127.0.0.1:$(pat_var "$1" API_PORT)/patroni" | grep -q '"pause": true'; }

patroni_fault() {
  local action=$1 name=${2:-} leader n
  case $action in
    stop-leader)
      leader=$(pat_leader) || { echo "stack fault: no leader in cluster $PAT_CLUSTER" >&2; return 1; }
      pat_stop_patroni "$leader"
      echo "$leader"
      echo "stack fault: Patroni of the leader $leader stopped (its PostgreSQL too); board: $leader's patroni target down" \
        "and pg_up 0, a replica becomes patroni_primary 1 within a few seconds, the other follows it" >&2 ;;
    start)
      if [ -z "$name" ] || [ ! -x "$DIR/patroni/$name/run.sh" ]; then
        echo "stack fault: start needs a node name (one of: $PAT_NAMES)" >&2
        return 2
      fi
      pat_start_node "$name"
      echo "stack fault: board: $name back, patroni_replica 1 once it streams from the leader" ;;
    pause)
      patronictl_ pause --wait "$PAT_CLUSTER"
      echo "stack fault: cluster $PAT_CLUSTER paused; board: patroni_is_paused 1 on every node, roles unchanged" ;;
    resume)
      patronictl_ resume --wait "$PAT_CLUSTER"
      echo "stack fault: cluster $PAT_CLUSTER resumed; board: patroni_is_paused 0" ;;
    no-leader)
      leader=$(pat_leader) || { echo "stack fault: no leader in cluster $PAT_CLUSTER" >&2; return 1; }
      patronictl_ pause --wait "$PAT_CLUSTER"
      as_postgres "$(pat_bindir)/pg_ctl" stop -D "$DIR/patroni/$leader/data" -m fast -w >/dev/null
      echo "$leader"
      echo "stack fault: paused, then $leader's PostgreSQL stopped: its Patroni drops the leader key and nobody" \
        "takes over; board: patroni_cluster_unlocked 1 and patroni_is_paused 1 on every node; $leader keeps" \
        "patroni_primary 1 (Patroni 3.0.2 reports its last role) with patroni_postgres_running 0 and pg_up 0;" \
        "the replicas keep patroni_replica 1 and stop streaming (until heal)" >&2 ;;
    status) patronictl_ list "$PAT_CLUSTER" ;;
    heal)
      for n in $PAT_NAMES; do
        pidfile_alive "$DIR/pids/$n-patroni.pid" || pat_start_node "$n"
        pidfile_alive "$DIR/pids/$n-exporter.pid" || pat_start_exporter "$n"
      done
      pidfile_alive "$DIR/pids/pgp-writer.pid" || {
        nohup "$DIR/patroni/writer.sh" >>"$DIR/logs/pgp-writer.log" 2>&1 </dev/null &
        record_pid "$DIR/pids/pgp-writer.pid" $!
      }
      for n in $PAT_NAMES; do
        if pat_paused "$n"; then patronictl_ resume --wait "$PAT_CLUSTER"; break; fi
      done
      patroni_wait_ready "${STACK_WAIT_S:-90}"
      echo "stack fault: patroni healed: one primary, every replica streaming, not paused" ;;
    *) echo "stack fault: unknown patroni action '$action'" >&2; return 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  # shellcheck source=lib.sh
  . "$HERE/lib.sh"
  [ "${1:-}" = fault ] || { sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  DIR=${2:?usage: patroni.sh fault DIR ACTION [NAME]}
  DIR=$(cd "$DIR" && pwd)
  ENVF=$(stack_env_file "$DIR") || { echo "stack fault: no stack.env in $DIR" >&2; exit 1; }
  # shellcheck disable=SC1090
  . "$ENVF"
  [ -n "${PATRONI_NAMES:-}" ] || { echo "stack fault: no Patroni in this stack (start it with STACK_PATRONI=1)" >&2; exit 2; }
  patroni_fault "${3:?action}" "${4:-}"
fi
