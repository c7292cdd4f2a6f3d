//! `gw spend`, `gw sessions`, `gw session <id>` and `gw debug seed-ledger`: arguments and commands.

use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

use clap::{ArgGroup, Args};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::Config;
use crate::ledger::query::{Filter, SessionMatch, Source};
use crate::ledger::Ledger;
use crate::report::{
    DateSpec, Dimension, Period, PeriodSpec, SeedPlan, Seeder, SessionDetail, SessionList,
    SpendReport, SpendRequest, Style, Zone,
};

/// Exit code of a usage error (bad flag values), as clap uses.
const USAGE: u8 = 2;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("preset").multiple(false)))]
pub struct SpendArgs {
    /// Today (the default).
    #[arg(long, group = "preset")]
    today: bool,
    /// Yesterday.
    #[arg(long, group = "preset")]
    yesterday: bool,
    /// This week, Monday to Sunday.
    #[arg(long, group = "preset")]
    week: bool,
    /// This calendar month.
    #[arg(long, group = "preset")]
    month: bool,
    /// From this day or time: 2025-03-09, 20250309, 2025-03-09T14:00, 2025-03-09T14:00:00Z, today,
    /// yesterday, 7d (the day 7 days ago), 2w, 12h (12 hours ago).
    #[arg(long, value_name = "DATE", conflicts_with = "preset")]
    since: Option<DateSpec>,
    /// Up to this day (included) or time (excluded); same forms as --since. Default: today.
    #[arg(long, value_name = "DATE", conflicts_with = "preset")]
    until: Option<DateSpec>,
    /// Time zone for days, weeks and months: an IANA name (Europe/Berlin), UTC, or +05:30.
    /// Default: the system's.
    #[arg(long, value_name = "ZONE")]
    tz: Option<Zone>,
    /// Group by one or more of day, week, month, agent, model, provider, project, branch,
    /// session, task, developer, key, billing, source (comma-separated: --by day,model).
    /// Default: model for a single day, day otherwise; billing (api or subscription) is
    /// added when the period holds use on a subscription login.
    #[arg(long, value_name = "KEYS")]
    by: Option<ByList>,
    /// Add per-model sub-rows under each row.
    #[arg(long)]
    breakdown: bool,
    /// Only these agents (comma-separated; `*` globs: --agent 'claude*').
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    agent: Vec<String>,
    /// Only these models (comma-separated; `*` globs: --model 'claude-sonnet-*').
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    model: Vec<String>,
    /// Only these projects (comma-separated; `*` globs).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    project: Vec<String>,
    /// Only these branches (comma-separated; `*` globs).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    branch: Vec<String>,
    /// Only requests metered by gw's proxy, or imported from the agents' logs (`gw import`).
    #[arg(long, value_enum)]
    source: Option<SourceArg>,
    /// Print JSON (the shape is documented in the README and stable).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV with a header line.
    #[arg(long)]
    csv: bool,
    /// Pretend the time is this (RFC 3339), for tests and reproducible reports.
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
    /// Sum the raw rows instead of the rollup (to check or benchmark the rollup).
    #[arg(long, hide = true)]
    raw: bool,
}

/// A `--by` list.
#[derive(Debug, Clone)]
pub struct ByList(Vec<Dimension>);

impl FromStr for ByList {
    type Err = String;

    fn from_str(s: &str) -> Result<ByList, String> {
        Dimension::parse_list(s).map(ByList)
    }
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// How many sessions to list.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Time zone for start times (default: the system's).
    #[arg(long, value_name = "ZONE")]
    tz: Option<Zone>,
    /// Only sessions metered by gw's proxy, or imported from the agents' logs (`gw import`).
    #[arg(long, value_enum)]
    source: Option<SourceArg>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `--source`: where rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    /// Metered by gw's proxy (`gw run`, `gw proxy`).
    Proxy,
    /// Read from the agents' own logs (`gw import`).
    Import,
}

