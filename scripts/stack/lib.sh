# shellcheck shell=bash
# Shared helpers for the fleetboard test stack scripts (sourced, not run).

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# milliseconds since the epoch
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
# seconds (with 2 decimals) between two now_ms values
elapsed() { local d=$(($2 - $1)); printf '%d.%02d' $((d / 1000)) $(((d % 1000) / 10)); }

# start time (field 22 of /proc/PID/stat) of a PID, empty if gone.
# The comm field (2) may hold spaces, so cut everything up to the last ')'.
proc_start() { [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
proc_state() { [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $1}'; }

# pid_alive PID STARTTIME: the process exists, is the one recorded (same start time) and is no zombie
pid_alive() {
  local st
  st=$(proc_start "$1") || return 1
  [ -n "$st" ] && [ "$st" = "$2" ] || return 1
  [ "$(proc_state "$1")" != Z ]
}

# pidfile_alive FILE: the process recorded in FILE ("PID STARTTIME") is still running
pidfile_alive() {
  [ -r "$1" ] || return 1
  local p s
  read -r p s <"$1" || return 1
  pid_alive "$p" "$s"
}

# record_pid FILE PID: write "PID STARTTIME" for a process just started
record_pid() { echo "$2 $(proc_start "$2")" >"$1"; }

# the env file of a stack dir: stack.env once ready, stack.env.tmp while starting
stack_env_file() {
  if [ -r "$1/stack.env" ]; then echo "$1/stack.env"; elif [ -r "$1/stack.env.tmp" ]; then echo "$1/stack.env.tmp"; else return 1; fi
}

# set_env_var FILE KEY VALUE: replace KEY=... in an env file (after a restart changed a PID)
set_env_var() {
  local f=$1 k=$2 v=$3
  [ -w "$f" ] || return 0
  if grep -q "^$k=" "$f"; then
    sed -i "s|^$k=.*|$k=$v|" "$f"
  else
    echo "$k=$v" >>"$f"
  fi
}

# env_pid_key NAME: the stack.env variable holding the PID of pids/NAME.pid
env_pid_key() {
  case $1 in
    prometheus) echo PROM_PID ;;
    alertmanager) echo AM_PID ;;
    victoria-metrics) echo VM_PID ;;
    node-exporter) echo NODE_PID ;;
    *) echo "$1" | tr '[:lower:]-' '[:upper:]_' | sed 's/$/_PID/' ;;
  esac
}

# raise_exporter_connections N: the exporter user's MAX_USER_CONNECTIONS on every server.
# Each scrape of mysqld_exporter holds a connection; more concurrent scrapers than the limit
# (start.sh's 3, as mysqld_exporter's README grants) make mysql_up read 0 now and then, and
# mysqld_exporter 0.14 then mixes up answers of concurrent scrapes. Raised on the primaries:
# the change replicates (a write on a replica would break GTID strict mode).
# Needs stack.env sourced (DB_NAMES, <NAME>_ROLE, <NAME>_SOCKET).
raise_exporter_connections() {
  local n u role sock
  for n in $DB_NAMES; do
    u=$(echo "$n" | tr '[:lower:]' '[:upper:]')
    eval "role=\$${u}_ROLE; sock=\$${u}_SOCKET"
    if [ "$role" = primary ]; then
      mariadb --no-defaults --socket="$sock" -uroot -e \
        "ALTER USER 'exporter'@'127.0.0.1' WITH MAX_USER_CONNECTIONS $1; ALTER USER 'exporter'@'localhost' WITH MAX_USER_CONNECTIONS $1;"
    fi
  done
}
