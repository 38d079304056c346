#!/usr/bin/env bash
# capture-pg-fixtures.sh DIR STATE  -- record a real PostgreSQL stack's answers to the postgres
# preset's queries as test fixtures: tests/fixtures/postgres/STATE/KEY.json (one instant
# query per metric, exactly as Prometheus returned it).
#
#   DIR=$(mktemp -d); STACK_MARIADB=0 STACK_VM=0 STACK_POSTGRES=1 scripts/stack.sh start "$DIR"
#   scripts/capture-pg-fixtures.sh "$DIR" healthy
#   scripts/stack.sh fault "$DIR" pg-cut pg3; sleep 6; scripts/capture-pg-fixtures.sh "$DIR" cut_pg3
set -euo pipefail
DIR=${1:?usage: capture-pg-fixtures.sh DIR STATE}
STATE=${2:?usage: capture-pg-fixtures.sh DIR STATE}
# shellcheck disable=SC1091
. "$DIR/stack.env"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/tests/fixtures/postgres/$STATE
mkdir -p "$OUT"
cd "$ROOT"
cargo test -q --test suite postgres_fleet::print_postgres_queries -- --ignored --nocapture 2>/dev/null | grep '^QUERY' |
  while IFS=$'\t' read -r _ key expr; do
    # the test machine's load says nothing about the databases (the tests leave it out)
    [ "$key" != load ] || continue
    curl -fsS "$PROM_URL/api/v1/query" --data-urlencode "query=$expr" >"$OUT/$key.json"
  done
echo "captured $(ls "$OUT" | wc -l) answers in $OUT"
