#!/usr/bin/env bash
# scripts/release.sh -- what an operator installs without a Rust toolchain.
#
#   scripts/release.sh            static binary (musl) + Debian package, into dist/
#
# Produces, for version V from Cargo.toml:
#   dist/fleetboard-V-x86_64-linux-musl.tar.gz   the static binary, man page, shell completions,
#                                                example config, README
#   dist/fleetboard_V-1_amd64.deb                the same as a Debian package (cargo-deb), built
#                                                from the static binary: no dependency on the
#                                                glibc version of the machine it lands on
# and prints their sizes and the binary's start-up time.
#
# Needs (installed when missing, unless RELEASE_INSTALL=0): the rustup target
# x86_64-unknown-linux-musl, musl-tools (musl-gcc, for the C parts of the TLS stack),
# cargo-deb (cargo install --locked, from crates.io).
#
# Knobs:
#   RELEASE_TARGET=gnu     build against glibc instead (when the musl target cannot be had);
#                          the .deb then depends on the libc6 it was built against ($auto)
#   RELEASE_PROFILE=dev    package the debug build (what CI does: it is already built by the
#                          tests, and the package layout is what is being checked)
#   RELEASE_NO_BUILD=1     package what target/ holds, do not run cargo build
#   RELEASE_INSTALL=0      install nothing; fail with the name of what is missing
#   RELEASE_FIGURES=0      do not time the start-up (150 runs)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TARGET_KIND=${RELEASE_TARGET:-musl}
PROFILE=${RELEASE_PROFILE:-release}
INSTALL=${RELEASE_INSTALL:-1}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
case "$TARGET_KIND" in
  musl) TRIPLE=x86_64-unknown-linux-musl ;;
  gnu) TRIPLE=x86_64-unknown-linux-gnu ;;
  *) echo "release.sh: RELEASE_TARGET must be musl or gnu" >&2; exit 2 ;;
esac
PROFILE_DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# The glibc build is the host's own: no --target, so that it shares target/debug (or
# target/release) with cargo test and cargo build instead of building everything again.
if [ "$TARGET_KIND" = musl ]; then
  TARGET_ARGS=(--target "$TRIPLE")
  BIN="$TARGET_DIR/$TRIPLE/$PROFILE_DIR/fleetboard"
else
  TARGET_ARGS=()
  BIN="$TARGET_DIR/$PROFILE_DIR/fleetboard"
fi

say() { echo "release.sh: $*"; }
need() { # CMD PACKAGE-OR-HINT
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $2 (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null
  fi
  command -v "$1" >/dev/null 2>&1 || { say "missing $1 ($2)"; exit 1; }
}

# ---- tools ----------------------------------------------------------------------------------
need python3 python3
need gzip gzip
if [ "$TARGET_KIND" = musl ]; then
  need musl-gcc musl-tools
  if ! rustup target list --installed 2>/dev/null | grep -qx "$TRIPLE"; then
    [ "$INSTALL" = 1 ] || { say "missing the rustup target $TRIPLE"; exit 1; }
    say "adding the rustup target $TRIPLE"
    rustup target add "$TRIPLE" || {
      say "cannot add $TRIPLE (no access to static.rust-lang.org?): run with RELEASE_TARGET=gnu for a glibc build"
      exit 1
    }
  fi
fi
if ! cargo deb --version >/dev/null 2>&1; then
  [ "$INSTALL" = 1 ] || { say "missing cargo-deb (cargo install --locked cargo-deb)"; exit 1; }
  say "installing cargo-deb from crates.io"
  cargo install --locked cargo-deb
fi

# ---- build ----------------------------------------------------------------------------------
if [ "${RELEASE_NO_BUILD:-0}" != 1 ]; then
  say "building $TRIPLE ($PROFILE)"
  cargo build --locked --profile "$PROFILE" "${TARGET_ARGS[@]}"
fi
[ -x "$BIN" ] || { say "no binary at $BIN"; exit 1; }
if [ "$TARGET_KIND" = musl ]; then
  # A static binary has no program interpreter and needs no shared library.
  if readelf -lW "$BIN" | grep -q 'Requesting program interpreter' || readelf -dW "$BIN" | grep -q NEEDED; then
    say "$BIN is not statically linked"
    exit 1
  fi
fi
"$BIN" --version >/dev/null

# ---- man page, completions ------------------------------------------------------------------
ASSETS="$TARGET_DIR/assets"
mkdir -p "$ASSETS"
"$BIN" man | gzip -9n >"$ASSETS/fleetboard.1.gz"
"$BIN" completions bash >"$ASSETS/fleetboard.bash"
"$BIN" completions zsh >"$ASSETS/_fleetboard"
"$BIN" completions fish >"$ASSETS/fleetboard.fish"
# cargo-deb reads the asset paths relative to the manifest: target/assets must be this one.
if [ "$ASSETS" != "$ROOT/target/assets" ]; then
  mkdir -p "$ROOT/target"
  rm -rf "$ROOT/target/assets"
  cp -a "$ASSETS" "$ROOT/target/assets"
fi

# ---- packages -------------------------------------------------------------------------------
mkdir -p dist
DEB_ARGS=(--no-build "${TARGET_ARGS[@]}" --output dist/)
[ "$PROFILE" = release ] || DEB_ARGS+=(--profile "$PROFILE")
DEB=$(cargo deb "${DEB_ARGS[@]}" | tail -1)
say "package: $DEB"

TAR=""
if [ "$TARGET_KIND" = musl ] && [ "$PROFILE" = release ]; then
  STAGE=$(mktemp -d)
  NAME="fleetboard-$VERSION-x86_64-linux-musl"
  mkdir -p "$STAGE/$NAME/completions"
  cp "$BIN" "$STAGE/$NAME/fleetboard"
  strip "$STAGE/$NAME/fleetboard" 2>/dev/null || true
  cp "$ASSETS/fleetboard.1.gz" "$STAGE/$NAME/"
  cp "$ASSETS/fleetboard.bash" "$ASSETS/_fleetboard" "$ASSETS/fleetboard.fish" "$STAGE/$NAME/completions/"
  cp README.md CHANGELOG.md "$STAGE/$NAME/"
  cp examples/config.toml "$STAGE/$NAME/config.example.toml"
  TAR="dist/$NAME.tar.gz"
  tar -C "$STAGE" --owner=0 --group=0 -czf "$TAR" "$NAME"
  rm -rf "$STAGE"
fi

# ---- figures --------------------------------------------------------------------------------
size() { stat -c %s "$1"; }
say "binary  $(size "$BIN") bytes ($TRIPLE, $PROFILE, before strip)"
[ -n "$TAR" ] && say "tarball $(size "$TAR") bytes: $TAR"
say "deb     $(size "$DEB") bytes: $DEB"
# Start-up: the mean wall time of N runs of `--version` (process start, argument parsing)
# and of `snapshot --demo` (config, runtime, one refresh of the demo fleet, output).
startup() { # N ARGS...
  local n=$1 t0 t1
  shift
  t0=$(date +%s%N)
  for _ in $(seq "$n"); do "$BIN" "$@" >/dev/null || true; done
  t1=$(date +%s%N)
  echo "scale=2; ($t1 - $t0) / $n / 1000000" | bc
}
if [ "${RELEASE_FIGURES:-1}" = 1 ] && command -v bc >/dev/null 2>&1; then
  say "startup --version        $(startup 100 --version) ms (mean of 100)"
  say "startup snapshot --demo  $(startup 50 snapshot --demo --format json) ms (mean of 50)"
fi
