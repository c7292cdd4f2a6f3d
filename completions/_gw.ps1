
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'gw' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'gw'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'gw' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session')
            [CompletionResult]::new('spend', 'spend', [CompletionResultType]::ParameterValue, 'Show spend from the local ledger: today by default; --week, --month, --since/--until')
            [CompletionResult]::new('sessions', 'sessions', [CompletionResultType]::ParameterValue, 'List recent sessions')
            [CompletionResult]::new('session', 'session', [CompletionResultType]::ParameterValue, 'Show one session''s requests')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import past usage from the agents'' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run the metering proxy in the foreground (for IDE agents and manual use)')
            [CompletionResult]::new('server', 'server', [CompletionResultType]::ParameterValue, 'Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token')
            [CompletionResult]::new('admin', 'admin', [CompletionResultType]::ParameterValue, 'Manage the server''s orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN)')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a gw server (team mode): checks and stores its URL and your gw key')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget the stored gw server and key')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Show your budgets: your team''s above your key (team mode), else [budget]''s local caps')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Send every request the gw server has not acknowledged yet')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the effective configuration (secrets redacted)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Maintenance commands for gw''s developers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;run' {
            [CompletionResult]::new('--task', '--task', [CompletionResultType]::ParameterName, 'Task label recorded on every request')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project recorded on every request (default: the git repository)')
            [CompletionResult]::new('--via', '--via', [CompletionResultType]::ParameterName, 'Send the agent''s requests through an enterprise route: `azure` (Codex on Azure OpenAI) or `vertex` (Claude Code and Gemini CLI on Vertex AI, with gw''s Google credentials) or `bedrock` (Claude Code on Amazon Bedrock, with gw''s AWS keys or Bedrock API key). Default: `[agents.<name>] via` in the config')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary line at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary line at exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;spend' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'From this day or time: 2025-03-09, 20250309, 2025-03-09T14:00, 2025-03-09T14:00:00Z, today, yesterday, 7d (the day 7 days ago), 2w, 12h (12 hours ago)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Up to this day (included) or time (excluded); same forms as --since. Default: today')
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'Time zone for days, weeks and months: an IANA name (Europe/Berlin), UTC, or +05:30. Default: the system''s')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Group by one or more of day, week, month, agent, model, provider, project, branch, session, task, developer, key, billing, source (comma-separated: --by day,model). Default: model for a single day, day otherwise; billing (api or subscription) is added when the period holds use on a subscription login')
            [CompletionResult]::new('--agent', '--agent', [CompletionResultType]::ParameterName, 'Only these agents (comma-separated; `*` globs: --agent ''claude*'')')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only these models (comma-separated; `*` globs: --model ''claude-sonnet-*'')')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Only these projects (comma-separated; `*` globs)')
            [CompletionResult]::new('--branch', '--branch', [CompletionResultType]::ParameterName, 'Only these branches (comma-separated; `*` globs)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Only requests metered by gw''s proxy, or imported from the agents'' logs (`gw import`)')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the time is this (RFC 3339), for tests and reproducible reports')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Today (the default)')
            [CompletionResult]::new('--yesterday', '--yesterday', [CompletionResultType]::ParameterName, 'Yesterday')
            [CompletionResult]::new('--week', '--week', [CompletionResultType]::ParameterName, 'This week, Monday to Sunday')
            [CompletionResult]::new('--month', '--month', [CompletionResultType]::ParameterName, 'This calendar month')
            [CompletionResult]::new('--breakdown', '--breakdown', [CompletionResultType]::ParameterName, 'Add per-model sub-rows under each row')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (the shape is documented in the README and stable)')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'Print CSV with a header line')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Sum the raw rows instead of the rollup (to check or benchmark the rollup)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;sessions' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many sessions to list')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many sessions to list')
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'Time zone for start times (default: the system''s)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Only sessions metered by gw''s proxy, or imported from the agents'' logs (`gw import`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;session' {
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'Time zone for times (default: the system''s)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;import' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only calls made on or after this date (YYYY-MM-DD, local midnight) or instant (RFC 3339)')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'Read this directory instead of the agent''s own (with one agent named)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Read and count, change nothing')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'Then send the imported rows (these and any imported before) to the gw server you are logged in to, flagged as imported; without it they stay on this machine')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;proxy' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (default: [proxy] listen, else a free port on 127.0.0.1)')
            [CompletionResult]::new('--task', '--task', [CompletionResultType]::ParameterName, 'Task label recorded on every request')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project recorded on every request (default: the git repository)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;server' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve HTTPS with this PEM certificate chain (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The PEM private key of --tls-cert')
            [CompletionResult]::new('--tls-name', '--tls-name', [CompletionResultType]::ParameterName, 'Another name (DNS name or IP address) clients reach the server by, for the --tls-self-signed certificate (localhost and the listen address are always in it)')
            [CompletionResult]::new('--lease-ttl', '--lease-ttl', [CompletionResultType]::ParameterName, 'Seconds a lease lives without a renewal')
            [CompletionResult]::new('--metrics-labels', '--metrics-labels', [CompletionResultType]::ParameterName, 'Add `developer`, `project` or both (comma-separated) to /metrics'' usage series, which carry org, team, model and agent. Each multiplies the series Prometheus stores: about developers × models × agents (× projects)')
            [CompletionResult]::new('--tls-self-signed', '--tls-self-signed', [CompletionResultType]::ParameterName, 'Serve HTTPS with gw''s own CA and a certificate it signs, kept in <data dir>/tls/ and reused at every start (renewed when expiring). Clients trust tls/ca.pem with `gw login <url> --ca-cert`, or pin the fingerprint printed at start with `--fingerprint`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the admin token (printed once; stored hashed). Refuses when one exists')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;server;init' {
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db)')
            [CompletionResult]::new('--rotate', '--rotate', [CompletionResultType]::ParameterName, 'Replace the existing token')
            [CompletionResult]::new('--metrics-token', '--metrics-token', [CompletionResultType]::ParameterName, 'Create the metrics-only token instead (`gwm_…`): it reads `/metrics` and nothing else, for Prometheus')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;server;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the admin token (printed once; stored hashed). Refuses when one exists')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;server;help;init' {
            break
        }
        'gw;server;help;help' {
            break
        }
        'gw;admin' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('org', 'org', [CompletionResultType]::ParameterValue, 'Organisations (each with the time zone its budgets align to)')
            [CompletionResult]::new('team', 'team', [CompletionResultType]::ParameterValue, 'Teams of an org')
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Developers')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Virtual keys')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Budgets on an org, team, developer or key')
            [CompletionResult]::new('limit', 'limit', [CompletionResultType]::ParameterValue, 'Rate limits on an org, team, developer or key: requests and tokens per window')
            [CompletionResult]::new('price', 'price', [CompletionResultType]::ParameterValue, 'Model prices for an org (USD per million tokens), for models gw''s table lacks or prices otherwise; the org''s sessions charge by them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;org' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List orgs')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change an org''s time zone')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate every developer of an org and revoke its keys (the org''s history stays)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;org;create' {
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'IANA time zone its budgets align to')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;org;list' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;org;update' {
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'tz')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;org;revoke' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;org;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List orgs')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change an org''s time zone')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate every developer of an org and revoke its keys (the org''s history stays)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;org;help;create' {
            break
        }
        'gw;admin;org;help;list' {
            break
        }
        'gw;admin;org;help;update' {
            break
        }
        'gw;admin;org;help;revoke' {
            break
        }
        'gw;admin;org;help;help' {
            break
        }
        'gw;admin;team' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a team in an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List teams')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Rename a team, named org/team (its budgets, keys and history follow)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke every key issued for a team, named org/team (its developers stay)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;team;create' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'org')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;team;list' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'org')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;team;update' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The new name')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;team;revoke' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;team;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a team in an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List teams')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Rename a team, named org/team (its budgets, keys and history follow)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke every key issued for a team, named org/team (its developers stay)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;team;help;create' {
            break
        }
        'gw;admin;team;help;list' {
            break
        }
        'gw;admin;team;help;update' {
            break
        }
        'gw;admin;team;help;revoke' {
            break
        }
        'gw;admin;team;help;help' {
            break
        }
        'gw;admin;user' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a developer')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List developers')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a developer''s name or team (`--team ""` removes the team)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate a developer and revoke their keys')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;user;create' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'org')
            [CompletionResult]::new('--team', '--team', [CompletionResultType]::ParameterName, 'team')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'name')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;user;list' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'org')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;user;update' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'name')
            [CompletionResult]::new('--team', '--team', [CompletionResultType]::ParameterName, 'team')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;user;revoke' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;user;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a developer')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List developers')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a developer''s name or team (`--team ""` removes the team)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate a developer and revoke their keys')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;user;help;create' {
            break
        }
        'gw;admin;user;help;list' {
            break
        }
        'gw;admin;user;help;update' {
            break
        }
        'gw;admin;user;help;revoke' {
            break
        }
        'gw;admin;user;help;help' {
            break
        }
        'gw;admin;key' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key for a developer; the key is printed once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;key;create' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The owner''s email')
            [CompletionResult]::new('--team', '--team', [CompletionResultType]::ParameterName, 'A team of the owner''s org (default: the owner''s team)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'name')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'RFC 3339 expiry, e.g. 2026-12-31T00:00:00Z')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'Comma-separated models the key may use')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;key;list' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'user')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'org')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;key;update' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'name')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'expires')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'models')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;key;revoke' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;key;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key for a developer; the key is printed once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;key;help;create' {
            break
        }
        'gw;admin;key;help;list' {
            break
        }
        'gw;admin;key;help;update' {
            break
        }
        'gw;admin;key;help;revoke' {
            break
        }
        'gw;admin;key;help;help' {
            break
        }
        'gw;admin;budget' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a budget')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List budgets with this period''s spend')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a budget''s limit, soft threshold or strictness')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Delete a budget')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;budget;create' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'org | team | developer | key')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Org name, org/team, developer email, or key id')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Limit in USD, e.g. 100 or 2.50')
            [CompletionResult]::new('--period', '--period', [CompletionResultType]::ParameterName, 'hour | day | week | month | total')
            [CompletionResult]::new('--soft', '--soft', [CompletionResultType]::ParameterName, 'Fraction of the limit at which clients warn (default 0.8)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Never exceed the limit: each request first reserves its upper-bound cost (its body''s size as input tokens, its output limit), and one that does not fit what is left is refused')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;budget;list' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'scope')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'name')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;budget;update' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'limit')
            [CompletionResult]::new('--soft', '--soft', [CompletionResultType]::ParameterName, 'soft')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'true: never exceed the limit (see `create --strict`); false: admit while money is left')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;budget;revoke' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;budget;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a budget')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List budgets with this period''s spend')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a budget''s limit, soft threshold or strictness')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Delete a budget')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;budget;help;create' {
            break
        }
        'gw;admin;budget;help;list' {
            break
        }
        'gw;admin;budget;help;update' {
            break
        }
        'gw;admin;budget;help;revoke' {
            break
        }
        'gw;admin;budget;help;help' {
            break
        }
        'gw;admin;limit' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List rate limits with what was granted in their current windows')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a rate limit''s caps')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a rate limit')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;limit;create' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'org | team | developer | key')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Org name, org/team, developer email, or key id')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'The window in seconds: 60 per minute, 3600 per hour')
            [CompletionResult]::new('--requests', '--requests', [CompletionResultType]::ParameterName, 'Most requests per window')
            [CompletionResult]::new('--tokens', '--tokens', [CompletionResultType]::ParameterName, 'Most tokens (input, cache and output) per window')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;limit;list' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;limit;update' {
            [CompletionResult]::new('--requests', '--requests', [CompletionResultType]::ParameterName, 'requests')
            [CompletionResult]::new('--tokens', '--tokens', [CompletionResultType]::ParameterName, 'tokens')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;limit;delete' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;limit;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List rate limits with what was granted in their current windows')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a rate limit''s caps')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a rate limit')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;limit;help;create' {
            break
        }
        'gw;admin;limit;help;list' {
            break
        }
        'gw;admin;limit;help;update' {
            break
        }
        'gw;admin;limit;help;delete' {
            break
        }
        'gw;admin;limit;help;help' {
            break
        }
        'gw;admin;price' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set (create or replace) an org''s price of a model, in USD per million tokens')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List model prices')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an org''s price of a model')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;price;set' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'The org whose sessions charge by this price')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'Input tokens')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output tokens')
            [CompletionResult]::new('--cache-read', '--cache-read', [CompletionResultType]::ParameterName, 'Cache reads (default: derived from input as for gw''s table)')
            [CompletionResult]::new('--cache-write-5m', '--cache-write-5m', [CompletionResultType]::ParameterName, 'Cache writes with a 5-minute lifetime')
            [CompletionResult]::new('--cache-write-1h', '--cache-write-1h', [CompletionResultType]::ParameterName, 'Cache writes with a 1-hour lifetime')
            [CompletionResult]::new('--reasoning', '--reasoning', [CompletionResultType]::ParameterName, 'Reasoning tokens, when they differ from output')
            [CompletionResult]::new('--above-tokens', '--above-tokens', [CompletionResultType]::ParameterName, 'The long-context threshold: the --*-above prices apply to requests with more input')
            [CompletionResult]::new('--input-above', '--input-above', [CompletionResultType]::ParameterName, 'Input tokens above --above-tokens')
            [CompletionResult]::new('--output-above', '--output-above', [CompletionResultType]::ParameterName, 'Output tokens above --above-tokens')
            [CompletionResult]::new('--cache-read-above', '--cache-read-above', [CompletionResultType]::ParameterName, 'Cache reads above --above-tokens')
            [CompletionResult]::new('--cache-write-5m-above', '--cache-write-5m-above', [CompletionResultType]::ParameterName, '5-minute cache writes above --above-tokens')
            [CompletionResult]::new('--cache-write-1h-above', '--cache-write-1h-above', [CompletionResultType]::ParameterName, '1-hour cache writes above --above-tokens')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;price;list' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'org')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;price;delete' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'The org whose price it is')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The gw server''s URL')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the server''s JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;admin;price;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set (create or replace) an org''s price of a model, in USD per million tokens')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List model prices')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an org''s price of a model')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;price;help;set' {
            break
        }
        'gw;admin;price;help;list' {
            break
        }
        'gw;admin;price;help;delete' {
            break
        }
        'gw;admin;price;help;help' {
            break
        }
        'gw;admin;help' {
            [CompletionResult]::new('org', 'org', [CompletionResultType]::ParameterValue, 'Organisations (each with the time zone its budgets align to)')
            [CompletionResult]::new('team', 'team', [CompletionResultType]::ParameterValue, 'Teams of an org')
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Developers')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Virtual keys')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Budgets on an org, team, developer or key')
            [CompletionResult]::new('limit', 'limit', [CompletionResultType]::ParameterValue, 'Rate limits on an org, team, developer or key: requests and tokens per window')
            [CompletionResult]::new('price', 'price', [CompletionResultType]::ParameterValue, 'Model prices for an org (USD per million tokens), for models gw''s table lacks or prices otherwise; the org''s sessions charge by them')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;admin;help;org' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List orgs')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change an org''s time zone')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate every developer of an org and revoke its keys (the org''s history stays)')
            break
        }
        'gw;admin;help;org;create' {
            break
        }
        'gw;admin;help;org;list' {
            break
        }
        'gw;admin;help;org;update' {
            break
        }
        'gw;admin;help;org;revoke' {
            break
        }
        'gw;admin;help;team' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a team in an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List teams')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Rename a team, named org/team (its budgets, keys and history follow)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke every key issued for a team, named org/team (its developers stay)')
            break
        }
        'gw;admin;help;team;create' {
            break
        }
        'gw;admin;help;team;list' {
            break
        }
        'gw;admin;help;team;update' {
            break
        }
        'gw;admin;help;team;revoke' {
            break
        }
        'gw;admin;help;user' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a developer')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List developers')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a developer''s name or team (`--team ""` removes the team)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate a developer and revoke their keys')
            break
        }
        'gw;admin;help;user;create' {
            break
        }
        'gw;admin;help;user;list' {
            break
        }
        'gw;admin;help;user;update' {
            break
        }
        'gw;admin;help;user;revoke' {
            break
        }
        'gw;admin;help;key' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key for a developer; the key is printed once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key')
            break
        }
        'gw;admin;help;key;create' {
            break
        }
        'gw;admin;help;key;list' {
            break
        }
        'gw;admin;help;key;update' {
            break
        }
        'gw;admin;help;key;revoke' {
            break
        }
        'gw;admin;help;budget' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a budget')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List budgets with this period''s spend')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a budget''s limit, soft threshold or strictness')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Delete a budget')
            break
        }
        'gw;admin;help;budget;create' {
            break
        }
        'gw;admin;help;budget;list' {
            break
        }
        'gw;admin;help;budget;update' {
            break
        }
        'gw;admin;help;budget;revoke' {
            break
        }
        'gw;admin;help;limit' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List rate limits with what was granted in their current windows')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a rate limit''s caps')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a rate limit')
            break
        }
        'gw;admin;help;limit;create' {
            break
        }
        'gw;admin;help;limit;list' {
            break
        }
        'gw;admin;help;limit;update' {
            break
        }
        'gw;admin;help;limit;delete' {
            break
        }
        'gw;admin;help;price' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set (create or replace) an org''s price of a model, in USD per million tokens')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List model prices')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an org''s price of a model')
            break
        }
        'gw;admin;help;price;set' {
            break
        }
        'gw;admin;help;price;list' {
            break
        }
        'gw;admin;help;price;delete' {
            break
        }
        'gw;admin;help;help' {
            break
        }
        'gw;login' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Your gw key (default: GW_KEY, else a prompt)')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'Trust this PEM CA certificate for the server (its own CA, e.g. tls/ca.pem of `gw server --tls-self-signed`); copied beside the credentials and used by every team command')
            [CompletionResult]::new('--fingerprint', '--fingerprint', [CompletionResultType]::ParameterName, 'Pin the server certificate''s SHA-256 fingerprint, as `gw server` prints it at start (AB:CD:…); alone it trusts exactly that certificate, with --ca-cert it is checked too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;logout' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;budget' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;sync' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;config' {
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'List every environment variable gw reads instead')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;debug' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('seed-ledger', 'seed-ledger', [CompletionResultType]::ParameterValue, 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)')
            [CompletionResult]::new('update-prices', 'update-prices', [CompletionResultType]::ParameterValue, 'Regenerate the embedded price table from LiteLLM''s price JSON')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;debug;seed-ledger' {
            [CompletionResult]::new('--rows', '--rows', [CompletionResultType]::ParameterName, 'Rows to add')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Days to spread them over, ending today')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Random seed (same seed, same rows)')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'The end of the period (RFC 3339; default: now)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;debug;update-prices' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'LiteLLM''s `model_prices_and_context_window_backup.json`')
            [CompletionResult]::new('--source-version', '--source-version', [CompletionResultType]::ParameterName, 'The litellm package version the file came from, e.g. 1.77.3')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;debug;help' {
            [CompletionResult]::new('seed-ledger', 'seed-ledger', [CompletionResultType]::ParameterValue, 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)')
            [CompletionResult]::new('update-prices', 'update-prices', [CompletionResultType]::ParameterValue, 'Regenerate the embedded price table from LiteLLM''s price JSON')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;debug;help;seed-ledger' {
            break
        }
        'gw;debug;help;update-prices' {
            break
        }
        'gw;debug;help;help' {
            break
        }
        'gw;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session')
            [CompletionResult]::new('spend', 'spend', [CompletionResultType]::ParameterValue, 'Show spend from the local ledger: today by default; --week, --month, --since/--until')
            [CompletionResult]::new('sessions', 'sessions', [CompletionResultType]::ParameterValue, 'List recent sessions')
            [CompletionResult]::new('session', 'session', [CompletionResultType]::ParameterValue, 'Show one session''s requests')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import past usage from the agents'' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run the metering proxy in the foreground (for IDE agents and manual use)')
            [CompletionResult]::new('server', 'server', [CompletionResultType]::ParameterValue, 'Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token')
            [CompletionResult]::new('admin', 'admin', [CompletionResultType]::ParameterValue, 'Manage the server''s orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN)')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in to a gw server (team mode): checks and stores its URL and your gw key')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget the stored gw server and key')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Show your budgets: your team''s above your key (team mode), else [budget]''s local caps')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Send every request the gw server has not acknowledged yet')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the effective configuration (secrets redacted)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Maintenance commands for gw''s developers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;help;run' {
            break
        }
        'gw;help;spend' {
            break
        }
        'gw;help;sessions' {
            break
        }
        'gw;help;session' {
            break
        }
        'gw;help;import' {
            break
        }
        'gw;help;proxy' {
            break
        }
        'gw;help;server' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the admin token (printed once; stored hashed). Refuses when one exists')
            break
        }
        'gw;help;server;init' {
            break
        }
        'gw;help;admin' {
            [CompletionResult]::new('org', 'org', [CompletionResultType]::ParameterValue, 'Organisations (each with the time zone its budgets align to)')
            [CompletionResult]::new('team', 'team', [CompletionResultType]::ParameterValue, 'Teams of an org')
            [CompletionResult]::new('user', 'user', [CompletionResultType]::ParameterValue, 'Developers')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Virtual keys')
            [CompletionResult]::new('budget', 'budget', [CompletionResultType]::ParameterValue, 'Budgets on an org, team, developer or key')
            [CompletionResult]::new('limit', 'limit', [CompletionResultType]::ParameterValue, 'Rate limits on an org, team, developer or key: requests and tokens per window')
            [CompletionResult]::new('price', 'price', [CompletionResultType]::ParameterValue, 'Model prices for an org (USD per million tokens), for models gw''s table lacks or prices otherwise; the org''s sessions charge by them')
            break
        }
        'gw;help;admin;org' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List orgs')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change an org''s time zone')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate every developer of an org and revoke its keys (the org''s history stays)')
            break
        }
        'gw;help;admin;org;create' {
            break
        }
        'gw;help;admin;org;list' {
            break
        }
        'gw;help;admin;org;update' {
            break
        }
        'gw;help;admin;org;revoke' {
            break
        }
        'gw;help;admin;team' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a team in an org')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List teams')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Rename a team, named org/team (its budgets, keys and history follow)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke every key issued for a team, named org/team (its developers stay)')
            break
        }
        'gw;help;admin;team;create' {
            break
        }
        'gw;help;admin;team;list' {
            break
        }
        'gw;help;admin;team;update' {
            break
        }
        'gw;help;admin;team;revoke' {
            break
        }
        'gw;help;admin;user' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a developer')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List developers')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a developer''s name or team (`--team ""` removes the team)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Deactivate a developer and revoke their keys')
            break
        }
        'gw;help;admin;user;create' {
            break
        }
        'gw;help;admin;user;list' {
            break
        }
        'gw;help;admin;user;update' {
            break
        }
        'gw;help;admin;user;revoke' {
            break
        }
        'gw;help;admin;key' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a key for a developer; the key is printed once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List keys')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key')
            break
        }
        'gw;help;admin;key;create' {
            break
        }
        'gw;help;admin;key;list' {
            break
        }
        'gw;help;admin;key;update' {
            break
        }
        'gw;help;admin;key;revoke' {
            break
        }
        'gw;help;admin;budget' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a budget')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List budgets with this period''s spend')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a budget''s limit, soft threshold or strictness')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Delete a budget')
            break
        }
        'gw;help;admin;budget;create' {
            break
        }
        'gw;help;admin;budget;list' {
            break
        }
        'gw;help;admin;budget;update' {
            break
        }
        'gw;help;admin;budget;revoke' {
            break
        }
        'gw;help;admin;limit' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List rate limits with what was granted in their current windows')
            [CompletionResult]::new('update', 'update', [CompletionResultType]::ParameterValue, 'Change a rate limit''s caps')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete a rate limit')
            break
        }
        'gw;help;admin;limit;create' {
            break
        }
        'gw;help;admin;limit;list' {
            break
        }
        'gw;help;admin;limit;update' {
            break
        }
        'gw;help;admin;limit;delete' {
            break
        }
        'gw;help;admin;price' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set (create or replace) an org''s price of a model, in USD per million tokens')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List model prices')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an org''s price of a model')
            break
        }
        'gw;help;admin;price;set' {
            break
        }
        'gw;help;admin;price;list' {
            break
        }
        'gw;help;admin;price;delete' {
            break
        }
        'gw;help;login' {
            break
        }
        'gw;help;logout' {
            break
        }
        'gw;help;budget' {
            break
        }
        'gw;help;sync' {
            break
        }
        'gw;help;config' {
            break
        }
        'gw;help;completions' {
            break
        }
        'gw;help;debug' {
            [CompletionResult]::new('seed-ledger', 'seed-ledger', [CompletionResultType]::ParameterValue, 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)')
            [CompletionResult]::new('update-prices', 'update-prices', [CompletionResultType]::ParameterValue, 'Regenerate the embedded price table from LiteLLM''s price JSON')
            break
        }
        'gw;help;debug;seed-ledger' {
            break
        }
        'gw;help;debug;update-prices' {
            break
        }
        'gw;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
