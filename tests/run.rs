//! `gw run` with a fake agent (tests/fake_agent.py): wiring, attribution, auth, exit codes and
//! signals, against the in-process mock upstream.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Mock;
use gw::ledger::{Ledger, Row};

const GW: &str = env!("CARGO_BIN_EXE_gw");
const FAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake_agent.py");
/// Sends requests until one is refused (see the file).
const BUDGET_AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/budget_agent.py");
const KEYS: [(&str, &str); 3] = [
    ("ANTHROPIC_API_KEY", "sk-ant-real-1"),
    ("OPENAI_API_KEY", "sk-oai-real-2"),
    ("GEMINI_API_KEY", "gm-real-3"),
];

struct Env {
    dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Env {
    /// A home with a git repository to run in (branch `feat/x`, remote github.com/acme/app).
    fn new() -> Env {
        Env::in_dir(tempfile::tempdir().unwrap())
    }

    fn in_dir(dir: tempfile::TempDir) -> Env {
        let repo = dir.path().join("app");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feat/x\n").unwrap();
        std::fs::write(
            repo.join(".git/config"),
            "[remote \"origin\"]\n\turl = git@github.com:acme/app.git\n",
        )
        .unwrap();
        Env { dir, repo }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("fake-out.json")
    }

    fn gw(&self, mock: &Mock, keys: bool) -> Command {
        let mut cmd = Command::new(GW);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "tester")
            .env("GW_CONFIG", self.dir.path().join("config.toml"))
            .env("GW_DATA_DIR", self.dir.path().join("data"))
            .env("GW_ANTHROPIC_UPSTREAM", mock.url())
            .env("GW_OPENAI_UPSTREAM", mock.url())
            .env("GW_GEMINI_UPSTREAM", mock.url())
            .env("FAKE_OUT", self.out())
            .current_dir(&self.repo);
        if keys {
            cmd.envs(KEYS);
        }
        cmd
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Ledger::open(&self.dir.path().join("data/ledger.db"))
            .unwrap()
            .recent(100)
            .unwrap();
        rows.reverse();
        rows
    }

