# Puts lokiwrap's shims directory first on PATH. Source it from ~/.zshrc:
#   . /path/to/lokiwrap/shims/lokiwrap.zsh
(( $+commands[lokiwrap] )) && eval "$(lokiwrap shim env zsh)"
