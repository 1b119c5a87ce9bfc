#!/bin/sh
# lokiwrap's npm launcher: finds this machine's platform package (@lokiwrap/<platform>, one of
# lokiwrap's optional dependencies) where Node would resolve it from this package, and replaces
# itself with that package's native lokiwrap. The tool gets the same arguments, streams, signals
# and exit status as with the native binary, and no Node process starts at all. No install
# script, no download: npm only unpacks files.

# npm runs this through a link (node_modules/.bin/lokiwrap, PREFIX/bin/lokiwrap): follow it to
# the package, whichever layout put it there.
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self") || break
  case $link in
    /*) self=$link ;;
    *) self=${self%/*}/$link ;;
  esac
done
case $self in
  */*) package=${self%/*}/.. ;;
  *) package=.. ;;
esac

# The platform: os and cpu as npm names them, and on Linux the C library (musl's loader is
# /lib/ld-musl-<arch>.so.1; glibc otherwise).
case $(uname -sm) in
  'Linux x86_64') platform=linux-x64 loader=x86_64 ;;
  'Linux aarch64' | 'Linux arm64') platform=linux-arm64 loader=aarch64 ;;
  'Darwin x86_64') platform=darwin-x64 loader= ;;
  'Darwin arm64') platform=darwin-arm64 loader= ;;
  *) platform=unsupported loader= ;;
esac
if [ -n "$loader" ]; then
  if [ -e "/lib/ld-musl-$loader.so.1" ]; then platform=$platform-musl; else platform=$platform-gnu; fi
fi
name=@lokiwrap/$platform

# Node's lookup from this package: its own node_modules, then each directory above it (a
# node_modules directory itself when the package was hoisted into one).
dir=$(cd "$package" 2>/dev/null && pwd -P) || dir=$package
while :; do
  case $dir in
    */node_modules) native=$dir/$name/bin/lokiwrap ;;
    *) native=$dir/node_modules/$name/bin/lokiwrap ;;
  esac
  if [ -x "$native" ]; then
    exec "$native" "$@"
  fi
  case $dir in
    /*/*) dir=${dir%/*} ;;
    /*) [ "$dir" = / ] && break; dir=/ ;;
    *) break ;;
  esac
done

version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$package/package.json" 2>/dev/null)
cat >&2 <<MESSAGE
lokiwrap: the native lokiwrap for this machine ($name) is not installed.
It is an optional dependency of lokiwrap, and npm leaves it out when optional dependencies
are omitted (--omit=optional, --no-optional) or when a package-lock.json written on another
platform lacks it (npm/cli#4828). Fix: npm install --include=optional $name@${version:-latest}
next to lokiwrap, or delete node_modules and package-lock.json and run npm install again.
No package for your platform? Build lokiwrap from source: cargo install --path crates/lokiwrap.
MESSAGE
exit 127
