//! Command-line definitions, dispatch and exit codes.

mod admin;
mod import;
mod proxy;
mod run;
mod server;
mod session;
mod spend;
mod team;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::config::{env_vars, Config};

#[derive(Debug, Parser)]
#[command(
    name = "gw",
    version,
    about = "Makes coding-agent spend visible and bounded",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an agent (claude, codex, gemini, opencode) or any command through a metered session.
    Run(run::RunArgs),
    /// Show spend from the local ledger: today by default; --week, --month, --since/--until.
    Spend(spend::SpendArgs),
    /// List recent sessions.
    Sessions(spend::SessionsArgs),
    /// Show one session's requests.
    Session(spend::SessionArgs),
    /// Import past usage from the agents' own logs (Claude Code, Codex, Gemini CLI, opencode) into the ledger, once.
    Import(import::ImportArgs),
    /// Run the metering proxy in the foreground (for IDE agents and manual use).
    Proxy(proxy::ProxyArgs),
    /// Run the central budget server (keys, teams, budgets, leases, usage ingest); `init` makes the admin token.
    Server(server::ServerArgs),
    /// Manage the server's orgs, teams, users, keys, budgets and model prices (needs GW_ADMIN_TOKEN).
    Admin(admin::AdminArgs),
    /// Log in to a gw server (team mode): checks and stores its URL and your gw key.
    Login(team::LoginArgs),
    /// Forget the stored gw server and key.
    Logout,
    /// Show your budgets: your team's above your key (team mode), else [budget]'s local caps.
    Budget(team::BudgetArgs),
    /// Send every request the gw server has not acknowledged yet.
    Sync,
    /// Print the effective configuration (secrets redacted).
    Config {
        /// List every environment variable gw reads instead.
        #[arg(long)]
        env: bool,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Maintenance commands for gw's developers.
    #[command(hide = true, subcommand)]
    Debug(DebugCommand),
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Fill the ledger with realistic synthetic requests (for benchmarks and demos).
    SeedLedger(spend::SeedLedgerArgs),
    /// Regenerate the embedded price table from LiteLLM's price JSON.
    UpdatePrices {
        /// LiteLLM's `model_prices_and_context_window_backup.json`.
        #[arg(long)]
        from: PathBuf,
        /// The litellm package version the file came from, e.g. 1.77.3.
        #[arg(long)]
        source_version: String,
        /// Where to write the table.
        #[arg(long, default_value = "src/pricing/prices.json")]
        out: PathBuf,
    },
}

/// Parses the command line, runs the command and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gw: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            let config = Config::load()?;
            crate::logging::init(&config);
            run::run(config, args)
        }
        Command::Spend(args) => spend::spend(args),
        Command::Sessions(args) => spend::sessions(args),
        Command::Session(args) => spend::session(args),
        Command::Import(args) => {
            let config = Config::load()?;
            crate::logging::init(&config);
            import::import(config, args)
        }
        Command::Debug(DebugCommand::SeedLedger(args)) => spend::seed_ledger(args),
        Command::Server(args) => {
            let config = Config::load()?;
            crate::logging::init(&config);
            server::run(config, args)
        }
        // A broken config only costs `gw admin` the trust `gw login` stored.
        Command::Admin(args) => admin::run(Config::load().ok(), args),
        Command::Login(args) => team::login(Config::load()?, args),
        Command::Logout => team::logout(Config::load()?),
        Command::Budget(args) => team::budget(Config::load()?, args),
        Command::Sync => {
            let config = Config::load()?;
            crate::logging::init(&config);
            team::sync(config)
        }
        Command::Proxy(args) => {
            let config = Config::load()?;
            crate::logging::init(&config);
            // One thread, as gw run's proxy (see proxy::runtime).
            crate::proxy::runtime()?.block_on(proxy::run(config, args))
        }
        Command::Config { env } => {
            let mut out = std::io::stdout().lock();
            if env {
                for (name, doc) in env_vars::all() {
                    writeln!(out, "{name:<24} {doc}")?;
                }
            } else {
                write!(out, "{}", Config::load()?.render())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "gw", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Debug(DebugCommand::UpdatePrices {
            from,
            source_version,
            out,
        }) => {
            let input = std::fs::read_to_string(&from)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", from.display()))?;
            let table = crate::pricing::generate_table(&input, &source_version)?;
            std::fs::write(&out, table)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            eprintln!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
