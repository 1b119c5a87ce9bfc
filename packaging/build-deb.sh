#!/bin/sh
# Builds the two Debian packages, each printed on a line of its own (the client's first):
#   target/debian/lokiwrap_VERSION-1_ARCH.deb            lokiwrap, lokiwrap-flush
#   target/debian/lokiwrap-collector_VERSION-1_ARCH.deb  the collector and its unit
#
#   packaging/build-deb.sh               (needs cargo-deb: cargo install cargo-deb)
#   packaging/build-deb.sh --fast        arguments go to both cargo deb runs
#
# cargo-deb cannot give one binary different flags, so this builds first and packages with
# `cargo deb --no-build`: the launcher statically linked (no dynamic loader at each wrapped
# run; see README.md, Performance), lokiwrap-flush and lokiwrap-collector dynamically linked
# so that host names resolve through the system's resolver. All are built for the same
# --target, the directory cargo-deb reads `target/release/` assets from.
set -eu
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || { echo "build-deb.sh: cargo-deb is missing: cargo install cargo-deb" >&2; exit 1; }
TRIPLE=${TRIPLE:-$(uname -m)-unknown-linux-gnu}
OUT="${CARGO_TARGET_DIR:-target}/$TRIPLE/release"

cargo build --release --target "$TRIPLE" -p lokiwrap --bin lokiwrap-flush -p lokiwrap-collector --bin lokiwrap-collector
# Last, so that OUT/lokiwrap is the static build even if a dynamic one was made there before.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release --target "$TRIPLE" -p lokiwrap --bin lokiwrap
case "$(ldd "$OUT/lokiwrap" 2>&1)" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) echo "build-deb.sh: $OUT/lokiwrap is dynamically linked; expected the static launcher" >&2; exit 1 ;;
esac
cargo deb --no-build --target "$TRIPLE" -p lokiwrap "$@" | tail -n 1
cargo deb --no-build --target "$TRIPLE" -p lokiwrap-collector "$@" | tail -n 1
