//! The real agents from npm, each running one non-interactive prompt through `gw run` against the
//! in-process mock upstream. Runs when `GW_TEST_AGENTS_BIN` names the directory holding their
//! executables (`.ci/run` installs them and sets it); otherwise each test says so and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Mock;
use gw::ledger::{Ledger, Row};
use gw::meter::Provider;
use gw::pricing::PriceTable;

const GW: &str = env!("CARGO_BIN_EXE_gw");
const MCP_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_server.py");

fn agents_bin() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("GW_TEST_AGENTS_BIN")?);
    dir.is_dir().then_some(dir)
}

struct Trial {
    dir: tempfile::TempDir,
    work: PathBuf,
}

impl Trial {
    fn new() -> Trial {
        // Not under /tmp: Gemini CLI refuses a settings file below a world-writable directory.
        let dir = common::secure_tempdir();
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let config = format!(
            "[mcp.servers.gwtest]\ncommand = \"python3\"\nargs = [\"{MCP_SERVER}\", \"{}\"]\nenv = {{ GWTEST_MCP_TOKEN = \"mcp-env-reached\" }}\n",
            dir.path().join("mcp.log").display()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Trial { dir, work }
    }

    fn mcp_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mcp.log")).unwrap_or_default()
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Ledger::open(&self.dir.path().join("data/ledger.db"))
            .unwrap()
            .recent(1000)
            .unwrap();
        rows.reverse();
        rows
    }

