#!/usr/bin/env bash
# Soak run: keeps the board up in a real terminal (tmux) and samples its memory and CPU.
#   scripts/soak.sh [MINUTES] [-- FLEETBOARD ARGS...]      default: 30 minutes, --demo --refresh 1s
#   FLEETBOARD=path/to/fleetboard scripts/soak.sh ...    (a binary already built)
# Prints one line per sample (elapsed s, RSS KiB, CPU s) and a summary: first/last/max RSS
# and the RSS growth between the end of the first 5 minutes and the end of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
shift || true
[ "${1:-}" = "--" ] && shift
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--demo --refresh 1s)
command -v tmux >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux; }
# FLEETBOARD=path uses an existing binary instead of building one.
if [ -z "${FLEETBOARD:-}" ]; then
  cargo build --release --quiet
fi
bin=${FLEETBOARD:-${CARGO_TARGET_DIR:-$PWD/target}/release/fleetboard}
sock=fleetsoak-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT
tmux -L "$sock" -f /dev/null new-session -d -s s -x 160 -y 48 "exec $bin ${args[*]}"
sleep 1
pid=$(tmux -L "$sock" display -p -t s '#{pane_pid}')
tick=$(getconf CLK_TCK)
end=$((SECONDS + minutes * 60))
start=$SECONDS
echo "# soak: $bin ${args[*]} for ${minutes} min, pid $pid"
echo "# elapsed_s rss_kib cpu_s"
first=; last=; max=0; at5=
while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
  cpu=$(awk -v u="$ut" -v s="$st" -v t="$tick" 'BEGIN {printf "%.2f", (u + s) / t}')
  el=$((SECONDS - start))
  echo "$el $rss $cpu"
  first=${first:-$rss}; last=$rss
  [ "$rss" -gt "$max" ] && max=$rss
  [ -z "$at5" ] && [ "$el" -ge 300 ] && at5=$rss
  sleep 30
done
kill -0 "$pid" 2>/dev/null || { echo "soak: the board exited early" >&2; exit 1; }
echo "# summary: first ${first} KiB, after 5 min ${at5:-n/a} KiB, last ${last} KiB, max ${max} KiB, cpu ${cpu} s over $((SECONDS - start)) s"
