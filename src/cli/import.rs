//! `gw import`: the agents' own usage logs into the ledger, once (see `crate::import`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::config::{env_vars, Config};
use crate::import::{self, Agent, Options};
use crate::pricing::PriceTable;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Whose logs to read.
    #[arg(value_enum, default_value = "all")]
    agent: ImportAgent,
    /// Only calls made on or after this date (YYYY-MM-DD, local midnight) or instant (RFC 3339).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Read and count, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Read this directory instead of the agent's own (with one agent named).
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// Then send the imported rows (these and any imported before) to the gw server you are
    /// logged in to, flagged as imported; without it they stay on this machine.
    #[arg(long, conflicts_with = "dry_run")]
    sync: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ImportAgent {
    Claude,
    Codex,
    Gemini,
    Opencode,
    All,
}

pub fn import(config: Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let agents = match args.agent {
        ImportAgent::Claude => vec![Agent::Claude],
        ImportAgent::Codex => vec![Agent::Codex],
        ImportAgent::Gemini => vec![Agent::Gemini],
        ImportAgent::Opencode => vec![Agent::Opencode],
        ImportAgent::All => Agent::ALL.to_vec(),
    };
    if args.path.is_some() && args.agent == ImportAgent::All {
        anyhow::bail!("--path reads one agent's logs: name it (gw import claude --path DIR)");
    }
    if let Some(path) = &args.path {
        if !path.is_dir() {
            anyhow::bail!("--path {}: no such directory", path.display());
        }
    }
    let since_us = args.since.as_deref().map(parse_since).transpose()?;
    let names: Vec<&str> = agents.iter().map(|a| a.name()).collect();
    // The login first: a missing one is said before the logs are read.
    let key_id = if args.sync {
        Some(super::team::login_key_id(&config)?)
    } else {
        None
    };
    let prices = PriceTable::embedded().with_overrides(&config.prices);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} of logs  {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = bar.clone().map(|bar| -> import::Progress {
        Box::new(move |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
    });
    let summary = import::run(
        &config.ledger_path(),
        &prices,
        config.developer.clone(),
        env_vars::var,
        Options {
            agents,
            since_us,
            dry_run: args.dry_run,
            path: args.path,
            progress,
            key_id: key_id.clone(),
        },
    )
    .with_context(|| format!("importing into {}", config.ledger_path().display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    eprint!("{}", report(&summary));
    let Some(key_id) = key_id else {
        return Ok(ExitCode::SUCCESS);
    };
    let earlier = crate::ledger::Ledger::open(&config.ledger_path())?
        .claim_imported(&key_id, &names, since_us)?;
    if earlier > 0 {
        eprintln!("gw: {earlier} call(s) imported before are to be sent too");
    }
    super::team::sync(config)
}

fn parse_since(text: &str) -> anyhow::Result<i64> {
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        let zoned = date
            .to_zoned(jiff::tz::TimeZone::system())
            .context("that date does not exist in this machine's time zone")?;
        return Ok(zoned.timestamp().as_microsecond());
    }
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond())
        .map_err(|_| anyhow::anyhow!("--since {text:?}: use YYYY-MM-DD or an RFC 3339 time"))
}

/// The summary `gw import` prints.
fn report(s: &import::Summary) -> String {
    let mut out = String::new();
    let verb = if s.dry_run { "would add" } else { "added" };
    out.push_str(&format!(
        "gw import: {} files read ({} unchanged since the last import), {:.1} MB\n",
        s.files + s.files_unchanged,
        s.files_unchanged,
        s.bytes as f64 / 1e6
    ));
    out.push_str(&format!(
        "  {verb} {} calls, ${:.4} at gw's prices\n",
        s.added,
        s.cost_nanos as f64 / 1e9
    ));
    out.push_str(&format!(
        "  not added: {} copies of calls already counted (the logs' own duplicates, or imported before), {} calls gw's proxy metered (its rows are exact){}\n",
        s.duplicates,
        s.metered,
        if s.before_since > 0 {
            format!(", {} before --since", s.before_since)
        } else {
            String::new()
        }
    ));
    if !s.unpriced.is_empty() {
        let models: Vec<String> = s
            .unpriced
            .iter()
            .map(|(m, n)| format!("{m} ({n})"))
            .collect();
        out.push_str(&format!(
            "  unpriced (no price in gw's table; add [prices.\"model\"] to price them): {}\n",
            models.join(", ")
        ));
    }
    if !s.skipped.0.is_empty() {
        let reasons: Vec<String> = s
            .skipped
            .0
            .iter()
            .map(|(r, n)| format!("{r} ({n})"))
            .collect();
        out.push_str(&format!("  lines skipped: {}\n", reasons.join("; ")));
    }
    out
}
