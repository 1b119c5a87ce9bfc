# telemetry_allowed(): whether this tool may send its own usage telemetry.
# lokiwrap installed: its answer, and nothing is sent when it cannot give one.
# lokiwrap not installed: the tool's own rules (here DO_NOT_TRACK; add the tool's own switch).
import os
import shutil
import subprocess


def telemetry_allowed():
    lokiwrap = shutil.which("lokiwrap")
    if lokiwrap is None:
        value = os.environ.get("DO_NOT_TRACK", "").strip().lower()
        return value in ("", "0", "false", "no", "off")
    # 0: allowed; 1: switched off; anything else (broken install, killed, timed out): send nothing.
    try:
        answer = subprocess.run(
            [lokiwrap, "telemetry", "enabled"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return answer.returncode == 0
