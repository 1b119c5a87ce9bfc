#!/bin/sh
# Builds lokiwrap and lokiwrap-flush in release mode and installs them into $PREFIX/bin
# (default: ~/.cargo/bin, which rustup puts on PATH).
#
# On Linux with glibc the launcher is linked statically: no dynamic loader runs when a
# wrapped tool starts, which is about a fifth of lokiwrap's own start-up cost. lokiwrap-flush,
# which resolves host names and speaks TLS, stays dynamically linked.
set -eu
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-${CARGO_HOME:-$HOME/.cargo}}
command -v cargo >/dev/null || { echo "install.sh: cargo is missing; install a Rust toolchain (rustup) first" >&2; exit 1; }

LAUNCHER=target/release/lokiwrap
cargo build --release --bin lokiwrap-flush
if [ "$(uname -s)" = Linux ] && ldd --version 2>&1 | grep -qi glibc; then
  TRIPLE="$(uname -m)-unknown-linux-gnu"
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release --bin lokiwrap --target "$TRIPLE"
  LAUNCHER="target/$TRIPLE/release/lokiwrap"
else
  cargo build --release --bin lokiwrap
fi
mkdir -p "$PREFIX/bin"
install -m 0755 "$LAUNCHER" "$PREFIX/bin/lokiwrap"
install -m 0755 target/release/lokiwrap-flush "$PREFIX/bin/lokiwrap-flush"
echo "installed lokiwrap and lokiwrap-flush in $PREFIX/bin" >&2
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "add $PREFIX/bin to PATH to run them by name" >&2 ;;
esac
