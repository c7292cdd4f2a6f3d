//! `gw run`: one metered session. Binds the proxy on 127.0.0.1:0, wires the agent to it with a
//! session key, runs it in this terminal, then makes the ledger durable, prints one summary line
//! and exits with the agent's code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Args;

use super::session::{Session, SessionSpec};
use crate::agents::{self, Profile, WireContext};
use crate::config::Config;
use crate::ledger::{Ledger, Row};
use crate::meter::{Provider, PROVIDERS};
use crate::proxy;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gw run claude\n  gw run codex -- exec \"fix the tests\"\n  gw run -- python my_agent.py"
)]
pub struct RunArgs {
    /// The agent: claude, codex, gemini or opencode. Omit it and give a command after `--`.
    #[arg(value_name = "AGENT")]
    agent: Option<String>,
    /// Task label recorded on every request.
    #[arg(long)]
    task: Option<String>,
    /// Project recorded on every request (default: the git repository).
    #[arg(long)]
    project: Option<String>,
    /// No summary line at exit.
    #[arg(long, short)]
    quiet: bool,
    /// Send the agent's requests through an enterprise route: `azure` (Codex on Azure OpenAI) or
    /// `vertex` (Claude Code and Gemini CLI on Vertex AI, with gw's Google credentials) or
    /// `bedrock` (Claude Code on Amazon Bedrock, with gw's AWS keys or Bedrock API key).
    /// Default: `[agents.<name>] via` in the config.
    #[arg(long, value_name = "ROUTE")]
    via: Option<String>,
    /// Arguments for the agent, or the command to run when no agent is named.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// What to launch: a known agent's profile, or any command.
enum Target {
    Agent(Profile),
    Command,
}

pub fn run(config: Config, args: RunArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::env_vars::var;
    let (target, program, child_args) = match args.agent.as_deref() {
        Some(name) => {
            let profile = agents::profile(name).ok_or_else(|| {
                anyhow!("unknown agent `{name}`; gw knows claude, codex, gemini and opencode (for any other command: gw run -- {name} ...)")
            })?;
            let program = match config.agents.get(name).and_then(|a| a.path.clone()) {
                Some(path) => path,
                None => agents::find_on_path(profile.binary, env("PATH").as_deref()).ok_or_else(|| {
                    anyhow!(
                        "`{}` is not on PATH; install it with `npm install -g {}`, or set its path in the config: [agents.{name}] path = \"...\"",
                        profile.binary,
                        profile.npm_package
                    )
                })?,
            };
            (Target::Agent(profile), program, args.args)
        }
        None => {
            let mut rest = args.args.into_iter();
            let command = rest.next().ok_or_else(|| {
                anyhow!(
                    "name an agent (gw run claude) or a command after `--` (gw run -- my-agent)"
                )
            })?;
            let program = agents::find_on_path(&command, env("PATH").as_deref())
                .ok_or_else(|| anyhow!("`{command}` not found on PATH"))?;
            (Target::Command, program, rest.collect())
        }
    };
    let (agent_name, agent_version) = match &target {
        Target::Agent(p) => (
            p.name.to_string(),
            agents::npm_package_version(&program, p.npm_package),
        ),
        Target::Command => (
            program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            None,
        ),
    };

    let rt = proxy::runtime()?;
    let spec = SessionSpec {
        agent: agent_name,
        agent_version,
        project: args.project,
        task: args.task,
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let session = rt.block_on(Session::start(&config, spec, &env))?;
    // Before the agent owns the terminal: say now what team mode found (offline, exhausted).
    for line in session.notices.take() {
        eprintln!("{line}");
    }
    let session_id = session.id.clone();
    let runtime_dir = RuntimeDir::create(&config.data_dir.join("run").join(&session_id))?;
    let auth = session.auth.clone();
    let held: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|&p| auth.holds(p))
        .collect();
    let base_urls: BTreeMap<Provider, String> = Provider::ALL
        .into_iter()
        // A provider without an upstream (Azure unconfigured) gets no variables.
        .filter(|&p| config.upstreams.get(p).is_some())
        .map(|p| (p, session.base_url(p)))
        .collect();
    let origin = format!("http://{}", session.proxy.local_addr());
    let via = match &target {
        Target::Agent(profile) => {
            let name = args.via.clone().or_else(|| {
                config
                    .agents
                    .get(profile.name)
                    .and_then(|a| a.via.clone())
            });
            name.map(|n| agents::Via::for_agent(profile, &n))
                .transpose()
                .map_err(anyhow::Error::msg)?
        }
        Target::Command if args.via.is_some() => {
            return Err(anyhow!(
                "--via names an agent's route (gw run codex --via azure); point any other command at the variables gw exports (AZURE_OPENAI_ENDPOINT)"
            ))
        }
        Target::Command => None,
    };
    let ctx = WireContext {
        base_urls: &base_urls,
        origin: &origin,
        held: &held,
        session_key: auth.key(),
        session_id: &session_id,
        runtime_dir: runtime_dir.path(),
        mcp: &config.mcp_servers,
        env: &env,
        args: &child_args,
        via,
        azure_api_version: config.azure.api_version(),
        vertex: session
            .google
            .as_deref()
            .map(|g| (g.project(), g.location())),
        aws_region: session.aws_region.as_deref(),
    };
    let wiring = match &target {
        Target::Agent(profile) => profile.wire(&ctx)?,
        Target::Command => agents::generic(&ctx)?,
    };
    for line in &wiring.notices {
        eprintln!("{line}");
    }

    let mut command = tokio::process::Command::new(&program);
    command.args(&wiring.args).args(&child_args);
    // No provider key gw holds reaches the agent: it gets the session key instead.
    for info in PROVIDERS {
        for var in info.key_vars.iter().chain(info.login_vars) {
            command.env_remove(var);
        }
        if !auth.holds(info.provider) {
            // The agent's own login (an OAuth token in the env) is the user's own: pass it.
            for var in info.login_vars {
                if let Some(token) = env(var) {
                    command.env(var, token);
                }
            }
        }
    }
    // Nor does any of gw's own secrets (GW_KEY, GW_ADMIN_TOKEN, ...): only the session's.
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(crate::config::env_vars::withheld_from_agents)
        {
            command.env_remove(name);
        }
    }
    // While gw exports over OTLP, the collector's credentials are gw's: an agent holding them
    // could send the org's collector telemetry of its own making.
    if config.otel.is_some() {
        for name in crate::otel::CREDENTIAL_VARS {
            command.env_remove(name);
        }
    }
    command.env("GW_SESSION_ID", &session_id);
    command.envs(wiring.env.iter().map(|(k, v)| (k, v)));
    tracing::info!(session = %session_id, program = %program.display(), addr = %session.proxy.local_addr(), "session started");

