"""Counts the signals named in argv[1] (comma-separated), for the launcher's signal tests.

Writes DIR/ready (its parent's pid) once its handlers are installed; once every named signal
has arrived at least once (or after 30 s), waits one more second for duplicates and writes
DIR/counts as NAME=N lines. Usage: count_signals.py SIGINT,SIGTERM DIR
"""
import os
import signal
import sys
import time

names = sys.argv[1].split(",")
out = sys.argv[2]
counts = {name: 0 for name in names}


def count(signum, _frame):
    counts[signal.Signals(signum).name] += 1


def write(name, text):
    tmp = os.path.join(out, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(out, name))


for name in names:
    signal.signal(getattr(signal, name), count)
write("ready", f"{os.getppid()}\n")
deadline = time.time() + 30
while time.time() < deadline and not all(counts.values()):
    time.sleep(0.02)
time.sleep(1.0)
write("counts", "".join(f"{name}={n}\n" for name, n in counts.items()))
