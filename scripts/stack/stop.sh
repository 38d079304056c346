#!/usr/bin/env bash
# stop.sh DIR [--purge]  -- stop every process of the test stack in DIR.
# Normally called as `scripts/stack.sh stop DIR [--purge]`.
#
# Signals only the PIDs recorded in DIR/pids/*.pid ("PID STARTTIME"), and only while
# /proc/PID/stat still shows the recorded start time, so a reused PID is never touched.
# No pkill, no killall. SIGTERM (followed by SIGCONT, so a process stopped with SIGSTOP
# wakes up to handle it), then SIGKILL after STOP_TIMEOUT_S (default 30) seconds.
# --purge removes DIR afterwards.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DIR=${1:?usage: stack.sh stop DIR [--purge]}
PURGE=${2:-}
T0=$(now_ms)
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-30}
if [ ! -d "$DIR" ]; then
  echo "stack stop: no directory $DIR, nothing to stop"
  exit 0
fi
if [ -d "$DIR/pids" ]; then
  declare -A PID ST
  # the watchdog first, then the scrapers (no alerts about targets vanishing), exporters, dbs, the rest
  order=(owner-watch prometheus victoria-metrics fake-fleet node-exporter)
  for f in "$DIR"/pids/*-exporter.pid; do [ -e "$f" ] && order+=("$(basename "$f" .pid)"); done
  for f in "$DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .pid)
    [[ " ${order[*]} " == *" $n "* ]] || order+=("$n")
  done
  for n in "${order[@]}"; do
    f=$DIR/pids/$n.pid
    [ -e "$f" ] || continue
    read -r p s <"$f" || { rm -f "$f"; continue; }
    if [ -n "${p:-}" ] && [ -n "${s:-}" ] && pid_alive "$p" "$s"; then
      kill -TERM "$p" 2>/dev/null && echo "stack stop: TERM $n pid=$p"
      kill -CONT "$p" 2>/dev/null
      PID[$n]=$p
      ST[$n]=$s
    else
      rm -f "$f"
    fi
  done
  deadline=$(($(date +%s) + STOP_TIMEOUT_S))
  while :; do
    left=()
    for n in "${!PID[@]}"; do
      if pid_alive "${PID[$n]}" "${ST[$n]}"; then left+=("$n"); else rm -f "$DIR/pids/$n.pid"; fi
    done
    [ ${#left[@]} -eq 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      for n in "${left[@]}"; do
        echo "stack stop: KILL $n pid=${PID[$n]} (still running after ${STOP_TIMEOUT_S}s)"
        kill -KILL "${PID[$n]}" 2>/dev/null
      done
      sleep 0.5
      for n in "${left[@]}"; do rm -f "$DIR/pids/$n.pid"; done
      break
    fi
    sleep 0.05
  done
else
  echo "stack stop: no $DIR/pids, nothing to stop"
fi
# PostgreSQL servers started by Patroni run in a session of their own, not as children of a
# recorded PID. Patroni stops its server when it stops, except in maintenance mode (paused) or
# when it was killed: stop what is left by its postmaster.pid (fast shutdown, SIGKILL after the timeout).
declare -A PM=()
for f in "$DIR"/patroni/*/data/postmaster.pid; do
  [ -r "$f" ] || continue
  p=$(sed -n 1p "$f")
  d=$(sed -n 2p "$f")
  if ! [[ $p =~ ^[0-9]+$ ]] || [ ! -r "/proc/$p/cmdline" ]; then continue; fi
  # only a postgres whose command line names this data directory
  if tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "$d" && [ "$(proc_state "$p")" != Z ]; then
    kill -INT "$p" 2>/dev/null && echo "stack stop: INT postgres pid=$p ($d, left by Patroni)"
    PM[$p]=$(proc_start "$p")
  fi
done
deadline=$(($(date +%s) + STOP_TIMEOUT_S))
while [ ${#PM[@]} -gt 0 ]; do
  for p in "${!PM[@]}"; do pid_alive "$p" "${PM[$p]}" || unset "PM[$p]"; done
  [ ${#PM[@]} -eq 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    for p in "${!PM[@]}"; do echo "stack stop: KILL postgres pid=$p"; kill -KILL "$p" 2>/dev/null; done
    break
  fi
  sleep 0.05
done
rm -f "$DIR/stack.env" "$DIR/stack.env.tmp"
echo "stack stop: all stopped in $(elapsed "$T0" "$(now_ms)")s"
if [ "$PURGE" = --purge ]; then
  rm -rf "$DIR"
  echo "stack stop: removed $DIR"
fi
