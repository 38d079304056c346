#!/usr/bin/env bash
# scripts/test.sh -- the one command that runs every fleetboard check, from a fresh clone.
#
#   1. installs what is missing: the Debian packages of the end-to-end stack (Prometheus,
#      Alertmanager, node/mysqld exporters, MariaDB, VictoriaMetrics) and tmux, via
#      scripts/stack.sh install (apt-get; needs root); checks that cargo (rustup) is there
#   2. cargo fmt --check
#   3. cargo clippy --all-targets -- -D warnings
#   4. cargo deny check licenses bans sources (deny.toml; cargo-deny is installed from
#      crates.io with `cargo install --locked` when missing; advisories are not checked: the
#      advisory database cannot be fetched on the build machines)
#   5. cargo test --all-targets   (the end-to-end tests in tests/e2e*.rs start and stop their
#                                  own stack with scripts/stack.sh; FLEETBOARD_SKIP_E2E=1 skips them)
#   6. scripts/package_check.sh   the Debian package built from the test build, installed with
#                                  dpkg -i, run from /usr/bin, removed (FLEETBOARD_SKIP_PACKAGE=1 skips it;
#                                  installs cargo-deb from crates.io the first time)
# Every step runs even if an earlier one failed; the last line sums up. Exit 0 only if all passed.
# Needs no stdin; works under CI=true.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=stack/lib.sh
. "$ROOT/scripts/stack/lib.sh"
T0=$(now_ms)
export DEBIAN_FRONTEND=noninteractive
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
exec </dev/null

declare -a PASSED=() FAILED=()
step() { # NAME CMD...
  local name=$1 t rc
  shift
  echo
  echo "==> [$name] $*"
  t=$(now_ms)
  "$@"
  rc=$?
  if [ "$rc" = 0 ]; then
    PASSED+=("$name")
    echo "<== [$name] ok in $(elapsed "$t" "$(now_ms)")s"
  else
    FAILED+=("$name")
    echo "<== [$name] FAILED (exit $rc) after $(elapsed "$t" "$(now_ms)")s"
  fi
  return "$rc"
}
finish() {
  local total
  total=$(elapsed "$T0" "$(now_ms)")
  echo
  if [ ${#FAILED[@]} -eq 0 ]; then
    echo "test.sh: PASSED (${PASSED[*]}) in ${total}s"
    exit 0
  fi
  if [ -n "${TEST_LOG:-}" ] && [ -s "$TEST_LOG" ] && grep -qE '^test .* FAILED$|^error: ' "$TEST_LOG"; then
    echo "test.sh: what failed in the test step (full output above):"
    grep -E '^test .* FAILED$|^     Running |panicked at|^error: |test result: FAILED' "$TEST_LOG" |
      grep -B1 -E 'FAILED|panicked|^error' | grep -v '^--$' | head -60
  fi
  echo "test.sh: FAILED (${FAILED[*]}; passed: ${PASSED[*]-none}) in ${total}s"
  exit 1
}

# ---- toolchain -------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -r "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: FAILED: cargo not found. Install the Rust toolchain with rustup (https://rustup.rs) and retry." >&2
  FAILED+=(toolchain)
  finish
fi
echo "test.sh: $(cargo --version), $(rustc --version)"
for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      echo "test.sh: adding the rustup component $comp"
      rustup component add "$comp" || true
    fi
  fi
done

# ---- packages for the end-to-end tests -------------------------------------------------------------
if [ "${FLEETBOARD_SKIP_E2E:-0}" = 1 ]; then
  echo "test.sh: FLEETBOARD_SKIP_E2E=1: not installing the stack packages; the end-to-end tests will be SKIPPED"
else
  # a failure here is reported, and the end-to-end test then fails with its own clear message
  step install scripts/stack.sh install
  # installed (or tried) once: the end-to-end tests' stack only checks from here on
  export STACK_INSTALL=0
fi

if ! cargo deny --version >/dev/null 2>&1; then
  step install-cargo-deny cargo install cargo-deny --locked
fi

# man renders the generated man page in tests/cli.rs and scripts/package_check.sh
if ! command -v man >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y --no-install-recommends man-db >/dev/null || echo "test.sh: cannot install man-db"
fi

step fmt cargo fmt --check
step clippy cargo clippy --all-targets -- -D warnings
step deny cargo deny check licenses bans sources
# --no-fail-fast: one failing test binary must not hide the others' results. The output is
# kept so that the last lines of the run (all a CI page may show) name what failed.
TEST_LOG=$(mktemp -t fleetboard-test.XXXXXX)
trap 'rm -f "$TEST_LOG"' EXIT
run_tests() { cargo test --all-targets --no-fail-fast 2>&1 | tee "$TEST_LOG"; return "${PIPESTATUS[0]}"; }
step test run_tests
if [ "${FLEETBOARD_SKIP_PACKAGE:-0}" = 1 ]; then
  echo "test.sh: FLEETBOARD_SKIP_PACKAGE=1: the Debian package is not built or installed"
else
  step package scripts/package_check.sh
fi
finish
