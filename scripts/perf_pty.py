#!/usr/bin/env python3
"""Run the board in a pseudo-terminal of a given size and measure what it costs.

    perf_pty.py [--cols 400] [--rows 100] [--seconds 20] [--skip 5] [--keys] -- CMD...

Prints one JSON object: bytes written to the terminal and how they group into frames
(bursts of output separated by a quiet gap), CPU seconds (user+system) and RSS of the
process over the measured window (after --skip seconds of start-up), and with --keys the
time from a key press ('j' and 'k' in turn, about three a second) to the next output.
Standard library only; the process is ended by PID when the window is over.

/proc gives CPU time in whole clock ticks (10 ms), coarse beside the tenths of a second an
idle board spends in a minute: when `perf` is installed, `cpu_s_exact` is the process's
task-clock over the same window (`perf stat -p`, threads started meanwhile included).
"""
import argparse
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cols", type=int, default=400)
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--skip", type=float, default=5)
    ap.add_argument("--gap", type=float, default=0.03, help="quiet time that ends a frame")
    ap.add_argument("--keys", action="store_true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    t0 = time.monotonic()
    start = t0 + a.skip
    end = start + a.seconds
    frames, cur, last_out = [], 0, None
    total = 0
    cpu0 = rss0 = None
    perf = None
    rss_max = 0.0
    key_at, key_lat, next_key, kidx = None, [], start + 0.5, 0
    alive = True
    while alive:
        now = time.monotonic()
        if now >= end:
            break
        if cpu0 is None and now >= start:
            cpu0, rss0 = cpu_seconds(pid), rss_mib(pid)
            if shutil.which("perf"):
                perf = subprocess.Popen(
                    ["perf", "stat", "-x", ",", "-e", "task-clock", "-p", str(pid)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if cur:
                cur = 0  # the start-up frame is not counted
        if a.keys and now >= next_key and key_at is None and now >= start:
            os.write(fd, b"jk"[kidx % 2:kidx % 2 + 1])
            kidx += 1
            key_at = now
            next_key = now + 0.31 + (kidx % 7) * 0.013
        timeout = min(a.gap, max(0.0, end - now))
        r, _, _ = select.select([fd], [], [], timeout)
        now = time.monotonic()
        if r:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                alive = False
                break
            if not data:
                break
            if b"\x1b[6n" in data:
                os.write(fd, b"\x1b[1;1R")  # answer the cursor position query, as a terminal does
            if key_at is not None:
                key_lat.append(now - key_at)
                key_at = None
            if now >= start:
                cur += len(data)
                total += len(data)
            last_out = now
        elif cur and last_out is not None and now - last_out >= a.gap:
            frames.append(cur)
            cur = 0
        if now >= start:
            try:
                rss_max = max(rss_max, rss_mib(pid))
            except OSError:
                pass
    if cur:
        frames.append(cur)
    try:
        cpu1, rss1 = cpu_seconds(pid), rss_mib(pid)
    except OSError:
        cpu1, rss1 = cpu0 or 0.0, 0.0
    exact = None
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        try:
            _, err = perf.communicate(timeout=10)
            for line in err.splitlines():
                f = line.split(",")
                if len(f) > 2 and f[2].startswith("task-clock") and f[1] == "msec":
                    exact = float(f[0]) / 1000
        except (subprocess.TimeoutExpired, ValueError):
            perf.kill()
    try:
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    fs = sorted(frames)
    out = {
        "seconds": a.seconds,
        "bytes": total,
        "bytes_per_s": round(total / a.seconds, 1),
        "frames": len(frames),
        "frame_bytes_median": fs[len(fs) // 2] if fs else 0,
        "frame_bytes_max": fs[-1] if fs else 0,
        "frame_bytes_min": fs[0] if fs else 0,
        "cpu_s": round(cpu1 - (cpu0 or 0.0), 3),
        "cpu_pct_of_core": round(100 * (cpu1 - (cpu0 or 0.0)) / a.seconds, 2),
        "cpu_s_exact": round(exact, 4) if exact is not None else None,
        "rss_mib_start": round(rss0 or 0.0, 1),
        "rss_mib_end": round(rss1, 1),
        "rss_mib_max": round(rss_max, 1),
    }
    if a.keys:
        kl = sorted(key_lat)
        out["keys"] = len(kl)
        out["key_ms_median"] = round(1000 * kl[len(kl) // 2], 1) if kl else None
        out["key_ms_max"] = round(1000 * kl[-1], 1) if kl else None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
