#!/usr/bin/env bash
# Builds lokiwrap's npm packages from release binaries, ready for `npm pack` or `npm publish`:
#   lokiwrap                 the launcher (bin/lokiwrap, a POSIX sh script), with every platform package below
#                            as an optional dependency pinned to VERSION
#   @lokiwrap/PLATFORM       lokiwrap and lokiwrap-flush for one platform, with os/cpu/libc
#                            fields, so npm installs only the one that fits
#
#   packaging/npm/build.sh VERSION OUT_DIR [PLATFORM=PATH/TO/lokiwrap ...]
#   packaging/npm/build.sh 0.1.0 target/npm linux-x64-gnu=target/x86_64-unknown-linux-gnu/release/lokiwrap
#
# lokiwrap-flush is taken from the directory of the lokiwrap given. The lokiwrap package is
# made on every run (it is the same for every platform); each PLATFORM=BINARY adds one platform
# package. Prints each package directory made, the lokiwrap package first. Nothing here runs
# at install time: the packages have no scripts and fetch nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# name  os  cpu  libc  (the Rust target it is built for, in packaging/README.md)
PLATFORMS="
linux-x64-gnu linux x64 glibc
linux-arm64-gnu linux arm64 glibc
linux-x64-musl linux x64 musl
linux-arm64-musl linux arm64 musl
darwin-x64 darwin x64 -
darwin-arm64 darwin arm64 -
"

usage() {
  sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
[ $# -ge 2 ] || usage
version=$1
out=$2
shift 2
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "build.sh: '$version' is not a version such as 0.1.0 or 0.2.0-rc.1" >&2
  exit 2
fi
command -v node >/dev/null || { echo "build.sh: node is needed to write package.json (apt-get install nodejs)" >&2; exit 2; }

# Writes a package.json from a JavaScript object literal, formatted as npm would.
write_json() {
  node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify(eval("(" + process.argv[2] + ")"), null, 2) + "\n")' "$1" "$2"
}

mkdir -p "$out"
out=$(cd "$out" && pwd)

# The lokiwrap package.
main="$out/lokiwrap"
rm -rf "$main"
mkdir -p "$main/bin"
install -m 755 "$here/launcher.sh" "$main/bin/lokiwrap"
install -m 644 "$here/README.md" "$main/README.md"
optional=$(echo "$PLATFORMS" | awk -v v="$version" 'NF { printf "%s\"@lokiwrap/%s\": \"%s\"", sep, $1, v; sep = ", " }')
write_json "$main/package.json" "{
  name: 'lokiwrap',
  version: '$version',
  description: 'Run a command-line tool unchanged, with private crash and friction reporting',
  bin: { lokiwrap: 'bin/lokiwrap' },
  files: ['bin/lokiwrap'],
  engines: { node: '>=16' },
  optionalDependencies: { $optional },
}"
echo "$main"

for pair in "$@"; do
  platform=${pair%%=*}
  binary=${pair#*=}
  if [ "$platform" = "$pair" ] || [ -z "$binary" ]; then
    echo "build.sh: '$pair' is not PLATFORM=PATH/TO/lokiwrap (e.g. linux-x64-gnu=target/release/lokiwrap)" >&2
    exit 2
  fi
  read -r _ os cpu libc <<<"$(echo "$PLATFORMS" | awk -v p="$platform" '$1 == p')" || true
  if [ -z "${os:-}" ]; then
    echo "build.sh: unknown platform '$platform'; known: $(echo "$PLATFORMS" | awk 'NF { printf "%s ", $1 }')" >&2
    exit 2
  fi
  flush="$(dirname "$binary")/lokiwrap-flush"
  for file in "$binary" "$flush"; do
    [ -x "$file" ] || { echo "build.sh: $file is missing or not executable; build both lokiwrap and lokiwrap-flush for $platform first" >&2; exit 1; }
  done
  # A binary that runs here must be the version being packaged.
  if said=$("$binary" --version 2>/dev/null) && [ "$said" != "lokiwrap $version" ]; then
    echo "build.sh: $binary says '$said', not 'lokiwrap $version': build the release being packaged" >&2
    exit 1
  fi
  dir="$out/lokiwrap-$platform"
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  install -m 755 "$binary" "$dir/bin/lokiwrap"
  install -m 755 "$flush" "$dir/bin/lokiwrap-flush"
  libc_field=""
  [ "$libc" = - ] || libc_field="libc: ['$libc'],"
  write_json "$dir/package.json" "{
    name: '@lokiwrap/$platform',
    version: '$version',
    description: 'The native lokiwrap and lokiwrap-flush for $platform, installed by the lokiwrap package',
    os: ['$os'],
    cpu: ['$cpu'],
    $libc_field
    files: ['bin/lokiwrap', 'bin/lokiwrap-flush'],
    preferUnplugged: true,
  }"
  echo "$dir"
done
