
use builtin;
use str;

set edit:completion:arg-completer[gw] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'gw'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'gw'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session'
            cand spend 'Show spend from the local ledger: today by default; --week, --month, --since/--until'
            cand sessions 'List recent sessions'
            cand session 'Show one session''s requests'
            cand import 'Import past usage from the agents'' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once'
            cand proxy 'Run the metering proxy in the foreground (for IDE agents and manual use)'
            cand server 'Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token'
            cand admin 'Manage the server''s orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN)'
            cand login 'Log in to a gw server (team mode): checks and stores its URL and your gw key'
            cand logout 'Forget the stored gw server and key'
            cand budget 'Show your budgets: your team''s above your key (team mode), else [budget]''s local caps'
            cand sync 'Send every request the gw server has not acknowledged yet'
            cand config 'Print the effective configuration (secrets redacted)'
            cand completions 'Print a shell completion script'
            cand debug 'Maintenance commands for gw''s developers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;run'= {
            cand --task 'Task label recorded on every request'
            cand --project 'Project recorded on every request (default: the git repository)'
            cand --via 'Send the agent''s requests through an enterprise route: `azure` (Codex on Azure OpenAI) or `vertex` (Claude Code and Gemini CLI on Vertex AI, with gw''s Google credentials) or `bedrock` (Claude Code on Amazon Bedrock, with gw''s AWS keys or Bedrock API key). Default: `[agents.<name>] via` in the config'
            cand -q 'No summary line at exit'
            cand --quiet 'No summary line at exit'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;spend'= {
            cand --since 'From this day or time: 2025-03-09, 20250309, 2025-03-09T14:00, 2025-03-09T14:00:00Z, today, yesterday, 7d (the day 7 days ago), 2w, 12h (12 hours ago)'
            cand --until 'Up to this day (included) or time (excluded); same forms as --since. Default: today'
            cand --tz 'Time zone for days, weeks and months: an IANA name (Europe/Berlin), UTC, or +05:30. Default: the system''s'
            cand --by 'Group by one or more of day, week, month, agent, model, provider, project, branch, session, task, developer, key, billing, source (comma-separated: --by day,model). Default: model for a single day, day otherwise; billing (api or subscription) is added when the period holds use on a subscription login'
            cand --agent 'Only these agents (comma-separated; `*` globs: --agent ''claude*'')'
            cand --model 'Only these models (comma-separated; `*` globs: --model ''claude-sonnet-*'')'
            cand --project 'Only these projects (comma-separated; `*` globs)'
            cand --branch 'Only these branches (comma-separated; `*` globs)'
            cand --source 'Only requests metered by gw''s proxy, or imported from the agents'' logs (`gw import`)'
            cand --now 'Pretend the time is this (RFC 3339), for tests and reproducible reports'
            cand --today 'Today (the default)'
            cand --yesterday 'Yesterday'
            cand --week 'This week, Monday to Sunday'
            cand --month 'This calendar month'
            cand --breakdown 'Add per-model sub-rows under each row'
            cand --json 'Print JSON (the shape is documented in the README and stable)'
            cand --csv 'Print CSV with a header line'
            cand --raw 'Sum the raw rows instead of the rollup (to check or benchmark the rollup)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;sessions'= {
            cand -n 'How many sessions to list'
            cand --limit 'How many sessions to list'
            cand --tz 'Time zone for start times (default: the system''s)'
            cand --source 'Only sessions metered by gw''s proxy, or imported from the agents'' logs (`gw import`)'
            cand --json 'Print JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;session'= {
            cand --tz 'Time zone for times (default: the system''s)'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;import'= {
            cand --since 'Only calls made on or after this date (YYYY-MM-DD, local midnight) or instant (RFC 3339)'
            cand --path 'Read this directory instead of the agent''s own (with one agent named)'
            cand --dry-run 'Read and count, change nothing'
            cand --sync 'Then send the imported rows (these and any imported before) to the gw server you are logged in to, flagged as imported; without it they stay on this machine'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;proxy'= {
            cand --listen 'Address to listen on (default: [proxy] listen, else a free port on 127.0.0.1)'
            cand --task 'Task label recorded on every request'
            cand --project 'Project recorded on every request (default: the git repository)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;server'= {
            cand --listen 'Address to listen on'
            cand --database 'sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db)'
            cand --tls-cert 'Serve HTTPS with this PEM certificate chain (with --tls-key)'
            cand --tls-key 'The PEM private key of --tls-cert'
            cand --tls-name 'Another name (DNS name or IP address) clients reach the server by, for the --tls-self-signed certificate (localhost and the listen address are always in it)'
            cand --lease-ttl 'Seconds a lease lives without a renewal'
            cand --metrics-labels 'Add `developer`, `project` or both (comma-separated) to /metrics'' usage series, which carry org, team, model and agent. Each multiplies the series Prometheus stores: about developers × models × agents (× projects)'
            cand --tls-self-signed 'Serve HTTPS with gw''s own CA and a certificate it signs, kept in <data dir>/tls/ and reused at every start (renewed when expiring). Clients trust tls/ca.pem with `gw login <url> --ca-cert`, or pin the fingerprint printed at start with `--fingerprint`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create the admin token (printed once; stored hashed). Refuses when one exists'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;server;init'= {
            cand --database 'sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db)'
            cand --rotate 'Replace the existing token'
            cand --metrics-token 'Create the metrics-only token instead (`gwm_…`): it reads `/metrics` and nothing else, for Prometheus'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;server;help'= {
            cand init 'Create the admin token (printed once; stored hashed). Refuses when one exists'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;server;help;init'= {
        }
        &'gw;server;help;help'= {
        }
        &'gw;admin'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand org 'Organisations (each with the time zone its budgets align to)'
            cand team 'Teams of an org'
            cand user 'Developers'
            cand key 'Virtual keys'
            cand budget 'Budgets on an org, team, developer or key'
            cand limit 'Rate limits on an org, team, developer or key: requests and tokens per window'
            cand price 'Model prices for an org (USD per million tokens), for models gw''s table lacks or prices otherwise; the org''s sessions charge by them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;org'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create an org'
            cand list 'List orgs'
            cand update 'Change an org''s time zone'
            cand revoke 'Deactivate every developer of an org and revoke its keys (the org''s history stays)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;org;create'= {
            cand --tz 'IANA time zone its budgets align to'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;org;list'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;org;update'= {
            cand --tz 'tz'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;org;revoke'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;org;help'= {
            cand create 'Create an org'
            cand list 'List orgs'
            cand update 'Change an org''s time zone'
            cand revoke 'Deactivate every developer of an org and revoke its keys (the org''s history stays)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;org;help;create'= {
        }
        &'gw;admin;org;help;list'= {
        }
        &'gw;admin;org;help;update'= {
        }
        &'gw;admin;org;help;revoke'= {
        }
        &'gw;admin;org;help;help'= {
        }
        &'gw;admin;team'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a team in an org'
            cand list 'List teams'
            cand update 'Rename a team, named org/team (its budgets, keys and history follow)'
            cand revoke 'Revoke every key issued for a team, named org/team (its developers stay)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;team;create'= {
            cand --org 'org'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;team;list'= {
            cand --org 'org'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;team;update'= {
            cand --name 'The new name'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;team;revoke'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;team;help'= {
            cand create 'Create a team in an org'
            cand list 'List teams'
            cand update 'Rename a team, named org/team (its budgets, keys and history follow)'
            cand revoke 'Revoke every key issued for a team, named org/team (its developers stay)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;team;help;create'= {
        }
        &'gw;admin;team;help;list'= {
        }
        &'gw;admin;team;help;update'= {
        }
        &'gw;admin;team;help;revoke'= {
        }
        &'gw;admin;team;help;help'= {
        }
        &'gw;admin;user'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a developer'
            cand list 'List developers'
            cand update 'Change a developer''s name or team (`--team ""` removes the team)'
            cand revoke 'Deactivate a developer and revoke their keys'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;user;create'= {
            cand --org 'org'
            cand --team 'team'
            cand --name 'name'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;user;list'= {
            cand --org 'org'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;user;update'= {
            cand --name 'name'
            cand --team 'team'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;user;revoke'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;user;help'= {
            cand create 'Create a developer'
            cand list 'List developers'
            cand update 'Change a developer''s name or team (`--team ""` removes the team)'
            cand revoke 'Deactivate a developer and revoke their keys'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;user;help;create'= {
        }
        &'gw;admin;user;help;list'= {
        }
        &'gw;admin;user;help;update'= {
        }
        &'gw;admin;user;help;revoke'= {
        }
        &'gw;admin;user;help;help'= {
        }
        &'gw;admin;key'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a key for a developer; the key is printed once'
            cand list 'List keys'
            cand update 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)'
            cand revoke 'Revoke a key'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;key;create'= {
            cand --user 'The owner''s email'
            cand --team 'A team of the owner''s org (default: the owner''s team)'
            cand --name 'name'
            cand --expires 'RFC 3339 expiry, e.g. 2026-12-31T00:00:00Z'
            cand --models 'Comma-separated models the key may use'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;key;list'= {
            cand --user 'user'
            cand --org 'org'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;key;update'= {
            cand --name 'name'
            cand --expires 'expires'
            cand --models 'models'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;key;revoke'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;key;help'= {
            cand create 'Create a key for a developer; the key is printed once'
            cand list 'List keys'
            cand update 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)'
            cand revoke 'Revoke a key'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;key;help;create'= {
        }
        &'gw;admin;key;help;list'= {
        }
        &'gw;admin;key;help;update'= {
        }
        &'gw;admin;key;help;revoke'= {
        }
        &'gw;admin;key;help;help'= {
        }
        &'gw;admin;budget'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a budget'
            cand list 'List budgets with this period''s spend'
            cand update 'Change a budget''s limit, soft threshold or strictness'
            cand revoke 'Delete a budget'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;budget;create'= {
            cand --scope 'org | team | developer | key'
            cand --name 'Org name, org/team, developer email, or key id'
            cand --limit 'Limit in USD, e.g. 100 or 2.50'
            cand --period 'hour | day | week | month | total'
            cand --soft 'Fraction of the limit at which clients warn (default 0.8)'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --strict 'Never exceed the limit: each request first reserves its upper-bound cost (its body''s size as input tokens, its output limit), and one that does not fit what is left is refused'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;budget;list'= {
            cand --scope 'scope'
            cand --name 'name'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;budget;update'= {
            cand --limit 'limit'
            cand --soft 'soft'
            cand --strict 'true: never exceed the limit (see `create --strict`); false: admit while money is left'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;budget;revoke'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;budget;help'= {
            cand create 'Create a budget'
            cand list 'List budgets with this period''s spend'
            cand update 'Change a budget''s limit, soft threshold or strictness'
            cand revoke 'Delete a budget'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;budget;help;create'= {
        }
        &'gw;admin;budget;help;list'= {
        }
        &'gw;admin;budget;help;update'= {
        }
        &'gw;admin;budget;help;revoke'= {
        }
        &'gw;admin;budget;help;help'= {
        }
        &'gw;admin;limit'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out'
            cand list 'List rate limits with what was granted in their current windows'
            cand update 'Change a rate limit''s caps'
            cand delete 'Delete a rate limit'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;limit;create'= {
            cand --scope 'org | team | developer | key'
            cand --name 'Org name, org/team, developer email, or key id'
            cand --window 'The window in seconds: 60 per minute, 3600 per hour'
            cand --requests 'Most requests per window'
            cand --tokens 'Most tokens (input, cache and output) per window'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;limit;list'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;limit;update'= {
            cand --requests 'requests'
            cand --tokens 'tokens'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;limit;delete'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;limit;help'= {
            cand create 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out'
            cand list 'List rate limits with what was granted in their current windows'
            cand update 'Change a rate limit''s caps'
            cand delete 'Delete a rate limit'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;limit;help;create'= {
        }
        &'gw;admin;limit;help;list'= {
        }
        &'gw;admin;limit;help;update'= {
        }
        &'gw;admin;limit;help;delete'= {
        }
        &'gw;admin;limit;help;help'= {
        }
        &'gw;admin;price'= {
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Set (create or replace) an org''s price of a model, in USD per million tokens'
            cand list 'List model prices'
            cand delete 'Delete an org''s price of a model'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;price;set'= {
            cand --org 'The org whose sessions charge by this price'
            cand --input 'Input tokens'
            cand --output 'Output tokens'
            cand --cache-read 'Cache reads (default: derived from input as for gw''s table)'
            cand --cache-write-5m 'Cache writes with a 5-minute lifetime'
            cand --cache-write-1h 'Cache writes with a 1-hour lifetime'
            cand --reasoning 'Reasoning tokens, when they differ from output'
            cand --above-tokens 'The long-context threshold: the --*-above prices apply to requests with more input'
            cand --input-above 'Input tokens above --above-tokens'
            cand --output-above 'Output tokens above --above-tokens'
            cand --cache-read-above 'Cache reads above --above-tokens'
            cand --cache-write-5m-above '5-minute cache writes above --above-tokens'
            cand --cache-write-1h-above '1-hour cache writes above --above-tokens'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;price;list'= {
            cand --org 'org'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;price;delete'= {
            cand --org 'The org whose price it is'
            cand --server 'The gw server''s URL'
            cand --ca-cert 'Trust this PEM CA certificate for the server (e.g. tls/ca.pem of `gw server --tls-self-signed`); default: the one `gw login` kept for the same server'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint (as `gw server` prints it at start)'
            cand --json 'Print the server''s JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;admin;price;help'= {
            cand set 'Set (create or replace) an org''s price of a model, in USD per million tokens'
            cand list 'List model prices'
            cand delete 'Delete an org''s price of a model'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;price;help;set'= {
        }
        &'gw;admin;price;help;list'= {
        }
        &'gw;admin;price;help;delete'= {
        }
        &'gw;admin;price;help;help'= {
        }
        &'gw;admin;help'= {
            cand org 'Organisations (each with the time zone its budgets align to)'
            cand team 'Teams of an org'
            cand user 'Developers'
            cand key 'Virtual keys'
            cand budget 'Budgets on an org, team, developer or key'
            cand limit 'Rate limits on an org, team, developer or key: requests and tokens per window'
            cand price 'Model prices for an org (USD per million tokens), for models gw''s table lacks or prices otherwise; the org''s sessions charge by them'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;admin;help;org'= {
            cand create 'Create an org'
            cand list 'List orgs'
            cand update 'Change an org''s time zone'
            cand revoke 'Deactivate every developer of an org and revoke its keys (the org''s history stays)'
        }
        &'gw;admin;help;org;create'= {
        }
        &'gw;admin;help;org;list'= {
        }
        &'gw;admin;help;org;update'= {
        }
        &'gw;admin;help;org;revoke'= {
        }
        &'gw;admin;help;team'= {
            cand create 'Create a team in an org'
            cand list 'List teams'
            cand update 'Rename a team, named org/team (its budgets, keys and history follow)'
            cand revoke 'Revoke every key issued for a team, named org/team (its developers stay)'
        }
        &'gw;admin;help;team;create'= {
        }
        &'gw;admin;help;team;list'= {
        }
        &'gw;admin;help;team;update'= {
        }
        &'gw;admin;help;team;revoke'= {
        }
        &'gw;admin;help;user'= {
            cand create 'Create a developer'
            cand list 'List developers'
            cand update 'Change a developer''s name or team (`--team ""` removes the team)'
            cand revoke 'Deactivate a developer and revoke their keys'
        }
        &'gw;admin;help;user;create'= {
        }
        &'gw;admin;help;user;list'= {
        }
        &'gw;admin;help;user;update'= {
        }
        &'gw;admin;help;user;revoke'= {
        }
        &'gw;admin;help;key'= {
            cand create 'Create a key for a developer; the key is printed once'
            cand list 'List keys'
            cand update 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)'
            cand revoke 'Revoke a key'
        }
        &'gw;admin;help;key;create'= {
        }
        &'gw;admin;help;key;list'= {
        }
        &'gw;admin;help;key;update'= {
        }
        &'gw;admin;help;key;revoke'= {
        }
        &'gw;admin;help;budget'= {
            cand create 'Create a budget'
            cand list 'List budgets with this period''s spend'
            cand update 'Change a budget''s limit, soft threshold or strictness'
            cand revoke 'Delete a budget'
        }
        &'gw;admin;help;budget;create'= {
        }
        &'gw;admin;help;budget;list'= {
        }
        &'gw;admin;help;budget;update'= {
        }
        &'gw;admin;help;budget;revoke'= {
        }
        &'gw;admin;help;limit'= {
            cand create 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out'
            cand list 'List rate limits with what was granted in their current windows'
            cand update 'Change a rate limit''s caps'
            cand delete 'Delete a rate limit'
        }
        &'gw;admin;help;limit;create'= {
        }
        &'gw;admin;help;limit;list'= {
        }
        &'gw;admin;help;limit;update'= {
        }
        &'gw;admin;help;limit;delete'= {
        }
        &'gw;admin;help;price'= {
            cand set 'Set (create or replace) an org''s price of a model, in USD per million tokens'
            cand list 'List model prices'
            cand delete 'Delete an org''s price of a model'
        }
        &'gw;admin;help;price;set'= {
        }
        &'gw;admin;help;price;list'= {
        }
        &'gw;admin;help;price;delete'= {
        }
        &'gw;admin;help;help'= {
        }
        &'gw;login'= {
            cand --key 'Your gw key (default: GW_KEY, else a prompt)'
            cand --ca-cert 'Trust this PEM CA certificate for the server (its own CA, e.g. tls/ca.pem of `gw server --tls-self-signed`); copied beside the credentials and used by every team command'
            cand --fingerprint 'Pin the server certificate''s SHA-256 fingerprint, as `gw server` prints it at start (AB:CD:…); alone it trusts exactly that certificate, with --ca-cert it is checked too'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;logout'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;budget'= {
            cand --json 'Print JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;sync'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;config'= {
            cand --env 'List every environment variable gw reads instead'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;debug'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand seed-ledger 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)'
            cand update-prices 'Regenerate the embedded price table from LiteLLM''s price JSON'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;debug;seed-ledger'= {
            cand --rows 'Rows to add'
            cand --days 'Days to spread them over, ending today'
            cand --seed 'Random seed (same seed, same rows)'
            cand --now 'The end of the period (RFC 3339; default: now)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;debug;update-prices'= {
            cand --from 'LiteLLM''s `model_prices_and_context_window_backup.json`'
            cand --source-version 'The litellm package version the file came from, e.g. 1.77.3'
            cand --out 'Where to write the table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;debug;help'= {
            cand seed-ledger 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)'
            cand update-prices 'Regenerate the embedded price table from LiteLLM''s price JSON'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;debug;help;seed-ledger'= {
        }
        &'gw;debug;help;update-prices'= {
        }
        &'gw;debug;help;help'= {
        }
        &'gw;help'= {
            cand run 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session'
            cand spend 'Show spend from the local ledger: today by default; --week, --month, --since/--until'
            cand sessions 'List recent sessions'
            cand session 'Show one session''s requests'
            cand import 'Import past usage from the agents'' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once'
            cand proxy 'Run the metering proxy in the foreground (for IDE agents and manual use)'
            cand server 'Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token'
            cand admin 'Manage the server''s orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN)'
            cand login 'Log in to a gw server (team mode): checks and stores its URL and your gw key'
            cand logout 'Forget the stored gw server and key'
            cand budget 'Show your budgets: your team''s above your key (team mode), else [budget]''s local caps'
            cand sync 'Send every request the gw server has not acknowledged yet'
            cand config 'Print the effective configuration (secrets redacted)'
            cand completions 'Print a shell completion script'
            cand debug 'Maintenance commands for gw''s developers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;help;run'= {
        }
        &'gw;help;spend'= {
        }
        &'gw;help;sessions'= {
        }
        &'gw;help;session'= {
        }
        &'gw;help;import'= {
        }
        &'gw;help;proxy'= {
        }
        &'gw;help;server'= {
            cand init 'Create the admin token (printed once; stored hashed). Refuses when one exists'
        }
        &'gw;help;server;init'= {
        }
        &'gw;help;admin'= {
            cand org 'Organisations (each with the time zone its budgets align to)'
            cand team 'Teams of an org'
            cand user 'Developers'
            cand key 'Virtual keys'
            cand budget 'Budgets on an org, team, developer or key'
            cand limit 'Rate limits on an org, team, developer or key: requests and tokens per window'
            cand price 'Model prices for an org (USD per million tokens), for models gw''s table lacks or prices otherwise; the org''s sessions charge by them'
        }
        &'gw;help;admin;org'= {
            cand create 'Create an org'
            cand list 'List orgs'
            cand update 'Change an org''s time zone'
            cand revoke 'Deactivate every developer of an org and revoke its keys (the org''s history stays)'
        }
        &'gw;help;admin;org;create'= {
        }
        &'gw;help;admin;org;list'= {
        }
        &'gw;help;admin;org;update'= {
        }
        &'gw;help;admin;org;revoke'= {
        }
        &'gw;help;admin;team'= {
            cand create 'Create a team in an org'
            cand list 'List teams'
            cand update 'Rename a team, named org/team (its budgets, keys and history follow)'
            cand revoke 'Revoke every key issued for a team, named org/team (its developers stay)'
        }
        &'gw;help;admin;team;create'= {
        }
        &'gw;help;admin;team;list'= {
        }
        &'gw;help;admin;team;update'= {
        }
        &'gw;help;admin;team;revoke'= {
        }
        &'gw;help;admin;user'= {
            cand create 'Create a developer'
            cand list 'List developers'
            cand update 'Change a developer''s name or team (`--team ""` removes the team)'
            cand revoke 'Deactivate a developer and revoke their keys'
        }
        &'gw;help;admin;user;create'= {
        }
        &'gw;help;admin;user;list'= {
        }
        &'gw;help;admin;user;update'= {
        }
        &'gw;help;admin;user;revoke'= {
        }
        &'gw;help;admin;key'= {
            cand create 'Create a key for a developer; the key is printed once'
            cand list 'List keys'
            cand update 'Change a key''s name, expiry (`""` removes it) or models (`""` removes the list)'
            cand revoke 'Revoke a key'
        }
        &'gw;help;admin;key;create'= {
        }
        &'gw;help;admin;key;list'= {
        }
        &'gw;help;admin;key;update'= {
        }
        &'gw;help;admin;key;revoke'= {
        }
        &'gw;help;admin;budget'= {
            cand create 'Create a budget'
            cand list 'List budgets with this period''s spend'
            cand update 'Change a budget''s limit, soft threshold or strictness'
            cand revoke 'Delete a budget'
        }
        &'gw;help;admin;budget;create'= {
        }
        &'gw;help;admin;budget;list'= {
        }
        &'gw;help;admin;budget;update'= {
        }
        &'gw;help;admin;budget;revoke'= {
        }
        &'gw;help;admin;limit'= {
            cand create 'Create a rate limit. Sessions take shares of it with their leases; a request over it gets a 429 with retry-after, which agents wait out'
            cand list 'List rate limits with what was granted in their current windows'
            cand update 'Change a rate limit''s caps'
            cand delete 'Delete a rate limit'
        }
        &'gw;help;admin;limit;create'= {
        }
        &'gw;help;admin;limit;list'= {
        }
        &'gw;help;admin;limit;update'= {
        }
        &'gw;help;admin;limit;delete'= {
        }
        &'gw;help;admin;price'= {
            cand set 'Set (create or replace) an org''s price of a model, in USD per million tokens'
            cand list 'List model prices'
            cand delete 'Delete an org''s price of a model'
        }
        &'gw;help;admin;price;set'= {
        }
        &'gw;help;admin;price;list'= {
        }
        &'gw;help;admin;price;delete'= {
        }
        &'gw;help;login'= {
        }
        &'gw;help;logout'= {
        }
        &'gw;help;budget'= {
        }
        &'gw;help;sync'= {
        }
        &'gw;help;config'= {
        }
        &'gw;help;completions'= {
        }
        &'gw;help;debug'= {
            cand seed-ledger 'Fill the ledger with realistic synthetic requests (for benchmarks and demos)'
            cand update-prices 'Regenerate the embedded price table from LiteLLM''s price JSON'
        }
        &'gw;help;debug;seed-ledger'= {
        }
        &'gw;help;debug;update-prices'= {
        }
        &'gw;help;help'= {
        }
    ]
    $completions[$command]
}
