#!/usr/bin/env bash
# Launcher overhead, side by side with the references, in one run, reported as ratios.
#   bench/launcher.sh            build release, measure, print a table with PASS/FAIL per target
# Needs hyperfine, dumb-init and GNU time (apt-get install hyperfine dumb-init time).
# Figures are for comparison within one run on one machine: shared machines are noisy, so
# these targets are checked here and never in the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine dumb-init /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install hyperfine dumb-init time)" >&2; exit 2; }
done
cargo build --release --quiet
DYNAMIC="$PWD/target/release/lokiwrap"
# The release build packages ship: glibc linked statically, so no dynamic loader runs at
# start-up (about a third of lokiwrap's own overhead otherwise). `cargo install` builds the
# dynamic one; both are measured.
LW="$DYNAMIC"
if [ "$(uname -s)" = Linux ] && ldd --version 2>&1 | grep -qi glibc; then
  TRIPLE="$(uname -m)-unknown-linux-gnu"
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --quiet --bin lokiwrap --target "$TRIPLE"
  LW="$PWD/target/$TRIPLE/release/lokiwrap"
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
RUNS=${RUNS:-1000}
# A user of its own, who has seen the first-run notice: the bench never touches real files.
mkdir -p "$OUT/config/lokiwrap"
printf 'notice_shown = true\n' > "$OUT/config/lokiwrap/config.toml"
export XDG_CONFIG_HOME="$OUT/config" XDG_STATE_HOME="$OUT/state"

echo "== startup: lokiwrap -- true, against true and dumb-init true ($RUNS runs each)"
hyperfine -N --warmup 100 --runs "$RUNS" --export-json "$OUT/startup.json" \
  -n true 'true' -n dumb-init 'dumb-init true' -n lokiwrap "$LW -- true" -n lokiwrap-dynamic "$DYNAMIC -- true" >/dev/null

echo "== stderr relay: 1 GiB through lokiwrap, unwrapped, and through a plain '| cat'"
GIB="sh -c 'head -c 1073741824 /dev/zero >&2'"
hyperfine --warmup 1 --runs "${RELAY_RUNS:-5}" --export-json "$OUT/relay.json" \
  -n unwrapped "$GIB 2>/dev/null" \
  -n lokiwrap "$LW -- $GIB 2>/dev/null" \
  -n cat "$GIB 2>&1 | cat >/dev/null" >/dev/null

echo "== shared output: yes | head -c 1G with 2>&1, into a file and into a pipe, against a plain cat relay"
# stdout and stderr lead to one place, so lokiwrap carries both through one pipe and relays
# them; the reference puts one plain 'cat' in the same place.
YES="sh -c 'yes | head -c 1073741824'"
hyperfine --warmup 1 --runs "${RELAY_RUNS:-5}" --export-json "$OUT/shared.json" \
  -n file-unwrapped "$YES >/dev/null 2>&1" \
  -n file-lokiwrap "$LW -- $YES >/dev/null 2>&1" \
  -n file-cat "$YES 2>&1 | cat >/dev/null" \
  -n pipe-lokiwrap "$LW -- $YES 2>&1 | cat >/dev/null" \
  -n pipe-cat "$YES 2>&1 | cat | cat >/dev/null" >/dev/null

echo "== peak RSS of lokiwrap while relaying 1 GiB of stderr, and 1 GiB of shared output"
/usr/bin/time -o "$OUT/rss" -f '%M' "$LW" -- sh -c 'head -c 1073741824 /dev/zero >&2' 2>/dev/null
/usr/bin/time -o "$OUT/rss-shared" -f '%M' "$LW" -- sh -c 'yes | head -c 1073741824' >/dev/null 2>&1

echo "== keystroke to screen through key lending"
python3 bench/keystroke_latency.py "$LW" "${KEYS:-1000}" | tee "$OUT/keys"

echo "== lokiwrap -- false with a report pending: no endpoint, and a collector that never answers"
HOLD=$(mktemp -d)
mkdir -p "$HOLD/config/lokiwrap"
printf 'notice_shown = true\n' > "$HOLD/config/lokiwrap/config.toml"
# A loopback server that accepts connections and never answers; it stops by itself.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1024)
print(s.getsockname()[1], flush=True)
held, end = [], time.time() + 600
s.settimeout(1)
while time.time() < end:
    try: held.append(s.accept()[0])
    except OSError: pass
