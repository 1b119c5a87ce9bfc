#!/usr/bin/env bash
# Dashboard render time on a large store: 100,000 fingerprints and 10 million counted events
# (examples/seed_dashboard.rs), each view requested REQUESTS times one after another, with
# GET /healthz (the same server doing no work) as the reference. Target: p95 < 100 ms.
#   bench/dashboard.sh                 build release, seed, measure, print a table
set -euo pipefail
cd "$(dirname "$0")/.."
command -v curl >/dev/null || { echo "bench: curl is missing (apt-get install curl)" >&2; exit 2; }
cargo build --release --quiet -p lokiwrap-collector --bin lokiwrap-collector --example seed_dashboard
OUT=$(mktemp -d)
PORT=${PORT:-18490}
REQUESTS=${REQUESTS:-200}
target/release/examples/seed_dashboard "$OUT/collector.sqlite" "${FINGERPRINTS:-100000}" "${EVENTS:-10000000}"
LOKIWRAP_DASHBOARD_TOKEN=bench target/release/lokiwrap-collector --listen "127.0.0.1:$PORT" \
  --database "$OUT/collector.sqlite" 2>"$OUT/collector.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "bench: the collector did not start:" >&2; cat "$OUT/collector.log" >&2; exit 1; }

# Milliseconds per request, one request at a time; prints "p50 p95 max".
measure() {
  for _ in $(seq "$REQUESTS"); do
    curl -s -o /dev/null -u "reader:bench" -w '%{time_total}\n' "$1"
  done | sort -n | awk '{v[NR]=$1*1000} END {printf "%.2f %.2f %.2f", v[int(NR*0.5)], v[int(NR*0.95)], v[NR]}'
}
URL="http://127.0.0.1:$PORT"
curl -sf -u reader:bench "$URL/dashboard" >/dev/null
printf '%-26s %9s %9s %9s %12s\n' request p50_ms p95_ms max_ms p95_vs_healthz
read -r hp50 hp95 hmax <<<"$(measure "$URL/healthz")"
printf '%-26s %9s %9s %9s %12s\n' "GET /healthz (reference)" "$hp50" "$hp95" "$hmax" "1.0x"
for path in "/dashboard?window=24h" "/dashboard?window=14d" "/dashboard.json?window=14d"; do
  read -r p50 p95 max <<<"$(measure "$URL$path")"
  printf '%-26s %9s %9s %9s %12s\n' "GET $path" "$p50" "$p95" "$max" "$(awk -v a="$p95" -v b="$hp95" 'BEGIN {printf "%.1fx", a/b}')"
done
