#!/usr/bin/env python3
"""The collector under a slow-client attack, against itself at rest in the same run.

    python3 bench/collector_attack.py [path/to/lokiwrap-collector]

Starts a release collector with the packaged unit's old descriptor limit (1024), measures
GET /healthz and POST /v1/crash at rest, then again while 127.0.0.2 holds 1,100 requests that
never finish their head and 127.0.0.3 drips 100 bodies (half to /v1/events, which is off, half
to /v1/crash). Prints latencies, the ratio under attack to at rest, the collector's open
descriptors and resident memory, and how many attacking connections outlived their deadlines.
Without an argument it builds the collector first (cargo build --release).
"""

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def collector_binary():
    if len(sys.argv) > 1:
        return sys.argv[1]
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "lokiwrap-collector", "--bin", "lokiwrap-collector"],
        cwd=ROOT,
        check=True,
    )
    return os.path.join(ROOT, "target", "release", "lokiwrap-collector")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def report_body():
    """A valid report with a fresh id, as bench/collector-load.lua makes them."""
    r = os.urandom(16).hex()
    report_id = f"{r[:8]}-{r[8:12]}-4{r[13:16]}-8{r[17:20]}-{r[20:32]}"
    return json.dumps({
        "schema": 1, "id": report_id, "captured_at": "2026-11-21T06:15:00Z", "os": "linux",
        "arch": "x86_64", "lokiwrap_version": "0.1.0", "tool": "npm", "tool_version": "10.2.0",
        "runtime": "node", "error_class": "TypeError", "stack_signature": ["Object.run", "main"],
        "exit_code": 1, "signal": None, "friction_kind": None, "phase": None, "project_id_hash": None,
        "fingerprint": "0" * 64, "rules_version": 1, "redactions_count": 0,
    }).encode()


def timed(url, data=None):
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=3) as answer:
            status = answer.status
    except Exception:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def probe(url, n=40):
    health = []
    reports = []
    for _ in range(n):
        status, ms = timed(url + "/healthz")
        health.append(ms if status == 200 else float("inf"))
        status, ms = timed(url + "/v1/crash", report_body())
        reports.append(ms if status == 202 else float("inf"))
        time.sleep(0.02)
    return health, reports


def connect_from(last, port):
    s = socket.socket()
    s.bind((f"127.0.0.{last}", 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    return s


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def summary(values):
    finite = sorted(v for v in values if v != float("inf"))
    failed = len(values) - len(finite)
    if not finite:
        return f"failed {failed}/{len(values)} (no answer within 3 s)"
    p99 = finite[min(len(finite) - 1, int(len(finite) * 0.99))]
    return f"p50 {statistics.median(finite):.2f} ms, p99 {p99:.2f} ms, failed {failed}/{len(values)}"


def ratio(attacked, rest):
    value = statistics.median(attacked) / statistics.median(rest)
    return "no answer" if value == float("inf") else f"{value:.2f}"


def main():
    binary = collector_binary()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    work = tempfile.mkdtemp()
    port = free_port()
    with open(os.path.join(work, "collector.toml"), "w") as f:
        f.write("[limits]\nper_ip_per_minute = 100000\n")

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    log = open(os.path.join(work, "collector.log"), "w")
    collector = subprocess.Popen(
        [binary, "--config", os.path.join(work, "collector.toml"), "--listen", f"127.0.0.1:{port}",
         "--database", os.path.join(work, "collector.sqlite")],
        stderr=log, preexec_fn=limit,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if timed(url + "/healthz")[0] == 200:
                break
            time.sleep(0.1)
        rest_health, rest_reports = probe(url)
        rss_rest = vm(collector.pid, "VmRSS")

        idle, dripping = [], []
        attack = time.monotonic()
        for _ in range(1100):
            # A collector that stopped accepting leaves connects hanging: stop attacking then.
            if time.monotonic() - attack > 15:
                break
            try:
                s = connect_from(2, port)
                s.sendall(b"POST /v1/crash HTTP/1.1\r\nHost: collector\r\n")
                idle.append(s)
            except OSError:
                pass
        for n in range(100):
            if time.monotonic() - attack > 20:
                break
            path, length = ("/v1/events", 1 << 20) if n % 2 == 0 else ("/v1/crash", 60000)
            try:
                s = connect_from(3, port)
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {length}\r\n\r\n".encode())
                s.settimeout(1)
                s.sendall(b" " * (length // 2))
                dripping.append(s)
            except OSError:
                pass
        attack_health, attack_reports = probe(url, 20)
        fds = len(os.listdir(f"/proc/{collector.pid}/fd"))
        rss_attack = vm(collector.pid, "VmRSS")
        time.sleep(17)
        still_open = 0
        for s in idle + dripping:
            s.setblocking(False)
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
        hwm = vm(collector.pid, "VmHWM")
        print(f"collector descriptor limit 1024; attack: 1,100 idle heads from 127.0.0.2, "
              f"100 dripping bodies from 127.0.0.3")
        print(f"GET /healthz   at rest:      {summary(rest_health)}")
        print(f"GET /healthz   under attack: {summary(attack_health)}  "
              f"(p50 ratio {ratio(attack_health, rest_health)})")
        print(f"POST /v1/crash at rest:      {summary(rest_reports)}")
        print(f"POST /v1/crash under attack: {summary(attack_reports)}  "
              f"(p50 ratio {ratio(attack_reports, rest_reports)})")
        print(f"attacking connections accepted by the client side: {len(idle)} idle, {len(dripping)} dripping")
        print(f"collector open descriptors under attack: {fds}")
        print(f"collector RSS: at rest {rss_rest // 1024} MiB, under attack {rss_attack // 1024} MiB, "
              f"peak {hwm // 1024} MiB")
        print(f"attacking connections still open 17 s later (head deadline 10 s, body 15 s): {still_open}")
        for s in idle + dripping:
            s.close()
    finally:
        collector.terminate()
        collector.wait()


if __name__ == "__main__":
    main()