' > "$HOLD/port" &
SERVER=$!
trap 'rm -rf "$OUT" "$HOLD"; kill $SERVER 2>/dev/null' EXIT
while [ ! -s "$HOLD/port" ]; do sleep 0.05; done
ENV="env XDG_CONFIG_HOME=$HOLD/config XDG_STATE_HOME=$HOLD/state"
$ENV "$LW" -- sh -c 'kill -SEGV $$' 2>/dev/null || true   # one report waits in the outbox
hyperfine -N --warmup 20 --runs "${HANG_RUNS:-300}" --export-json "$OUT/hang.json" -i \
  -n no-endpoint "$ENV $LW -- false" \
  -n hanging-endpoint "$ENV LOKIWRAP_ENDPOINT=http://127.0.0.1:$(cat "$HOLD/port") $LW -- false" >/dev/null

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def means(name):
    return {r["command"]: r["mean"] for r in json.load(open(f"{out}/{name}.json"))["results"]}
s, r, h, m = means("startup"), means("relay"), means("hang"), means("shared")
rss = int(open(f"{out}/rss").read().split()[-1])
rss_shared = int(open(f"{out}/rss-shared").read().split()[-1])
added_p99 = float(open(f"{out}/keys").read().split("added by lokiwrap")[1].split("/")[1])
rows = [
    ("lokiwrap -- true / dumb-init true", s["lokiwrap"] / s["dumb-init"], "<= 1.25", s["lokiwrap"] / s["dumb-init"] <= 1.25),
    ("  dynamic build (cargo install)", s["lokiwrap-dynamic"] / s["dumb-init"], "<= 1.25", s["lokiwrap-dynamic"] / s["dumb-init"] <= 1.25),
    ("relay GiB/s", 1 / r["lokiwrap"], ">= 1.0", 1 / r["lokiwrap"] >= 1.0),
    ("relay speed / '| cat' speed", r["cat"] / r["lokiwrap"], ">= 0.8", r["cat"] / r["lokiwrap"] >= 0.8),
    ("peak RSS MiB", rss / 1024, "<= 8", rss / 1024 <= 8),
    ("shared output into a file / cat relay", m["file-cat"] / m["file-lokiwrap"], ">= 0.9", m["file-cat"] / m["file-lokiwrap"] >= 0.9),
    ("shared output into a pipe / cat relay", m["pipe-cat"] / m["pipe-lokiwrap"], ">= 0.9", m["pipe-cat"] / m["pipe-lokiwrap"] >= 0.9),
    ("peak RSS MiB, shared output", rss_shared / 1024, "<= 8", rss_shared / 1024 <= 8),
    ("keystroke latency added, p99 ms", added_p99, "< 1", added_p99 < 1),
    ("hanging collector / no endpoint", h["hanging-endpoint"] / h["no-endpoint"], "<= 1.25", h["hanging-endpoint"] / h["no-endpoint"] <= 1.25),
]
print(f"\nstartup means: true {s['true']*1e3:.2f} ms, dumb-init {s['dumb-init']*1e3:.2f} ms, lokiwrap {s['lokiwrap']*1e3:.2f} ms (dynamic {s['lokiwrap-dynamic']*1e3:.2f} ms)")
print(f"false, report pending: no endpoint {h['no-endpoint']*1e3:.2f} ms, hanging collector {h['hanging-endpoint']*1e3:.2f} ms")
print(f"relay means:   unwrapped {r['unwrapped']*1e3:.0f} ms, lokiwrap {r['lokiwrap']*1e3:.0f} ms, | cat {r['cat']*1e3:.0f} ms")
print(f"shared means:  file: unwrapped {m['file-unwrapped']*1e3:.0f} ms, lokiwrap {m['file-lokiwrap']*1e3:.0f} ms, cat {m['file-cat']*1e3:.0f} ms; pipe: lokiwrap {m['pipe-lokiwrap']*1e3:.0f} ms, cat {m['pipe-cat']*1e3:.0f} ms\n")
for name, value, target, ok in rows:
    print(f"{name:38} {value:8.2f}   target {target:8}  {'PASS' if ok else 'FAIL'}")
PY
