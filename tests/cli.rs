//! The `gw` binary as a user runs it: config errors, completions, and `gw proxy` end to end.

mod common;

use std::process::{Command, Stdio};

use common::{send, Mock};
use gw::ledger::Ledger;

const GW: &str = env!("CARGO_BIN_EXE_gw");

fn gw(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(GW);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GW_CONFIG", dir.join("config.toml"))
        .env("GW_DATA_DIR", dir.join("data"))
        .current_dir(dir);
    cmd
}

#[test]
fn committed_completions_are_current() {
    for (shell, file) in [
        ("bash", "gw.bash"),
        ("zsh", "_gw"),
        ("fish", "gw.fish"),
        ("powershell", "_gw.ps1"),
        ("elvish", "gw.elv"),
    ] {
        let output = Command::new(GW)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success());
        let path = format!("{}/completions/{file}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == output.stdout,
            "completions/{file} is stale: run `cargo run -q -- completions {shell} > completions/{file}`"
        );
    }
}

#[test]
fn an_invalid_config_names_the_file_the_key_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[upstream]\nanthropic = 42\n",
    )
    .unwrap();
    let output = gw(dir.path()).arg("config").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("config.toml"), "{stderr}");
    assert!(stderr.contains("anthropic"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(GW).arg("no-such-command").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn config_prints_effective_settings_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let output = gw(dir.path())
        .arg("config")
        .env(
            "GW_OPENAI_UPSTREAM",
            "https://u:hunter2@corp.example/openai",
        )
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("corp.example/openai"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(stdout.contains("ledger.db"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gw_proxy_prints_exports_meters_a_request_and_stops_on_sigterm() {
    proxy_stops_cleanly_on("TERM", 1).await;
}

/// A closed terminal sends SIGHUP: the proxy must stop as on SIGTERM, every row recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gw_proxy_records_every_request_when_its_terminal_hangs_up() {
    proxy_stops_cleanly_on("HUP", 50).await;
}

/// Runs `gw proxy`, sends `requests` requests through it, sends it `signal` right after the last
/// answer and checks it exits 0 with every request in the ledger.
async fn proxy_stops_cleanly_on(signal: &str, requests: usize) {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = gw(dir.path())
        .args(["proxy", "--task", "demo"])
        .env("GW_ANTHROPIC_UPSTREAM", mock.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _kill = common::KillOnPanic(child.id());
    let stdout = child.stdout.take().unwrap();
    let exports = common::proxy_exports(stdout).await;
    let base = exports
        .get("ANTHROPIC_BASE_URL")
        .expect("gw proxy prints ANTHROPIC_BASE_URL");
    for _ in 0..requests {
        let (status, _, _) = send(
            "POST",
            &format!("{base}/v1/messages"),
            &[],
            r#"{"model":"claude-sonnet-4-5"}"#,
        )
        .await;
        assert_eq!(status, 200);
    }

    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "gw proxy exits 0 on SIG{signal}: {exit:?}");

    let rows = Ledger::open(&dir.path().join("data/ledger.db"))
        .unwrap()
        .recent(requests + 10)
        .unwrap();
    assert_eq!(rows.len(), requests, "every request recorded");
    assert_eq!(rows[0].usage.input, 1200);
    assert_eq!(rows[0].attribution.task.as_deref(), Some("demo"));
    assert_eq!(rows[0].attribution.agent.as_deref(), Some("proxy"));
}

/// Every command a message or doc comment tells the user to run (`gw …` in backticks, after a
/// colon, or on an example line) parses with the real CLI: no hint names a subcommand or flag
/// that does not exist (`gw admin keys create` for `gw admin key create`).
#[test]
fn every_hint_names_a_real_command() {
    use clap::error::ErrorKind;
    use clap::Parser;

    let subcommands: Vec<String> = <gw::cli::Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut hints = Vec::new();
    let mut files = Vec::new();
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    walk(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let placeholder = |s: &str| {
        let mut out = String::new();
        let mut depth = 0;
        for c in s.chars() {
            match c {
                '<' | '{' => {
                    if depth == 0 {
                        out.push('x');
                    }
                    depth += 1;
                }
                '>' | '}' if depth > 0 => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    };
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut found: Vec<&str> = Vec::new();
            // `gw …` in backticks.
            for (i, part) in line.split('`').enumerate() {
                let word = part.get(3..).and_then(|p| p.split_whitespace().next());
                if i % 2 == 1
                    && part.starts_with("gw ")
                    && word.is_some_and(|w| subcommands.iter().any(|s| s == w))
                {
                    found.push(part);
                }
            }
            // "…: gw login <url> --key gwk_..." and example lines ("\n  gw login …").
            for lead in [": gw ", "\\n  gw "] {
                let mut from = 0;
                while let Some(i) = line[from..].find(lead) {
                    let start = from + i + lead.len() - "gw ".len();
                    let after = &line[start..];
                    let end = [after.find(['"', '`', ')', ',']), after.find("\\n")]
                        .into_iter()
                        .flatten()
                        .min()
                        .unwrap_or(after.len());
                    // Prose ("gw holds the key") is not a command.
                    let word = after[3..].split_whitespace().next().unwrap_or("");
                    if subcommands.iter().any(|s| s == word) {
                        found.push(&after[..end]);
                    }
                    from = start + 3;
                }
            }
            for hint in found {
                hints.push((format!("{}:{}", file.display(), n + 1), hint.to_string()));
            }
        }
    }
    assert!(
        hints.len() > 50,
        "the scan finds the hints: {}",
        hints.len()
    );
    let mut wrong = Vec::new();
    for (place, hint) in &hints {
        let command = placeholder(hint.split(" | ").next().unwrap());
        // `org|team|user create|list`: every combination it claims.
        let mut variants: Vec<Vec<String>> = vec![Vec::new()];
        for word in command.split_whitespace() {
            let choices: Vec<&str> = if word.starts_with('-') || !word.contains('|') {
                vec![word]
            } else {
                word.split('|').collect()
            };
            variants = variants
                .iter()
                .flat_map(|v| {
                    choices.iter().map(move |c| {
                        let mut v = v.clone();
                        v.push(c.trim_end_matches(['.', ',', ';']).to_string());
                        v
                    })
                })
                .collect();
        }
        for words in variants {
            let words: Vec<String> = words
                .into_iter()
                .filter(|w| w != "..." && w != "…")
                .collect();
            if let Err(e) = gw::cli::Cli::try_parse_from(&words) {
                if matches!(
                    e.kind(),
                    ErrorKind::UnknownArgument
                        | ErrorKind::InvalidSubcommand
                        | ErrorKind::ArgumentConflict
                ) {
                    wrong.push(format!("{place}: `{}`: {}", words.join(" "), e.kind()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "hints naming no real command:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_hint_check_catches_a_wrong_subcommand() {
    use clap::Parser;
    let e = gw::cli::Cli::try_parse_from(["gw", "admin", "keys", "create"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidSubcommand);
}
