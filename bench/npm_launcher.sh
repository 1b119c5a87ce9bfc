#!/usr/bin/env bash
# What the npm launcher (packaging/npm/launcher.sh, a POSIX sh script that execs the native binary)
# adds to a run:
# the packages are built from a release build, packed and installed offline into a scratch
# project, then hyperfine runs, side by side:
#   node -e 0                        Node's own start-up
#   empty script                     an empty `#!/usr/bin/env node` file: what a launcher written for Node would start with
#   lokiwrap -- true                 the native binary, directly (what a shim runs)
#   launcher -- true                 the launcher, then the native binary in its place (what `lokiwrap` runs after npm install -g)
#   npx lokiwrap -- true             the same through npx
#   node -e 'process.report...'      asking Node for the C library, the slow way the launcher avoids
# and prints launcher - (lokiwrap -- true): the launcher's own cost.
#   RUNS=200 bench/npm_launcher.sh   (LOKIWRAP=path/to/release/lokiwrap to skip the build)
# Needs hyperfine, node and npm (apt-get install hyperfine nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine node npm python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install hyperfine nodejs npm python3)" >&2; exit 2; }
done
target=${CARGO_TARGET_DIR:-target}
if [ -z "${LOKIWRAP:-}" ]; then
  cargo build --release --quiet -p lokiwrap --bins
  LOKIWRAP="$target/release/lokiwrap"
fi
RUNS=${RUNS:-200}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
version=$("$LOKIWRAP" --version | cut -d' ' -f2)
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "bench: no npm package for $(uname -m)" >&2; exit 2 ;; esac
packaging/npm/build.sh "$version" "$OUT/packages" "linux-$arch-gnu=$LOKIWRAP" >/dev/null
mkdir -p "$OUT/tarballs" "$OUT/project"
for dir in "$OUT"/packages/*; do
  (cd "$dir" && npm pack --quiet --pack-destination "$OUT/tarballs" --cache "$OUT/cache" >/dev/null)
done
echo '{"name": "bench", "private": true}' >"$OUT/project/package.json"
(cd "$OUT/project" && npm install --quiet --offline --ignore-scripts --no-audit --no-fund --cache "$OUT/cache" "$OUT"/tarballs/*.tgz >/dev/null)

# A user of its own, who has seen the first-run notice: the bench never touches real files.
mkdir -p "$OUT/config/lokiwrap"
printf 'notice_shown = true\n' >"$OUT/config/lokiwrap/config.toml"
export XDG_CONFIG_HOME="$OUT/config" XDG_STATE_HOME="$OUT/state" npm_config_update_notifier=false
native="$OUT/project/node_modules/@lokiwrap/linux-$arch-gnu/bin/lokiwrap"
launcher="$OUT/project/node_modules/.bin/lokiwrap"
printf '#!/usr/bin/env node\n' >"$OUT/empty.js"
chmod +x "$OUT/empty.js"

echo "== start-up, $RUNS runs each ($(node --version), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$OUT/times.json" \
  -n 'node -e 0' 'node -e 0' \
  -n 'empty script' "$OUT/empty.js" \
  -n 'lokiwrap -- true (native)' "$native -- true" \
  -n 'launcher -- true' "$launcher -- true" \
  -n 'process.report libc check' "node -e 'process.report.getReport().header.glibcVersionRuntime'" >/dev/null
(cd "$OUT/project" && hyperfine -N --warmup 3 --runs "${NPX_RUNS:-20}" --export-json "$OUT/npx.json" \
  -n 'npx lokiwrap -- true' 'npx --offline lokiwrap -- true' >/dev/null)
python3 - "$OUT/times.json" "$OUT/npx.json" <<'PY'
import json, sys
r = {}
for path in sys.argv[1:]:
    for x in json.load(open(path))["results"]:
        r[x["command"]] = x
# Wall time is what a user waits; CPU time (user + system) moves less when other work shares
# the machine, so both are shown.
cpu = lambda x: (x["user"] + x["system"]) * 1000
for name, x in r.items():
    print(f"{name:28} wall median {x['median']*1000:7.2f} ms (mean {x['mean']*1000:7.2f} ± {x['stddev']*1000:5.2f})  cpu {cpu(x):7.2f} ms")
names = ("lokiwrap -- true (native)", "launcher -- true")
native, launcher = (r[n]["median"] * 1000 for n in names)
print(f"launcher's own cost, wall (median): {launcher:.2f} - {native:.2f} = {launcher - native:+.2f} ms")
native, launcher = (cpu(r[n]) for n in names)
print(f"launcher's own cost, cpu: {launcher:.2f} - {native:.2f} = {launcher - native:+.2f} ms")
print(f"process.report libc check beyond node -e 0 (median wall): {r['process.report libc check']['median']*1000 - r['node -e 0']['median']*1000:+.2f} ms")
PY
