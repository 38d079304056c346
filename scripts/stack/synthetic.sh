# shellcheck shell=bash
# scripts/stack/synthetic.sh -- sourced by scripts/perf.sh and scripts/compare.sh.
#
# synthetic_stack N: starts a stack whose only database fleet is the synthetic exporter's N
# hosts (no MariaDB, node_exporter or VictoriaMetrics) in a new temp dir, sets DIR to it,
# sources its stack.env (PROM_URL, AM_URL, ...), and waits until rate(...[1m]) answers:
# two scrapes of the fleet. Needs STACK (scripts/stack.sh).
synthetic_stack() {
  DIR=$(mktemp -d -t fleetstack.XXXXXX)
  STACK_MARIADB=0 STACK_NODE=0 STACK_VM=0 FAKE_FLEET_HOSTS=$1 "$STACK" start "$DIR" >&2
  # shellcheck disable=SC1091
  . "$DIR/stack.env"
  local n
  for _ in $(seq 1 60); do
    n=$(curl -s "$PROM_URL/api/v1/query" --data-urlencode 'query=count(rate(mysql_global_status_queries[1m]))' |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "${n%.*}" -gt 0 ] && break
    sleep 2
  done
}
