# Puts lokiwrap's shims directory first on PATH. Source it from ~/.bashrc (or ~/.zshrc):
#   . /path/to/lokiwrap/shims/lokiwrap.bash
command -v lokiwrap >/dev/null 2>&1 && eval "$(lokiwrap shim env bash)"
