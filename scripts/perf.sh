#!/usr/bin/env bash
# scripts/perf.sh -- fleetboard against a real Prometheus and Alertmanager with a synthetic
# fleet of N hosts (scripts/stack.sh with STACK_MARIADB=0 STACK_NODE=0 FAKE_FLEET_HOSTS=N).
#
#   scripts/perf.sh [N...]            default N: 100 1000 5000 10000
#
# For each N it starts a stack, waits for two scrapes, measures, and stops the stack (by PID,
# through scripts/stack.sh stop). Printed per N, and as a table at the end:
#   requests per refresh   from Prometheus' own prometheus_http_requests_total{handler="/api/v1/query"}
#                          (+ the Alertmanager calls fleetboard counted)
#   refresh ms             `fleetboard bench-refresh`: queries + parsing + merging, mean of RUNS
#   curl ms                the same queries and the Alertmanager call by one `curl --compressed
#                          --parallel`, mean of RUNS; ratio = refresh / curl (the two are run
#                          in turns, one refresh then one curl, RUNS times)
#   bytes/frame            the board in a COLSxROWS pty, refresh 1s: median frame (data unchanged:
#                          only the age label moves) and largest frame (a scrape changed every host)
#   1% bytes/frame         the board on the in-process synthetic fleet (--synthetic N, 1% of the
#                          hosts change each refresh), median frame
#   idle CPU               CPU seconds over IDLE seconds with --refresh 10s (and % of one core)
#   RSS                    at the end of the idle period (and its maximum)
#   key ms                 key press to the next output, refresh 1s (median / max)
#
# Env: RUNS=10 IDLE=60 COLS=400 ROWS=100 FLEETBOARD=target release binary
#      (the 5-minute idle run: IDLE=300 scripts/perf.sh 5000)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-10}
IDLE=${IDLE:-60}
COLS=${COLS:-400}
ROWS=${ROWS:-100}
HOSTS=("$@")
[ ${#HOSTS[@]} -gt 0 ] || HOSTS=(100 1000 5000 10000)
STACK=$ROOT/scripts/stack.sh
# shellcheck source=stack/synthetic.sh
. "$ROOT/scripts/stack/synthetic.sh"
[ -x "$STACK" ] || { echo "perf: $STACK is missing (merge main)" >&2; exit 1; }
if [ -z "${FLEETBOARD:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  FLEETBOARD=${CARGO_TARGET_DIR:-$ROOT/target}/release/fleetboard
fi
PTY=$ROOT/scripts/perf_pty.py
OUT=$(mktemp -d -t fleetperf.XXXXXX)
DIR=
cleanup() { if [ -n "$DIR" ] && [ -f "$DIR/stack.env" ]; then "$STACK" stop "$DIR" --purge >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The live counter from Prometheus' own /metrics (a PromQL query would read the last scrape).
prom_query_count() {
  curl -s "$PROM_URL/metrics" |
    awk '/^prometheus_http_requests_total\{/ && /handler="\/api\/v1\/query"/ {s += $NF} END {printf "%d\n", s}'
}

jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get(sys.argv[2]))' "$1" "$2"; }
kv() { sed -n "s/^$2=//p" <<<"$1"; }

printf '%s\n' "N|hosts|req/refresh|refresh ms|curl ms|ratio|frame B (same)|frame B (scrape)|1% frame B|idle CPU s|idle %core|RSS MiB|RSS max|key ms med/max" >"$OUT/table"
for N in "${HOSTS[@]}"; do
  echo "== N=$N" >&2
  synthetic_stack "$N"
  B=("$FLEETBOARD" -p "$PROM_URL" -a "$AM_URL" -c /dev/null)

  # Requests and refresh time.
  c0=$(prom_query_count)
  br=$("${B[@]}" bench-refresh --runs "$RUNS")
  c1=$(prom_query_count)
  echo "$br" >&2
  # bench-refresh does one warm-up refresh before the timed ones.
  prom_per=$(( (c1 - c0) / (RUNS + 1) ))
  am_per=$(( $(kv "$br" requests_per_refresh) - prom_per ))
  req="$prom_per+$am_per"

  # The same queries by curl, concurrently, gzip accepted.
  mapfile -t urls < <("${B[@]}" bench-refresh --print-queries |
    python3 -c 'import sys,urllib.parse as u; [print(sys.argv[1]+"/api/v1/query?query="+u.quote(l.rstrip("\n"), safe="")) for l in sys.stdin]' "$PROM_URL")
  urls+=("$AM_URL/api/v2/alerts")
  cargs=()
  for u in "${urls[@]}"; do cargs+=(-o /dev/null "$u"); done
  # Interleaved, one refresh then one curl run, so both meet the server in the same state
  # (at 10,000 hosts its answer time drifts by a third between back-to-back batches).
  times=()
  refs=()
  for _ in $(seq 1 "$RUNS"); do
    refs+=("$("${B[@]}" bench-refresh --runs 1 | sed -n 's/^refresh_ms_median=//p')")
    t0=$(date +%s%N)
    curl -s --no-progress-meter --compressed -Z --parallel-immediate --parallel-max 50 "${cargs[@]}"
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  # Means, not medians: at 5,000 hosts and more the server alternates between fast and
  # slow answers, and a median of such a two-humped set jumps between the humps.
  curl_ms=$(printf '%s\n' "${times[@]}" | awk '{s += $1} END {printf "%.1f", s / NR / 1000}')
  ref_ms=$(printf '%s\n' "${refs[@]}" | awk '{s += $1} END {printf "%.1f", s / NR}')
  echo "interleaved refresh ms: ${refs[*]}; curl us: ${times[*]}" >&2
  ratio=$(awk -v a="$ref_ms" -v b="$curl_ms" 'BEGIN {printf "%.2f", a/b}')

  # Terminal bytes and key latency, refresh 1s, real data.
  live=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds 20 --skip 6 --keys -- "${B[@]}" --refresh 1s)
  echo "live: $live" >&2
  # 1% of the hosts change each refresh: the in-process synthetic fleet of the same size.
  syn=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds 10 --skip 4 -- "$FLEETBOARD" -c /dev/null --synthetic "$N" --refresh 1s)
  echo "synthetic: $syn" >&2
  # Idle: refresh 10s.
  idle=$(python3 "$PTY" --cols "$COLS" --rows "$ROWS" --seconds "$IDLE" --skip 12 -- "${B[@]}" --refresh 10s)
  echo "idle: $idle" >&2

  printf '%s\n' "$N|$(kv "$br" hosts)|$req|$ref_ms|$curl_ms|$ratio|$(jget "$live" frame_bytes_median)|$(jget "$live" frame_bytes_max)|$(jget "$syn" frame_bytes_median)|$(jget "$idle" cpu_s)|$(jget "$idle" cpu_pct_of_core)|$(jget "$idle" rss_mib_end)|$(jget "$idle" rss_mib_max)|$(jget "$live" key_ms_median)/$(jget "$live" key_ms_max)" >>"$OUT/table"
  "$STACK" stop "$DIR" --purge >&2
  DIR=
done
echo
echo "terminal ${COLS}x${ROWS}, RUNS=$RUNS, IDLE=${IDLE}s, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
column -t -s '|' "$OUT/table"
rm -rf "$OUT"
