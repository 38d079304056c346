#!/usr/bin/env bash
# measure.sh [RUNS]  -- time the test stack: start until ready and stop (RUNS times each,
# default 3), and, on one stack, each fault until its alert is in Alertmanager and each heal
# until the alert is gone from it (times count from just before the fault command).
# Normally called as `scripts/stack.sh measure [RUNS]`. Leaves nothing running.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
RUNS=${1:-3}
BASE=$(mktemp -d -t fleetstack-measure.XXXXXX)
DIR=""
cleanup() { if [ -n "$DIR" ] && [ -d "$DIR" ]; then "$HERE/stop.sh" "$DIR" --purge >/dev/null || true; fi; rm -rf "$BASE"; }
trap cleanup EXIT

echo "== start / stop, $RUNS runs"
for ((r = 1; r <= RUNS; r++)); do
  DIR=$BASE/run$r
  t=$(now_ms)
  "$HERE/start.sh" "$DIR" >"$BASE/start$r.log" 2>&1 || { cat "$BASE/start$r.log" >&2; exit 1; }
  ts=$(elapsed "$t" "$(now_ms)")
  if [ "$r" -lt "$RUNS" ]; then
    t=$(now_ms)
    "$HERE/stop.sh" "$DIR" --purge >/dev/null
    echo "run $r: start ${ts}s, stop $(elapsed "$t" "$(now_ms)")s"
  else
    echo "run $r: start ${ts}s (this stack is kept for the fault timings; stopped at the end)"
  fi
done

# time_alert LABEL ALERT INSTANCE FAULT... : run the fault, time its alert into Alertmanager
time_alert() {
  local label=$1 alert=$2 inst=$3
  shift 3
  local t0
  t0=$(date +%s.%N)
  "$HERE/fault.sh" "$DIR" "$@" >/dev/null
  printf '%-44s %s\n' "$label" "$("$HERE/../stack.sh" wait-alert "$DIR" "$alert" "$inst" --t0 "$t0" | tail -1)"
}
time_gone() {
  local label=$1 alert=$2 inst=$3
  shift 3
  local t0
  t0=$(date +%s.%N)
  "$HERE/fault.sh" "$DIR" "$@" >/dev/null
  printf '%-44s %s\n' "$label" "$("$HERE/../stack.sh" wait-alert "$DIR" "$alert" "$inst" --gone --t0 "$t0" | tail -1)"
}

echo "== fault -> alert in Alertmanager (seconds from just before the fault command)"
for ((r = 1; r <= RUNS; r++)); do
  time_alert "stop-sql db3 -> MySQLReplicationStopped" MySQLReplicationStopped db3 stop-sql db3
  time_gone "start-slave db3 -> gone" MySQLReplicationStopped db3 start-slave db3
done
for ((r = 1; r <= RUNS; r++)); do
  time_alert "stop-io db2 -> MySQLReplicationStopped" MySQLReplicationStopped db2 stop-io db2
  time_gone "start-slave db2 -> gone" MySQLReplicationStopped db2 start-slave db2
done
for ((r = 1; r <= RUNS; r++)); do
  time_alert "kill db4 -> MySQLDown" MySQLDown db4 kill db4
  printf '%-44s %s\n' "  (same) db5 -> MySQLReplicationStopped" "$("$HERE/../stack.sh" wait-alert "$DIR" MySQLReplicationStopped db5 | tail -1)"
  time_gone "start db4 -> MySQLDown gone" MySQLDown db4 start db4
  "$HERE/../stack.sh" wait-alert "$DIR" MySQLReplicationStopped db5 --gone >/dev/null
done
for ((r = 1; r <= RUNS; r++)); do
  time_alert "kill-exporter db1 -> ExporterDown" ExporterDown db1 kill-exporter db1
  time_gone "start-exporter db1 -> gone" ExporterDown db1 start-exporter db1
done
time_alert "delay db2 30 -> MySQLReplicationLagHigh" MySQLReplicationLagHigh db2 delay db2 30
time_gone "delay db2 0 -> gone" MySQLReplicationLagHigh db2 delay db2 0
t=$(now_ms)
"$HERE/fault.sh" "$DIR" prom-kill >/dev/null
"$HERE/fault.sh" "$DIR" prom-start >/dev/null
echo "prom-kill + prom-start until every target scraped again: $(elapsed "$t" "$(now_ms)")s"
t=$(now_ms)
"$HERE/stop.sh" "$DIR" --purge >/dev/null
echo "run $RUNS: stop $(elapsed "$t" "$(now_ms)")s"
DIR=""
