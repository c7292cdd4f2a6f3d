
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
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run the metering proxy in the foreground (for IDE agents and manual use)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the effective configuration (secrets redacted)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Maintenance commands for gw''s developers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gw;run' {
            [CompletionResult]::new('--task', '--task', [CompletionResultType]::ParameterName, 'Task label recorded on every request')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Project recorded on every request (default: the git repository)')
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
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Group by one or more of day, week, month, agent, model, provider, project, branch, session, task, developer, key (comma-separated: --by day,model). Default: model for a single day, day otherwise')
            [CompletionResult]::new('--agent', '--agent', [CompletionResultType]::ParameterName, 'Only these agents (comma-separated; `*` globs: --agent ''claude*'')')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only these models (comma-separated; `*` globs: --model ''claude-sonnet-*'')')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Only these projects (comma-separated; `*` globs)')
            [CompletionResult]::new('--branch', '--branch', [CompletionResultType]::ParameterName, 'Only these branches (comma-separated; `*` globs)')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the time is this (RFC 3339), for tests and reproducible reports')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Today (the default)')
            [CompletionResult]::new('--yesterday', '--yesterday', [CompletionResultType]::ParameterName, 'Yesterday')
            [CompletionResult]::new('--week', '--week', [CompletionResultType]::ParameterName, 'This week, Monday to Sunday')
            [CompletionResult]::new('--month', '--month', [CompletionResultType]::ParameterName, 'This calendar month')
            [CompletionResult]::new('--breakdown', '--breakdown', [CompletionResultType]::ParameterName, 'Add per-model sub-rows under each row')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (the shape is documented in the README and stable)')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'Print CSV with a header line')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Sum the raw rows instead of the rollup (to check or benchmark the rollup)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gw;sessions' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many sessions to list')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many sessions to list')
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'Time zone for start times (default: the system''s)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run the metering proxy in the foreground (for IDE agents and manual use)')
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
        'gw;help;proxy' {
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
