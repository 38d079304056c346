#!/usr/bin/env bash
# scripts/test.sh -- the one command that runs every fleetboard check, from a fresh clone.
#
#   1. installs what is missing: the Debian packages of the end-to-end stack (Prometheus,
#      Alertmanager, node/mysqld exporters, MariaDB, VictoriaMetrics) and tmux, via
#      scripts/stack.sh install (apt-get; needs root); checks that cargo (rustup) is there
#   2. cargo fmt --check
#   3. cargo clippy --all-targets -- -D warnings
#   4. cargo test --all-targets   (the end-to-end tests in tests/e2e*.rs start and stop their
#                                  own stack with scripts/stack.sh; FLEETBOARD_SKIP_E2E=1 skips them)
#   5. scripts/package_check.sh   the Debian package built from the test build, installed with
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

# man renders the generated man page in tests/cli.rs and scripts/package_check.sh
if ! command -v man >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y --no-install-recommends man-db >/dev/null || echo "test.sh: cannot install man-db"
fi

step fmt cargo fmt --check
step clippy cargo clippy --all-targets -- -D warnings
step test cargo test --all-targets
if [ "${FLEETBOARD_SKIP_PACKAGE:-0}" = 1 ]; then
  echo "test.sh: FLEETBOARD_SKIP_PACKAGE=1: the Debian package is not built or installed"
else
  step package scripts/package_check.sh
fi
finish
