#!/usr/bin/env bash
# Accepted reports per second and p99 latency for one collector on SQLite, one on PostgreSQL
# and two on one PostgreSQL database (each loaded by a wrk of its own), in one run, as ratios
# against SQLite.
#   bench/collector_cluster.sh     DURATION (default 15s) per setup, CONNECTIONS (default 16) in all
# Needs wrk and a PostgreSQL role that may create databases:
#   LOKIWRAP_BENCH_POSTGRES=postgres://USER:PASSWORD@127.0.0.1:5432/postgres
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 2; }
ADMIN=${LOKIWRAP_BENCH_POSTGRES:-${LOKIWRAP_TEST_POSTGRES:-}}
[ -n "$ADMIN" ] || { echo "bench: set LOKIWRAP_BENCH_POSTGRES=postgres://USER:PASSWORD@127.0.0.1:5432/postgres (a role with CREATEDB)" >&2; exit 2; }
command -v psql >/dev/null || { echo "bench: psql is missing (apt-get install postgresql-client)" >&2; exit 2; }
if [ -z "${COLLECTOR:-}" ]; then
  cargo build --release --quiet -p lokiwrap-collector --bin lokiwrap-collector
  COLLECTOR=${CARGO_TARGET_DIR:-target}/release/lokiwrap-collector
fi
OUT=$(mktemp -d)
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-16}
DB=lokiwrap_bench_$$
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT
cat > "$OUT/collector.toml" <<TOML
[limits]
per_ip_per_minute = 100000000
per_project_per_minute = 100000000
TOML
# The admin URL with its database replaced by the bench's.
DB_URL=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ADMIN" "$DB")

# start PORT DATABASE: a collector in the background, waited for.
start() {
  LOKIWRAP_ADMIN_TOKEN=bench "$COLLECTOR" --config "$OUT/collector.toml" \
    --listen "127.0.0.1:$1" --database "$2" 2>>"$OUT/collector-$1.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "bench: the collector on port $1 did not start:" >&2; cat "$OUT/collector-$1.log" >&2; exit 1
}
stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
fresh_db() {
  psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  psql -q "$ADMIN" -c "CREATE DATABASE $DB" >/dev/null
}
# load N PORT...: wrk against each port at once, CONNECTIONS split between them; prints
# "requests/s p99_ms answered" (the sum of rates, the worst p99, the sum of 2xx answers).
load() {
  local n=$1; shift
  local files=() pids=()
  for port in "$@"; do
    LOAD_SEED=$port wrk -t1 -c$((CONNECTIONS / n)) -d"$DURATION" --latency -s bench/collector-load.lua \
      "http://127.0.0.1:$port/v1/crash" >"$OUT/wrk-$port.txt" 2>&1 &
    pids+=($!)
    files+=("$OUT/wrk-$port.txt")
  done
  wait "${pids[@]}"
  python3 - "${files[@]}" <<'PY'
import re, sys
def ms(v):
    for unit, f in (("us", 0.001), ("ms", 1), ("s", 1000)):
        if v.endswith(unit): return float(v[: -len(unit)]) * f
rate = 0.0; p99 = 0.0; answered = 0
for name in sys.argv[1:]:
    text = open(name).read()
    rate += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = max(p99, ms(re.search(r"\s99%\s+(\S+)", text).group(1)))
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    answered += int(re.search(r"(\d+) requests in", text).group(1)) - (int(failed.group(1)) if failed else 0)
print(f"{rate:.0f} {p99:.2f} {answered}")
PY
}
# Reports the database holds, whichever collector took them.
stored() { psql -qtA "$DB_URL" -c "SELECT coalesce(sum(count), 0) FROM subjects"; }

echo "== one collector, SQLite ($CONNECTIONS connections, $DURATION)"
start 18581 "$OUT/collector.sqlite"
read -r sqlite_rps sqlite_p99 _ <<<"$(load 1 18581)"
stop_all
echo "== one collector, PostgreSQL"
fresh_db
start 18582 "$DB_URL"
read -r pg1_rps pg1_p99 pg1_answered <<<"$(load 1 18582)"
pg1_stored=$(stored)
stop_all
echo "== two collectors, one PostgreSQL database"
fresh_db
start 18583 "$DB_URL"
start 18584 "$DB_URL"
read -r pg2_rps pg2_p99 pg2_answered <<<"$(load 2 18583 18584)"
pg2_stored=$(stored)
stop_all

ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
printf '\n| setup | accepted reports/s | p99 | against SQLite |\n|---|---:|---:|---:|\n'
printf '| one collector, SQLite | %s | %s ms | 1.00x |\n' "$sqlite_rps" "$sqlite_p99"
printf '| one collector, PostgreSQL | %s | %s ms | %s |\n' "$pg1_rps" "$pg1_p99" "$(ratio "$pg1_rps" "$sqlite_rps")"
printf '| two collectors, one PostgreSQL | %s | %s ms | %s |\n' "$pg2_rps" "$pg2_p99" "$(ratio "$pg2_rps" "$sqlite_rps")"
echo "(counted in PostgreSQL: $pg1_stored of $pg1_answered answered reports with one collector, $pg2_stored of $pg2_answered with two)"
