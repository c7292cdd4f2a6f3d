//! `gw proxy`: the metering proxy in the foreground, printing the env lines to export.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::session::{Session, SessionSpec};
use crate::agents;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address to listen on (default: [proxy] listen, else a free port on 127.0.0.1).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Task label recorded on every request.
    #[arg(long)]
    task: Option<String>,
    /// Project recorded on every request (default: the git repository).
    #[arg(long)]
    project: Option<String>,
}

pub async fn run(config: Config, args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let listen = args.listen.unwrap_or(config.listen);
    if !listen.ip().is_loopback() {
        eprintln!("gw: warning: listening on {listen}, beyond loopback: any host that reaches it can spend through it");
    }
    let env = crate::config::env_vars::var;
    let spec = SessionSpec {
        agent: "proxy".into(),
        agent_version: None,
        project: args.project,
        task: args.task,
        listen,
    };
    let session = Session::start(&config, spec, &env).await?;
    for line in session.notices.take() {
        eprintln!("{line}");
    }
    let (auth, session_id) = (session.auth.clone(), session.id.clone());
    // What `gw run -- cmd` sets, and the session's id.
    let mut exports = agents::exports(
        &|p| config.upstreams.get(p).map(|_| session.base_url(p)),
        &|p| auth.holds(p),
        auth.key(),
    );
    exports.push(("GW_SESSION_ID", session_id.clone()));
    // Whoever reads these may stop reading (`gw proxy | head -1`): the proxy serves on regardless.
    let mut out = std::io::stdout().lock();
    for (name, value) in exports {
        if writeln!(out, "export {name}={value}").is_err() {
            break;
        }
    }
    let _ = out.flush();
    drop(out);
    eprintln!(
        "gw proxy: listening on http://{} (session {session_id}); Ctrl-C stops",
        session.proxy.local_addr()
    );
    tracing::info!(addr = %session.proxy.local_addr(), %session_id, "proxy started");

    wait_for_stop().await;
    let notices = session.notices.clone();
    session.stop(Duration::from_secs(5)).await?;
    // After a hang-up the terminal is gone: a failed write must not panic (eprintln! would).
    let mut err = std::io::stderr().lock();
    for line in notices.take() {
        let _ = writeln!(err, "{line}");
    }
    let _ = writeln!(
        err,
        "gw proxy: stopped; ledger at {}",
        config.ledger_path().display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        // A closed terminal sends SIGHUP: stop as cleanly as on SIGTERM, or the last rows are lost.
        let mut hangup = signal(SignalKind::hangup()).expect("SIGHUP handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hangup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
