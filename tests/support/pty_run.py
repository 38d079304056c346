#!/usr/bin/env python3
"""pty_run.py COLS ROWS OUT -- CMD...

Runs CMD in a pseudo-terminal of COLS x ROWS. Whatever arrives on stdin is typed into
the terminal; every byte the program writes to the terminal is appended to OUT as it
arrives (unbuffered), so a test can read the raw bytes (escape sequences included) while
the program runs. Cursor position requests (ESC [ 6 n) are answered as a terminal would.
When stdin closes, the program gets SIGTERM; the exit status is its own.
Standard library only.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios


def main():
    cols, rows, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cmd = sys.argv[5:] if sys.argv[4] == "--" else sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.environ.setdefault("TERM", "xterm-256color")
        os.execvp(cmd[0], cmd)
    stdin_open = True
    with open(out, "wb", buffering=0) as f:
        while True:
            watch = [fd] + ([0] if stdin_open else [])
            ready, _, _ = select.select(watch, [], [], 0.1)
            if fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                f.write(data)
                # A terminal answers a cursor position request; so does this one.
                for _ in range(data.count(b"\x1b[6n")):
                    os.write(fd, b"\x1b[1;1R")
            if stdin_open and 0 in ready:
                data = os.read(0, 1024)
                if data:
                    os.write(fd, data)
                else:
                    stdin_open = False
                    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
