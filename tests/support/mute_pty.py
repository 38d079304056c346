#!/usr/bin/env python3
"""Run a command in a pseudo-terminal that never answers a query, like a serial console.

    mute_pty.py --cols 120 --rows 40 --wait-for TEXT --then quit|close [--timeout 20] -- CMD...

The terminal side reads everything the command writes and answers nothing (no cursor
position report for ESC [ 6 n, no device attributes). Once TEXT has shown on the screen
(or --timeout passed), `--then quit` types `q` and `--then close` closes the terminal
under the command, as a dropped SSH session does. Prints one JSON object: whether TEXT
showed, how many cursor position queries the command sent, its exit status (or the signal
that ended it), and the last bytes it wrote. Standard library only; the command is ended
by its PID if it outlives the timeout.
"""
import argparse
import fcntl
import json
import os
import pty
import select
import signal
import struct
import termios
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cols", type=int, default=120)
    ap.add_argument("--rows", type=int, default=40)
    ap.add_argument("--wait-for", required=True)
    ap.add_argument("--then", choices=["quit", "close"], required=True)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.cols, 0, 0))
    deadline = time.monotonic() + a.timeout
    out = b""
    seen = False
    status = None
    want = a.wait_for.encode()
    # Phase 1: read until the text shows (or the command exits, or time runs out).
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out += chunk
            if want in out:
                seen = True
                break
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    # Phase 2: leave the way asked.
    if status is None:
        if a.then == "quit":
            os.write(fd, b"q")
            while time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        chunk = b""
                    out += chunk
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                    break
        else:
            os.close(fd)
            fd = None
        while status is None and time.monotonic() < deadline:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
            time.sleep(0.02)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        result = {"exit": None, "signal": "timeout"}
    elif os.WIFSIGNALED(status):
        result = {"exit": None, "signal": os.WTERMSIG(status)}
    else:
        result = {"exit": os.WEXITSTATUS(status), "signal": None}
    if fd is not None:
        os.close(fd)
    result["seen"] = seen
    result["cursor_queries"] = out.count(b"\x1b[6n")
    result["tail"] = out[-2000:].decode("utf-8", "replace")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
