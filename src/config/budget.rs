//! Local budgets from the config file's `[budget]` section: hard caps on what this machine's
//! gw sessions (`gw run`, `gw proxy`) spend per calendar day, week or month, from the local
//! ledger, with no server. Periods start at local midnight (the system time zone); weeks on
//! Monday. In team mode the team's budgets on the server apply instead.
//!
//! ```toml
//! [budget]
//! daily_usd = 20
//! weekly_usd = 80
//! monthly_usd = 250
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_usd: Option<f64>,
}

impl BudgetSection {
    pub fn is_empty(&self) -> bool {
        *self == BudgetSection::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LocalPeriod {
    Day,
    Week,
    Month,
}

impl LocalPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            LocalPeriod::Day => "day",
            LocalPeriod::Week => "week",
            LocalPeriod::Month => "month",
        }
    }

    /// `daily`, `weekly`, `monthly`.
    pub fn adjective(self) -> &'static str {
        match self {
            LocalPeriod::Day => "daily",
            LocalPeriod::Week => "weekly",
            LocalPeriod::Month => "monthly",
        }
    }

    /// The config key that sets it.
    pub fn key(self) -> &'static str {
        match self {
            LocalPeriod::Day => "budget.daily_usd",
            LocalPeriod::Week => "budget.weekly_usd",
            LocalPeriod::Month => "budget.monthly_usd",
        }
    }
}

/// One cap: at most `limit_nanos` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalBudget {
    pub period: LocalPeriod,
    pub limit_nanos: i64,
}

/// Validates the section; the error names the key and what is wrong.
pub fn local_budgets(s: &BudgetSection) -> Result<Vec<LocalBudget>, (String, String)> {
    let mut out = Vec::new();
    for (period, usd) in [
        (LocalPeriod::Day, s.daily_usd),
        (LocalPeriod::Week, s.weekly_usd),
        (LocalPeriod::Month, s.monthly_usd),
    ] {
        let Some(usd) = usd else { continue };
        if !(1e-9..=1_000_000.0).contains(&usd) {
            return Err((
                period.key().to_string(),
                format!("{usd} is out of range: give dollars from 0.000000001 to 1000000, or remove the key for no cap"),
            ));
        }
        out.push(LocalBudget {
            period,
            limit_nanos: (usd * 1e9).round() as i64,
        });
    }
    Ok(out)
}

/// As a config section, for `gw config`.
pub fn section(budgets: &[LocalBudget]) -> BudgetSection {
    let usd = |p: LocalPeriod| {
        budgets
            .iter()
            .find(|b| b.period == p)
            .map(|b| b.limit_nanos as f64 / 1e9)
    };
    BudgetSection {
        daily_usd: usd(LocalPeriod::Day),
        weekly_usd: usd(LocalPeriod::Week),
        monthly_usd: usd(LocalPeriod::Month),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_each_cap() {
        let s = BudgetSection {
            daily_usd: Some(20.0),
            monthly_usd: Some(0.05),
            ..Default::default()
        };
        let budgets = local_budgets(&s).unwrap();
        assert_eq!(
            budgets,
            vec![
                LocalBudget {
                    period: LocalPeriod::Day,
                    limit_nanos: 20_000_000_000
                },
                LocalBudget {
                    period: LocalPeriod::Month,
                    limit_nanos: 50_000_000
                },
            ]
        );
        assert_eq!(section(&budgets), s);
        for bad in [0.0, 1e-10, -1.0, f64::NAN, 2e6] {
            let s = BudgetSection {
                weekly_usd: Some(bad),
                ..Default::default()
            };
            let (key, _) = local_budgets(&s).unwrap_err();
            assert_eq!(key, "budget.weekly_usd");
        }
    }
}