    let status = rt.block_on(agents::run_child(command));
    let notices = session.notices.clone();
    let refusals = session.refusals.clone();
    let stopped = rt.block_on(session.stop(Duration::from_secs(3)));
    drop(rt);
    drop(runtime_dir);
    for line in notices.take() {
        eprintln!("{line}");
    }
    stopped?;
    let status = status.with_context(|| format!("cannot start {}", program.display()))?;

    if !args.quiet {
        match Ledger::open(&config.ledger_path()).and_then(|l| l.session_rows(&session_id)) {
            Ok(rows) => eprintln!("{}", summary_line(&rows, refusals.summary(), &session_id)),
            Err(e) => eprintln!(
                "gw: session {session_id} ended; cannot read the ledger for a summary: {e}"
            ),
        }
    }
    Ok(ExitCode::from(agents::exit_code(status)))
}

/// `gw: 3 requests · 52.3k in (50k cached) · 85 out · $0.0311 · claude-sonnet-4-5 · session …`,
/// with `· 12 refused (daily budget)` when gw refused some.
pub fn summary_line(rows: &[Row], refused: Option<String>, session_id: &str) -> String {
    let mut input = 0u64;
    let mut cache_read = 0u64;
    let mut cache_write = 0u64;
    let mut output = 0u64;
    let mut reasoning = 0u64;
    let mut cost = 0i64;
    let mut unpriced = 0usize;
    let mut models: Vec<&str> = Vec::new();
    for row in rows {
        input += row.usage.input;
        cache_read += row.usage.cache_read;
        cache_write += row.usage.cache_write();
        output += row.usage.output;
        reasoning += row.usage.reasoning;
        match row.cost_nanos {
            Some(c) => cost += c,
            None => unpriced += 1,
        }
        if let Some(model) = row.model.as_deref() {
            if !row.usage.is_zero() && !models.contains(&model) {
                models.push(model);
            }
        }
    }
    let mut parts = vec![format!(
        "{} request{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )];
    parts.push(format!("{} in", tokens(input)));
    if cache_read + cache_write > 0 {
        parts.push(format!(
            "{} cache read, {} cache write",
            tokens(cache_read),
            tokens(cache_write)
        ));
    }
    parts.push(if reasoning > 0 {
        format!("{} out ({} reasoning)", tokens(output), tokens(reasoning))
    } else {
        format!("{} out", tokens(output))
    });
    let mut money = crate::report::usd_fine(cost);
    if unpriced > 0 {
        money.push_str(&format!(" + {unpriced} unpriced"));
    }
    parts.push(money);
    parts.extend(refused);
    if !models.is_empty() {
        parts.push(models.join(", "));
    }
    parts.push(format!("session {session_id}"));
    format!("gw: {}", parts.join(" · "))
}

fn tokens(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

/// The session's private directory (0700): created at start, removed at exit.
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn create(path: &Path) -> anyhow::Result<RuntimeDir> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(path)
            .with_context(|| format!("cannot create the session directory {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The parent too: session files hold the MCP servers' env.
            if let Some(parent) = path.parent() {
                let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700));
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(RuntimeDir(path.to_path_buf()))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Usage;

    #[test]
    fn summary_reads_naturally() {
        let row = |model: &str, cost: Option<i64>| Row {
            model: Some(model.into()),
            usage: Usage {
                input: 1200,
                output: 85,
                cache_read: 50_000,
                cache_write_5m: 3000,
                ..Default::default()
            },
            cost_nanos: cost,
            ..Default::default()
        };
        let line = summary_line(
            &[
                row("claude-sonnet-4-5", Some(31_125_000)),
                row("mystery", None),
            ],
            None,
            "s-1",
        );
        assert_eq!(
            line,
            "gw: 2 requests · 2.4k in · 100.0k cache read, 6.0k cache write · 170 out · $0.0311 + 1 unpriced · claude-sonnet-4-5, mystery · session s-1"
        );
        let refused = Row {
            status: 402,
            cost_nanos: Some(0),
            ..Default::default()
        };
        let line = summary_line(
            &[refused.clone(), refused],
            Some("2 refused (daily budget)".into()),
            "s-2",
        );
        assert_eq!(
            line,
            "gw: 2 requests · 0 in · 0 out · $0.0000 · 2 refused (daily budget) · session s-2"
        );
    }
}
