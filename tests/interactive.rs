//! The real agents' own full-screen sessions through `gw run`, in a pseudo-terminal (tmux),
//! against the in-process mock upstream: twice with gw holding the provider key (in the same
//! HOME, as a developer launches them day after day) and once with the agent's own login. Each
//! fails on a dialog or warning gw causes, a secret on screen, a request recorded for a probe;
//! each completes two turns and checks the summary line and the exit code.
//!
//! Runs when `GW_TEST_AGENTS_BIN` names the agents' directory and tmux is installed (`.ci/run`
//! sees to both); otherwise each test says so and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Mock;
use gw::ledger::{Ledger, Row};

const GW: &str = env!("CARGO_BIN_EXE_gw");

fn agents_bin() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("GW_TEST_AGENTS_BIN")?);
    dir.is_dir().then_some(dir)
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the interactive tests can run here; says why not when they cannot.
fn prerequisites(agent: &str) -> Option<PathBuf> {
    let Some(bin) = agents_bin() else {
        eprintln!(
            "GW_TEST_AGENTS_BIN not set: the interactive {agent} test did not run (see .ci/run)"
        );
        return None;
    };
    if !tmux_available() {
        eprintln!("tmux not installed: the interactive {agent} test did not run (see .ci/run)");
        return None;
    }
    Some(bin)
}

/// A terminal of 160×50 running one command in a private tmux server.
struct Screen {
    socket: PathBuf,
    /// Every capture taken, to check nothing secret was ever shown.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Screen {
    fn start(dir: &Path, env: &[(String, String)], cwd: &Path, command: &[&str]) -> Screen {
        let socket = dir.join("tmux.sock");
        let mut tmux = Command::new("tmux");
        tmux.env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("TERM", "xterm-256color")
            .arg("-S")
            .arg(&socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "50",
                "-c",
            ])
            .arg(cwd)
            .arg("--")
            .args(command);
        let out = tmux.output().expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let screen = Screen {
            socket,
            seen: Default::default(),
        };
        screen.tmux(&["set-option", "-g", "history-limit", "5000"]);
        screen
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the terminal shows, with its scrollback.
    fn text(&self) -> String {
        let text = self.tmux(&["capture-pane", "-p", "-J", "-S", "-"]);
        self.seen.borrow_mut().push(text.clone());
        text
    }

    /// Waits until the screen shows `needle`; panics with the screen after `secs`.
    fn wait_for(&self, needle: &str, secs: u64) -> String {
        self.wait_until(secs, needle, |text| text.contains(needle))
    }

    fn wait_until(&self, secs: u64, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.poll(secs, done)
            .unwrap_or_else(|text| panic!("waited {secs}s for {what:?}; the screen:\n{text}"))
    }

    /// The screen once `done` holds, or the last screen after `secs`.
    fn poll(&self, secs: u64, done: impl Fn(&str) -> bool) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.text();
            if done(&text) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                return Err(text);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Types `text` as a user would, then Enter (apart: TUIs take a pasted Enter as a newline).
    fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
        std::thread::sleep(Duration::from_millis(700));
        self.tmux(&["send-keys", "Enter"]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        self.tmux(&args);
    }

