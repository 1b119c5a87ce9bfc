# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lokiwrap_global_optspecs
    string join \n h/help V/version
end

function __fish_lokiwrap_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lokiwrap_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lokiwrap_using_subcommand
    set -l cmd (__fish_lokiwrap_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -s V -l version -d 'Print version'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "crash" -d 'See and delete the reports kept in the local outbox'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "scrub" -d 'Filter stdin to stdout through the same scrubber that reports go through'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "shim" -d 'Wrap every invocation of a tool through PATH (and undo it)'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "telemetry" -d 'Turn sending reports off or on, and see what decides it'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "doctor" -d 'Check the configuration, outbox, telemetry switch, endpoint and shims; say how to fix each problem'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "privacy" -d 'Print PRIVACY.md: every field a report may hold, and what is never collected'
complete -c lokiwrap -n "__fish_lokiwrap_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and not __fish_seen_subcommand_from list show submit clear help" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and not __fish_seen_subcommand_from list show submit clear help" -f -a "list" -d 'A table of the reports in the outbox (the default)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and not __fish_seen_subcommand_from list show submit clear help" -f -a "show" -d 'One report, exactly the bytes that would be sent'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and not __fish_seen_subcommand_from list show submit clear help" -f -a "submit" -d 'Send reports now, in the foreground. Without an endpoint, print each report and a prefilled new-issue link instead'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and not __fish_seen_subcommand_from list show submit clear help" -f -a "clear" -d 'Delete one report, or all of them'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and not __fish_seen_subcommand_from list show submit clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from list" -l json -d 'Every report in full, as a JSON array'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from submit" -l yes -d 'Send even though telemetry is off (says which switch it overrides)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from submit" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from help" -f -a "list" -d 'A table of the reports in the outbox (the default)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from help" -f -a "show" -d 'One report, exactly the bytes that would be sent'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from help" -f -a "submit" -d 'Send reports now, in the foreground. Without an endpoint, print each report and a prefilled new-issue link instead'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Delete one report, or all of them'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand crash; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand scrub" -l count -d 'Also print the number of redactions on stderr'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand scrub" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and not __fish_seen_subcommand_from add remove list env help" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and not __fish_seen_subcommand_from add remove list env help" -f -a "add" -d 'Wrap these tools: create a shim for each'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and not __fish_seen_subcommand_from add remove list env help" -f -a "remove" -d 'Stop wrapping these tools: remove their shims'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and not __fish_seen_subcommand_from add remove list env help" -f -a "list" -d 'The shims, and the real tool each one runs'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and not __fish_seen_subcommand_from add remove list env help" -f -a "env" -d 'Print the line that puts the shims directory first on PATH, for `eval`'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and not __fish_seen_subcommand_from add remove list env help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from add" -l force -d 'Create the shim even if the tool is not on PATH yet'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from env" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from help" -f -a "add" -d 'Wrap these tools: create a shim for each'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Stop wrapping these tools: remove their shims'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from help" -f -a "list" -d 'The shims, and the real tool each one runs'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from help" -f -a "env" -d 'Print the line that puts the shims directory first on PATH, for `eval`'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand shim; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and not __fish_seen_subcommand_from on off status enabled help" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and not __fish_seen_subcommand_from on off status enabled help" -f -a "on" -d 'Allow sending (removes the switch that `off` wrote, and records the notice as read)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and not __fish_seen_subcommand_from on off status enabled help" -f -a "off" -d 'Never send anything (written to config.toml)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and not __fish_seen_subcommand_from on off status enabled help" -f -a "status" -d 'Whether sending is allowed, which setting decided, the endpoint and pending reports'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and not __fish_seen_subcommand_from on off status enabled help" -f -a "enabled" -d 'Print nothing; exit 0 when sending is allowed, 1 when not'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and not __fish_seen_subcommand_from on off status enabled help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from on" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from off" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from status" -l json -d 'As one JSON object'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from enabled" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from help" -f -a "on" -d 'Allow sending (removes the switch that `off` wrote, and records the notice as read)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from help" -f -a "off" -d 'Never send anything (written to config.toml)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from help" -f -a "status" -d 'Whether sending is allowed, which setting decided, the endpoint and pending reports'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from help" -f -a "enabled" -d 'Print nothing; exit 0 when sending is allowed, 1 when not'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand telemetry; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand privacy" -s h -l help -d 'Print help'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "crash" -d 'See and delete the reports kept in the local outbox'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "scrub" -d 'Filter stdin to stdout through the same scrubber that reports go through'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "shim" -d 'Wrap every invocation of a tool through PATH (and undo it)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "telemetry" -d 'Turn sending reports off or on, and see what decides it'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "doctor" -d 'Check the configuration, outbox, telemetry switch, endpoint and shims; say how to fix each problem'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "privacy" -d 'Print PRIVACY.md: every field a report may hold, and what is never collected'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and not __fish_seen_subcommand_from crash scrub shim telemetry doctor privacy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from crash" -f -a "list" -d 'A table of the reports in the outbox (the default)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from crash" -f -a "show" -d 'One report, exactly the bytes that would be sent'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from crash" -f -a "submit" -d 'Send reports now, in the foreground. Without an endpoint, print each report and a prefilled new-issue link instead'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from crash" -f -a "clear" -d 'Delete one report, or all of them'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from shim" -f -a "add" -d 'Wrap these tools: create a shim for each'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from shim" -f -a "remove" -d 'Stop wrapping these tools: remove their shims'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from shim" -f -a "list" -d 'The shims, and the real tool each one runs'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from shim" -f -a "env" -d 'Print the line that puts the shims directory first on PATH, for `eval`'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from telemetry" -f -a "on" -d 'Allow sending (removes the switch that `off` wrote, and records the notice as read)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from telemetry" -f -a "off" -d 'Never send anything (written to config.toml)'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from telemetry" -f -a "status" -d 'Whether sending is allowed, which setting decided, the endpoint and pending reports'
complete -c lokiwrap -n "__fish_lokiwrap_using_subcommand help; and __fish_seen_subcommand_from telemetry" -f -a "enabled" -d 'Print nothing; exit 0 when sending is allowed, 1 when not'
