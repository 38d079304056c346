#!/usr/bin/env python3
"""wait_alert.py -- time how long until an alert shows up in Alertmanager (stdlib only).

Polls Prometheus /api/v1/alerts (pending/firing) and Alertmanager /api/v2/alerts every 0.1 s
and prints the seconds until: pending in Prometheus, firing in Prometheus, present in
Alertmanager. --gone times the resolution instead (the alert no longer in Alertmanager's list).
Times count from --t0 (epoch seconds, e.g. taken just before the fault) or from the start.
  wait_alert.py --prom URL --am URL --alertname MySQLDown [--instance db4] [--timeout 60]
                [--gone] [--t0 EPOCH] [--cacert FILE | --insecure]
Basic auth for Prometheus, if it needs it, comes from PROM_BASIC_AUTH=user:password (env).
The last line printed is JSON: {"timings_s": {...}}; exit 0 when seen, 1 on timeout.
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prom", required=True)
    ap.add_argument("--am", required=True)
    ap.add_argument("--alertname", required=True)
    ap.add_argument("--instance")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--gone", action="store_true")
    ap.add_argument("--t0", type=float, help="count from this epoch time instead of from now")
    ap.add_argument("--cacert")
    ap.add_argument("--insecure", action="store_true")
    a = ap.parse_args()

    ctx = None
    if a.prom.startswith("https:"):
        ctx = ssl.create_default_context(cafile=a.cacert) if a.cacert else ssl.create_default_context()
        if a.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    auth = os.environ.get("PROM_BASIC_AUTH")

    def get(url, prom=False):
        req = urllib.request.Request(url)
        if prom and auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        with urllib.request.urlopen(req, timeout=2, context=ctx if prom else None) as r:
            return json.load(r)

    filt = [("filter", 'alertname="%s"' % a.alertname), ("active", "true"),
            ("silenced", "true"), ("inhibited", "true")]
    if a.instance:
        filt.append(("filter", 'instance="%s"' % a.instance))
    amurl = a.am.rstrip("/") + "/api/v2/alerts?" + urllib.parse.urlencode(filt)
    t0 = a.t0 if a.t0 else time.time()
    seen = {}
    while time.time() - t0 < a.timeout:
        el = time.time() - t0
        try:
            am = get(amurl)
        except Exception:  # noqa: BLE001 -- not answering yet: try again
            time.sleep(0.1)
            continue
        if a.gone:
            if not am:
                seen["am_gone"] = round(el, 2)
                print("%.2fs  gone from Alertmanager" % el, flush=True)
                print(json.dumps({"timings_s": seen}))
                return 0
        else:
            try:
                pa = [x for x in get(a.prom.rstrip("/") + "/api/v1/alerts", prom=True)["data"]["alerts"]
                      if x["labels"].get("alertname") == a.alertname
                      and (not a.instance or x["labels"].get("instance") == a.instance)]
            except Exception:  # noqa: BLE001 -- Prometheus may be the thing that is down
                pa = []
            for x in pa:
                k = "prom_" + x["state"]
                if k not in seen:
                    seen[k] = round(el, 2)
                    print("%.2fs  Prometheus: %s (activeAt %s)" % (el, x["state"], x.get("activeAt")), flush=True)
            if am:
                seen["am"] = round(el, 2)
                print("%.2fs  Alertmanager: %s" % (el, json.dumps(am[0]["status"])), flush=True)
                print(json.dumps({"timings_s": seen}))
                return 0
        time.sleep(0.1)
    print("timeout after %.0fs; seen=%s" % (a.timeout, seen))
    print(json.dumps({"timings_s": seen, "timeout": True}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
