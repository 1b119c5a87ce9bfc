#!/usr/bin/env python3
"""Keystroke-to-screen latency through lokiwrap's key lending, side by side with unwrapped.

A terminal is made with openpty and given as the controlling terminal to a small program that
behaves like a pager: it opens the terminal its stderr names, takes single-key mode there, and
writes every key it reads back to stdout. Unwrapped, that is the real terminal; through
lokiwrap it is lokiwrap's pseudo-terminal, and keys reach it through lokiwrap. Each sample is
the time from writing one key into the terminal to reading it back on the screen side.

    python3 bench/keystroke_latency.py [LOKIWRAP] [KEYS]
"""
import fcntl
import os
import pty
import select
import statistics
import subprocess
import sys
import termios
import time

PAGER = r"""
import os, sys, tty
fd = os.open(os.ttyname(2), os.O_RDONLY)
tty.setcbreak(fd)
os.write(1, b"ready\n")
while True:
    key = os.read(fd, 1)
    os.write(1, key)
    if key == b"q":
        break
"""


def controlling_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def read_until(master, needle, deadline=5.0):
    seen = b""
    end = time.monotonic() + deadline
    while needle not in seen:
        left = end - time.monotonic()
        if left <= 0 or not select.select([master], [], [], left)[0]:
            raise SystemExit(f"timed out waiting for {needle!r}; got {seen[-200:]!r}")
        seen += os.read(master, 4096)
    return seen


def measure(command, keys):
    master, slave = pty.openpty()
    child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, preexec_fn=controlling_terminal)
    os.close(slave)
    read_until(master, b"ready")
    time.sleep(0.2)  # let lokiwrap see the pager's single-key mode and lend the keyboard
    samples = []
    for i in range(keys):
        key = b"abcdefghijklmnoprstuvwxyz"[i % 25 : i % 25 + 1]
        start = time.perf_counter()
        os.write(master, key)
        read_until(master, key)
        samples.append((time.perf_counter() - start) * 1e3)
        time.sleep(0.002)
    os.write(master, b"q")
    child.wait(timeout=10)
    os.close(master)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main():
    lokiwrap = sys.argv[1] if len(sys.argv) > 1 else "target/release/lokiwrap"
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    pager = [sys.executable, "-c", PAGER]
    plain = measure(pager, keys)
    wrapped = measure([lokiwrap, "--"] + pager, keys)
    print(f"keystroke to screen, {keys} keys: p50 / p99 in ms")
    print(f"  unwrapped          {plain[0]:.3f} / {plain[1]:.3f}")
    print(f"  through lokiwrap   {wrapped[0]:.3f} / {wrapped[1]:.3f}")
    print(f"  added by lokiwrap  {wrapped[0] - plain[0]:.3f} / {wrapped[1] - plain[1]:.3f}")


if __name__ == "__main__":
    main()
