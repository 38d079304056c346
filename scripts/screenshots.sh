#!/usr/bin/env bash
# Regenerates screenshots/*.png from the real program: runs fleetboard in tmux, captures
# the pane with colours, converts ANSI to HTML (aha) and HTML to PNG (headless chromium).
# Needs: tmux aha chromium fonts-dejavu-core (installed when missing, as root).
# FLEETBOARD_SHOT_PROM=URL also shoots a real stack's mixed board (stack-mixed.png), e.g. one
# started with STACK_POSTGRES=1 and a fault such as `scripts/stack.sh fault DIR pg-cut pg3`.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in tmux aha chromium; do command -v "$p" >/dev/null || need+=("$p"); done
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux aha chromium fonts-dejavu-core
fi
# FLEETBOARD_SHOT_BIN=target/debug/fleetboard skips the (long) release build: the screens
# are the same
if [ -n "${FLEETBOARD_SHOT_BIN:-}" ]; then
  bin=$(cd "$(dirname "$FLEETBOARD_SHOT_BIN")" && pwd)/$(basename "$FLEETBOARD_SHOT_BIN")
elif [ -n "${FLEETBOARD_SHOT_NO_BUILD:-}" ]; then
  # FLEETBOARD_SHOT_NO_BUILD=1 uses the release binary as it is (a slow machine)
  bin=$PWD/target/release/fleetboard
else
  cargo build --release --quiet
  bin=$PWD/target/release/fleetboard
fi
out=$PWD/screenshots
work=$(mktemp -d -t fleetshots.XXXXXX)
sock=fleetshots-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

# shot NAME COLS ROWS KEYS... : start the demo (or what FLEETBOARD_SHOT_ARGS says), send
# keys, capture, render. Only NAMES given on the command line are shot, when any are.
only=("$@")
shot() {
  local name=$1 cols=$2 rows=$3; shift 3
  if ((${#only[@]})) && [[ " ${only[*]} " != *" $name "* ]]; then return 0; fi
  tmux -L "$sock" -f /dev/null new-session -d -s s -x "$cols" -y "$rows" \
    "TERM=xterm-256color COLORTERM=truecolor $bin ${FLEETBOARD_SHOT_SOURCE:---demo} ${FLEETBOARD_SHOT_ARGS:-}"
  sleep 2
  for k in "$@"; do tmux -L "$sock" send-keys -t s "$k"; sleep 0.4; done
  sleep 0.6
  tmux -L "$sock" capture-pane -p -e -t s > "$work/$name.ans"
  tmux -L "$sock" kill-server
  aha --black < "$work/$name.ans" > "$work/$name.html"
  sed -i 's#<pre>#<pre style="font-family:DejaVu Sans Mono,monospace;font-size:14px;line-height:1.15;margin:0">#' "$work/$name.html"
  # Glyphs the monospace font lacks (braille, some symbols) come from other fonts with
  # other widths: pin every non-ASCII character to one cell so columns stay aligned.
  python3 - "$work/$name.html" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
s = re.sub(r"([^\x00-\x7f])", r'<span style="display:inline-block;width:1ch;height:1.15em;vertical-align:top;overflow:hidden">\1</span>', s)
open(p, "w", encoding="utf-8").write(s)
PY
  local w=$((cols * 9 + 20)) h=$((rows * 17 + 24))
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$work/chrome" \
    --window-size="$w,$h" --screenshot="$out/$name.png" "file://$work/$name.html" >/dev/null 2>&1
  echo "screenshots/$name.png"
}

shot grid 120 40
shot host-panel 140 44 / o r d e r s - d b 0 7 Enter Enter
shot help 100 30 '?'
FLEETBOARD_SHOT_ARGS="--theme light" shot grid-light 120 40
shot alerts 120 40 a
FLEETBOARD_SHOT_ARGS="--wall" shot wall 160 45
FLEETBOARD_SHOT_ARGS="--theme colorblind" shot grid-colorblind 120 40
# the demo's PostgreSQL cluster: the replica cut off from its primary, and the cascading one
shot pg-panel 140 44 / l e d g e r - p g 0 3 Enter Enter
shot pg-cascading 140 44 / l e d g e r - p g 0 4 Enter Enter
shot topology 120 24 / p a y m e n t s - d b 0 2 Enter T
shot topology-pg 120 24 / l e d g e r - p g 0 2 Enter T
if [ -n "${FLEETBOARD_SHOT_PROM:-}" ]; then
  FLEETBOARD_SHOT_SOURCE="-p $FLEETBOARD_SHOT_PROM --preset mixed" shot stack-mixed 120 32
fi
# Fleet scale: 1,000 synthetic hosts in clusters of three, packed and as a map.
FLEETBOARD_SHOT_ARGS="--synthetic 1000" shot packed-1000 200 50
FLEETBOARD_SHOT_ARGS="--synthetic 1000" shot map-1000 200 50 m
