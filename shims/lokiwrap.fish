# Puts lokiwrap's shims directory first on PATH. Source it from ~/.config/fish/config.fish:
#   source /path/to/lokiwrap/shims/lokiwrap.fish
if command -q lokiwrap
    lokiwrap shim env fish | source
end
