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
