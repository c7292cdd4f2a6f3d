//! `gw login`, `gw logout`, `gw budget` and `gw sync`: team mode from the command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Args;
use comfy_table::{Cell, Color};

use crate::api::BudgetStatus;
use crate::config::{env_vars, Config, Credentials, ServerLogin};
use crate::report::usd;
use crate::report::Style;
use crate::server::trust::Fingerprint;
use crate::sync::{self, ServerClient, SyncError, Uploader};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gw login https://gw.example.com\n  GW_KEY=gwk_... gw login https://gw.example.com"
)]
pub struct LoginArgs {
    /// The gw server's URL, e.g. https://gw.example.com
    url: String,
    /// Your gw key (default: GW_KEY, else a prompt).
    #[arg(long)]
    key: Option<String>,
    /// Trust this PEM CA certificate for the server (its own CA, e.g. tls/ca.pem of `gw server
    /// --tls-self-signed`); copied beside the credentials and used by every team command.
    #[arg(long, value_name = "PEM", env = env_vars::GW_SERVER_CA)]
    ca_cert: Option<PathBuf>,
    /// Pin the server certificate's SHA-256 fingerprint, as `gw server` prints it at start
    /// (AB:CD:…); alone it trusts exactly that certificate, with --ca-cert it is checked too.
    #[arg(long, value_name = "SHA256", env = env_vars::GW_SERVER_FINGERPRINT)]
    fingerprint: Option<String>,
}

#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The team commands' environment: blank, not only empty, is unset here (`GW_KEY=" "` is no key).
fn env(name: &str) -> Option<String> {
    env_vars::var(name).filter(|v| !v.trim().is_empty())
}

/// The login in effect, or an error saying how to log in.
/// The gw server and key in use (GW_SERVER / GW_KEY over `gw login`'s), if any.
fn stored_login(config: &Config) -> anyhow::Result<Option<ServerLogin>> {
    let credentials = Credentials::load(&config.credentials_path)?;
    Ok(sync::resolve_login(&credentials, &env)?)
}

fn current_login(config: &Config) -> anyhow::Result<ServerLogin> {
    Ok(stored_login(config)?.ok_or(SyncError::NotLoggedIn)?)
}

pub fn login(config: Config, args: LoginArgs) -> anyhow::Result<ExitCode> {
    let key = match args.key.or_else(|| env(env_vars::GW_KEY)) {
        Some(key) => key,
        None => prompt_key()?,
    };
    let key = key.trim().to_string();
    if crate::server::secret::key_id(&key).is_none() {
        return Err(anyhow!(
            "that is not a gw key (they look like gwk_<12 hex>_<64 hex>); ask your gw admin for one (`gw admin key create`)"
        ));
    }
    let url = args.url.trim().trim_end_matches('/').to_string();
    if let Some(fingerprint) = &args.fingerprint {
        Fingerprint::parse(fingerprint).map_err(|e| anyhow!("{e}"))?;
    }
    if (args.ca_cert.is_some() || args.fingerprint.is_some())
        && !url.to_ascii_lowercase().starts_with("https://")
    {
        return Err(anyhow!(
            "--ca-cert and --fingerprint (or GW_SERVER_CA / GW_SERVER_FINGERPRINT) secure an HTTPS server, \
             but {url} is plain HTTP, where the key crosses in clear: use the server's https:// URL"
        ));
    }
    // The file and its mode are checked before anything is written.
    let previous = Credentials::load(&config.credentials_path)?.server;
    // The CA the login trusts lives beside the credentials, so it outlives the shell that named
    // it (and the file it was copied from). It is read once, into a file beside the kept one
    // that the check uses, and put in place only once the login is saved.
    let kept = kept_ca_path(&config);
    let staged = kept.with_file_name("server-ca.pem.new");
    if let Some(given) = &args.ca_cert {
        let pem = std::fs::read(given)
            .with_context(|| format!("cannot read the CA certificate {}", given.display()))?;
        crate::private_fs::write_private(&staged, &pem)
            .with_context(|| format!("cannot keep the CA certificate in {}", kept.display()))?;
    }
    let result = (|| -> anyhow::Result<_> {
        let mut login = ServerLogin {
            url: url.clone(),
            key,
            ca_cert: args.ca_cert.as_ref().map(|_| staged.clone()),
            fingerprint: args.fingerprint.clone(),
        };
        let me = runtime()?.block_on(ServerClient::new(&login)?.whoami())?;
        if login.ca_cert.is_some() {
            login.ca_cert = Some(kept.clone());
        }
        Credentials::save_server(&config.credentials_path, Some(&login))?;
        if login.ca_cert.is_some() {
            std::fs::rename(&staged, &kept)
                .with_context(|| format!("cannot keep the CA certificate in {}", kept.display()))?;
        } else if previous.and_then(|p| p.ca_cert).as_deref() == Some(kept.as_path()) {
            remove_kept_ca(&kept)?;
        }
        Ok((login, me))
    })();
    let _ = std::fs::remove_file(&staged);
    let (login, me) = result?;
    let team = me
        .team
        .as_deref()
        .map(|t| format!(", team {t}"))
        .unwrap_or_default();
    eprintln!(
        "gw: logged in to {url} as {} (key {}{team}, org {}); saved in {}",
        me.developer,
        me.key_id,
        me.org,
        config.credentials_path.display()
    );
    if let Some(ca) = &login.ca_cert {
        eprintln!("gw: trusting the server's CA, kept in {}", ca.display());
    }
    if let Some(fingerprint) = &login.fingerprint {
        eprintln!("gw: pinned the server's certificate {fingerprint}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Where `gw login --ca-cert` keeps the server's CA: beside the credentials file.
fn kept_ca_path(config: &Config) -> PathBuf {
    config.credentials_path.with_file_name("server-ca.pem")
}

/// Removes the CA a previous login kept.
fn remove_kept_ca(kept: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(kept) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow!("cannot remove {}: {e}", kept.display())),
    }
}

/// Reads the key from the terminal without echoing it.
fn prompt_key() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.read_line(&mut line)?;
        if line.trim().is_empty() {
            return Err(anyhow!(
                "no key given: pass --key, set GW_KEY, or type it at the prompt"
            ));
        }
        return Ok(line);
    }
    eprint!("gw key: ");
    std::io::stderr().flush()?;
    let _echo_off = EchoOff::new();
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    eprintln!();
    Ok(line)
}

