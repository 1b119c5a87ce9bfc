#!/bin/sh
# Builds the client, lokiwrap and lokiwrap-flush, in release mode and installs them into
# $PREFIX/bin (default: ~/.cargo/bin, which rustup puts on PATH). The collector is not built:
# it is a crate of its own (cargo build --release -p lokiwrap-collector).
#
#   packaging/install.sh                  build, then install
#   packaging/install.sh --from DIR       install the lokiwrap and lokiwrap-flush already built
#                                         in DIR (a packager's build, or cargo's target dir)
#
# On Linux with glibc the launcher is linked statically: no dynamic loader runs when a
# wrapped tool starts, which is about a fifth of lokiwrap's own start-up cost. lokiwrap-flush,
# which resolves host names and speaks TLS, stays dynamically linked.
set -eu
FROM=
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || { echo "install.sh: --from needs a directory" >&2; exit 2; }; FROM=$2; shift 2 ;;
    --from=*) FROM=${1#--from=}; shift ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
PREFIX=${PREFIX:-${CARGO_HOME:-$HOME/.cargo}}

if [ -n "$FROM" ]; then
  LAUNCHER="$FROM/lokiwrap"
  FLUSH="$FROM/lokiwrap-flush"
  for bin in "$LAUNCHER" "$FLUSH"; do
    [ -x "$bin" ] || { echo "install.sh: $bin is missing or not executable" >&2; exit 1; }
  done
else
  cd "$(dirname "$0")/.."
  command -v cargo >/dev/null || { echo "install.sh: cargo is missing; install a Rust toolchain (rustup) first" >&2; exit 1; }
  TARGET=${CARGO_TARGET_DIR:-target}
  LAUNCHER=$TARGET/release/lokiwrap
  FLUSH=$TARGET/release/lokiwrap-flush
  cargo build --release -p lokiwrap --bin lokiwrap-flush
  if [ "$(uname -s)" = Linux ] && ldd --version 2>&1 | grep -qi glibc; then
    TRIPLE="$(uname -m)-unknown-linux-gnu"
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release -p lokiwrap --bin lokiwrap --target "$TRIPLE"
    LAUNCHER="$TARGET/$TRIPLE/release/lokiwrap"
  else
    cargo build --release -p lokiwrap --bin lokiwrap
  fi
fi
mkdir -p "$PREFIX/bin"
install -m 0755 "$LAUNCHER" "$PREFIX/bin/lokiwrap"
install -m 0755 "$FLUSH" "$PREFIX/bin/lokiwrap-flush"
echo "installed lokiwrap and lokiwrap-flush in $PREFIX/bin" >&2
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "add $PREFIX/bin to PATH to run them by name" >&2 ;;
esac
