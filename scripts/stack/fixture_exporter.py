#!/usr/bin/env python3
"""Serves exporter-format fixture files as one /metrics target (standard library only).

Usage: fixture_exporter.py [--listen 127.0.0.1] --port P [--cluster-prefix fx-] FILE...

The files (tests/fixtures/exporters/*.prom) carry their own cluster/instance/job labels, so
Prometheus scrapes this target with honor_labels: true, as the synthetic fleet. Each
cluster="X" becomes cluster="<prefix>X" and every job label job="fixtures", so fixture hosts
never collide with the stack's (nor count among its job="mysql" servers).
GET /set?files=a.prom,b.prom serves only those of the given files (by base name);
GET /set?files= serves nothing at all (every fixture series vanishes).
"""
import argparse, os, re, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load(path, prefix):
    out = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            line = re.sub(r'\bcluster="', 'cluster="' + prefix, line.rstrip("\n"))
            # their own job, so the stack's readiness count of job="mysql" stays the real servers'
            out.append(re.sub(r'\bjob="[^"]*"', 'job="fixtures"', line))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cluster-prefix", default="fx-")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    series = {os.path.basename(p): load(p, a.cluster_prefix) for p in a.files}
    state = {"on": set(series), "lock": threading.Lock()}

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code, body, ctype="text/plain; version=0.0.4"):
            raw = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            if u.path == "/metrics":
                with state["lock"]:
                    on = sorted(state["on"])
                lines = [l for name in on for l in series[name]]
                return self.send(200, "\n".join(lines) + ("\n" if lines else ""))
            if u.path == "/set":
                q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                want = {f for f in (q.get("files") or [""])[0].split(",") if f}
                unknown = want - set(series)
                if unknown:
                    return self.send(400, "unknown fixture(s): %s\n" % ", ".join(sorted(unknown)))
                with state["lock"]:
                    state["on"] = want
                return self.send(200, "serving: %s\n" % ", ".join(sorted(want)))
            return self.send(404, "404 page not found\n")

    srv = ThreadingHTTPServer((a.listen, a.port), H)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
