#!/bin/sh
# Adds the line that puts lokiwrap's shims first on PATH to your shell's startup file, once;
# `shims/install.sh --uninstall` takes it out again. Then wrap tools with `lokiwrap shim add`.
set -eu
shell=$(basename "${SHELL:-bash}")
case "$shell" in
  bash) rc="$HOME/.bashrc"; line='eval "$(lokiwrap shim env bash)"' ;;
  zsh)  rc="${ZDOTDIR:-$HOME}/.zshrc"; line='eval "$(lokiwrap shim env zsh)"' ;;
  fish) rc="${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish"; line='lokiwrap shim env fish | source' ;;
  *) echo "install.sh: no startup file known for the shell '$shell'; add the output of 'lokiwrap shim env' to it by hand" >&2; exit 1 ;;
esac
marker='# lokiwrap shims'
if [ "${1:-}" = --uninstall ]; then
  [ -f "$rc" ] || exit 0
  grep -v -F -e "$marker" "$rc" > "$rc.lokiwrap.tmp" || true
  mv "$rc.lokiwrap.tmp" "$rc"
  echo "removed the lokiwrap line from $rc; open a new shell" >&2
  exit 0
fi
mkdir -p "$(dirname "$rc")"
if [ -f "$rc" ] && grep -q -F -e "$marker" "$rc"; then
  echo "$rc already puts lokiwrap's shims on PATH" >&2
  exit 0
fi
printf '%s %s\n' "$line" "$marker" >> "$rc"
echo "added to $rc: $line" >&2
echo "open a new shell, then: lokiwrap shim add npm cargo ..." >&2
