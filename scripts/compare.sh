#!/usr/bin/env bash
# scripts/compare.sh -- fleetboard and grafatui side by side on the same synthetic fleet.
#
#   scripts/compare.sh [N...]          default N: 100 1000 5000
#
# For each N it starts a stack (scripts/stack.sh, synthetic exporter of N hosts, real
# Prometheus), then runs each program alone in a COLSxROWS pseudo-terminal for SECONDS
# (after SKIP seconds of start-up), one after the other, and measures its CPU seconds and
# RSS (scripts/perf_pty.py). Both refresh every REFRESH seconds (fleetboard's default is 5 s)
# and ask the same PromQL: fleetboard's preset, whose expressions grafatui gets as
# `--query` panels, with its own defaults otherwise (range queries over 5 minutes, 5 s step:
# grafatui draws charts, which is what it is for).
#
# grafatui is not packaged by Debian: `cargo install grafatui` (GRAFATUI=path to use another
# binary). Env: WINDOW=60 SKIP=8 REFRESH=5 COLS=200 ROWS=50 FLEETBOARD=release binary,
# WARM=300: seconds of history the stack gathers before the measures, so that grafatui's
# 5-minute range is as full as on any Prometheus that has been running (WARM=0: at once).
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
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2]))' "$1" "$2"; }

printf '%s\n' "N|fleetboard CPU s|% core|grafatui CPU s|% core|CPU ratio|fleetboard RSS MiB end/max|grafatui RSS MiB end/max|RSS ratio" >"$OUT/table"
for N in "${HOSTS[@]}"; do
  echo "== N=$N" >&2
  synthetic_stack "$N"
  [ "$WARM" -gt 0 ] && { echo "compare: ${WARM}s of history first" >&2; sleep "$WARM"; }
  # No Alertmanager for either: grafatui has none, and the comparison is about Prometheus.
  B=("$FLEETBOARD" -p "$PROM_URL" -c /dev/null)
  G=("$GRAFATUI" --prometheus-url "$PROM_URL" --refresh-rate "$((REFRESH * 1000))")
  while IFS= read -r q; do G+=(--query "$q"); done < <("${B[@]}" bench-refresh --print-queries)
  fb=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds "$WINDOW" --skip "$SKIP" -- "${B[@]}" --refresh "${REFRESH}s")
  echo "fleetboard: $fb" >&2
  gr=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds "$WINDOW" --skip "$SKIP" -- "${G[@]}")
  echo "grafatui: $gr" >&2
  fcpu=$(jget "$fb" cpu_s)
  gcpu=$(jget "$gr" cpu_s)
  frss=$(jget "$fb" rss_mib_end)
  grss=$(jget "$gr" rss_mib_end)
  printf '%s\n' "$N|$fcpu|$(jget "$fb" cpu_pct_of_core)|$gcpu|$(jget "$gr" cpu_pct_of_core)|$(awk -v a="$gcpu" -v b="$fcpu" 'BEGIN {if (b > 0) printf "%.1f", a/b; else print "-"}')|$frss/$(jget "$fb" rss_mib_max)|$grss/$(jget "$gr" rss_mib_max)|$(awk -v a="$grss" -v b="$frss" 'BEGIN {if (b > 0) printf "%.1f", a/b; else print "-"}')" >>"$OUT/table"
  "$STACK" stop "$DIR" --purge >&2
  DIR=
done
echo
echo "terminal ${COLS}x${ROWS}, refresh ${REFRESH}s, ${WINDOW}s measured after ${SKIP}s, ${WARM}s of history, $(nproc) cores, grafatui $("$GRAFATUI" --version 2>/dev/null | awk '{print $NF}')"
column -t -s '|' "$OUT/table"
