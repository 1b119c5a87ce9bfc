"""Takes single-key mode through stdout, as ncurses does, then reads one key from stdin:
the key must arrive without Enter and without being echoed."""
import os
import sys
import termios
import tty

out = sys.stdout.fileno()
saved = termios.tcgetattr(out)
tty.setcbreak(out)
print("ready", flush=True)
key = os.read(0, 1)
termios.tcsetattr(out, termios.TCSADRAIN, saved)
print("got", key.decode(), flush=True)
