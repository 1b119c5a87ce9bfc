"""After every SIGWINCH, writes the window size read from stderr and from stdin to argv[1], as
`rows cols rows cols`, so a test can tell whether stderr's terminal follows the real one.

The handler only takes note: Python may run a second handler inside the first, so the file is
written from the main loop, which always reads the sizes after the latest signal."""
import os
import signal
import sys
import time

resized = False


def note(_signum, _frame):
    global resized
    resized = True


def report():
    err, inp = os.get_terminal_size(2), os.get_terminal_size(0)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{err.lines} {err.columns} {inp.lines} {inp.columns}\n")
    os.rename(tmp, sys.argv[1])


signal.signal(signal.SIGWINCH, note)
open(sys.argv[1] + ".ready", "w").close()
deadline = time.time() + 30
while time.time() < deadline and not os.path.exists(sys.argv[1] + ".stop"):
    if resized:
        resized = False
        report()
    time.sleep(0.02)
