"""Reports, as JSON in argv[1], what a tool can learn about its terminal and process group."""
import json
import os
import stat
import sys


def ttyname(fd):
    try:
        return os.ttyname(fd)
    except OSError:
        return None


def size(fd):
    try:
        s = os.get_terminal_size(fd)
        return [s.lines, s.columns]
    except OSError:
        return None


try:
    fd = os.open("/dev/tty", os.O_RDWR)
    dev_tty = os.ttyname(fd)
    os.close(fd)
except OSError:
    dev_tty = None

try:
    foreground = os.tcgetpgrp(0) == os.getpgrp()
except OSError:
    foreground = None

sys.stderr.write("\x1b[31mred\x1b[0m on stderr\n")
report = {
    "isatty": [os.isatty(0), os.isatty(1), os.isatty(2)],
    "stderr_is_pipe": stat.S_ISFIFO(os.fstat(2).st_mode),
    "stderr_size": size(2),
    "stdin_size": size(0),
    "stdin_tty": ttyname(0),
    "stderr_tty": ttyname(2),
    "dev_tty": dev_tty,
    "foreground": foreground,
    "same_pgrp_as_parent": os.getpgrp() == os.getpgid(os.getppid()),
    "same_session_as_parent": os.getsid(0) == os.getsid(os.getppid()),
}
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump(report, f)
os.rename(tmp, sys.argv[1])
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
