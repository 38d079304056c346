#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...] -- runs fleetboard's cargo-fuzz targets.
#
# Each target (all of them, or the ones named) runs for SECONDS_PER_TARGET seconds (default 60),
# one after the other. Needs the nightly toolchain (installed with rustup if missing) and
# cargo-fuzz (installed from crates.io if missing). Not part of scripts/test.sh: CI is stable-only.
#
# Corpora live in fuzz/corpus/TARGET (not committed) and are seeded on each run from
# tests/fixtures and the TOML examples in README.md and themes/. Crashes are written to
# fuzz/artifacts/TARGET/; replay one with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...
# The build goes to $CARGO_TARGET_DIR/fuzz (default target/fuzz).
# Exit 0 only if every target ran without a crash.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
exec </dev/null

SECS=${1:-60}
[ $# -gt 0 ] && shift
case "$SECS" in
  '' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
    ;;
esac
ALL_TARGETS=(prom_instant prom_range am_alerts am_silences config theme fleet_render)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/fuzz"

# ---- tools -------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -r "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz.sh: installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal || exit 1
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi

# ---- seeds -------------------------------------------------------------------------------------
seed() { # TARGET FILE...
  local dir="fuzz/corpus/$1" f
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] && cp -f "$f" "$dir/seed-$(basename "$f")"
  done
}
toml_blocks() { # the ```toml blocks of README.md, one file each, in DIR
  awk -v dir="$1" '/^```toml/{n++; f=sprintf("%s/seed-readme-%d.toml", dir, n); inb=1; next}
                   /^```/{inb=0; next} inb{print > f}' README.md
}
seed prom_instant tests/fixtures/prom_*.json tests/fixtures/vm_*.json
seed prom_range tests/fixtures/prom_*.json tests/fixtures/vm_*.json
seed am_alerts tests/fixtures/am_alerts*.json
seed am_silences tests/fixtures/am_silence*.json
seed config tests/fixtures/config/*.toml
seed theme themes/*.toml
seed fleet_render
toml_blocks fuzz/corpus/config
toml_blocks fuzz/corpus/theme

extra_args() { # per target: a dictionary, or (structured input) full-length inputs from the start
  case "$1" in
    prom_* | am_*) echo "-dict=dicts/json.dict -max_len=65536" ;;
    config | theme) echo "-dict=dicts/toml.dict -max_len=65536" ;;
    fleet_render) echo "-len_control=0 -max_len=4096" ;;
  esac
}

# ---- build and run -----------------------------------------------------------------------------
echo "fuzz.sh: building ${TARGETS[*]} ($(cargo +nightly --version))"
for t in "${TARGETS[@]}"; do
  (cd fuzz && cargo +nightly fuzz build -O --target-dir "$TARGET_DIR" "$t") || {
    echo "fuzz.sh: build of $t failed" >&2
    exit 1
  }
done

LOGS=$(mktemp -d)
declare -a ROWS=()
TOTAL_RUNS=0 TOTAL_SECS=0 TOTAL_CRASHES=0
for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/artifacts/$t"
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  echo
  echo "==> $t for ${SECS}s"
  t0=$(date +%s)
  # shellcheck disable=SC2046
  (cd fuzz && cargo +nightly fuzz run -O --target-dir "$TARGET_DIR" "$t" "corpus/$t" -- \
    -max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    $(extra_args "$t")) >"$LOGS/$t.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - t0))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log" | tail -1)
  runs=${runs:-0}
  crashes=$(($(find "fuzz/artifacts/$t" -type f | wc -l) - before))
  if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then crashes=1; fi
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  tail -3 "$LOGS/$t.log"
  if [ "$crashes" != 0 ]; then
    grep -m3 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$LOGS/$t.log"
    echo "    log: $LOGS/$t.log"
  fi
  ROWS+=("$(printf '%-14s %12s %8s %8s %8s' "$t" "$runs" "$secs" "$crashes" "$corpus")")
  TOTAL_RUNS=$((TOTAL_RUNS + runs))
  TOTAL_SECS=$((TOTAL_SECS + secs))
  TOTAL_CRASHES=$((TOTAL_CRASHES + crashes))
done

echo
printf '%-14s %12s %8s %8s %8s\n' target runs seconds crashes corpus
printf '%s\n' "${ROWS[@]}"
printf '%-14s %12s %8s %8s\n' total "$TOTAL_RUNS" "$TOTAL_SECS" "$TOTAL_CRASHES"
echo "logs: $LOGS"
[ "$TOTAL_CRASHES" = 0 ]