    fn everything_shown(&self) -> String {
        self.seen.borrow().join("\n")
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// One developer's machine: a HOME, gw's config and data, a project directory.
struct Desk {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Desk {
    fn new(bin: PathBuf) -> Desk {
        // Not under /tmp: Gemini CLI refuses a settings file below a world-writable directory.
        let dir = common::secure_tempdir();
        for sub in ["home", "work", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("config.toml"), "").unwrap();
        Desk { dir, bin }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn write_home(&self, path: &str, text: &str) {
        let path = self.home().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn env(&self, mock: &Mock, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            (
                "PATH".into(),
                format!(
                    "{}:{}",
                    self.bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            ),
            ("HOME".into(), self.home().display().to_string()),
            ("USER".into(), "tester".into()),
            ("LANG".into(), "C.UTF-8".into()),
            (
                "GW_CONFIG".into(),
                self.dir.path().join("config.toml").display().to_string(),
            ),
            (
                "GW_DATA_DIR".into(),
                self.dir.path().join("data").display().to_string(),
            ),
        ];
        for var in [
            "GW_ANTHROPIC_UPSTREAM",
            "GW_OPENAI_UPSTREAM",
            "GW_GEMINI_UPSTREAM",
            "GW_CHATGPT_UPSTREAM",
            "GW_CODEASSIST_UPSTREAM",
        ] {
            env.push((var.into(), mock.url()));
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// Starts `gw run <agent> <args>` in a terminal; the pane stays after it exits, showing
    /// `[exit N]`.
    fn launch(&self, mock: &Mock, agent: &str, args: &[&str], extra: &[(&str, &str)]) -> Screen {
        let mut script = format!("'{GW}' run {agent}");
        for a in args {
            script.push_str(&format!(" '{a}'"));
        }
        script.push_str("; echo \"[exit $?]\"; sleep 3600");
        let screen_dir = tempfile::tempdir().unwrap().keep();
        Screen::start(
            &screen_dir,
            &self.env(mock, extra),
            &self.work(),
            &["/bin/sh", "-c", &script],
        )
    }

    fn rows(&self) -> Vec<Row> {
        let path = self.dir.path().join("data/ledger.db");
        let mut rows = Ledger::open(&path).unwrap().recent(10_000).unwrap();
        rows.reverse();
        rows
    }
}

/// What every session must show and must not: the summary line after `[exit 0]`-worthy runs,
/// no gw warning or secret ever on screen.
fn check_screen(screen: &Screen, agent: &str, forbidden: &[&str]) -> String {
    let done = screen.wait_for("[exit ", 60);
    let all = screen.everything_shown();
    assert!(
        done.contains("[exit 0]"),
        "{agent} exited non-zero:\n{done}"
    );
    let summary: Vec<&str> = done
        .lines()
        .filter(|l| l.starts_with("gw: ") && l.contains(" request"))
        .collect();
    assert_eq!(summary.len(), 1, "{agent}: one summary line:\n{done}");
    assert!(summary[0].contains("· session "), "{}", summary[0]);
    for line in all.lines() {
        let trimmed = line.trim();
        assert!(
            !trimmed.contains("gws-"),
            "{agent}: the session key on screen: {line}"
        );
        let gw_said = trimmed.starts_with("gw: ") || trimmed.contains(" gw: ");
        assert!(
            !gw_said || trimmed == summary[0].trim(),
            "{agent}: gw printed more than its summary: {line}"
        );
        assert!(!trimmed.contains(" WARN "), "{agent}: a warning: {line}");
    }
    for text in forbidden {
        assert!(
            !all.contains(text),
            "{agent}: the screen showed {text:?}:\n{all}"
        );
    }
    summary[0].to_string()
}

/// Every request the mock answered is one row, none is a probe, and the summary counts them.
fn check_ledger(rows: &[Row], mock: &Mock, summary: &str, agent: &str) {
    let seen = mock.seen();
    assert_eq!(
        rows.len(),
        seen.len(),
        "{agent}: one row per request that reached the upstream: {seen:#?}"
    );
    assert!(
        rows.iter()
            .all(|r| r.endpoint != "/" && !r.endpoint.is_empty()),
        "{agent}: a probe was recorded: {rows:#?}"
    );
    assert!(
        seen.iter().all(|s| s.method != "HEAD"),
        "{agent}: a probe reached the upstream"
    );
    let count = format!("gw: {} request", rows.len());
    assert!(
        summary.starts_with(&count),
        "{summary} (rows: {})",
        rows.len()
    );
}

/// How one agent's full-screen UI is driven.
struct Ui {
    agent: &'static str,
    /// Shown once the UI takes a prompt.
    ready: &'static str,
    /// Keys that end the session from an idle prompt.
    quit: &'static [&'static str],
    /// Text that means gw caused a dialog or a warning.
    forbidden: &'static [&'static str],
}

/// Lines that answer a prompt: the mock always says `pong`; the prompts say `say pong`.
fn answers(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.trim_end().ends_with("pong") && !l.contains("say "))
        .count()
}

/// One session: launch, two turns, quit; returns the summary line and the session's rows.
fn session(ui: &Ui, desk: &Desk, mock: &Mock, extra: &[(&str, &str)]) -> (String, Vec<Row>) {
    let screen = desk.launch(mock, ui.agent, &[], extra);
    let forbidden = |text: &str| ui.forbidden.iter().find(|f| text.contains(**f)).copied();
    let first = screen.wait_until(90, ui.ready, |text| {
        text.contains(ui.ready) || forbidden(text).is_some()
    });
    if let Some(text) = forbidden(&first) {
        panic!(
            "{}: the screen showed {text:?} at launch:\n{first}",
            ui.agent
        );
    }
    for (turn, prompt) in ["say pong", "say pong again"].into_iter().enumerate() {
        screen.type_line(prompt);
        screen.wait_until(60, "an answer", |text| answers(text) > turn);
        // Let the UI settle (titles, token counts) before the next key.
        std::thread::sleep(Duration::from_millis(1500));
    }
    if screen.text().contains("f2 to view") {
        // Codex lists its startup warnings behind F2: none of them may be gw's.
        screen.keys(&["F2"]);
        let first = screen.wait_for("Warnings · 1 of ", 10);
        let count: usize = first
            .split("Warnings · 1 of ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("codex numbers its warnings");
        let mut panels = vec![first];
        for k in 2..=count {
            screen.keys(&["Right"]);
            panels.push(screen.wait_for(&format!("Warnings · {k} of {count}"), 10));
        }
        for panel in &panels {
            for text in ui.forbidden {
                assert!(
                    !panel.contains(text),
                    "{}: warning {text:?}:\n{panel}",
                    ui.agent
                );
            }
        }
        screen.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(500));
    }
    // A key may land while the UI is still busy (a title, a redraw): try again, as a user would.
    for _ in 0..3 {
        for key in ui.quit {
            screen.keys(&[key]);
            std::thread::sleep(Duration::from_millis(300));
        }
        if screen.poll(10, |text| text.contains("[exit ")).is_ok() {
            break;
        }
    }
    let summary = check_screen(&screen, ui.agent, ui.forbidden);
    let id = summary
        .rsplit("session ")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let rows: Vec<Row> = desk
        .rows()
        .into_iter()
        .filter(|r| r.attribution.session_id == id)
        .collect();
    check_ledger(&rows, mock, &summary, ui.agent);
    // Nor anything gw had to warn about in its log (a refused probe once did, every launch).
    let log = std::fs::read_to_string(desk.dir.path().join("data/gw.log")).unwrap_or_default();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert!(
        warnings.is_empty(),
        "{}: gw's log warned: {warnings:#?}",
        ui.agent
    );
    assert!(
        rows.iter().filter(|r| !r.usage.is_zero()).count() >= 2,
        "{}: two metered turns: {rows:#?}",
        ui.agent
    );
    (summary, rows)
}

/// Twice with gw holding the key in one HOME, then once with the agent's own login (set up by
/// `own_login`, with `own_env`).
async fn three_sessions(
    ui: &'static Ui,
    desk: Desk,
    held_env: &'static [(&'static str, &'static str)],
    own_login: impl FnOnce(&Desk) + Send + 'static,
    own_env: &'static [(&'static str, &'static str)],
) -> Vec<(String, Vec<Row>)> {
    let desk = std::sync::Arc::new(desk);
    let mut own_login = Some(own_login);
    let mut results = Vec::new();
    for round in 0..3 {
        let env = if round < 2 {
            held_env
        } else {
            (own_login.take().unwrap())(&desk);
            own_env
        };
        let mock = std::sync::Arc::new(Mock::start().await);
        let (d, m) = (desk.clone(), mock.clone());
        let result = tokio::task::spawn_blocking(move || session(ui, &d, &m, env))
            .await
            .unwrap();
        results.push(result);
    }
    results
}

static CODEX: Ui = Ui {
    agent: "codex",
    ready: "Ask Codex to do anything",
    quit: &["C-c"],
    forbidden: &["background server", "gws-", "Sign in with ChatGPT"],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_tui_sessions_through_gw() {
    let Some(bin) = prerequisites("codex") else {
        return;
    };
    let desk = Desk::new(bin);
    // Codex's own first-launch question, not gw's: the folder is trusted as a user would.
    desk.write_home(
        ".codex/config.toml",
        &format!(
            "[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
            desk.work().display()
        ),
    );
    let results = three_sessions(
        &CODEX,
        desk,
        &[("OPENAI_API_KEY", "sk-oai-test")],
        // Signed in with an API key of its own (`codex login --with-api-key`).
        |desk| {
            desk.write_home(
                ".codex/auth.json",
                r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-own-key"}"#,
            )
        },
        &[],
    )
    .await;
    for (summary, rows) in &results {
        assert!(summary.contains("gpt-5"), "{summary}");
        assert!(rows.iter().all(|r| r.provider == "openai"));
    }
}

static OPENCODE: Ui = Ui {
    agent: "opencode",
    ready: "Ask anything",
    quit: &["C-c"],
    forbidden: &["gws-"],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencode_tui_sessions_through_gw() {
    let Some(bin) = prerequisites("opencode") else {
        return;
    };
    let desk = Desk::new(bin);
    // The user's own choice of model (a fresh opencode defaults to its own hosted models,
    // which do not go through gw).
    desk.write_home(
        ".config/opencode/opencode.json",
        r#"{"model":"anthropic/claude-sonnet-4-5"}"#,
    );
    let results = three_sessions(
        &OPENCODE,
        desk,
        &[("ANTHROPIC_API_KEY", "sk-ant-test")],
        // Signed in with a key of its own (`opencode auth login`).
        |desk| {
            desk.write_home(
                ".local/share/opencode/auth.json",
                r#"{"anthropic":{"type":"api","key":"sk-ant-own"}}"#,
            )
        },
        &[],
    )
    .await;
    for (summary, rows) in &results {
        assert!(summary.contains("claude-sonnet-4-5"), "{summary}");
        assert!(rows.iter().all(|r| r.provider == "anthropic"));
    }
}

static CLAUDE: Ui = Ui {
    agent: "claude",
    ready: "? for shortcuts",
    quit: &["C-c", "C-c"],
    forbidden: &[
        "Detected a custom API key",
        "Do you want to use this API key",
        "Not logged in",
        "Auth conflict",
        "gws-",
    ],
};

/// Claude Code's own first-launch screens (theme, folder trust), answered as a user would.
fn claude_onboarded(desk: &Desk) {
    desk.write_home(
        ".claude.json",
        &serde_json::json!({
            "hasCompletedOnboarding": true,
            "projects": { desk.work().display().to_string(): { "hasTrustDialogAccepted": true } },
        })
        .to_string(),
    );
    desk.write_home(".claude/settings.json", r#"{"theme":"dark"}"#);
}

static GEMINI: Ui = Ui {
    agent: "gemini",
    ready: "Type your message",
    quit: &["C-c", "C-c"],
    forbidden: &["gws-", "Invalid auth method", "Warning:"],
};

/// Gemini CLI's own first-launch question (folder trust), answered as a user would.
fn gemini_onboarded(desk: &Desk) {
    desk.write_home(
        ".gemini/trustedFolders.json",
        &serde_json::json!({ desk.work().display().to_string(): "TRUST_FOLDER" }).to_string(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_tui_sessions_through_gw() {
    let Some(bin) = prerequisites("claude") else {
        return;
    };
    let desk = Desk::new(bin);
    claude_onboarded(&desk);
    let results = three_sessions(
        &CLAUDE,
        desk,
        &[("ANTHROPIC_API_KEY", "sk-ant-test")],
        // Signed in with claude.ai (a Max plan): the OAuth credentials `claude /login` saves.
        |desk| {
            let expires = (std::time::SystemTime::now() + Duration::from_secs(365 * 86_400))
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis();
            desk.write_home(
                ".claude/.credentials.json",
                &serde_json::json!({"claudeAiOauth": {
                    "accessToken": "sk-ant-oat01-test-access",
                    "refreshToken": "sk-ant-ort01-test-refresh",
                    "expiresAt": expires,
                    "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
                    "subscriptionType": "max",
                }})
                .to_string(),
            );
        },
        &[],
    )
    .await;
    for (i, (summary, rows)) in results.iter().enumerate() {
        assert!(summary.contains("claude-sonnet-4-5"), "{summary}");
        let billing = if i < 2 {
            gw::meter::Billing::Api
        } else {
            gw::meter::Billing::Subscription
        };
        assert!(
            rows.iter()
                .all(|r| r.provider == "anthropic" && r.billing == billing),
            "session {i}: {rows:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_cli_tui_sessions_through_gw() {
    let Some(bin) = prerequisites("gemini") else {
        return;
    };
    let desk = Desk::new(bin);
    gemini_onboarded(&desk);
    let results = three_sessions(
        &GEMINI,
        desk,
        &[("GEMINI_API_KEY", "gm-test"), ("COLORTERM", "truecolor")],
        // Signed in with Google. Offline, the OAuth file `/auth` saves cannot be used (Gemini
        // CLI checks it with Google's tokeninfo first): the Code Assist access token it also
        // takes from the environment stands in for it, on the same route.
        |desk| {
            desk.write_home(
                ".gemini/settings.json",
                r#"{"security":{"auth":{"selectedType":"oauth-personal"}}}"#,
            );
        },
        &[
            ("COLORTERM", "truecolor"),
            ("GOOGLE_GENAI_USE_GCA", "true"),
            ("GOOGLE_CLOUD_ACCESS_TOKEN", "ya29.test-access"),
        ],
    )
    .await;
    for (i, (summary, rows)) in results.iter().enumerate() {
        assert!(summary.contains("gemini-2.5-pro"), "{summary}");
        let (provider, billing) = if i < 2 {
            ("gemini", gw::meter::Billing::Api)
        } else {
            ("codeassist", gw::meter::Billing::Subscription)
        };
        let metered: Vec<&Row> = rows.iter().filter(|r| !r.usage.is_zero()).collect();
        assert!(
            metered
                .iter()
                .all(|r| r.provider == provider && r.billing == billing),
            "session {i}: {rows:#?}"
        );
    }
}
