#!/usr/bin/env bash
# Collector ingest throughput and latency on loopback, with GET /healthz (the same server doing
# no work) as the reference in the same run.
#   bench/collector.sh        build release, load for DURATION (default 20s) each, print a table
# Needs wrk (apt-get install wrk). Reports are valid and each has a fresh id; NOVEL_PERCENT
# (default 10) of them are new fingerprints. Targets: >= 5000 accepted reports/s, p99 < 20 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 2; }
# COLLECTOR=path/to/lokiwrap-collector benches that build instead (an older one, to compare).
if [ -z "${COLLECTOR:-}" ]; then
  cargo build --release --quiet -p lokiwrap-collector --bin lokiwrap-collector
  COLLECTOR=target/release/lokiwrap-collector
fi
OUT=$(mktemp -d)
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18480}
cat > "$OUT/collector.toml" <<TOML
[limits]
per_ip_per_minute = 100000000
per_project_per_minute = 100000000
TOML
LOKIWRAP_ADMIN_TOKEN=bench "$COLLECTOR" --config "$OUT/collector.toml" \
  --listen "127.0.0.1:$PORT" --database "$OUT/collector.sqlite" 2>"$OUT/collector.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "bench: the collector did not start:" >&2; cat "$OUT/collector.log" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"

run() { wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" 2>&1; }
# wrk prints "Requests/sec: N" and latency percentiles "99% 1.23ms".
rps() { awk '/^Requests\/sec/ {print $2}' <<<"$1"; }
pct() { awk -v p="$2%" '$1 == p {print $2}' <<<"$1"; }
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}' <<<"$1"; }

echo "== GET /healthz, the reference ($CONNECTIONS connections, $DURATION)"
HEALTH=$(run "$URL/healthz")
echo "== POST /v1/crash ($CONNECTIONS connections, $DURATION, ${NOVEL_PERCENT:-10}% novel fingerprints)"
INGEST=$(run -s bench/collector-load.lua "$URL/v1/crash")
STATS=$(curl -sf -H 'Authorization: Bearer bench' "$URL/v1/stats")
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
ACCEPTED=$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["accepted"], s["fingerprints"], sum(s["dropped"].values()))' <<<"$STATS")
read -r accepted fingerprints dropped <<<"$ACCEPTED"
seconds=${DURATION%s}

h_rps=$(rps "$HEALTH"); i_rps=$(rps "$INGEST")
i_p50=$(ms "$(pct "$INGEST" 50)"); i_p99=$(ms "$(pct "$INGEST" 99)")
h_p99=$(ms "$(pct "$HEALTH" 99)")
stored_rps=$(python3 -c "print(round($accepted / $seconds))")
verdict() { python3 -c "print('PASS' if $1 else 'FAIL')"; }
printf '\n| measure | figure | target | result |\n|---|---|---|---|\n'
printf '| GET /healthz (reference) | %.0f req/s, p99 %s ms | - | - |\n' "$h_rps" "$h_p99"
printf '| POST /v1/crash answered | %.0f req/s (%.2fx healthz) | >= 5000/s | %s |\n' "$i_rps" "$(python3 -c "print($i_rps/$h_rps)")" "$(verdict "$i_rps >= 5000")"
printf '| reports stored (committed) | %s in %s s = %s/s, %s fingerprints, %s dropped | = answered | %s |\n' "$accepted" "$seconds" "$stored_rps" "$fingerprints" "$dropped" "$(verdict "$dropped == 0")"
printf '| POST /v1/crash latency | p50 %s ms, p99 %s ms | p99 < 20 ms | %s |\n' "$i_p50" "$i_p99" "$(verdict "$i_p99 < 20")"
printf '| collector peak RSS | %s MiB | bounded | - |\n' "$(python3 -c "print(round($RSS/1024,1))")"
