# telemetry_allowed: succeeds when this tool may send its own usage telemetry.
# lokiwrap installed: its answer, and nothing is sent when it cannot give one.
# lokiwrap not installed: the tool's own rules (here DO_NOT_TRACK; add the tool's own switch).
telemetry_allowed() {
  if command -v lokiwrap >/dev/null 2>&1; then
    # 0: allowed; 1: switched off; anything else (broken install, killed): send nothing.
    lokiwrap telemetry enabled </dev/null >/dev/null 2>&1
    return $?
  fi
  case "${DO_NOT_TRACK:-}" in
    '' | 0 | [Ff][Aa][Ll][Ss][Ee] | [Nn][Oo] | [Oo][Ff][Ff]) return 0 ;;
    *) return 1 ;;
  esac
}
