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
complete -c gw -n "__fish_gw_needs_command" -f -a "spend" -d 'Show spend from the local ledger: today by default; --week, --month, --since/--until'
complete -c gw -n "__fish_gw_needs_command" -f -a "sessions" -d 'List recent sessions'
complete -c gw -n "__fish_gw_needs_command" -f -a "session" -d 'Show one session\'s requests'
complete -c gw -n "__fish_gw_needs_command" -f -a "import" -d 'Import past usage from the agents\' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once'
complete -c gw -n "__fish_gw_needs_command" -f -a "proxy" -d 'Run the metering proxy in the foreground (for IDE agents and manual use)'
complete -c gw -n "__fish_gw_needs_command" -f -a "server" -d 'Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token'
complete -c gw -n "__fish_gw_needs_command" -f -a "admin" -d 'Manage the server\'s orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN)'
complete -c gw -n "__fish_gw_needs_command" -f -a "login" -d 'Log in to a gw server (team mode): checks and stores its URL and your gw key'
complete -c gw -n "__fish_gw_needs_command" -f -a "logout" -d 'Forget the stored gw server and key'
complete -c gw -n "__fish_gw_needs_command" -f -a "budget" -d 'Show your budgets: your team\'s above your key (team mode), else [budget]\'s local caps'
complete -c gw -n "__fish_gw_needs_command" -f -a "sync" -d 'Send every request the gw server has not acknowledged yet'
complete -c gw -n "__fish_gw_needs_command" -f -a "config" -d 'Print the effective configuration (secrets redacted)'
complete -c gw -n "__fish_gw_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c gw -n "__fish_gw_needs_command" -f -a "debug" -d 'Maintenance commands for gw\'s developers'
complete -c gw -n "__fish_gw_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand run" -l task -d 'Task label recorded on every request' -r
complete -c gw -n "__fish_gw_using_subcommand run" -l project -d 'Project recorded on every request (default: the git repository)' -r
complete -c gw -n "__fish_gw_using_subcommand run" -l via -d 'Send the agent\'s requests through an enterprise route: `azure` (Codex on Azure OpenAI) or `vertex` (Claude Code and Gemini CLI on Vertex AI, with gw\'s Google credentials) or `bedrock` (Claude Code on Amazon Bedrock, with gw\'s AWS keys or Bedrock API key). Default: `[agents.<name>] via` in the config' -r
complete -c gw -n "__fish_gw_using_subcommand run" -s q -l quiet -d 'No summary line at exit'
complete -c gw -n "__fish_gw_using_subcommand run" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand run" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand spend" -l since -d 'From this day or time: 2025-03-09, 20250309, 2025-03-09T14:00, 2025-03-09T14:00:00Z, today, yesterday, 7d (the day 7 days ago), 2w, 12h (12 hours ago)' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l until -d 'Up to this day (included) or time (excluded); same forms as --since. Default: today' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l tz -d 'Time zone for days, weeks and months: an IANA name (Europe/Berlin), UTC, or +05:30. Default: the system\'s' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l by -d 'Group by one or more of day, week, month, agent, model, provider, project, branch, session, task, developer, key, billing, source (comma-separated: --by day,model). Default: model for a single day, day otherwise; billing (api or subscription) is added when the period holds use on a subscription login' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l agent -d 'Only these agents (comma-separated; `*` globs: --agent \'claude*\')' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l model -d 'Only these models (comma-separated; `*` globs: --model \'claude-sonnet-*\')' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l project -d 'Only these projects (comma-separated; `*` globs)' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l branch -d 'Only these branches (comma-separated; `*` globs)' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l source -d 'Only requests metered by gw\'s proxy, or imported from the agents\' logs (`gw import`)' -r -f -a "proxy\t'Metered by gw\'s proxy (`gw run`, `gw proxy`)'
import\t'Read from the agents\' own logs (`gw import`)'"
complete -c gw -n "__fish_gw_using_subcommand spend" -l now -d 'Pretend the time is this (RFC 3339), for tests and reproducible reports' -r
complete -c gw -n "__fish_gw_using_subcommand spend" -l today -d 'Today (the default)'
complete -c gw -n "__fish_gw_using_subcommand spend" -l yesterday -d 'Yesterday'
complete -c gw -n "__fish_gw_using_subcommand spend" -l week -d 'This week, Monday to Sunday'
complete -c gw -n "__fish_gw_using_subcommand spend" -l month -d 'This calendar month'
complete -c gw -n "__fish_gw_using_subcommand spend" -l breakdown -d 'Add per-model sub-rows under each row'
complete -c gw -n "__fish_gw_using_subcommand spend" -l json -d 'Print JSON (the shape is documented in the README and stable)'
complete -c gw -n "__fish_gw_using_subcommand spend" -l csv -d 'Print CSV with a header line'
complete -c gw -n "__fish_gw_using_subcommand spend" -l raw -d 'Sum the raw rows instead of the rollup (to check or benchmark the rollup)'
complete -c gw -n "__fish_gw_using_subcommand spend" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gw -n "__fish_gw_using_subcommand spend" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand sessions" -s n -l limit -d 'How many sessions to list' -r
complete -c gw -n "__fish_gw_using_subcommand sessions" -l tz -d 'Time zone for start times (default: the system\'s)' -r
complete -c gw -n "__fish_gw_using_subcommand sessions" -l source -d 'Only sessions metered by gw\'s proxy, or imported from the agents\' logs (`gw import`)' -r -f -a "proxy\t'Metered by gw\'s proxy (`gw run`, `gw proxy`)'
import\t'Read from the agents\' own logs (`gw import`)'"
complete -c gw -n "__fish_gw_using_subcommand sessions" -l json -d 'Print JSON'
complete -c gw -n "__fish_gw_using_subcommand sessions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gw -n "__fish_gw_using_subcommand sessions" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand session" -l tz -d 'Time zone for times (default: the system\'s)' -r
complete -c gw -n "__fish_gw_using_subcommand session" -l json -d 'Print JSON'
complete -c gw -n "__fish_gw_using_subcommand session" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand session" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand import" -l since -d 'Only calls made on or after this date (YYYY-MM-DD, local midnight) or instant (RFC 3339)' -r
complete -c gw -n "__fish_gw_using_subcommand import" -l path -d 'Read this directory instead of the agent\'s own (with one agent named)' -r -F
complete -c gw -n "__fish_gw_using_subcommand import" -l dry-run -d 'Read and count, change nothing'
complete -c gw -n "__fish_gw_using_subcommand import" -l sync -d 'Then send the imported rows (these and any imported before) to the gw server you are logged in to, flagged as imported; without it they stay on this machine'
complete -c gw -n "__fish_gw_using_subcommand import" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand import" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand proxy" -l listen -d 'Address to listen on (default: [proxy] listen, else a free port on 127.0.0.1)' -r
complete -c gw -n "__fish_gw_using_subcommand proxy" -l task -d 'Task label recorded on every request' -r
complete -c gw -n "__fish_gw_using_subcommand proxy" -l project -d 'Project recorded on every request (default: the git repository)' -r
complete -c gw -n "__fish_gw_using_subcommand proxy" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand proxy" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l listen -d 'Address to listen on' -r
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l database -d 'sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db)' -r
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l tls-cert -d 'Serve HTTPS with this PEM certificate chain (with --tls-key)' -r -F
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l tls-key -d 'The PEM private key of --tls-cert' -r -F
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l tls-name -d 'Another name (DNS name or IP address) clients reach the server by, for the --tls-self-signed certificate (localhost and the listen address are always in it)' -r
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l lease-ttl -d 'Seconds a lease lives without a renewal' -r
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l metrics-labels -d 'Add `developer`, `project` or both (comma-separated) to /metrics\' usage series, which carry org, team, model and agent. Each multiplies the series Prometheus stores: about developers × models × agents (× projects)' -r
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -l tls-self-signed -d 'Serve HTTPS with gw\'s own CA and a certificate it signs, kept in <data dir>/tls/ and reused at every start (renewed when expiring). Clients trust tls/ca.pem with `gw login <url> --ca-cert`, or pin the fingerprint printed at start with `--fingerprint`'
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -f -a "init" -d 'Create the admin token (printed once; stored hashed). Refuses when one exists'
complete -c gw -n "__fish_gw_using_subcommand server; and not __fish_seen_subcommand_from init help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from init" -l database -d 'sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db)' -r
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from init" -l rotate -d 'Replace the existing token'
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from init" -l metrics-token -d 'Create the metrics-only token instead (`gwm_…`): it reads `/metrics` and nothing else, for Prometheus'
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create the admin token (printed once; stored hashed). Refuses when one exists'
complete -c gw -n "__fish_gw_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "org" -d 'Organisations (each with the time zone its budgets align to)'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "team" -d 'Teams of an org'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "user" -d 'Developers'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "key" -d 'Virtual keys'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "budget" -d 'Budgets on an org, team, developer or key'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "limit" -d 'Rate limits on an org, team, developer or key: requests and tokens per window'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "price" -d 'Model prices for an org (USD per million tokens), for models gw\'s table lacks or prices otherwise; the org\'s sessions charge by them'
complete -c gw -n "__fish_gw_using_subcommand admin; and not __fish_seen_subcommand_from org team user key budget limit price help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "create" -d 'Create an org'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "list" -d 'List orgs'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "update" -d 'Change an org\'s time zone'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "revoke" -d 'Deactivate every developer of an org and revoke its keys (the org\'s history stays)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -f -a "create" -d 'Create a team in an org'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -f -a "list" -d 'List teams'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -f -a "update" -d 'Rename a team, named org/team (its budgets, keys and history follow)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -f -a "revoke" -d 'Revoke every key issued for a team, named org/team (its developers stay)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from team" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "create" -d 'Create a developer'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "list" -d 'List developers'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "update" -d 'Change a developer\'s name or team (`--team ""` removes the team)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "revoke" -d 'Deactivate a developer and revoke their keys'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -f -a "create" -d 'Create a key for a developer; the key is printed once'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -f -a "list" -d 'List keys'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -f -a "update" -d 'Change a key\'s name, expiry (`""` removes it) or models (`""` removes the list)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -f -a "revoke" -d 'Revoke a key'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from key" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -f -a "create" -d 'Create a budget'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -f -a "list" -d 'List budgets with this period\'s spend'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -f -a "update" -d 'Change a budget\'s limit, soft threshold or strictness'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -f -a "revoke" -d 'Delete a budget'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from budget" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -f -a "create" -d 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -f -a "list" -d 'List rate limits with what was granted in their current windows'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -f -a "update" -d 'Change a rate limit\'s caps'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -f -a "delete" -d 'Delete a rate limit'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from limit" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -l server -d 'The gw server\'s URL' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -l ca-cert -d 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server' -r -F
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint (as `gw server` prints it at start)' -r
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -l json -d 'Print the server\'s JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -f -a "set" -d 'Set (create or replace) an org\'s price of a model, in USD per million tokens'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -f -a "list" -d 'List model prices'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -f -a "delete" -d 'Delete an org\'s price of a model'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from price" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "org" -d 'Organisations (each with the time zone its budgets align to)'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "team" -d 'Teams of an org'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "user" -d 'Developers'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "key" -d 'Virtual keys'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "budget" -d 'Budgets on an org, team, developer or key'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "limit" -d 'Rate limits on an org, team, developer or key: requests and tokens per window'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "price" -d 'Model prices for an org (USD per million tokens), for models gw\'s table lacks or prices otherwise; the org\'s sessions charge by them'
complete -c gw -n "__fish_gw_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand login" -l key -d 'Your gw key (default: GW_KEY, else a prompt)' -r
complete -c gw -n "__fish_gw_using_subcommand login" -l ca-cert -d 'Trust this PEM CA certificate for the server (its own CA, e.g. tls/ca.pem of `gw server --tls-self-signed`); copied beside the credentials and used by every team command' -r -F
complete -c gw -n "__fish_gw_using_subcommand login" -l fingerprint -d 'Pin the server certificate\'s SHA-256 fingerprint, as `gw server` prints it at start (AB:CD:…); alone it trusts exactly that certificate, with --ca-cert it is checked too' -r
complete -c gw -n "__fish_gw_using_subcommand login" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand login" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand logout" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand logout" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand budget" -l json -d 'Print JSON instead of a table'
complete -c gw -n "__fish_gw_using_subcommand budget" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand budget" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand sync" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand sync" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand config" -l env -d 'List every environment variable gw reads instead'
complete -c gw -n "__fish_gw_using_subcommand config" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand config" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand completions" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand completions" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from seed-ledger update-prices help" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from seed-ledger update-prices help" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from seed-ledger update-prices help" -f -a "seed-ledger" -d 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from seed-ledger update-prices help" -f -a "update-prices" -d 'Regenerate the embedded price table from LiteLLM\'s price JSON'
complete -c gw -n "__fish_gw_using_subcommand debug; and not __fish_seen_subcommand_from seed-ledger update-prices help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from seed-ledger" -l rows -d 'Rows to add' -r
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from seed-ledger" -l days -d 'Days to spread them over, ending today' -r
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from seed-ledger" -l seed -d 'Random seed (same seed, same rows)' -r
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from seed-ledger" -l now -d 'The end of the period (RFC 3339; default: now)' -r
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from seed-ledger" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from seed-ledger" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -l from -d 'LiteLLM\'s `model_prices_and_context_window_backup.json`' -r -F
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -l source-version -d 'The litellm package version the file came from, e.g. 1.77.3' -r
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -l out -d 'Where to write the table' -r -F
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -s h -l help -d 'Print help'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from update-prices" -s V -l version -d 'Print version'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "seed-ledger" -d 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "update-prices" -d 'Regenerate the embedded price table from LiteLLM\'s price JSON'
complete -c gw -n "__fish_gw_using_subcommand debug; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "run" -d 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "spend" -d 'Show spend from the local ledger: today by default; --week, --month, --since/--until'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "sessions" -d 'List recent sessions'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "session" -d 'Show one session\'s requests'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "import" -d 'Import past usage from the agents\' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "proxy" -d 'Run the metering proxy in the foreground (for IDE agents and manual use)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "server" -d 'Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "admin" -d 'Manage the server\'s orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "login" -d 'Log in to a gw server (team mode): checks and stores its URL and your gw key'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "logout" -d 'Forget the stored gw server and key'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "budget" -d 'Show your budgets: your team\'s above your key (team mode), else [budget]\'s local caps'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "sync" -d 'Send every request the gw server has not acknowledged yet'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "config" -d 'Print the effective configuration (secrets redacted)'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "completions" -d 'Print a shell completion script'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "debug" -d 'Maintenance commands for gw\'s developers'
complete -c gw -n "__fish_gw_using_subcommand help; and not __fish_seen_subcommand_from run spend sessions session import proxy server admin login logout budget sync config completions debug help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "init" -d 'Create the admin token (printed once; stored hashed). Refuses when one exists'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "org" -d 'Organisations (each with the time zone its budgets align to)'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "team" -d 'Teams of an org'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "user" -d 'Developers'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "key" -d 'Virtual keys'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "budget" -d 'Budgets on an org, team, developer or key'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "limit" -d 'Rate limits on an org, team, developer or key: requests and tokens per window'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "price" -d 'Model prices for an org (USD per million tokens), for models gw\'s table lacks or prices otherwise; the org\'s sessions charge by them'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "seed-ledger" -d 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)'
complete -c gw -n "__fish_gw_using_subcommand help; and __fish_seen_subcommand_from debug" -f -a "update-prices" -d 'Regenerate the embedded price table from LiteLLM\'s price JSON'
