#!/usr/bin/env bash
# scripts/package_check.sh -- the Debian package as an operator gets it: built by
# scripts/release.sh, installed with dpkg -i, run from /usr/bin, its man page rendered by man,
# its completions parsed by their shells, its example config loaded; then removed again.
#
# CI packages the debug build the tests already made (RELEASE_PROFILE=dev, RELEASE_TARGET=gnu):
# what is checked is the package and the installed program, not the optimiser. Set
# RELEASE_PROFILE=release RELEASE_TARGET=musl to check the release package itself.
# Needs root (dpkg -i); installs man-db when man is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export RELEASE_PROFILE=${RELEASE_PROFILE:-dev} RELEASE_TARGET=${RELEASE_TARGET:-gnu} RELEASE_FIGURES=${RELEASE_FIGURES:-0}
T0=$(date +%s%N)
lap() { echo "package_check.sh: $1 after $(( ($(date +%s%N) - T0) / 1000000 )) ms"; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
fail() { echo "package_check.sh: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root for dpkg -i"
if ! command -v man >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends man-db >/dev/null
fi

# Not `tee /dev/stderr`: opening it truncates a log file that stderr is redirected to, and
# with it everything the earlier steps wrote there (the tests' output included).
BUILT=$(scripts/release.sh)
printf '%s\n' "$BUILT" >&2
DEB=$(printf '%s\n' "$BUILT" | sed -n 's/^release.sh: package: //p')
[ -f "$DEB" ] || fail "release.sh made no package"
DEB=$(realpath "$DEB")
lap "package built"
if dpkg -s fleetboard >/dev/null 2>&1; then
  fail "a fleetboard package is installed already; remove it first (dpkg -r fleetboard)"
fi
dpkg -i "$DEB" >/dev/null
lap "installed"
trap 'dpkg -r fleetboard >/dev/null 2>&1 || true' EXIT

# Every file the package promises, where Debian tools look for it.
for f in /usr/bin/fleetboard \
  /usr/share/man/man1/fleetboard.1.gz \
  /usr/share/bash-completion/completions/fleetboard \
  /usr/share/zsh/vendor-completions/_fleetboard \
  /usr/share/fish/vendor_completions.d/fleetboard.fish \
  /usr/share/doc/fleetboard/examples/config.toml \
  /usr/share/doc/fleetboard/README.md; do
  dpkg -L fleetboard | grep -qx "$f" || fail "$f is not in the package"
  [ -s "$f" ] || fail "$f is not installed"
done

# The installed program, from a directory with no checkout and a clean environment.
cd /
got=$(env -i PATH=/usr/bin:/bin HOME=/nonexistent fleetboard --version)
[ "$got" = "fleetboard $VERSION" ] || fail "--version says '$got'"
set +e
json=$(env -i PATH=/usr/bin:/bin HOME=/nonexistent fleetboard snapshot --demo --format json)
code=$?
set -e
# The demo fleet always has a DOWN host: CRITICAL (2), with every host listed.
[ "$code" = 2 ] || fail "snapshot --demo exited $code, expected 2 (CRITICAL)"
echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="CRITICAL" and len(d["hosts"])>=10, d["status"]' ||
  fail "snapshot --demo JSON is not what it should be"
fleetboard config -c /usr/share/doc/fleetboard/examples/config.toml >/dev/null ||
  fail "the installed example config does not load"

# Documentation as the tools read it.
page=$(MANPAGER=cat MANWIDTH=80 man fleetboard 2>&1) || fail "man fleetboard: $page"
echo "$page" | grep -q "EXIT STATUS" || fail "the man page has no EXIT STATUS"
bash -n /usr/share/bash-completion/completions/fleetboard || fail "bash -n rejects the completion"
bash -c '. /usr/share/bash-completion/completions/fleetboard && complete -p fleetboard' >/dev/null ||
  fail "the bash completion registers nothing"
if command -v zsh >/dev/null 2>&1; then zsh -n /usr/share/zsh/vendor-completions/_fleetboard || fail "zsh -n"; fi
if command -v fish >/dev/null 2>&1; then fish -n /usr/share/fish/vendor_completions.d/fleetboard.fish || fail "fish -n"; fi

lap "checked"
echo "package_check.sh: ok: $(basename "$DEB") ($(stat -c %s "$DEB") bytes) installed, run and removed"