/// Turns terminal echo off while it lives.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed, then filled, termios.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, saved);
            }
        }
    }
}

pub fn logout(config: Config) -> anyhow::Result<ExitCode> {
    let credentials = Credentials::load(&config.credentials_path)?;
    match credentials.server {
        Some(s) => {
            Credentials::save_server(&config.credentials_path, None)?;
            let kept = kept_ca_path(&config);
            // Only the file `gw login` kept: a path written in by hand is the user's.
            if s.ca_cert.as_deref() == Some(kept.as_path()) {
                remove_kept_ca(&kept)?;
            }
            eprintln!("gw: logged out of {}", s.url);
        }
        None => eprintln!("gw: not logged in"),
    }
    if env(env_vars::GW_KEY).is_some() {
        eprintln!("gw: note: GW_KEY is still set in this environment");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn budget(config: Config, args: BudgetArgs) -> anyhow::Result<ExitCode> {
    let Some(login) = stored_login(&config)? else {
        return local_budget(&config, args);
    };
    let client = ServerClient::new(&login)?;
    let (budgets, limits) = runtime()?.block_on(client.budgets_and_limits())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({"server": login.url, "budgets": budgets, "limits": limits});
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::detect();
    if budgets.is_empty() {
        writeln!(out, "No budgets apply to this key.")?;
    } else {
        let lines: Vec<BudgetLine> = budgets.iter().map(BudgetLine::from).collect();
        write!(out, "{}", budget_table(&lines, style))?;
    }
    if !limits.is_empty() {
        writeln!(out)?;
        write!(out, "{}", limit_table(&limits, style))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `gw budget` without a server: the caps of `[budget]` against the local ledger.
fn local_budget(config: &Config, args: BudgetArgs) -> anyhow::Result<ExitCode> {
    if config.local_budgets.is_empty() {
        return Err(anyhow!(
            "no budgets: not logged in to a gw server (gw login <url>) and no [budget] in {} (e.g. daily_usd = 20)",
            config.config_path.display()
        ));
    }
    let tz = jiff::tz::TimeZone::system();
    let statuses = crate::budget::status(
        &config.ledger_path(),
        &config.local_budgets,
        jiff::Timestamp::now(),
        &tz,
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let budgets: Vec<serde_json::Value> = statuses
            .iter()
            .map(|s| {
                let remaining = s.remaining_nanos().max(0);
                serde_json::json!({
                    "scope": "local",
                    "period": s.budget.period.as_str(),
                    "limit_nanos": s.budget.limit_nanos,
                    "limit_usd": s.budget.limit_nanos as f64 / 1e9,
                    "spent_nanos": s.spent_nanos,
                    "spent_usd": s.spent_nanos as f64 / 1e9,
                    "remaining_nanos": remaining,
                    "remaining_usd": remaining as f64 / 1e9,
                    "exhausted": s.exhausted(),
                    "period_start": s.period.since.as_ref().map(crate::report::rfc3339),
                    "resets_at": crate::report::rfc3339(&s.period.until),
                    "tz": crate::report::zone_name(&tz),
                })
            })
            .collect();
        let value = serde_json::json!({
            "server": null,
            "config": config.config_path.display().to_string(),
            "budgets": budgets,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        let lines: Vec<BudgetLine> = statuses.iter().map(BudgetLine::from).collect();
        write!(out, "{}", budget_table(&lines, Style::detect()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of `gw budget`'s table, from the server or from `[budget]`.
pub struct BudgetLine {
    pub scope: String,
    pub name: String,
    pub period: String,
    pub limit_nanos: i64,
    pub spent_nanos: i64,
    pub reserved_nanos: i64,
    pub remaining_nanos: i64,
    pub exhausted: bool,
    pub soft_exceeded: bool,
    /// Never passed: each request first reserves its upper-bound cost.
    pub strict: bool,
    pub resets: String,
}

impl From<&BudgetStatus> for BudgetLine {
    fn from(b: &BudgetStatus) -> BudgetLine {
        BudgetLine {
            scope: b.scope.as_str().to_string(),
            name: b.name.clone(),
            period: b.period.as_str().to_string(),
            limit_nanos: b.limit_nanos,
            spent_nanos: b.spent_nanos,
            reserved_nanos: b.reserved_nanos,
            remaining_nanos: b.remaining_nanos,
            exhausted: b.exhausted,
            soft_exceeded: b.soft_exceeded,
            strict: b.strict,
            resets: b.resets_at.clone().unwrap_or_else(|| "never".into()),
        }
    }
}

impl From<&crate::budget::LocalStatus> for BudgetLine {
    fn from(s: &crate::budget::LocalStatus) -> BudgetLine {
        BudgetLine {
            scope: "local".into(),
            name: "this machine".into(),
            period: s.budget.period.as_str().to_string(),
            limit_nanos: s.budget.limit_nanos,
            spent_nanos: s.spent_nanos,
            reserved_nanos: 0,
            remaining_nanos: s.remaining_nanos().max(0),
            exhausted: s.exhausted(),
            soft_exceeded: false,
            strict: false,
            resets: crate::report::rfc3339(&s.period.until),
        }
    }
}

/// Every budget, one row each, with a bar of what is used.
pub fn budget_table(budgets: &[BudgetLine], style: Style) -> String {
    let mut table = style.table(
        &[
            "Scope",
            "Name",
            "Period",
            "Limit",
            "Spent",
            "Reserved",
            "Remaining",
            "Used",
            "Resets",
        ],
        3,
    );
    for b in budgets {
        let used = if b.limit_nanos > 0 {
            (b.spent_nanos + b.reserved_nanos) as f64 / b.limit_nanos as f64
        } else {
            1.0
        };
        let bar = Cell::new(bar(used, style.boxed));
        let bar = match () {
            _ if !style.color => bar,
            _ if b.exhausted => bar.fg(Color::Red),
            _ if b.soft_exceeded => bar.fg(Color::Yellow),
            _ => bar.fg(Color::Green),
        };
        table.add_row(vec![
            Cell::new(&b.scope),
            Cell::new(&b.name),
            Cell::new(if b.strict {
                format!("{} (strict)", b.period)
            } else {
                b.period.clone()
            }),
            Cell::new(usd(b.limit_nanos)),
            Cell::new(usd(b.spent_nanos)),
            Cell::new(usd(b.reserved_nanos)),
            if b.exhausted {
                style.warn(usd(b.remaining_nanos))
            } else {
                Cell::new(usd(b.remaining_nanos))
            },
            bar,
            Cell::new(&b.resets),
        ]);
    }
    style.render(&table)
}

/// The rate limits over the key: caps per window and what sessions took of them so far.
pub fn limit_table(limits: &[crate::api::RateLimitView], style: Style) -> String {
    let mut table = style.table(
        &[
            "Scope",
            "Name",
            "Window",
            "Requests",
            "Tokens",
            "Granted",
            "Window ends",
        ],
        3,
    );
    let cap = |n: Option<i64>| n.map_or("-".to_string(), crate::report::thousands);
    for l in limits {
        table.add_row(vec![
            Cell::new(l.scope.as_str()),
            Cell::new(&l.name),
            Cell::new(format!("{} s", l.window_secs)),
            Cell::new(cap(l.max_requests)),
            Cell::new(cap(l.max_tokens)),
            Cell::new(format!(
                "{} req, {} tok",
                crate::report::thousands(l.granted_requests),
                crate::report::thousands(l.granted_tokens)
            )),
            Cell::new(&l.window_ends_at),
        ]);
    }
    style.render(&table)
}

/// `███████░░░  70%` on a terminal, `#######---  70%` elsewhere.
fn bar(used: f64, unicode: bool) -> String {
    const WIDTH: usize = 10;
    let filled = ((used.clamp(0.0, 1.0) * WIDTH as f64).round() as usize).min(WIDTH);
    let (full, empty) = if unicode { ('█', '░') } else { ('#', '-') };
    let mut s: String = std::iter::repeat_n(full, filled)
        .chain(std::iter::repeat_n(empty, WIDTH - filled))
        .collect();
    s.push_str(&format!(" {:>4.0}%", used.max(0.0) * 100.0));
    s
}

/// The public id of the key this machine is logged in with.
pub fn login_key_id(config: &Config) -> anyhow::Result<String> {
    key_id_of(&current_login(config)?)
}

fn key_id_of(login: &ServerLogin) -> anyhow::Result<String> {
    Ok(crate::server::secret::key_id(&login.key)
        .ok_or_else(|| anyhow!("the gw key is malformed; run `gw login <url>` again"))?
        .to_string())
}

pub fn sync(config: Config) -> anyhow::Result<ExitCode> {
    let login = current_login(&config)?;
    let key_id = key_id_of(&login)?;
    let client = ServerClient::new(&login)?;
    let uploader = Uploader::new(client, config.ledger_path(), key_id, None);
    let rt = runtime()?;
    let pending = rt.block_on(uploader.pending())?;
    if pending == 0 {
        eprintln!("gw: nothing to sync; the server has every request it takes");
        print_quarantined(&rt.block_on(uploader.quarantined())?);
        return Ok(ExitCode::SUCCESS);
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(pending);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} requests  {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let shown = bar.clone();
    let report = rt
        .block_on(
            uploader.push_with_retries(6, Duration::from_secs(8), &move |n| shown.set_position(n)),
        )
        .with_context(|| format!("sync stopped; {} request(s) still to send", pending))?;
    bar.finish_and_clear();
    eprintln!(
        "gw: synced {} request(s) to {} ({} new, {} already there)",
        report.sent, login.url, report.accepted, report.duplicates
    );
    print_quarantined(&rt.block_on(uploader.quarantined())?);
    Ok(ExitCode::SUCCESS)
}

/// The rows the server refused for good, by reason: kept in the ledger, never sent again.
fn print_quarantined(reasons: &[(String, u64)]) {
    const SHOWN: usize = 5;
    let total: u64 = reasons.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return;
    }
    eprintln!(
        "gw: {total} request(s) quarantined: the server refused them, so they stay in the local \
         ledger (and in `gw spend`) and are not sent again:"
    );
    for (reason, n) in reasons.iter().take(SHOWN) {
        eprintln!("  {n} × {reason}");
    }
    if reasons.len() > SHOWN {
        let rest: u64 = reasons[SHOWN..].iter().map(|(_, n)| n).sum();
        eprintln!("  {rest} more, for {} other reasons", reasons.len() - SHOWN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_and_clamp() {
        assert_eq!(bar(0.0, false), "----------    0%");
        assert_eq!(bar(0.7, false), "#######---   70%");
        assert_eq!(bar(1.5, true), "██████████  150%");
    }

    #[test]
    fn budget_table_shows_what_is_spent_reserved_and_strict() {
        let line = |scope: &str, name: &str, spent: i64, reserved: i64, strict: bool| BudgetLine {
            scope: scope.into(),
            name: name.into(),
            period: "day".into(),
            limit_nanos: 10_000_000_000,
            spent_nanos: spent,
            reserved_nanos: reserved,
            remaining_nanos: (10_000_000_000 - spent - reserved).max(0),
            exhausted: spent + reserved >= 10_000_000_000,
            soft_exceeded: spent + reserved >= 8_000_000_000,
            strict,
            resets: "2026-11-30T00:00:00Z".into(),
        };
        let table = budget_table(
            &[
                line("team", "acme/backend", 7_250_000_000, 500_000_000, true),
                line("developer", "dev@acme.test", 10_000_000_000, 0, false),
            ],
            Style::plain(),
        );
        insta::assert_snapshot!(table);
    }

    #[test]
    fn limit_table_shows_caps_and_what_was_granted() {
        let limit = crate::api::RateLimitView {
            id: 3,
            scope: crate::api::Scope::Team,
            name: "acme/backend".into(),
            window_secs: 60,
            max_requests: Some(100),
            max_tokens: None,
            granted_requests: 42,
            granted_tokens: 0,
            window_ends_at: "2026-11-29T07:31:00Z".into(),
        };
        insta::assert_snapshot!(limit_table(&[limit], Style::plain()));
    }
}