    async fn run(
        &self,
        mock: &Mock,
        bin: &Path,
        args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> std::process::Output {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(GW);
        cmd.env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", &home)
            .env("USER", "tester")
            .env("GW_CONFIG", self.dir.path().join("config.toml"))
            .env("GW_DATA_DIR", self.dir.path().join("data"))
            .env("GW_ANTHROPIC_UPSTREAM", mock.url())
            .env("GW_OPENAI_UPSTREAM", mock.url())
            .env("GW_GEMINI_UPSTREAM", mock.url())
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .env("OPENAI_API_KEY", "sk-oai-test")
            .env("GEMINI_API_KEY", "gm-test")
            .envs(extra_env.iter().copied())
            .args(args)
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap()
    }
}

/// Every request the mock answered is one row, with the mock's usage and the table's cost.
fn check_ledger(trial: &Trial, mock: &Mock, agent: &str, provider: Provider) -> Vec<Row> {
    let rows = trial.rows();
    let seen = mock.seen();
    for s in &seen {
        eprintln!("{agent}: mock answered {} {}", s.method, s.path_and_query);
    }
    assert_eq!(
        rows.len(),
        seen.len(),
        "{agent}: one row per request the mock answered: {seen:#?}"
    );
    let prices = PriceTable::embedded();
    let metered: Vec<&Row> = rows.iter().filter(|r| !r.usage.is_zero()).collect();
    assert!(!metered.is_empty(), "{agent}: no metered rows: {rows:#?}");
    for row in &metered {
        assert_eq!(row.provider, provider.as_str());
        assert_eq!(row.attribution.agent.as_deref(), Some(agent));
        assert!(
            row.attribution.agent_version.is_some(),
            "{agent}: version read from its package.json"
        );
        let model = row.model.as_deref().unwrap();
        assert_eq!(
            row.cost_nanos,
            prices.cost(provider, model, &row.usage).map(|c| c as i64),
            "{agent}: {row:?}"
        );
        assert!(row.cost_nanos.is_some());
    }
    rows
}

fn explain(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `gw <args>` for `agent` against a fresh mock and checks the answer, the ledger and that
/// the agent started gw's MCP server. Without the agents installed, says so and passes.
async fn trial(agent: &str, provider: Provider, args: &[&str], extra_env: &[(&str, &str)]) {
    let Some(bin) = agents_bin() else {
        eprintln!("GW_TEST_AGENTS_BIN not set: the {agent} test did not run (see .ci/run)");
        return;
    };
    let (mock, trial) = (Mock::start().await, Trial::new());
    let output = trial.run(&mock, &bin, args, extra_env).await;
    assert!(output.status.success(), "{}", explain(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("pong"),
        "{}",
        explain(&output)
    );
    let rows = check_ledger(&trial, &mock, agent, provider);
    if matches!(agent, "claude" | "codex" | "gemini" | "opencode") {
        // The agent's own log holds the same calls: `gw import` finds each one metered.
        let metered = rows.iter().filter(|r| !r.usage.is_zero()).count();
        // Gemini CLI's router call and opencode's title call are in no log (AGENT_LOGS.md).
        let logged = match agent {
            "gemini" | "opencode" => metered - 1,
            _ => metered,
        };
        let import = trial.run(&mock, &bin, &["import", agent], &[]).await;
        let said = explain(&import);
        assert!(import.status.success(), "{said}");
        let brief = |rows: &[Row]| -> Vec<String> {
            rows.iter()
                .filter(|r| !r.usage.is_zero())
                .map(|r| {
                    format!(
                        "{:?} {:?} {:?} {:?} at {}",
                        r.source, r.model, r.usage, r.agent_session_id, r.started_at_us
                    )
                })
                .collect()
        };
        assert!(
            said.contains("added 0 calls"),
            "{agent}: {said}\nproxy rows: {:#?}\nafter: {:#?}",
            brief(&rows),
            brief(&trial.rows())
        );
        assert!(
            said.contains(&format!("{logged} calls gw's proxy metered")),
            "{agent}: {logged} logged of {metered} metered rows: {said}"
        );
        // Without gw's rows (the agent run without gw), the log gives the same calls: the
        // mock's usage, priced the same.
        let db = trial.dir.path().join("data/ledger.db");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("DELETE FROM requests; DELETE FROM import_files;")
            .unwrap();
        drop(conn);
        let import = trial.run(&mock, &bin, &["import", agent], &[]).await;
        let said = explain(&import);
        assert!(
            said.contains(&format!("added {logged} calls")),
            "{agent}: {said}"
        );
        // The log knows the model the agent asked for (Codex asks for its default, which the
        // mock answers as gpt-5): each row is priced by the table for the model it names.
        let prices = PriceTable::embedded();
        let mut imported: Vec<(u64, u64, u64, u64)> = trial
            .rows()
            .iter()
            .map(|r| {
                assert_eq!(r.source, gw::ledger::Source::Import);
                let model = r.model.as_deref().unwrap();
                assert_eq!(
                    r.cost_nanos,
                    prices.cost(provider, model, &r.usage).map(|c| c as i64)
                );
                let u = r.usage;
                (u.input, u.output, u.cache_read, u.cache_write())
            })
            .collect();
        let mut proxied: Vec<(u64, u64, u64, u64)> = rows
            .iter()
            .filter(|r| !r.usage.is_zero())
            .map(|r| {
                let u = r.usage;
                (u.input, u.output, u.cache_read, u.cache_write())
            })
            .collect();
        imported.sort();
        proxied.sort();
        if logged < metered {
            // The calls the log holds are the proxy's (the unlogged one aside).
            assert!(
                imported.iter().all(|i| proxied.contains(i)),
                "{agent}: {imported:?} in {proxied:?}"
            );
            proxied.retain(|p| imported.contains(p));
            proxied.truncate(imported.len());
        }
        let models = |rows: &[Row]| -> Vec<(Option<String>, Option<String>)> {
            rows.iter()
                .filter(|r| !r.usage.is_zero())
                .map(|r| (r.requested_model.clone(), r.model.clone()))
                .collect()
        };
        assert_eq!(
            imported,
            proxied,
            "{agent}: the log's calls are the proxy's; models {:?} vs {:?}",
            models(&trial.rows()),
            models(&rows)
        );
    }
    assert!(
        trial.mcp_log().contains("initialize"),
        "{agent} started the MCP server: {}",
        trial.mcp_log()
    );
    assert!(
        trial.mcp_log().contains("started mcp-env-reached"),
        "{agent} gave the MCP server its env: {}",
        trial.mcp_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_prompt_is_metered() {
    trial(
        "claude",
        Provider::Anthropic,
        &["run", "claude", "--", "-p", "say pong"],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_exec_is_metered() {
    let args = [
        "run",
        "codex",
        "--",
        "exec",
        "--skip-git-repo-check",
        "say pong",
    ];
    trial("codex", Provider::OpenAi, &args, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_cli_prompt_is_metered() {
    let trust = [("GEMINI_CLI_TRUST_WORKSPACE", "true")];
    trial(
        "gemini",
        Provider::Gemini,
        &["run", "gemini", "--", "-p", "say pong"],
        &trust,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencode_run_is_metered() {
    let args = [
        "run",
        "opencode",
        "--",
        "run",
        "-m",
        "anthropic/claude-sonnet-4-5",
        "say pong",
    ];
    trial("opencode", Provider::Anthropic, &args, &[]).await;
}

/// A fake ChatGPT login as `codex login` saves it: unsigned JWTs that expire in ten years
/// (codex refreshes only an expired access token, straight with auth.openai.com).
fn chatgpt_auth_json() -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "https://auth.openai.com", "sub": "user-1", "email": "dev@example.com",
        "iat": now, "exp": now + 10 * 365 * 86_400,
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acc-1",
            "chatgpt_user_id": "user-1", "user_id": "user-1"},
    });
    let jwt = format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    );
    serde_json::json!({
        "auth_mode": "chatgpt", "OPENAI_API_KEY": null, "last_refresh": "2026-01-01T00:00:00Z",
        "tokens": {"id_token": jwt, "access_token": jwt, "refresh_token": "rt-test", "account_id": "acc-1"},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_on_a_chatgpt_plan_is_metered_as_subscription() {
    let Some(bin) = agents_bin() else {
        eprintln!("GW_TEST_AGENTS_BIN not set: the codex ChatGPT test did not run (see .ci/run)");
        return;
    };
    let (mock, trial) = (Mock::start().await, Trial::new());
    let home = trial.dir.path().join("home");
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    std::fs::write(home.join(".codex/auth.json"), chatgpt_auth_json()).unwrap();
    let args = [
        "run",
        "codex",
        "--",
        "exec",
        "--skip-git-repo-check",
        "say pong",
    ];
    // No OpenAI key for gw: codex uses its own (ChatGPT) login.
    let output = trial
        .run(
            &mock,
            &bin,
            &args,
            &[("OPENAI_API_KEY", ""), ("GW_CHATGPT_UPSTREAM", &mock.url())],
        )
        .await;
    assert!(output.status.success(), "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("pong"));
    let seen = mock.seen();
    let turn = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("the turn reached the mock");
    assert_eq!(turn.path_and_query, "/backend-api/codex/responses");
    assert_eq!(turn.headers["chatgpt-account-id"], "acc-1");
    assert!(!turn.headers.contains_key("x-gw-session-key"));
    let rows = trial.rows();
    let metered: Vec<&Row> = rows.iter().filter(|r| !r.usage.is_zero()).collect();
    assert_eq!(metered.len(), 1, "{rows:#?}");
    assert_eq!(metered[0].provider, "chatgpt");
    assert_eq!(metered[0].billing, gw::meter::Billing::Subscription);
    assert!(metered[0].cost_nanos.is_some(), "priced at API rates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_stops_at_once_on_a_spent_budget_and_shows_why() {
    let Some(bin) = agents_bin() else {
        eprintln!("GW_TEST_AGENTS_BIN not set: the codex budget test did not run (see .ci/run)");
        return;
    };
    let trial = Trial::new();
    let config = trial.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[budget]\ndaily_usd = 0.001\n");
    std::fs::write(&config, text).unwrap();
    let args = [
        "run",
        "codex",
        "--",
        "exec",
        "--skip-git-repo-check",
        "-m",
        "gpt-5",
        "say pong",
    ];
    // The first session spends more than the day's $0.001.
    let mock = Mock::start().await;
    let first = trial.run(&mock, &bin, &args, &[]).await;
    assert!(first.status.success(), "{}", explain(&first));
    // The next is refused: codex gives up at its first refusal and shows gw's message.
    let mock = Mock::start().await;
    let started = std::time::Instant::now();
    let second = trial.run(&mock, &bin, &args, &[]).await;
    let took = started.elapsed();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(!second.status.success(), "{}", explain(&second));
    assert!(
        shown.contains("daily budget of $0.0010 is spent"),
        "{}",
        explain(&second)
    );
    assert!(mock.seen().is_empty(), "nothing reached the upstream");
    let refused: Vec<Row> = trial
        .rows()
        .into_iter()
        .filter(|r| r.status == 402)
        .collect();
    assert_eq!(refused.len(), 1, "one request, no retries: {refused:#?}");
    assert!(
        shown.contains("1 refused (daily budget)"),
        "the summary says so: {shown}"
    );
    eprintln!("codex stopped {took:?} after launch");
}

/// Codex on Azure OpenAI (`gw run codex --via azure`): gw holds the resource key and sends it as
/// `api-key` with the `api-version`; Codex gets only the session key; the deployment is priced
/// as the model `[azure.deployments]` names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_on_azure_openai_is_metered() {
    codex_on_azure(false).await;
}

/// The same with a service principal: gw gets an Entra ID token and sends it as a bearer
/// token; the deployment runs in the EU data zone, priced as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_on_azure_openai_with_an_entra_id_token_is_metered() {
    codex_on_azure(true).await;
}

async fn codex_on_azure(entra: bool) {
    let Some(bin) = agents_bin() else {
        eprintln!("GW_TEST_AGENTS_BIN not set: the codex Azure test did not run (see .ci/run)");
        return;
    };
    let (mock, trial) = (Mock::start().await, Trial::new());
    let config = trial.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    let model = if entra { "eu/gpt-5" } else { "gpt-5" };
    text.push_str(&format!("\n[azure.deployments]\nmy-gpt5 = \"{model}\"\n"));
    std::fs::write(&config, text).unwrap();
    let args = [
        "run",
        "codex",
        "--via",
        "azure",
        "--",
        "exec",
        "--skip-git-repo-check",
        "-m",
        "my-gpt5",
        "say pong",
    ];
    let mut env = vec![
        ("GW_AZURE_UPSTREAM", mock.url()),
        ("OPENAI_API_KEY", String::new()),
    ];
    if entra {
        env.extend([
            ("AZURE_AUTHORITY_HOST", mock.url()),
            ("AZURE_TENANT_ID", common::AZURE_TENANT.to_string()),
            ("AZURE_CLIENT_ID", common::AZURE_CLIENT.0.to_string()),
            ("AZURE_CLIENT_SECRET", common::AZURE_CLIENT.1.to_string()),
        ]);
    } else {
        env.push(("AZURE_OPENAI_API_KEY", common::AZURE_KEY.to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = trial.run(&mock, &bin, &args, &env).await;
    assert!(output.status.success(), "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("pong"));
    let seen: Vec<_> = mock
        .seen()
        .into_iter()
        .filter(|s| !s.path_and_query.ends_with("/oauth2/v2.0/token"))
        .collect();
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(
            s.path_and_query, "/openai/responses?api-version=2025-04-01-preview",
            "{s:?}"
        );
        if entra {
            assert_eq!(
                s.headers["authorization"].to_str().unwrap(),
                format!("Bearer {}", common::AZURE_ENTRA_TOKEN)
            );
            assert!(!s.headers.contains_key("api-key"));
        } else {
            assert_eq!(s.headers["api-key"], common::AZURE_KEY);
            assert!(!s.headers.contains_key("authorization"));
        }
        assert!(!s.headers.contains_key("x-gw-session-key"));
        let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(body["model"], "my-gpt5");
    }
    let rows = trial.rows();
    assert_eq!(rows.len(), seen.len());
    let prices = PriceTable::embedded();
    for row in &rows {
        assert_eq!(row.provider, "azure");
        assert_eq!(row.requested_model.as_deref(), Some("my-gpt5"));
        let want = prices.cost(Provider::Azure, model, &row.usage).unwrap() as i64;
        let openai = prices.cost(Provider::OpenAi, "gpt-5", &row.usage).unwrap() as i64;
        // The EU data zone costs 10% more than OpenAI's own price.
        assert!(
            if entra { want > openai } else { want == openai },
            "{row:?}"
        );
        assert_eq!(row.cost_nanos, Some(want), "{row:?}");
    }
}

/// `gw run <agent> --via vertex` against the mock: gw's service account gets a token from the
/// mock's token endpoint and every model call carries it (the mock refuses any other), under
/// gw's project; the agent sees neither the key file nor the token; rows are priced as the
/// publisher's model.
async fn vertex_trial(agent: &str, args: &[&str], priced_as: Provider, extra: &[(&str, &str)]) {
    let Some(bin) = agents_bin() else {
        eprintln!("GW_TEST_AGENTS_BIN not set: the {agent} Vertex test did not run (see .ci/run)");
        return;
    };
    let (mock, trial) = (Mock::start().await, Trial::new());
    let sa = common::google_service_account(trial.dir.path(), &mock, "acme-ai");
    let config = trial.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[vertex]\ncredentials = \"{}\"\n", sa.display()));
    std::fs::write(&config, text).unwrap();
    let mut env = vec![("GW_VERTEX_UPSTREAM", mock.url())];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = trial.run(&mock, &bin, args, &env).await;
    assert!(output.status.success(), "{}", explain(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("pong"),
        "{}",
        explain(&output)
    );
    let seen = mock.seen();
    let calls: Vec<_> = seen
        .iter()
        .filter(|s| s.path_and_query != "/token")
        .collect();
    assert!(!calls.is_empty());
    for s in &calls {
        eprintln!("{agent}: mock answered {} {}", s.method, s.path_and_query);
        assert!(
            s.path_and_query
                .contains("/projects/acme-ai/locations/global/publishers/"),
            "{s:?}"
        );
        assert_eq!(
            s.headers["authorization"],
            format!("Bearer {}", common::GOOGLE_TOKEN)
        );
    }
    let rows = trial.rows();
    assert_eq!(rows.len(), calls.len(), "{rows:#?}");
    let prices = PriceTable::embedded();
    let metered: Vec<&Row> = rows.iter().filter(|r| !r.usage.is_zero()).collect();
    assert!(!metered.is_empty(), "{rows:#?}");
    for row in metered {
        assert_eq!(row.provider, "vertex");
        let model = row.model.as_deref().unwrap();
        let want = prices.cost(priced_as, model, &row.usage).map(|c| c as i64);
        assert!(want.is_some_and(|c| c > 0), "{row:?}");
        assert_eq!(row.cost_nanos, want, "{row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_on_vertex_is_metered() {
    let args = ["run", "claude", "--via", "vertex", "--", "-p", "say pong"];
    vertex_trial("claude", &args, Provider::Anthropic, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_cli_on_vertex_is_metered() {
    let args = ["run", "gemini", "--via", "vertex", "--", "-p", "say pong"];
    vertex_trial(
        "gemini",
        &args,
        Provider::Gemini,
        &[("GEMINI_CLI_TRUST_WORKSPACE", "true")],
    )
    .await;
}

/// The environment of a session whose gw holds AWS keys, with the mock as Bedrock.
/// gw's AWS credentials: keys in its environment, or (`profile`) a profile in `home`'s
/// `~/.aws` that AWS's credential chain finds, its region in `~/.aws/config`.
fn bedrock_env(mock: &Mock, home: &std::path::Path, profile: bool) -> Vec<(&'static str, String)> {
    if profile {
        let aws = home.join(".aws");
        std::fs::create_dir_all(&aws).unwrap();
        let keys = format!(
            "[dev]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            common::AWS_KEYS.0,
            common::AWS_KEYS.1
        );
        std::fs::write(aws.join("credentials"), keys).unwrap();
        std::fs::write(aws.join("config"), "[profile dev]\nregion = us-east-1\n").unwrap();
        return vec![
            ("GW_BEDROCK_UPSTREAM", mock.url()),
            ("AWS_PROFILE", "dev".to_string()),
        ];
    }
    vec![
        ("GW_BEDROCK_UPSTREAM", mock.url()),
        ("AWS_ACCESS_KEY_ID", common::AWS_KEYS.0.to_string()),
        ("AWS_SECRET_ACCESS_KEY", common::AWS_KEYS.1.to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ]
}

/// Runs `args` with gw holding AWS credentials (see [`bedrock_env`]) against the mock (which
/// verifies every SigV4 signature), checks the agent answered and that each call, of
/// `operation`, was signed and metered exactly at the Bedrock price of the id its path named;
/// returns the rows.
async fn bedrock_trial(
    agent: &str,
    args: &[&str],
    operation: &str,
    profile: bool,
) -> Option<Vec<Row>> {
    let Some(bin) = agents_bin() else {
        eprintln!("GW_TEST_AGENTS_BIN not set: the {agent} Bedrock test did not run (see .ci/run)");
        return None;
    };
    let (mock, trial) = (Mock::start().await, Trial::new());
    let env = bedrock_env(&mock, &trial.dir.path().join("home"), profile);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = trial.run(&mock, &bin, args, &env).await;
    assert!(output.status.success(), "{}", explain(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("pong"),
        "{}",
        explain(&output)
    );
    let seen = mock.seen();
    assert!(!seen.is_empty());
    for s in &seen {
        eprintln!("{agent}: mock answered {} {}", s.method, s.path_and_query);
        assert!(s.path_and_query.ends_with(operation), "{s:?}");
        assert!(s.headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256"));
    }
    let rows = trial.rows();
    assert_eq!(rows.len(), seen.len(), "{rows:#?}");
    let prices = PriceTable::embedded();
    for row in &rows {
        assert_eq!(row.provider, "bedrock");
        let id = row.requested_model.as_deref().unwrap();
        let want = prices
            .cost(Provider::Bedrock, id, &row.usage)
            .map(|c| c as i64);
        assert!(want.is_some_and(|c| c > 0), "{row:?}");
        assert_eq!(row.cost_nanos, want, "{row:?}");
        // The tiers gw pins are US cross-region profiles, dearer than the model in-region.
        let model = row.model.as_deref().unwrap();
        let in_region = prices.cost(Provider::Anthropic, model, &row.usage).unwrap() as i64;
        assert!(
            !id.starts_with("us.") || want.unwrap() > in_region,
            "{row:?}"
        );
    }
    Some(rows)
}

/// `gw run claude --via bedrock`: Claude Code gets the session key as its Bedrock API key, gw
/// signs every call with the credentials of the user's AWS profile, the event stream reaches
/// Claude whole and is metered; the tiers are pinned, so there are no availability probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_on_bedrock_is_metered() {
    let args = ["run", "claude", "--via", "bedrock", "--", "-p", "say pong"];
    bedrock_trial("claude", &args, "/invoke-with-response-stream", true).await;
}

/// `gw run opencode --via bedrock`: opencode's Bedrock provider (Converse API) pointed at gw with
/// the session key as its Bedrock API key; every call signed by gw and metered from Converse's
/// usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencode_on_bedrock_is_metered() {
    let args = [
        "run", "opencode", "--via", "bedrock", "--", "run", "say pong",
    ];
    if let Some(rows) = bedrock_trial("opencode", &args, "/converse-stream", false).await {
        for row in &rows {
            assert_eq!((row.usage.input, row.usage.output), (100, 7), "{row:?}");
        }
    }
}

/// On Bedrock, Claude Code takes any 403 for stale AWS credentials and retries it for minutes:
/// a spent budget is a 402 there (in AWS's shape), and Claude stops at the first request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_on_bedrock_stops_at_the_first_refusal_of_a_spent_budget() {
    let Some(bin) = agents_bin() else {
        eprintln!(
            "GW_TEST_AGENTS_BIN not set: the Claude Bedrock budget test did not run (see .ci/run)"
        );
        return;
    };
    let (mock, trial) = (Mock::start().await, Trial::new());
    let config = trial.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[budget]\ndaily_usd = 0.000001\n");
    std::fs::write(&config, text).unwrap();
    let env = bedrock_env(&mock, &trial.dir.path().join("home"), false);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = ["run", "claude", "--via", "bedrock", "--", "-p", "say pong"];
    // The first session spends past the day's allowance (a request in flight may); the next
    // one starts with it spent.
    let first = trial.run(&mock, &bin, &args, &env).await;
    assert!(first.status.success(), "{}", explain(&first));
    let before = mock.seen().len();
    let output = trial.run(&mock, &bin, &args, &env).await;
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{all}");
    assert!(all.contains("402") && all.contains("budget"), "{all}");
    assert_eq!(mock.seen().len(), before, "nothing more reached Bedrock");
    let rows = trial.rows();
    let refused: Vec<&Row> = rows.iter().filter(|r| r.status == 402).collect();
    assert_eq!(
        refused.len(),
        1,
        "one refused request, no retries: {rows:#?}"
    );
}

/// A gw server on loopback with org `acme`, team `backend` and a rate limit on the team of one
/// request per `window` seconds; answers the server's URL and a key of the team.
async fn rate_limited_server(window: i64) -> (String, String, tokio::sync::oneshot::Sender<()>) {
    use gw::server::client::Client;
    use gw::server::trust::Trust;
    let db = tempfile::tempdir().unwrap().keep();
    let url = format!("sqlite://{}", db.join("server.db").display());
    let store = gw::server::open_store(&url).await.unwrap();
    let token = gw::server::init_admin(store.as_ref(), false)
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gw::server::serve(
        listener,
        store,
        gw::server::ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let admin = Client::new(&server_url, Some(token), &Trust::default()).unwrap();
    let call = |path: &'static str, body: serde_json::Value| {
        let admin = &admin;
        async move {
            admin
                .call(http::Method::POST, path, Some(&body))
                .await
                .unwrap()
        }
    };
    call(
        "/v1/admin/orgs",
        serde_json::json!({"name": "acme", "tz": "UTC"}),
    )
    .await;
    call(
        "/v1/admin/teams",
        serde_json::json!({"org": "acme", "name": "backend"}),
    )
    .await;
    call(
        "/v1/admin/users",
        serde_json::json!({"email": "dev@acme.test", "org": "acme", "team": "backend"}),
    )
    .await;
    call(
        "/v1/admin/limits",
        serde_json::json!({"scope": "team", "name": "acme/backend", "window_secs": window, "max_requests": 1}),
    )
    .await;
    let key = call(
        "/v1/admin/keys",
        serde_json::json!({"developer": "dev@acme.test"}),
    )
    .await;
    (server_url, key["key"].as_str().unwrap().to_string(), stop)
}

/// Claude Code and Codex under a team rate limit of one request per 10 s: a call past it gets
/// a 429 with retry-after in the provider's shape, which the agent waits out and sends again,
/// and both sessions answer "pong" in the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_and_codex_wait_out_a_rate_limit() {
    const WINDOW: i64 = 10;
    let Some(bin) = agents_bin() else {
        eprintln!(
            "GW_TEST_AGENTS_BIN not set: the rate-limit agent test did not run (see .ci/run)"
        );
        return;
    };
    for (agent, args) in [
        ("claude", vec!["run", "claude", "--", "-p", "say pong"]),
        (
            "codex",
            vec![
                "run",
                "codex",
                "--",
                "exec",
                "--skip-git-repo-check",
                "-m",
                "gpt-5",
                "say pong",
            ],
        ),
    ] {
        let (server, key, _stop) = rate_limited_server(WINDOW).await;
        let (mock, trial) = (Mock::start().await, Trial::new());
        // Two sessions at once: one of them must wait for the next window. They start at the
        // beginning of a window (windows are aligned to the epoch), so both first requests fall
        // in it however slowly a loaded machine starts the agents.
        let into = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            % WINDOW as f64;
        if into > 0.5 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(WINDOW as f64 - into)).await;
        }
        let env = [("GW_SERVER", server.as_str()), ("GW_KEY", key.as_str())];
        let (a, b) = tokio::join!(
            trial.run(&mock, &bin, &args, &env),
            trial.run(&mock, &bin, &args, &env)
        );
        for output in [a, b] {
            assert!(output.status.success(), "{agent}: {}", explain(&output));
            assert!(
                String::from_utf8_lossy(&output.stdout)
                    .to_lowercase()
                    .contains("pong"),
                "{agent}: {}",
                explain(&output)
            );
        }
        let rows = trial.rows();
        let limited = rows.iter().filter(|r| r.status == 429).count();
        let served = rows.iter().filter(|r| r.status == 200).count();
        let seen = mock.seen();
        for s in &seen {
            eprintln!(
                "{agent}: upstream {} {} at {:?}",
                s.method, s.path_and_query, s.at
            );
        }
        let mut windows: Vec<u64> = seen
            .iter()
            .map(|s| {
                s.at.duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    / 3
            })
            .collect();
        windows.dedup();
        eprintln!(
            "{agent}: {served} calls served, {limited} answered 429 and waited out, {} calls upstream in {} windows",
            seen.len(),
            windows.len()
        );
        assert!(
            limited > 0,
            "{agent}: the second session hit the limit: {rows:#?}"
        );
        assert!(
            windows.len() >= seen.len() - 1,
            "{agent}: about one call per window: {windows:?}"
        );
    }
}
