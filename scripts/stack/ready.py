#!/usr/bin/env python3
"""ready.py -- wait until the fleetboard test stack is usable (stdlib only).

  ready.py --prom URL --targets N [--vm URL] [--dbs N] [--replicas N] [--timeout S]
           [--fresh-only] [--since EPOCH] [--cacert FILE | --insecure]

Polls every 0.25 s and exits 0 as soon as all of these hold, or 1 after --timeout seconds
(printing what was still missing):
  * Prometheus answers /-/ready and lists N active targets, every one with health "up",
    each with a sample of `up` taken after this check began (--since), so data left over
    from before a restart or a fault does not count;
  * N dbs have mysql_up == 1 and N replicas have both replication threads running;
  * the same two counts hold in VictoriaMetrics (--vm).
--fresh-only checks only that Prometheus is ready and every target has a fresh `up` sample,
whatever its value (used after restarting Prometheus while a db may be down on purpose).
Basic auth for Prometheus, if it needs it, comes from PROM_BASIC_AUTH=user:password (env).
"""
import argparse
import base64
import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request

DBS_UP = 'count(mysql_up{job="mysql"} == 1)'
REPL_OK = ('count(mysql_slave_status_slave_sql_running{job="mysql"} == 1 and on(cluster, instance) '
           'mysql_slave_status_slave_io_running{job="mysql"} == 1)')
FRESH = "count(timestamp(up) > %.3f)"


class Client:
    def __init__(self, base, ctx=None, auth=None):
        self.base = base.rstrip("/")
        self.ctx = ctx
        self.auth = auth

    def get(self, path, **params):
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url)
        if self.auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(self.auth.encode()).decode())
        with urllib.request.urlopen(req, timeout=2, context=self.ctx) as r:
            body = r.read()
        return json.loads(body) if body[:1] in (b"{", b"[") else body.decode(errors="replace")

    def scalar(self, expr):
        res = self.get("/api/v1/query", query=expr)["data"]["result"]
        return int(float(res[0]["value"][1])) if res else 0


def check(a, prom, vm):
    """Returns None when ready, else a short text of what is missing."""
    try:
        prom.get("/-/ready")
    except Exception as e:  # noqa: BLE001 -- any failure means "not yet"
        return "prometheus not ready (%s)" % e
    try:
        fresh = prom.scalar(FRESH % a.since)
        if fresh < a.targets:
            return "prometheus: %d/%d targets scraped since this check began" % (fresh, a.targets)
        if a.fresh_only:
            return None
        tg = prom.get("/api/v1/targets", state="active")["data"]["activeTargets"]
        up = sum(1 for t in tg if t.get("health") == "up")
        if len(tg) != a.targets or up != len(tg):
            down = ["%s/%s: %s" % (t["labels"].get("job"), t["labels"].get("instance"), t.get("lastError") or t.get("health"))
                    for t in tg if t.get("health") != "up"]
            return "prometheus: %d/%d targets up (want %d) %s" % (up, len(tg), a.targets, "; ".join(down[:4]))
        for name, c in (("prometheus", prom), ("victoria-metrics", vm)):
            if c is None:
                continue
            dbs = c.scalar(DBS_UP) if a.dbs else 0
            repl = c.scalar(REPL_OK) if a.replicas else 0
            if dbs != a.dbs or repl != a.replicas:
                return "%s: mysql_up==1 %d/%d, replicas running %d/%d" % (name, dbs, a.dbs, repl, a.replicas)
    except Exception as e:  # noqa: BLE001
        return "query failed: %s" % e
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prom", required=True)
    ap.add_argument("--vm")
    ap.add_argument("--targets", type=int, required=True)
    ap.add_argument("--dbs", type=int, default=0)
    ap.add_argument("--replicas", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--fresh-only", action="store_true")
    ap.add_argument("--since", type=float, help="a fresh sample is newer than this (epoch s; default: now)")
    ap.add_argument("--cacert")
    ap.add_argument("--insecure", action="store_true")
    a = ap.parse_args()
    ctx = None
    if a.prom.startswith("https:"):
        ctx = ssl.create_default_context(cafile=a.cacert) if a.cacert else ssl.create_default_context()
        if a.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    prom = Client(a.prom, ctx, os.environ.get("PROM_BASIC_AUTH"))
    vm = Client(a.vm) if a.vm and not a.fresh_only else None
    t0 = time.time()
    if a.since is None:
        a.since = t0
    last = None
    verbose = os.environ.get("STACK_VERBOSE") == "1"
    next_note = t0 + 10
    while True:
        why = check(a, prom, vm)
        if why is None:
            return 0
        now = time.time()
        if now - t0 >= a.timeout:
            print("ready: not ready after %.0fs: %s" % (a.timeout, why), file=sys.stderr)
            return 1
        if verbose and why != last:
            print("ready: %.2fs: %s" % (now - t0, why), file=sys.stderr, flush=True)
            last = why
        elif now >= next_note and why != last:
            print("ready: waiting (%.0fs): %s" % (now - t0, why), file=sys.stderr, flush=True)
            last = why
            next_note = now + 10
        time.sleep(0.25)


if __name__ == "__main__":
    sys.exit(main())
