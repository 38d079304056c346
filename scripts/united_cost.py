#!/usr/bin/env python3
"""What the united query costs Prometheus against its parts asked side by side.

    united_cost.py PROM_URL QUERIES_FILE PROM_PID [ROUNDS]

QUERIES_FILE holds one PromQL expression per line, as `fleetboard -p URL -c /dev/null
bench-refresh --print-queries` prints the preset's metrics. The united query is built as the
board builds it: each part `label_replace(EXPR, "fb_metric", "mN", "", "")`, joined by `or`
as a balanced tree. For each form, ROUNDS (default 10) refreshes in a row, twice in turn:
Prometheus' CPU per refresh (from /proc/PID/stat, 10 ms ticks: use enough rounds) and the
time to the last byte of the answers. Standard library only; answers are read, not parsed.
"""
import concurrent.futures as cf
import sys
import time
import urllib.parse
import urllib.request


def tree(parts):
    if len(parts) == 1:
        return parts[0]
    m = len(parts) // 2
    return "(%s) or (%s)" % (tree(parts[:m]), tree(parts[m:]))


def ask(url, q):
    data = urllib.parse.urlencode({"query": q}).encode()
    body = urllib.request.urlopen(url + "/api/v1/query", data, timeout=300).read()
    return body.count(b'"metric"')


def cpu_seconds(pid):
    with open("/proc/%s/stat" % pid) as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / 100.0


def main():
    url, qfile, pid = sys.argv[1], sys.argv[2], sys.argv[3]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    qs = [l.strip() for l in open(qfile) if l.strip()]
    united = tree(['label_replace(%s, "fb_metric", "m%d", "", "")' % (q, i) for i, q in enumerate(qs)])

    def refresh(mode):
        if mode == "united":
            return ask(url, united)
        with cf.ThreadPoolExecutor(len(qs)) as ex:
            return sum(ex.map(lambda q: ask(url, q), qs))

    for mode in ("united", "parts", "united", "parts"):
        c0, t0 = cpu_seconds(pid), time.monotonic()
        for _ in range(rounds):
            n = refresh(mode)
        print("%-6s %d series: Prometheus CPU %.3f s per refresh, answered in %.3f s"
              % (mode, n, (cpu_seconds(pid) - c0) / rounds, (time.monotonic() - t0) / rounds),
              flush=True)


if __name__ == "__main__":
    main()
