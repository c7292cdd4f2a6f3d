
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
            cand update-prices 'Regenerate the embedded price table from LiteLLM''s price JSON'
            cand help 'Print this message or the help of the given subcommand(s)'
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
            cand update-prices 'Regenerate the embedded price table from LiteLLM''s price JSON'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;debug;help;update-prices'= {
        }
        &'gw;debug;help;help'= {
        }
        &'gw;help'= {
            cand run 'Run an agent (claude, codex, gemini, opencode) or any command through a metered session'
            cand proxy 'Run the metering proxy in the foreground (for IDE agents and manual use)'
            cand config 'Print the effective configuration (secrets redacted)'
            cand completions 'Print a shell completion script'
            cand debug 'Maintenance commands for gw''s developers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gw;help;run'= {
        }
        &'gw;help;proxy'= {
        }
        &'gw;help;config'= {
        }
        &'gw;help;completions'= {
        }
        &'gw;help;debug'= {
            cand update-prices 'Regenerate the embedded price table from LiteLLM''s price JSON'
        }
        &'gw;help;debug;update-prices'= {
        }
        &'gw;help;help'= {
        }
    ]
    $completions[$command]
}
