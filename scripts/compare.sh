#!/usr/bin/env bash
# scripts/compare.sh -- fleetboard and grafatui side by side on the same synthetic fleet.
#
#   scripts/compare.sh [N...]          default N: 100 1000 5000
#
# For each N it starts a stack (scripts/stack.sh, synthetic exporter of N hosts, real
# Prometheus), then runs each program alone in a COLSxROWS pseudo-terminal for SECONDS
# (after SKIP seconds of start-up), one after the other, and measures its CPU seconds and
# RSS (scripts/perf_pty.py; CPU as perf's task-clock when perf is installed, else /proc's
# 10 ms ticks). Both refresh every REFRESH seconds (fleetboard's default is 5 s)
# and ask the same PromQL: fleetboard's preset, whose expressions grafatui gets as
# `--query` panels, with its own defaults otherwise (range queries over 5 minutes, 5 s step:
# grafatui draws charts, which is what it is for).
#
# grafatui is not packaged by Debian: `cargo install grafatui` (GRAFATUI=path to use another
# binary). Env: WINDOW=60 SKIP=8 REFRESH=5 COLS=200 ROWS=50 FLEETBOARD=release binary,
# WARM=300: seconds of history the stack gathers before the measures, so that grafatui's
# 5-minute range is as full as on any Prometheus that has been running (WARM=0: at once).
#
# Also measured: the CPU seconds Prometheus spent while each program ran (start-up
# included), against the same time with neither running (the last SKIP+WINDOW seconds of the
# warm-up): what each costs the monitoring server. And the frames each drew: a program
# whose queries cannot finish within its refresh draws less often and so costs less CPU per
# minute than one that keeps up.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WINDOW=${WINDOW:-60}
SKIP=${SKIP:-8}
REFRESH=${REFRESH:-5}
WARM=${WARM:-300}
COLS=${COLS:-200}
ROWS=${ROWS:-50}
HOSTS=("$@")
[ ${#HOSTS[@]} -gt 0 ] || HOSTS=(100 1000 5000)
GRAFATUI=${GRAFATUI:-$(command -v grafatui || true)}
if [ -z "$GRAFATUI" ] || [ ! -x "$GRAFATUI" ]; then
  echo "compare: grafatui not found (cargo install grafatui, or GRAFATUI=path)" >&2
  exit 1
fi
if [ -z "${FLEETBOARD:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  FLEETBOARD=${CARGO_TARGET_DIR:-$ROOT/target}/release/fleetboard
fi
STACK=$ROOT/scripts/stack.sh
# shellcheck source=stack/synthetic.sh
. "$ROOT/scripts/stack/synthetic.sh"
PTY=$ROOT/scripts/perf_pty.py
OUT=$(mktemp -d -t fleetcmp.XXXXXX)
DIR=
cleanup() {
  if [ -n "$DIR" ] && [ -f "$DIR/stack.env" ]; then "$STACK" stop "$DIR" --purge >/dev/null 2>&1 || true; fi
  rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
proc_cpu() { awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2]))' "$1" "$2"; }
cpu_of() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); x=d.get("cpu_s_exact"); print(round(x, 3) if x is not None else d["cpu_s"])' "$1"; }

printf '%s\n' "N|fleetboard CPU s|frames|grafatui CPU s|frames|CPU ratio|Prometheus CPU s: idle/fleetboard/grafatui|RSS MiB fleetboard/grafatui|RSS ratio" >"$OUT/table"
for N in "${HOSTS[@]}"; do
  echo "== N=$N" >&2
  synthetic_stack "$N"
  SPAN=$((SKIP + WINDOW))
  if [ "$WARM" -gt "$SPAN" ]; then
    echo "compare: ${WARM}s of history first" >&2
    sleep "$((WARM - SPAN))"
  fi
  p0=$(proc_cpu "$PROM_PID")
  sleep "$SPAN"
  pidle=$(minus "$(proc_cpu "$PROM_PID")" "$p0")
  # No Alertmanager for either: grafatui has none, and the comparison is about Prometheus.
  B=("$FLEETBOARD" -p "$PROM_URL" -c /dev/null)
  G=("$GRAFATUI" --prometheus-url "$PROM_URL" --refresh-rate "$((REFRESH * 1000))")
  while IFS= read -r q; do G+=(--query "$q"); done < <("${B[@]}" bench-refresh --print-queries)
  p0=$(proc_cpu "$PROM_PID")
  fb=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds "$WINDOW" --skip "$SKIP" -- "${B[@]}" --refresh "${REFRESH}s")
  pfb=$(minus "$(proc_cpu "$PROM_PID")" "$p0")
  echo "fleetboard: $fb" >&2
  p0=$(proc_cpu "$PROM_PID")
  gr=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds "$WINDOW" --skip "$SKIP" -- "${G[@]}")
  pgr=$(minus "$(proc_cpu "$PROM_PID")" "$p0")
  echo "grafatui: $gr" >&2
  # perf's task-clock when perf_pty.py had perf; else /proc's whole ticks.
  fcpu=$(cpu_of "$fb")
  gcpu=$(cpu_of "$gr")
  frss=$(jget "$fb" rss_mib_end)
  grss=$(jget "$gr" rss_mib_end)
  printf '%s\n' "$N|$fcpu|$(jget "$fb" frames)|$gcpu|$(jget "$gr" frames)|$(awk -v a="$gcpu" -v b="$fcpu" 'BEGIN {if (b > 0) printf "%.1f", a/b; else print "-"}')|$pidle/$pfb/$pgr|$frss/$grss|$(awk -v a="$grss" -v b="$frss" 'BEGIN {if (b > 0) printf "%.1f", a/b; else print "-"}')" >>"$OUT/table"
  "$STACK" stop "$DIR" --purge >&2
  DIR=
done
echo
echo "terminal ${COLS}x${ROWS}, refresh ${REFRESH}s, ${WINDOW}s measured after ${SKIP}s (Prometheus: over both), ${WARM}s of history, $(nproc) cores, grafatui $("$GRAFATUI" --version 2>/dev/null | awk '{print $NF}')"
column -t -s '|' "$OUT/table"
