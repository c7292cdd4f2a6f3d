//! `gw server` and `gw server init`: run the central budget server, create its admin token.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::config::{env_vars, Config};
use crate::server::{self, ServeOptions};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    #[command(subcommand)]
    command: Option<ServerCommand>,
    /// Address to listen on.
    #[arg(long, env = env_vars::GW_SERVER_LISTEN, default_value = server::DEFAULT_LISTEN)]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArg,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with gw's own CA and a certificate it signs, kept in <data dir>/tls/ and
    /// reused at every start (renewed when expiring). Clients trust tls/ca.pem with `gw login
    /// <url> --ca-cert`, or pin the fingerprint printed at start with `--fingerprint`.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// Another name (DNS name or IP address) clients reach the server by, for the
    /// --tls-self-signed certificate (localhost and the listen address are always in it).
    #[arg(long, value_name = "NAME", requires = "tls_self_signed")]
    tls_name: Vec<String>,
    /// Seconds a lease lives without a renewal.
    #[arg(long, value_name = "SECS", default_value_t = server::DEFAULT_LEASE_TTL_SECS)]
    lease_ttl: i64,
    /// Add `developer`, `project` or both (comma-separated) to /metrics' usage series, which
    /// carry org, team, model and agent. Each multiplies the series Prometheus stores: about
    /// developers × models × agents (× projects).
    #[arg(long, value_name = "LABELS", value_parser = server::metrics::MetricsLabels::parse)]
    metrics_labels: Option<server::metrics::MetricsLabels>,
}

#[derive(Debug, Args)]
struct DatabaseArg {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB (default: sqlite://<data dir>/server.db).
    #[arg(long, value_name = "URL", env = env_vars::GW_SERVER_DATABASE)]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Create the admin token (printed once; stored hashed). Refuses when one exists.
    Init {
        #[command(flatten)]
        database: DatabaseArg,
        /// Replace the existing token.
        #[arg(long)]
        rotate: bool,
        /// Create the metrics-only token instead (`gwm_…`): it reads `/metrics` and nothing
        /// else, for Prometheus.
        #[arg(long)]
        metrics_token: bool,
    },
}

pub fn run(config: Config, args: ServerArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async move {
        match args.command {
            Some(ServerCommand::Init {
                database,
                rotate,
                metrics_token,
            }) => init(&config, database, rotate, metrics_token).await,
            None => serve(&config, args).await,
        }
    })
}

fn database_url(config: &Config, arg: DatabaseArg) -> String {
    arg.database
        .unwrap_or_else(|| server::default_database(&config.data_dir))
}

async fn init(
    config: &Config,
    database: DatabaseArg,
    rotate: bool,
    metrics_token: bool,
) -> anyhow::Result<ExitCode> {
    let url = database_url(config, database);
    let store = server::open_store(&url).await?;
    if metrics_token {
        return match server::init_metrics_token(store.as_ref(), rotate).await? {
            Some(token) => {
                eprintln!(
                    "gw server: metrics token {} for {} (shown once; it reads /metrics only):",
                    if rotate { "replaced" } else { "created" },
                    server::postgres::redact(&url)
                );
                println!("{token}");
                eprintln!("put it in a file Prometheus reads: authorization: {{credentials_file: <file>}}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!(
                    "gw: error: {} already has a metrics token; run `gw server init --metrics-token --rotate` to replace it",
                    server::postgres::redact(&url)
                );
                Ok(ExitCode::FAILURE)
            }
        };
    }
    match server::init_admin(store.as_ref(), rotate).await? {
        Some(token) => {
            eprintln!(
                "gw server: admin token {} for {} (shown once; keep it secret):",
                if rotate { "replaced" } else { "created" },
                server::postgres::redact(&url)
            );
            println!("{token}");
            eprintln!("use it with: export {}=<token>", env_vars::GW_ADMIN_TOKEN);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "gw: error: {} already has an admin token; run `gw server init --rotate` to replace it",
                server::postgres::redact(&url)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn serve(config: &Config, args: ServerArgs) -> anyhow::Result<ExitCode> {
    let url = database_url(config, args.database);
    let store = server::open_store(&url).await?;
    // Bound first: a start that cannot listen changes nothing on disk (the certificate a
    // running server serves stays the one its clients pinned).
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}\n  is another server running there? pick another --listen", args.listen))?;
    let tls = if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        Some(server::tls::from_files(cert, key).map_err(anyhow::Error::msg)?)
    } else if args.tls_self_signed {
        let names = server::tls::self_signed_names(&args.listen, &args.tls_name);
        let own =
            server::tls::self_signed(&config.data_dir.join("tls"), &names, jiff::Timestamp::now())
                .map_err(anyhow::Error::msg)?;
        for line in &own.made {
            eprintln!("gw server: {line}");
        }
        eprintln!(
            "gw server: clients trust this server with `gw login <url> --ca-cert {}` (copy the file to them)",
            own.ca_path.display()
        );
        Some(own.tls)
    } else {
        None
    };
    if let Some(tls) = &tls {
        eprintln!(
            "gw server: certificate SHA-256 fingerprint {} (clients can pin it: --fingerprint)",
            tls.fingerprint
        );
    }
    let tls = tls.map(|t| t.config);
    if tls.is_none() && !args.listen.ip().is_loopback() {
        eprintln!(
            "gw server: warning: listening on {} without TLS: keys and tokens cross the network in clear; \
             use --tls-cert/--tls-key (or --tls-self-signed to try)",
            args.listen
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "gw server: listening on {scheme}://{} (database: {}); Ctrl-C stops",
        listener.local_addr()?,
        server::postgres::redact(&url)
    );
    if !server::has_admin_token(store.as_ref()).await? {
        eprintln!("gw server: no admin token yet: run `gw server init` to create one");
    }
    let export = match &config.otel {
        Some(settings) => {
            let export =
                crate::otel::Exporter::start(settings, crate::otel::Role::Server, Vec::new())
                    .map_err(anyhow::Error::msg)?;
            eprintln!(
                "gw server: exporting ingested usage over OTLP ({}) to {}",
                settings.protocol.as_str(),
                crate::config::redact_url(&settings.endpoint)
            );
            Some(export)
        }
        None => None,
    };
    let options = ServeOptions {
        tls,
        lease_ttl_secs: args.lease_ttl.max(1),
        export,
        metrics_labels: args.metrics_labels.unwrap_or_default(),
        ..ServeOptions::default()
    };
    server::serve(listener, store, options, shutdown_signal()).await?;
    eprintln!("gw server: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