    fn report(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.out()).unwrap()).unwrap()
    }

    fn wait_for_report(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.out().exists() {
            assert!(Instant::now() < deadline, "the fake agent never reported");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn run_to_end(cmd: &mut Command) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_keys_are_swapped_in_upstream_and_never_reach_the_agent() {
    let mock = Mock::start().await;
    let env = Env::new();
    let output = run_to_end(
        env.gw(&mock, true)
            .args(["run", "--task", "T-7", "--", "python3", FAKE])
            .env("FAKE_EXIT", "7"),
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(7),
        "gw exits with the agent's code; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let report = env.report();
    let dump = serde_json::to_string(&report["env"]).unwrap()
        + &serde_json::to_string(&report["argv"]).unwrap();
    for (_, key) in KEYS {
        assert!(!dump.contains(key), "a provider key reached the agent");
    }
    for provider in ["anthropic", "openai", "gemini"] {
        assert_eq!(
            report["statuses"][provider][0], 200,
            "{provider}: {}",
            report["statuses"][provider]
        );
    }
    assert_eq!(report["statuses"]["no_key"][0], 401);
    let refusal: serde_json::Value =
        serde_json::from_str(report["statuses"]["no_key"][1].as_str().unwrap()).unwrap();
    assert_eq!(refusal["type"], "error", "401 in Anthropic's error shape");

    let seen = mock.seen();
    assert_eq!(
        seen.len(),
        3,
        "the refused request never reached the upstream"
    );
    let header = |i: usize, name: &str| {
        seen[i]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(header(0, "x-api-key").as_deref(), Some("sk-ant-real-1"));
    assert_eq!(
        header(1, "authorization").as_deref(),
        Some("Bearer sk-oai-real-2")
    );
    assert_eq!(header(2, "x-goog-api-key").as_deref(), Some("gm-real-3"));

    let rows = env.rows();
    assert_eq!(rows.len(), 3);
    let session = report["env"]["GW_SESSION_ID"].as_str().unwrap();
    for row in &rows {
        let a = &row.attribution;
        assert_eq!(a.session_id, session);
        assert_eq!(a.agent.as_deref(), Some("python3"));
        assert_eq!(a.developer.as_deref(), Some("tester"));
        assert_eq!(a.project.as_deref(), Some("github.com/acme/app"));
        assert_eq!(a.branch.as_deref(), Some("feat/x"));
        assert_eq!(a.task.as_deref(), Some("T-7"));
        assert_eq!(a.cwd.as_deref(), Some(env.repo.to_str().unwrap()));
        assert!(a.host.is_some());
        assert_eq!(row.agent_session_id.as_deref(), Some("agent-own-session"));
        assert!(row.cost_nanos.unwrap() > 0);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("gw: 3 requests") && stderr.contains(session),
        "one summary line: {stderr}"
    );
    assert!(
        !env.dir.path().join("data/run").join(session).exists(),
        "session files removed at exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_held_keys_the_agents_own_auth_passes_and_the_path_carries_the_session() {
    let mock = Mock::start().await;
    let env = Env::new();
    let output = run_to_end(
        env.gw(&mock, false)
            .args(["run", "--quiet", "--", "python3", FAKE])
            .env("ANTHROPIC_AUTH_TOKEN", "oauth-own"),
    )
    .await;
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "--quiet prints nothing: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = env.report();
    let base = report["env"]["ANTHROPIC_BASE_URL"].as_str().unwrap();
    let key = report["env"]["GW_SESSION_KEY"].as_str().unwrap();
    assert!(base.ends_with(&format!("/{key}/anthropic")), "{base}");
    assert_eq!(
        report["env"]["ANTHROPIC_AUTH_TOKEN"], "oauth-own",
        "the agent's own login is kept"
    );
    assert_eq!(report["statuses"]["anthropic"][0], 200);
    assert_eq!(report["statuses"]["no_key"][0], 401);
    let seen = mock.seen();
    assert_eq!(
        seen[0].path_and_query, "/v1/messages?beta=true",
        "the session segment is not forwarded"
    );
    assert_eq!(env.rows().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_agent_gets_its_profile_version_and_mcp_config() {
    let mock = Mock::start().await;
    let env = Env::new();
    // A fake `claude` installed the npm way: bin/claude -> node_modules/.../cli.js
    let pkg = env
        .dir
        .path()
        .join("node_modules/@anthropic-ai/claude-code");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name":"@anthropic-ai/claude-code","version":"9.8.7"}"#,
    )
    .unwrap();
    std::fs::write(
        pkg.join("cli.js"),
        format!("#!/bin/sh\nexec python3 {FAKE} \"$@\"\n"),
    )
    .unwrap();
    make_executable(&pkg.join("cli.js"));
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(pkg.join("cli.js"), bin.join("claude")).unwrap();
    std::fs::write(
        env.dir.path().join("config.toml"),
        "[mcp.servers.hello]\ncommand = \"hello-mcp\"\nargs = [\"--stdio\"]\n",
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = run_to_end(
        env.gw(&mock, true)
            .env("PATH", path)
            .args(["run", "claude", "--", "-p", "hi"]),
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = env.report();
    let argv: Vec<&str> = report["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        &argv[argv.len() - 2..],
        ["-p", "hi"],
        "the user's args come last"
    );
    let mcp: serde_json::Value =
        serde_json::from_str(report["files"]["mcp_config"].as_str().unwrap()).unwrap();
    assert_eq!(mcp["mcpServers"]["hello"]["command"], "hello-mcp");
    assert_eq!(report["files"]["mcp_config_mode"], "0o600");
    assert_eq!(
        report["env"]["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"],
        "1"
    );
    let rows = env.rows();
    assert_eq!(rows[0].attribution.agent.as_deref(), Some("claude"));
    assert_eq!(rows[0].attribution.agent_version.as_deref(), Some("9.8.7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_agent_says_how_to_install_it() {
    let mock = Mock::start().await;
    let env = Env::new();
    let output = run_to_end(
        env.gw(&mock, false)
            .env("PATH", "/nonexistent")
            .args(["run", "codex"]),
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("npm install -g @openai/codex"), "{stderr}");
}

/// Starts gw in its own process group with a waiting fake agent, then returns once it reported.
fn start_waiting(env: &Env, mock: &Mock) -> std::process::Child {
    let child = env
        .gw(mock, true)
        .args(["run", "--", "python3", FAKE])
        .env("FAKE_WAIT", "1")
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    env.wait_for_report();
    child
}

fn kill(target: &str, signal: &str) {
    assert!(Command::new("kill")
        .args([signal, "--", target])
        .status()
        .unwrap()
        .success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_reach_the_agent_and_its_fate_is_gws_exit_code() {
    let mock = Mock::start().await;
    for (signal, to_group, expected) in [
        ("-TERM", false, 128 + 15),
        ("-HUP", false, 42),
        ("-INT", true, 128 + 2),
    ] {
        let env = Env::new();
        let mut child = tokio::task::block_in_place(|| start_waiting(&env, &mock));
        let pid = child.id().to_string();
        // Ctrl-C in a terminal goes to the whole foreground group; TERM and HUP to gw alone.
        let target = if to_group { format!("-{pid}") } else { pid };
        kill(&target, signal);
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(expected), "{signal}");
        assert_eq!(
            env.rows().len(),
            3,
            "{signal}: rows durable before gw exits"
        );
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `[budget]` caps the machine's spend with no server: a session's requests stop with a 402 in
/// the provider's shape once the day's spend reaches the cap (overshoot: the one request that
/// crossed it), the next session is refused at once, and `gw budget` shows the cap spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_daily_budget_stops_requests_without_a_server() {
    const LIMIT: i64 = 100_000_000; // $0.10
    let mock = Mock::start().await;
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("config.toml"),
        "[budget]\ndaily_usd = 0.10\n",
    )
    .unwrap();

    let out = run_to_end(
        env.gw(&mock, true)
            .args(["run", "-q", "--", "python3", BUDGET_AGENT]),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = env.report();
    assert_eq!(report["status"], 402, "{report}");
    let body = report["body"].as_str().unwrap();
    assert!(
        body.contains(r#""type":"error""#) && body.contains("local daily budget of $0.10 is spent"),
        "{body}"
    );
    let served = report["ok"].as_u64().unwrap() as usize;
    assert!(served >= 2, "{report}");
    assert_eq!(
        mock.seen().len(),
        served,
        "the refused request never reached the upstream"
    );
    let rows = env.rows();
    let costs: Vec<i64> = rows.iter().filter_map(|r| r.cost_nanos).collect();
    let spent: i64 = costs.iter().sum();
    let most = *costs.iter().max().unwrap();
    assert!(
        (LIMIT..LIMIT + most).contains(&spent),
        "spent {spent} nanos of {LIMIT}: at the cap, by less than one request ({most})"
    );
    let refused = rows.last().unwrap();
    assert_eq!(refused.status, 402);
    assert_eq!(
        refused.requested_model.as_deref(),
        Some("claude-sonnet-4-5"),
        "a refused request still names its model"
    );
    assert_eq!(refused.cost_nanos, Some(0));

    // The day's cap is spent: the next session's first request is refused.
    std::fs::remove_file(env.out()).unwrap();
    let out = run_to_end(
        env.gw(&mock, true)
            .args(["run", "-q", "--", "python3", BUDGET_AGENT]),
    )
    .await;
    assert!(out.status.success());
    assert_eq!(env.report()["ok"], 0);
    assert_eq!(env.report()["status"], 402);
    assert_eq!(mock.seen().len(), served);

    let out = run_to_end(env.gw(&mock, false).args(["budget", "--json"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let budget: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let day = &budget["budgets"][0];
    assert_eq!(day["period"], "day", "{budget}");
    assert_eq!(day["limit_nanos"], LIMIT);
    assert_eq!(day["spent_nanos"], spent);
    assert_eq!(day["exhausted"], true);
}

/// Sessions running at once share a local cap: together they stop at it, each overshooting by
/// at most the one request it had started when the cap was reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_share_a_local_budget() {
    const LIMIT: i64 = 300_000_000; // $0.30
    const SESSIONS: usize = 4;
    let mock = Mock::start().await;
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("config.toml"),
        "[budget]\ndaily_usd = 0.30\n",
    )
    .unwrap();
    let runs: Vec<_> = (0..SESSIONS)
        .map(|i| {
            let out = env.dir.path().join(format!("out-{i}.json"));
            let mut cmd = env.gw(&mock, true);
            cmd.env("FAKE_OUT", &out)
                .args(["run", "-q", "--", "python3", BUDGET_AGENT]);
            tokio::spawn(async move { (run_to_end(&mut cmd).await, out) })
        })
        .collect();
    for run in runs {
        let (out, report) = run.await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        assert_eq!(
            report["status"], 402,
            "every session ends at the cap: {report}"
        );
    }
    let costs: Vec<i64> = env.rows().iter().filter_map(|r| r.cost_nanos).collect();
    let spent: i64 = costs.iter().sum();
    let most = *costs.iter().max().unwrap();
    assert!(
        spent >= LIMIT && spent < LIMIT + SESSIONS as i64 * most,
        "{SESSIONS} sessions spent {spent} nanos of {LIMIT} (one request: {most})"
    );
}

/// gw's own long-lived secrets (`GW_KEY`, `GW_ADMIN_TOKEN`, a database URL with its password,
/// and any `GW_*` variable gw does not know to be harmless) never reach the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gw_secret_reaches_the_agent() {
    let mock = Mock::start().await;
    let env = Env::new();
    let secrets = [
        ("GW_ADMIN_TOKEN", "gwa_secret-admin-token"),
        (
            "GW_KEY",
            "gwk_0123456789ab_5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7",
        ),
        // Refuses connections at once: team mode starts offline.
        ("GW_SERVER", "http://127.0.0.1:1"),
        (
            "GW_SERVER_DATABASE",
            "postgres://gw:secret-db-password@127.0.0.1/gw",
        ),
        ("GW_SERVER_LISTEN", "127.0.0.1:9"),
        ("GW_SOME_FUTURE_TOKEN", "secret-future"),
    ];
    let output = run_to_end(
        env.gw(&mock, true)
            .args(["run", "--quiet", "--", "python3", FAKE])
            .env("GW_CREDENTIALS", env.dir.path().join("secret-creds.toml"))
            .envs(secrets),
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = env.report();
    let dump = serde_json::to_string(&report["env"]).unwrap()
        + &serde_json::to_string(&report["argv"]).unwrap();
    for (name, value) in secrets {
        assert!(!dump.contains(value), "{name} reached the agent: {dump}");
    }
    assert!(
        !dump.contains("secret-creds"),
        "GW_CREDENTIALS reached the agent"
    );
    let gw_vars: Vec<&String> = report["env"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("GW_"))
        .collect();
    for var in &gw_vars {
        assert!(
            ["GW_SESSION_ID", "GW_SESSION_KEY"].contains(&var.as_str())
                || gw::config::env_vars::PASSED_TO_AGENTS.contains(&var.as_str()),
            "{var} reached the agent"
        );
    }
    assert!(gw_vars.iter().any(|v| *v == "GW_SESSION_ID"));
}

/// What any local user can read of each agent's process, `/proc/<pid>/cmdline`, holds no
/// secret: not the session key (passthrough mode puts it in a base URL for some agents), not an
/// MCP server's env.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_gets_a_secret_on_its_command_line() {
    let mock = Mock::start().await;
    // Gemini's settings file is refused below a world-writable directory such as /tmp.
    let env = Env::in_dir(common::secure_tempdir());
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for agent in ["claude", "codex", "gemini", "opencode"] {
        let script = bin.join(agent);
        std::fs::write(&script, format!("#!/bin/sh\nexec python3 {FAKE} \"$@\"\n")).unwrap();
        make_executable(&script);
    }
    std::fs::write(
        env.dir.path().join("config.toml"),
        "[mcp.servers.gh]\ncommand = \"gh-mcp\"\nenv = { GITHUB_TOKEN = \"ghp_mcp-secret\" }\n",
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for agent in ["claude", "codex", "gemini", "opencode"] {
        for keys in [false, true] {
            let _ = std::fs::remove_file(env.out());
            let output = run_to_end(
                env.gw(&mock, keys)
                    .env("PATH", &path)
                    .args(["run", "--quiet", agent]),
            )
            .await;
            assert!(
                output.status.success(),
                "{agent}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let report = env.report();
            let cmdline = report["cmdline"].as_str().unwrap();
            let key = report["env"]["GW_SESSION_KEY"]
                .as_str()
                .or_else(|| report["env"]["ANTHROPIC_AUTH_TOKEN"].as_str())
                .unwrap_or_default()
                .to_string();
            assert!(cmdline.contains("fake_agent.py"), "{cmdline}");
            assert!(
                !cmdline.contains("ghp_"),
                "{agent}: an MCP secret in argv: {cmdline}"
            );
            assert!(
                !cmdline.contains("gws-"),
                "{agent}: the session key in argv: {cmdline}"
            );
            if !key.is_empty() {
                assert!(!cmdline.contains(&key), "{agent}: {cmdline}");
            }
        }
    }
}

/// gw holds the cloud credentials (AWS keys, a Google service-account key, an Azure key): the
/// command gw runs sees none of them, only the session key and the proxy's URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_credentials_gw_holds_never_reach_the_command() {
    let env = Env::new();
    let mock = Mock::start().await;
    let sa = common::google_service_account(env.dir.path(), &mock, "acme-ai");
    let dump = env.dir.path().join("env.txt");
    let mut cmd = env.gw(&mock, false);
    cmd.env("GW_BEDROCK_UPSTREAM", mock.url())
        .env("GW_AZURE_UPSTREAM", mock.url())
        .env("AWS_ACCESS_KEY_ID", common::AWS_KEYS.0)
        .env("AWS_SECRET_ACCESS_KEY", common::AWS_KEYS.1)
        .env("AWS_SESSION_TOKEN", "aws-session-secret")
        .env("AWS_REGION", "us-east-1")
        .env("GOOGLE_APPLICATION_CREDENTIALS", &sa)
        .env("AZURE_OPENAI_API_KEY", common::AZURE_KEY)
        .args(["run", "--", "sh", "-c"])
        .arg(format!("env > {}", dump.display()));
    let output = run_to_end(&mut cmd).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = std::fs::read_to_string(&dump).unwrap();
    for secret in [
        common::AWS_KEYS.0,
        common::AWS_KEYS.1,
        "aws-session-secret",
        common::AZURE_KEY,
        sa.to_str().unwrap(),
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the command:\n{seen}"
        );
    }
    let session_key = seen
        .lines()
        .find_map(|l| l.strip_prefix("GW_SESSION_KEY="))
        .unwrap();
    for var in ["AWS_BEARER_TOKEN_BEDROCK", "AZURE_OPENAI_API_KEY"] {
        assert!(
            seen.contains(&format!("{var}={session_key}")),
            "{var} is the session key:\n{seen}"
        );
    }
    assert!(seen.contains("ANTHROPIC_BEDROCK_BASE_URL=http://127.0.0.1:"));
    assert!(seen.contains("GOOGLE_VERTEX_BASE_URL=http://127.0.0.1:"));
}

/// gw signs Bedrock requests with what AWS's own credential chain finds: a profile in
/// `~/.aws/credentials` (region from `~/.aws/config`), and a `credential_process` giving
/// temporary keys with a session token. The mock verifies each signature; the command sees
/// neither the profile nor the keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrock_is_signed_with_the_aws_profile_gw_finds() {
    let invoke = r#"import json, os, urllib.request
base = os.environ["ANTHROPIC_BEDROCK_BASE_URL"]
body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                   "messages": [{"role": "user", "content": "say pong"}]}).encode()
req = urllib.request.Request(base + "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke",
    data=body, headers={"authorization": "Bearer " + os.environ["AWS_BEARER_TOKEN_BEDROCK"],
                        "content-type": "application/json"})
print(urllib.request.urlopen(req).status)
print("profile" if "AWS_PROFILE" in os.environ else "no profile")
"#;
    let process = format!(
        r#"{{"Version":1,"AccessKeyId":"{}","SecretAccessKey":"{}","SessionToken":"sso-session-token","Expiration":"2099-01-01T00:00:00Z"}}"#,
        common::AWS_KEYS.0,
        common::AWS_KEYS.1
    );
    for (name, credentials) in [
        (
            "keys",
            format!(
                "[dev]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                common::AWS_KEYS.0,
                common::AWS_KEYS.1
            ),
        ),
        (
            "process",
            format!("[dev]\ncredential_process = echo '{process}'\n"),
        ),
    ] {
        let env = Env::new();
        let mock = Mock::start().await;
        let aws = env.dir.path().join(".aws");
        std::fs::create_dir_all(&aws).unwrap();
        std::fs::write(aws.join("credentials"), credentials).unwrap();
        std::fs::write(aws.join("config"), "[profile dev]\nregion = us-east-1\n").unwrap();
        let script = env.dir.path().join("invoke.py");
        std::fs::write(&script, invoke).unwrap();
        let output = run_to_end(
            env.gw(&mock, false)
                .env("GW_BEDROCK_UPSTREAM", mock.url())
                .env("AWS_PROFILE", "dev")
                .args(["run", "--", "python3"])
                .arg(&script),
        )
        .await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.starts_with("200\nno profile"),
            "{name}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let seen = mock.seen();
        assert_eq!(seen.len(), 1, "{name}: {seen:?}");
        let token = seen[0].headers.get("x-amz-security-token");
        assert_eq!(
            token.map(|t| t.to_str().unwrap()),
            (name == "process").then_some("sso-session-token"),
            "{name}"
        );
        let rows = env.rows();
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(rows[0].status, 200, "{name}: {rows:?}");
        assert!(rows[0].cost_nanos.is_some_and(|c| c > 0), "{rows:?}");
    }
}

/// Without a service-account key, gw gets Vertex tokens from the developer's own Google login
/// (`gcloud`, here a stand-in on `PATH`), for the project `[vertex] project` names (not the
/// environment's); the command never sees the token, and a second call reuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vertex_takes_tokens_from_the_developers_gcloud_login() {
    let env = Env::new();
    let mock = Mock::start().await;
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = env.dir.path().join("gcloud-calls");
    let gcloud = bin.join("gcloud");
    std::fs::write(
        &gcloud,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\ncase \"$*\" in\n  \"auth print-access-token --quiet\") echo {} ;;\n  \"config get-value project\") echo acme-ai ;;\n  *) exit 1 ;;\nesac\n",
            calls.display(),
            common::GOOGLE_TOKEN
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gcloud, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = env.dir.path().join("vertex.py");
    std::fs::write(
        &script,
        r#"import json, os, urllib.request
base = os.environ["GOOGLE_VERTEX_BASE_URL"]
body = json.dumps({"anthropic_version": "vertex-2023-10-16", "max_tokens": 5,
                   "messages": [{"role": "user", "content": "say pong"}]}).encode()
url = base + "/v1/projects/acme-ai/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
for _ in range(2):
    req = urllib.request.Request(url, data=body, headers={
        "x-gw-session-key": os.environ["GW_SESSION_KEY"], "content-type": "application/json"})
    print(urllib.request.urlopen(req).status)
print("token seen" if any("ya29" in v for v in os.environ.values()) else "no token")
"#,
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    // Only a project named in gw's config opts in to the developer's own login.
    std::fs::write(
        env.dir.path().join("config.toml"),
        "[vertex]\nproject = \"acme-ai\"\n",
    )
    .unwrap();
    let output = run_to_end(
        env.gw(&mock, false)
            .env("PATH", &path)
            .env("GW_VERTEX_UPSTREAM", mock.url())
            .env("GOOGLE_CLOUD_PROJECT", "someone-else")
            .args(["run", "--", "python3"])
            .arg(&script),
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout == "200\n200\nno token\n",
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = env.rows();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r.status == 200 && r.cost_nanos > Some(0)));
    // One login set-up, one token for both calls.
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        calls.matches("auth print-access-token").count(),
        1,
        "{calls}"
    );
}

/// Azure OpenAI with a service principal: gw exchanges its client credentials for an Entra ID
/// token (at a loopback authority) and puts it on each call in place of the session key; two
/// calls take one token, and the command never sees the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_takes_an_entra_id_token_gw_gets_for_its_service_principal() {
    let env = Env::new();
    let mock = Mock::start().await;
    let script = env.dir.path().join("azure.py");
    std::fs::write(
        &script,
        r#"import json, os, urllib.request
url = os.environ["AZURE_OPENAI_ENDPOINT"] + "/openai/responses?api-version=2025-04-01-preview"
body = json.dumps({"model": "gpt-5", "input": "say pong"}).encode()
for _ in range(2):
    req = urllib.request.Request(url, data=body, headers={
        "api-key": os.environ["AZURE_OPENAI_API_KEY"], "content-type": "application/json"})
    print(urllib.request.urlopen(req).status)
print("secret seen" if "AZURE_CLIENT_SECRET" in os.environ else "no secret")
"#,
    )
    .unwrap();
    let output = run_to_end(
        env.gw(&mock, false)
            .env("GW_AZURE_UPSTREAM", mock.url())
            .env("AZURE_AUTHORITY_HOST", mock.url())
            .env("AZURE_TENANT_ID", common::AZURE_TENANT)
            .env("AZURE_CLIENT_ID", common::AZURE_CLIENT.0)
            .env("AZURE_CLIENT_SECRET", common::AZURE_CLIENT.1)
            .args(["run", "--", "python3"])
            .arg(&script),
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout == "200\n200\nno secret\n",
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = mock.seen();
    let tokens = seen
        .iter()
        .filter(|s| s.path_and_query.ends_with("/oauth2/v2.0/token"))
        .count();
    assert_eq!(tokens, 1, "{seen:?}");
    for call in seen
        .iter()
        .filter(|s| s.path_and_query.starts_with("/openai/"))
    {
        assert!(!call.headers.contains_key("api-key"), "{call:?}");
    }
    let rows = env.rows();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r.status == 200 && r.cost_nanos > Some(0)));
}
