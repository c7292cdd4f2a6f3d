//! Local budgets (`[budget]` in config.toml): what this machine's sessions spent in each capped
//! period, read from the local ledger, and the budget gate's source that holds `gw run` and
//! `gw proxy` to the caps with no server.
//!
//! Each session's gate takes the budget in chunks (a twentieth of the smallest cap): when one is
//! used up it flushes its own rows to the ledger, sums the period's spend there (every session's
//! rows, from the rollups) and takes the next chunk of what is left, or refuses with 402. A
//! session overshoots a cap by at most its requests in flight; sessions running at once by at
//! most a chunk each, as they do not see each other's unfinished chunks.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::{LocalBudget, LocalPeriod};
use crate::ledger::query::SpendQuery;
use crate::ledger::{Ledger, LedgerError, WriterHandle};
use crate::proxy::{BudgetGate, LeaseSource, Refusal};
use crate::report::{Period, PeriodError, PeriodSpec};

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the budget period: {0}")]
    Period(#[from] PeriodError),
}

/// A cap and where its current period stands.
#[derive(Debug, Clone)]
pub struct LocalStatus {
    pub budget: LocalBudget,
    pub spent_nanos: i64,
    pub period: Period,
}

impl LocalStatus {
    pub fn remaining_nanos(&self) -> i64 {
        self.budget.limit_nanos - self.spent_nanos
    }

    pub fn exhausted(&self) -> bool {
        self.remaining_nanos() <= 0
    }

    /// What the agent is told when this cap stops a request.
    pub fn exhausted_message(&self, config_path: &std::path::Path) -> String {
        format!(
            "gw: your local {} budget of {} is spent ({} since {}); it resets at {}. Raise or remove [budget] {} in {} to go on",
            self.budget.period.adjective(),
            crate::report::usd_readable(self.budget.limit_nanos),
            crate::report::usd_readable(self.spent_nanos),
            self.period.since.as_ref().map(|z| z.strftime("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
            self.period.until.strftime("%Y-%m-%d %H:%M %Z"),
            self.budget.period.key().trim_start_matches("budget."),
            config_path.display(),
        )
    }
}

/// Where each cap stands at `now` in `tz`, from the ledger at `ledger_path` (none yet: nothing
/// spent).
pub fn status(
    ledger_path: &std::path::Path,
    budgets: &[LocalBudget],
    now: Timestamp,
    tz: &TimeZone,
) -> Result<Vec<LocalStatus>, BudgetError> {
    let ledger = Ledger::open_existing(ledger_path)?;
    budgets
        .iter()
        .map(|&budget| {
            let spec = match budget.period {
                LocalPeriod::Day => PeriodSpec::Today,
                LocalPeriod::Week => PeriodSpec::Week,
                LocalPeriod::Month => PeriodSpec::Month,
            };
            let period = Period::resolve(spec, now, tz)?;
            let spent_nanos = match &ledger {
                Some(ledger) => ledger
                    .spend(&SpendQuery {
                        since_us: period.since_us(),
                        until_us: Some(period.until_us()),
                        // What gw metered: an imported log (old, or written by the agent) is
                        // a report, not spend this machine's caps stop.
                        filters: vec![crate::ledger::query::Filter {
                            column: crate::dimension::Dimension::Source,
                            values: vec!["proxy".into()],
                        }],
                        ..Default::default()
                    })?
                    .iter()
                    .map(|g| g.sums.cost_nanos)
                    .sum(),
                None => 0,
            };
            Ok(LocalStatus {
                budget,
                spent_nanos,
                period,
            })
        })
        .collect()
}

/// The gate's source under local budgets.
pub struct LocalBudgets {
    budgets: Vec<LocalBudget>,
    ledger_path: PathBuf,
    config_path: PathBuf,
    writer: WriterHandle,
    gate: Weak<BudgetGate>,
    chunk_nanos: i64,
}

impl LocalBudgets {
    /// Holds `gate` to `budgets` (which must not be empty).
    pub fn attach(
        gate: &Arc<BudgetGate>,
        budgets: Vec<LocalBudget>,
        ledger_path: PathBuf,
        config_path: PathBuf,
        writer: WriterHandle,
    ) {
        let smallest = budgets.iter().map(|b| b.limit_nanos).min().unwrap_or(0);
        let source = Arc::new(LocalBudgets {
            budgets,
            ledger_path,
            config_path,
            writer,
            gate: Arc::downgrade(gate),
            chunk_nanos: (smallest / 20).max(1),
        });
        gate.set_source(source);
    }

    async fn top_up(&self, need: i64) -> Result<(), Refusal> {
        let Some(gate) = self.gate.upgrade() else {
            return Err(Refusal::budget(
                "session ending",
                "gw: this session is ending",
            ));
        };
        // This session's finished requests count too: get them into the ledger first.
        if let Err(e) = self.writer.flush().await {
            tracing::warn!("ledger flush before a local budget check failed: {e}");
        }
        let (path, budgets) = (self.ledger_path.clone(), self.budgets.clone());
        let statuses = tokio::task::spawn_blocking(move || {
            status(&path, &budgets, Timestamp::now(), &TimeZone::system())
        })
        .await
        .map_err(|e| {
            Refusal::budget(
                "budget unchecked",
                format!("gw: the local budget check failed: {e}"),
            )
        })?
        .map_err(|e| {
            Refusal::budget(
                "budget unchecked",
                format!("gw: cannot read the ledger to check the local budget: {e}"),
            )
        })?;
        let mut room = self.chunk_nanos.max(need);
        for s in &statuses {
            if s.exhausted() {
                return Err(Refusal::budget(
                    format!("{} budget", s.budget.period.adjective()),
                    s.exhausted_message(&self.config_path),
                ));
            }
            room = room.min(s.remaining_nanos());
        }
        let f = gate.figures();
        gate.set_granted(f.charged + f.reserved + room);
        Ok(())
    }
}

impl LeaseSource for LocalBudgets {
    fn refill(&self, need: i64) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
        Box::pin(self.top_up(need))
    }
}
