#!/usr/bin/env bash
# scripts/stack.sh -- fleetboard's real monitoring stack for end-to-end tests (loopback only).
#
#   scripts/stack.sh start [DIR]                  start everything in DIR (default: a new temp dir),
#                                                 write DIR/stack.env, return once ready
#   scripts/stack.sh stop DIR [--purge]           stop it (by recorded PID only); --purge removes DIR
#   scripts/stack.sh fault DIR ACTION [DB] [ARG]  stop-sql|stop-io|start-slave|delay DB SECS|hold DB SECS|release|kill|stop|
#                                                 start|kill-exporter|start-exporter|sql|status DB,
#                                                 prom-stop|prom-cont|prom-kill|prom-start, heal
#                                                 (pg-* and `patroni ACTION [NAME]`: see stack/fault.sh)
#   scripts/stack.sh wait DIR [SECS]              wait until the stack is ready again (after faults)
#   scripts/stack.sh wait-alert DIR ALERTNAME [INSTANCE] [--gone] [--t0 EPOCH] [--timeout S]
#                                                 time until an alert reaches (or leaves) Alertmanager
#   scripts/stack.sh install                      install the missing Debian packages (apt-get)
#   scripts/stack.sh fake-fleet ARGS...           run the synthetic fleet exporter by hand
#   scripts/stack.sh measure [RUNS]               time start, stop, fault -> alert (RUNS times)
#
# Knobs (env) are described at the top of scripts/stack/start.sh and scripts/stack/fault.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=$ROOT/stack
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
cmd=${1:-}
[ -n "$cmd" ] || usage
shift
case $cmd in
  start) exec "$S/start.sh" "$@" ;;
  stop) exec "$S/stop.sh" "$@" ;;
  fault) exec "$S/fault.sh" "$@" ;;
  install) exec "$S/install-deps.sh" ;;
  fake-fleet) exec python3 "$S/fake_fleet.py" "$@" ;;
  measure) exec "$S/measure.sh" "$@" ;;
  wait)
    DIR=${1:?usage: stack.sh wait DIR [SECS]}
    # shellcheck source=stack/lib.sh
    . "$S/lib.sh"
    ENVF=$(stack_env_file "$DIR") || { echo "stack wait: no stack.env in $DIR" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$ENVF"
    args=(--prom "$PROM_URL" --targets "$PROM_TARGETS" --dbs "${DB_COUNT:-0}" --replicas "${REPLICA_COUNT:-0}")
    if [ -n "${VM_URL:-}" ]; then args+=(--vm "$VM_URL"); fi
    if [[ $PROM_URL == https:* ]]; then
      if [ -n "${PROM_CACERT:-}" ]; then args+=(--cacert "$PROM_CACERT"); else args+=(--insecure); fi
    fi
    export PROM_BASIC_AUTH=${PROM_BASIC_AUTH:-}
    exec python3 "$S/ready.py" "${args[@]}" --timeout "${2:-${STACK_WAIT_S:-90}}" ;;
  wait-alert)
    DIR=${1:?usage: stack.sh wait-alert DIR ALERTNAME [INSTANCE] [--gone] [--t0 EPOCH]}
    NAME=${2:?alert name}
    shift 2
    # shellcheck source=stack/lib.sh
    . "$S/lib.sh"
    ENVF=$(stack_env_file "$DIR") || { echo "stack wait-alert: no stack.env in $DIR" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$ENVF"
    args=(--prom "$PROM_URL" --am "$AM_URL" --alertname "$NAME")
    if [[ $PROM_URL == https:* ]]; then
      if [ -n "${PROM_CACERT:-}" ]; then args+=(--cacert "$PROM_CACERT"); else args+=(--insecure); fi
    fi
    export PROM_BASIC_AUTH=${PROM_BASIC_AUTH:-}
    while [ $# -gt 0 ]; do
      case $1 in
        --t0 | --timeout) args+=("$1" "${2:?$1 needs a value}"); shift ;;
        --*) args+=("$1") ;;
        *) args+=(--instance "$1") ;;
      esac
      shift
    done
    exec python3 "$S/wait_alert.py" "${args[@]}" ;;
  -h | --help | help) usage ;;
  *) echo "stack.sh: unknown command '$cmd'" >&2; usage ;;
esac
