
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
            cand proxy 'Run the metering proxy in the foreground (for IDE agents and manual use)'
            cand config 'Print the effective configuration (secrets redacted)'
            cand completions 'Print a shell completion script'
            cand debug 'Maintenance commands for gw''s developers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;run'= {
            cand --task 'Task label recorded on every request'
            cand --project 'Project recorded on every request (default: the git repository)'
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
            cand --by 'Group by one or more of day, week, month, agent, model, provider, project, branch, session, task, developer, key (comma-separated: --by day,model). Default: model for a single day, day otherwise'
            cand --agent 'Only these agents (comma-separated; `*` globs: --agent ''claude*'')'
            cand --model 'Only these models (comma-separated; `*` globs: --model ''claude-sonnet-*'')'
            cand --project 'Only these projects (comma-separated; `*` globs)'
            cand --branch 'Only these branches (comma-separated; `*` globs)'
            cand --now 'Pretend the time is this (RFC 3339), for tests and reproducible reports'
            cand --today 'Today (the default)'
            cand --yesterday 'Yesterday'
            cand --week 'This week, Monday to Sunday'
            cand --month 'This calendar month'
            cand --breakdown 'Add per-model sub-rows under each row'
            cand --json 'Print JSON (the shape is documented in the README and stable)'
            cand --csv 'Print CSV with a header line'
            cand --raw 'Sum the raw rows instead of the rollup (to check or benchmark the rollup)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gw;sessions'= {
            cand -n 'How many sessions to list'
            cand --limit 'How many sessions to list'
            cand --tz 'Time zone for start times (default: the system''s)'
            cand --json 'Print JSON'
            cand -h 'Print help'
            cand --help 'Print help'
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
        &'gw;proxy'= {
            cand --listen 'Address to listen on (default: [proxy] listen, else a free port on 127.0.0.1)'
            cand --task 'Task label recorded on every request'
            cand --project 'Project recorded on every request (default: the git repository)'
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
            cand proxy 'Run the metering proxy in the foreground (for IDE agents and manual use)'
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
        &'gw;help;proxy'= {
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
