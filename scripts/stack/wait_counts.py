#!/usr/bin/env python3
"""wait_counts.py -- wait until Prometheus' counts are what a part of the test stack needs.

  wait_counts.py PROM_URL TIMEOUT_S WHAT  NAME EXPR WANT  [NAME EXPR WANT ...]

Polls every 0.25 s; exits 0 once every instant query EXPR (a `count(...)`, no result = 0)
equals its WANT, or 1 after TIMEOUT_S, printing `WHAT not ready` with the (have, want) of
each count still off. Stdlib only.
"""
import json
import sys
import time
import urllib.parse
import urllib.request

prom, timeout, what = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rest = sys.argv[4:]
if not rest or len(rest) % 3:
    sys.exit("usage: wait_counts.py PROM_URL TIMEOUT_S WHAT NAME EXPR WANT [NAME EXPR WANT ...]")
checks = {rest[i]: (rest[i + 1], int(rest[i + 2])) for i in range(0, len(rest), 3)}


def q(e):
    u = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": e})
    with urllib.request.urlopen(u, timeout=2) as f:
        res = json.load(f)["data"]["result"]
    return int(float(res[0]["value"][1])) if res else 0


deadline = time.time() + timeout
missing = {}
while time.time() < deadline:
    try:
        missing = {k: (q(e), want) for k, (e, want) in checks.items()}
        missing = {k: v for k, v in missing.items() if v[0] != v[1]}
        if not missing:
            sys.exit(0)
    except Exception as e:  # noqa: BLE001 -- not ready yet
        missing = {"prometheus": str(e)}
    time.sleep(0.25)
print(what, "not ready (have, want):", missing, file=sys.stderr)
sys.exit(1)