impl SourceArg {
    fn source(self) -> crate::ledger::Source {
        match self {
            SourceArg::Proxy => crate::ledger::Source::Proxy,
            SourceArg::Import => crate::ledger::Source::Import,
        }
    }
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The session id, or a unique prefix or suffix of it (as `gw sessions` shows).
    id: String,
    /// Time zone for times (default: the system's).
    #[arg(long, value_name = "ZONE")]
    tz: Option<Zone>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct SeedLedgerArgs {
    /// Rows to add.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Days to spread them over, ending today.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Random seed (same seed, same rows).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The end of the period (RFC 3339; default: now).
    #[arg(long)]
    now: Option<Timestamp>,
}

/// `gw spend`.
pub fn spend(args: SpendArgs) -> anyhow::Result<ExitCode> {
    let tz = zone(args.tz.as_ref());
    let now = args.now.unwrap_or_else(Timestamp::now);
    let spec = if args.yesterday {
        PeriodSpec::Yesterday
    } else if args.week {
        PeriodSpec::Week
    } else if args.month {
        PeriodSpec::Month
    } else if args.today {
        PeriodSpec::Today
    } else {
        PeriodSpec::Range {
            since: args.since,
            until: args.until,
        }
    };
    let period = match Period::resolve(spec, now, &tz) {
        Ok(p) => p,
        Err(e) => return usage_error(&e.to_string()),
    };
    let filters: Vec<Filter> = [
        (Dimension::Agent, args.agent),
        (Dimension::Model, args.model),
        (Dimension::Project, args.project),
        (Dimension::Branch, args.branch),
        (
            Dimension::Source,
            args.source
                .map(|s| vec![s.source().as_str().to_string()])
                .unwrap_or_default(),
        ),
    ]
    .into_iter()
    .filter(|(_, values)| !values.is_empty())
    .map(|(column, values)| Filter { column, values })
    .collect();
    let config = Config::load()?;
    let ledger = Ledger::open_existing(&config.ledger_path())?;
    let group_by = match args.by {
        Some(by) => by.0,
        None => {
            let mut by = SpendRequest::default_group_by(&period);
            // Usage on a plan (priced at API rates, not billed per token) is told apart.
            if let Some(ledger) = &ledger {
                if ledger.has_subscription_use(period.since_us(), period.until_us())? {
                    by.push(Dimension::Billing);
                }
            }
            by
        }
    };
    let request = SpendRequest {
        group_by,
        period,
        breakdown: args.breakdown,
        filters,
        source: if args.raw {
            Source::Raw
        } else {
            Source::Rollup
        },
    };
    let report = SpendReport::build(ledger.as_ref(), &request)?;
    let text = if args.json {
        let mut json = report.to_json();
        json.push('\n');
        json
    } else if args.csv {
        report.to_csv()
    } else {
        report.render(&Style::detect())
    };
    print(&text)
}

/// `gw sessions`.
pub fn sessions(args: SessionsArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let ledger = Ledger::open_existing(&config.ledger_path())?;
    let list = SessionList::build(
        ledger.as_ref(),
        args.limit,
        args.source.map(SourceArg::source),
        zone(args.tz.as_ref()),
    )?;
    if args.json {
        print(&format!("{}\n", list.to_json()))
    } else {
        print(&list.render(&Style::detect()))
    }
}

/// `gw session <id>`.
pub fn session(args: SessionArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let Some(ledger) = Ledger::open_existing(&config.ledger_path())? else {
        anyhow::bail!("no session `{}`: no requests recorded yet", args.id);
    };
    let id = match ledger.find_session(args.id.trim())? {
        SessionMatch::One(id) => id,
        SessionMatch::None => anyhow::bail!(
            "no session matches `{}`; `gw sessions` lists recent ones",
            args.id
        ),
        SessionMatch::Ambiguous(ids) => anyhow::bail!(
            "`{}` matches several sessions ({}{}); type more of the id",
            args.id,
            ids.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if ids.len() > 5 { ", …" } else { "" }
        ),
    };
    let detail = SessionDetail::build(&ledger, &id, zone(args.tz.as_ref()))?;
    if args.json {
        print(&format!("{}\n", detail.to_json()))
    } else {
        print(&detail.render(&Style::detect()))
    }
}

/// `gw debug seed-ledger`.
pub fn seed_ledger(args: SeedLedgerArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let path = config.ledger_path();
    let mut ledger = Ledger::open(&path)?;
    let plan = SeedPlan {
        rows: args.rows,
        days: args.days.max(1),
        end: args.now.unwrap_or_else(Timestamp::now),
        seed: args.seed,
    };
    let started = Instant::now();
    let inserted = ledger.insert(Seeder::new(plan))?;
    eprintln!(
        "seeded {inserted} rows over {} days into {} in {:.1} s",
        plan.days,
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn zone(tz: Option<&Zone>) -> TimeZone {
    tz.map(|z| z.0.clone()).unwrap_or_else(TimeZone::system)
}

fn usage_error(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("gw: error: {message}");
    Ok(ExitCode::from(USAGE))
}

/// Writes to stdout; a closed pipe (`gw spend | head -1`) is not an error.
fn print(text: &str) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Spend {
        #[command(flatten)]
        args: SpendArgs,
    }

    #[test]
    fn period_flags_conflict_and_values_are_checked() {
        assert!(Spend::try_parse_from(["spend", "--today", "--week"]).is_err());
        assert!(Spend::try_parse_from(["spend", "--month", "--since", "7d"]).is_err());
        assert!(Spend::try_parse_from(["spend", "--json", "--csv"]).is_err());
        let err = Spend::try_parse_from(["spend", "--since", "last tuesday"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("2025-03-09"), "{err}");
        let err = Spend::try_parse_from(["spend", "--by", "colour"]).unwrap_err();
        assert!(err.to_string().contains("day|week|month"), "{err}");
        let ok = Spend::try_parse_from([
            "spend",
            "--since",
            "7d",
            "--until",
            "2025-03-01",
            "--by",
            "day,model",
            "--model",
            "a,b",
        ])
        .unwrap();
        assert_eq!(
            ok.args.by.unwrap().0,
            vec![Dimension::Day, Dimension::Model]
        );
        assert_eq!(ok.args.model, ["a", "b"]);
    }
}
