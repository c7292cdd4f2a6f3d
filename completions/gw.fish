# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_gw_global_optspecs
    string join \n h/help V/version
end

function __fish_gw_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_gw_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_gw_using_subcommand
    set -l cmd (__fish_gw_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c gw -n "__fish_gw_needs_command" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_needs_command" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_needs_command" -f -a "run" -d 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session'
complete -c gw -n "__fish_gw_needs_command" -f -a "proxy" -d 'Run the metering proxy in the foreground (for IDE agents and manual use)'
complete -c gw -n "__fish_gw_needs_command" -f -a "config" -d 'Print the effective configuration (secrets redacted)'
complete -c gw -n "__fish_gw_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c gw -n "__fish_gw_needs_command" -f -a "debug" -d 'Maintenance commands for gw\'s developers'
complete -c gw -n "__fish_gw_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand run" -l task -d 'Task label recorded on every request' -r
complete -c gw -n "__fish_gw_using_subcommand run" -l project -d 'Project recorded on every request (default: the git repository)' -r
complete -c gw -n "__fish_gw_using_subcommand run" -s q -l quiet -d 'No summary line at exit'
complete -c gw -n "__fish_gw_using_subcommand run" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand run" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand proxy" -l listen -d 'Address to listen on (default: [proxy] listen, else a free port on 127.0.0.1)' -r
complete -c gw -n "__fish_gw_using_subcommand proxy" -l task -d 'Task label recorded on every request' -r
complete -c gw -n "__fish_gw_using_subcommand proxy" -l project -d 'Project recorded on every request (default: the git repository)' -r
complete -c gw -n "__fish_gw_using_subcommand proxy" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand proxy" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand config" -l env -d 'List every environment variable gw reads instead'
complete -c gw -n "__fish_gw_using_subcommand config" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand config" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand completions" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand completions" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from update-prices help" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from update-prices help" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from update-prices help" -f -a "update-prices" -d 'Regenerate the embedded price table from LiteLLM\'s price JSON'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from update-prices help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -l from -d 'LiteLLM\'s `model_prices_and_context_window_backup.json`' -r -F
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -l source-version -d 'The litellm package version the file came from, e.g. 1.77.3' -r
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -l out -d 'Where to write the table' -r -F
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "update-prices" -d 'Regenerate the embedded price table from LiteLLM\'s price JSON'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run proxy config completions debug help" -f -a "run" -d 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run proxy config completions debug help" -f -a "proxy" -d 'Run the metering proxy in the foreground (for IDE agents and manual use)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run proxy config completions debug help" -f -a "config" -d 'Print the effective configuration (secrets redacted)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run proxy config completions debug help" -f -a "completions" -d 'Print a shell completion script'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run proxy config completions debug help" -f -a "debug" -d 'Maintenance commands for gw\'s developers'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run proxy config completions debug help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "update-prices" -d 'Regenerate the embedded price table from LiteLLM\'s price JSON'
